"""Taking a call from a resident who called before: search by phone, pick them, and the
unit picked from the building's register (接听来电: 住户查询, 房号)."""

from __future__ import annotations

import re
from datetime import timedelta
from html import unescape
from typing import Any

import httpx

from shared.auth import Role
from tests.integration.console.support import BUILDINGS, Browser, ConsoleStack, hidden, notes
from tests.integration.console.test_console import CALL
from tests.integration.dispatch.api_support import auth

UNITS = ["1-101", "1-102", "1-201"]
FRESH = dict.fromkeys(CALL, "") | {"kind": "repair", "category": "plumbing", "urgency": "normal"}
del FRESH["phone"]
"""The form as a new call starts: nothing typed but the phone given to each request."""


async def _register_units(stack: ConsoleStack) -> None:
    details = {
        "name": "阳光花园",
        "time_zone": "Asia/Shanghai",
        "households": 1200,
        "buildings": [{**BUILDINGS[0], "units": UNITS}],
    }
    response = await stack.api.client.put(
        "/v1/projects/sunny", json={"details": details}, headers=auth(Role.HQ_QUALITY)
    )
    assert response.status_code == 200, response.text


async def _post_form(browser: Browser, **fields: str) -> httpx.Response:
    """Send the take-a-call form as the page gave it (its CSRF token and key) with `fields`."""
    page = await browser.page("/calls")
    sent = {"csrf": hidden(page.text, "csrf") or "", "key": hidden(page.text, "key") or ""}
    return await browser.client.post("/calls", data={**sent, **fields})


def _field(html: str, name: str) -> str:
    found = re.search(rf'<input id="{name}" name="{name}" value="([^"]*)"', html)
    assert found is not None, name
    return unescape(found.group(1))


def _chosen(html: str, select: str) -> list[str]:
    body = html.split(f'<select id="{select}"', 1)[1].split("</select>", 1)[0]
    return re.findall(r'<option value="([^"]*)" selected>', body)


def _pick_buttons(html: str) -> list[tuple[str, str]]:
    return [
        (value, unescape(text).strip())
        for value, text in re.findall(
            r'<button type="submit" name="pick" value="([^"]*)"[^>]*>([^<]*)</button>', html
        )
    ]


async def _orders(stack: ConsoleStack) -> list[dict[str, Any]]:
    response = await stack.api.client.get("/v1/work-orders", headers=auth(Role.SUPERVISOR))
    assert response.status_code == 200, response.text
    items: list[dict[str, Any]] = response.json()["items"]
    return items


async def test_a_caller_found_by_phone_fills_the_form_and_their_unit_comes_from_the_register(
    stack: ConsoleStack,
) -> None:
    await _register_units(stack)
    async with stack.browser() as cs:
        await cs.sign_in("dev-customer_service")
        first = await cs.submit("/calls", "/calls", **CALL)
        assert first.status_code == 303, first.text
        [earlier] = await _orders(stack)
        stack.api.clock.advance(timedelta(minutes=5))

        # The unit field offers the chosen building's register.
        form = (await cs.page("/calls")).text
        assert '<datalist id="units-sunny-b1">' in form
        assert all(f'<option value="{unit}"></option>' in form for unit in UNITS)
        assert 'data-testid="search-residents"' in form and '<label for="phone">' in form

        # The next call: the phone as the caller says it, then Search.
        found = await _post_form(cs, **FRESH, phone="138 0000 0000", action="search")
        assert found.status_code == 200, found.text
        assert "用 138 0000 0000 报过事的业主" in found.text
        assert re.findall(
            r'data-testid="resident">\s*<p class="title"><strong[^>]*>([^<]*)<', found.text
        ) == ["张三"]
        assert _pick_buttons(found.text) == [("0:0", "选用：阳光花园 1号楼 1-101")]
        matches = found.text.split('data-testid="resident-matches"', 1)[1].split("</section>")[0]
        assert re.findall(r'data-testid="recent-order"><span class="number">([^<]*)<', matches) == [
            earlier["number"]
        ]
        assert '<span class="status" data-status="reported">已报</span>' in matches
        assert _field(found.text, "phone") == "138 0000 0000"

        # Picking them fills in the name, project, building and unit; on to what is wrong.
        filled = await _post_form(cs, **FRESH, phone="138 0000 0000", pick="0:0")
        assert filled.status_code == 200, filled.text
        assert _field(filled.text, "name") == "张三"
        assert (_chosen(filled.text, "project"), _chosen(filled.text, "building")) == (
            ["sunny"],
            ["b1"],
        )
        assert _field(filled.text, "unit") == "1-101"
        assert 'list="units-sunny-b1"' in filled.text
        assert re.search(r'<textarea id="description"[^>]*autofocus', filled.text)

        # A unit the building does not register is refused, with everything kept.
        wrong = await _post_form(
            cs, **{**CALL, "unit": "9-909", "description": "阳台漏水", "phone": "138 0000 0000"}
        )
        assert wrong.status_code == 422
        assert "该房号不在这栋楼" in wrong.text and _field(wrong.text, "unit") == "9-909"

        recorded = await _post_form(
            cs, **{**CALL, "unit": "1-102", "description": "阳台漏水", "phone": "138 0000 0000"}
        )
        assert recorded.status_code == 303, recorded.text
        assert len(notes((await cs.page("/calls")).text)) == 1
        newest = (await _orders(stack))[0]
        assert newest["location"] == {"building": "b1", "unit": "1-102", "detail": None}
        assert newest["reporter"]["name"] == "张三"

        # Both homes now, newest first.
        again = await _post_form(cs, **FRESH, phone="+86 13800000000", action="search")
        assert [text for _, text in _pick_buttons(again.text)] == [
            "选用：阳光花园 1号楼 1-102",
            "选用：阳光花园 1号楼 1-101",
        ]


async def test_a_number_nobody_called_from_or_no_number_at_all_says_so(
    stack: ConsoleStack,
) -> None:
    async with stack.browser("en") as cs:
        await cs.sign_in("dev-customer_service")
        nobody = await _post_form(cs, **FRESH, phone="13900000000", action="search")
        assert nobody.status_code == 200
        assert "Nobody has reported from this number yet" in nobody.text
        assert _pick_buttons(nobody.text) == []

        empty = await _post_form(cs, **FRESH, phone="", action="search")
        assert empty.status_code == 422
        assert "Type the caller&#39;s phone number, then search." in empty.text

        odd = await _post_form(cs, **FRESH, phone="call back", action="search")
        assert odd.status_code == 422
        assert "dispatch refused the search" in odd.text and "not a phone number" in odd.text

        stale = await _post_form(cs, **FRESH, phone="13900000000", pick="3:0")
        assert stale.status_code == 422
        assert "no longer among the matches" in stale.text


async def test_a_building_without_a_register_takes_a_typed_unit(stack: ConsoleStack) -> None:
    async with stack.browser() as cs:
        await cs.sign_in("dev-customer_service")
        form = (await cs.page("/calls")).text
        assert "<datalist" not in form
        typed = await cs.submit("/calls", "/calls", **{**CALL, "unit": "3-1502"})
        assert typed.status_code == 303, typed.text
    [order] = await _orders(stack)
    assert order["location"]["unit"] == "3-1502"
