"""The console over a real dispatch: sign-in, roles, CSRF, languages, and each role's work."""

from __future__ import annotations

import re

import httpx

from shared.auth import Role
from shared.privacy.pseudonym import is_resident_reference
from tests.integration.console.support import ConsoleStack, hidden, notes
from tests.integration.dispatch.api_support import auth

CALL = {
    "project": "sunny",
    "building": "b1",
    "unit": "1-101",
    "kind": "repair",
    "category": "plumbing",
    "urgency": "normal",
    "channel": "phone",
    "description": "厨房水管漏水",
    "name": "张三",
    "phone": "13800000000",
}


async def orders_of(stack: ConsoleStack, **params: str) -> list[dict[str, object]]:
    response = await stack.api.client.get(
        "/v1/work-orders", params=params, headers=auth(Role.SUPERVISOR)
    )
    assert response.status_code == 200, response.text
    items: list[dict[str, object]] = response.json()["items"]
    return items


async def test_the_sign_in_page_lists_the_people_by_role_and_signs_one_in(
    stack: ConsoleStack,
) -> None:
    async with stack.browser() as browser:
        # Not signed in: every page leads to the sign-in page.
        landing = await browser.page("/dispatch")
        assert landing.status_code == 303 and landing.headers["location"] == "/sign-in"
        page = await browser.page("/sign-in")
        assert page.status_code == 200
        assert '<html lang="zh-CN">' in page.text
        for subject in ("tech-wang", "tech-zhao", "dev-dispatcher", "dev-customer_service"):
            assert f'data-person="{subject}"' in page.text
        assert "王师傅" in page.text and "维修工" in page.text
        cookie = page.headers["set-cookie"].lower()
        assert "httponly" in cookie and "samesite=lax" in cookie
        before = browser.client.cookies["console_session"]

        signed = await browser.sign_in("tech-wang")
        assert signed.headers["location"] == "/tech"
        # A new session id at sign-in: a planted cookie cannot be taken over.
        assert browser.client.cookies["console_session"] != before
        home = await browser.page("/tech")
        assert home.status_code == 200
        assert 'data-testid="who">王师傅 · 维修工' in home.text
        # The bearer token never reaches the browser.
        assert "eyJ" not in home.text

        # Someone not listed cannot sign in.
        refused = await browser.submit("/sign-in", "/sign-in", person="nobody-here")
        assert refused.status_code == 403


async def test_a_technician_cannot_open_the_supervisor_pages_and_the_apis_refuse_it_too(
    stack: ConsoleStack,
) -> None:
    async with stack.browser() as browser:
        await browser.sign_in("tech-wang")
        for path in ("/staff", "/dispatch", "/calls"):
            page = await browser.page(path)
            assert page.status_code == 403, path
            assert "您的角色无权打开此页面" in page.text
        # Posting to a dispatcher's form is refused by the console before anything is sent…
        count = await stack.api.event_count()
        assign = await browser.submit("/tech", "/dispatch/orders/x/assign", assignee="tech-wang")
        assert assign.status_code == 403
        assert await stack.api.event_count() == count
    # …and dispatch refuses a technician's token on the same reads and commands.
    tech = auth(Role.TECHNICIAN, subject="tech-wang")
    staff = await stack.api.client.get("/v1/staff", headers=tech)
    queue = await stack.api.client.get("/v1/dispatch/queue", headers=tech)
    assert (staff.status_code, queue.status_code) == (403, 403)


async def test_every_form_needs_the_sessions_csrf_token(stack: ConsoleStack) -> None:
    async with stack.browser() as browser:
        await browser.sign_in("dev-customer_service")
        count = await stack.api.event_count()
        forged = await browser.client.post("/calls", data={**CALL, "csrf": "forged"})
        assert forged.status_code == 403
        missing = await browser.client.post("/calls", data=CALL)
        assert missing.status_code == 403
        assert await stack.api.event_count() == count
        # Another browser's token is not this session's.
        async with stack.browser() as other:
            await other.sign_in("dev-customer_service")
            theirs = hidden((await other.page("/calls")).text, "csrf")
        stolen = await browser.client.post("/calls", data={**CALL, "csrf": theirs or ""})
        assert stolen.status_code == 403
        assert await stack.api.event_count() == count


async def test_the_language_is_chosen_from_accept_language_then_by_the_switch(
    stack: ConsoleStack,
) -> None:
    async with stack.browser("en-GB,en;q=0.9") as browser:
        page = await browser.page("/sign-in")
        assert '<html lang="en">' in page.text and "Sign in" in page.text
        switched = await browser.submit("/sign-in", "/language", language="zh-CN", next="/sign-in")
        assert switched.status_code == 303 and switched.headers["location"] == "/sign-in"
        page = await browser.page("/sign-in")
        assert '<html lang="zh-CN">' in page.text and "登录" in page.text
        # The choice survives signing in and is kept for the session.
        await browser.sign_in("dev-dispatcher")
        assert '<html lang="zh-CN">' in (await browser.page("/dispatch")).text
        # A link to another site is never where the switch sends one back to.
        away = await browser.submit("/dispatch", "/language", language="en", next="//evil.example")
        assert away.headers["location"] == "/"
        assert '<html lang="en">' in (await browser.page("/dispatch")).text
    async with stack.browser("fr-FR") as browser:
        assert '<html lang="zh-CN">' in (await browser.page("/sign-in")).text


async def test_customer_service_takes_a_call_once_even_when_the_form_is_sent_twice(
    stack: ConsoleStack,
) -> None:
    async with stack.browser() as browser:
        await browser.sign_in("dev-customer_service")
        form = await browser.page("/calls")
        assert "阳光花园" in form.text and "1号楼" in form.text
        fields = {"csrf": hidden(form.text, "csrf"), "key": hidden(form.text, "key"), **CALL}
        first = await browser.client.post("/calls", data=fields)
        again = await browser.client.post("/calls", data=fields)
        assert (first.status_code, again.status_code) == (303, 303)
        orders = await orders_of(stack, owner="dev-customer_service")
        assert len(orders) == 1
        order = orders[0]
        assert order["location"] == {"building": "b1", "unit": "1-101", "detail": None}
        reporter = dict(order["reporter"])  # type: ignore[call-overload]
        assert is_resident_reference(reporter.pop("resident"))
        assert reporter == {"name": "张三", "phone": "13800000000", "resident_id": None}
        page = await browser.page("/calls")
        label = order.get("number") or str(order["id"])[:8]
        assert notes(page.text) == [f"工单 {label} 已登记。"] * 2
        # My orders: the order and its steps, also as the live fragment the page re-reads.
        live = await browser.page("/calls/live")
        assert live.headers["x-console-fragment"] == "1"
        assert f'data-order="{order["id"]}"' in live.text
        assert 'data-step="reported"' in live.text and "已报" in live.text
        # A fresh form has a fresh key: the next call is another order.
        assert hidden(page.text, "key") != fields["key"]


async def test_a_call_with_missing_or_wrong_fields_is_shown_again_with_the_problem(
    stack: ConsoleStack,
) -> None:
    async with stack.browser("en") as browser:
        await browser.sign_in("dev-customer_service")
        empty = await browser.submit("/calls", "/calls", **{**CALL, "name": "", "description": ""})
        assert empty.status_code == 422
        assert "Fill in: Resident&#39;s name, What is wrong" in empty.text
        # What was typed stays in the form.
        assert 'value="13800000000"' in empty.text
        building = await browser.submit("/calls", "/calls", **{**CALL, "building": "b9"})
        assert building.status_code == 422
        assert "That building is not in the project." in building.text
        refused = await browser.submit("/calls", "/calls", **{**CALL, "kind": "party"})
        assert refused.status_code == 422
        assert "dispatch refused the call" in refused.text
    assert await orders_of(stack) == []


async def test_the_dispatcher_assigns_from_the_suggestions_and_the_technician_works_it(
    stack: ConsoleStack,
) -> None:
    async with stack.browser() as cs:
        await cs.sign_in("dev-customer_service")
        await cs.submit("/calls", "/calls", **CALL)
    order = (await orders_of(stack))[0]
    order_id = str(order["id"])
    label = str(order.get("number") or order_id[:8])

    async with stack.browser() as dispatcher:
        await dispatcher.sign_in("dev-dispatcher")
        board = await dispatcher.page("/dispatch/live")
        waiting = board.text.split('data-testid="waiting"')[1].split("</table>")[0]
        assert f'data-order="{order_id}"' in waiting
        # The arrival clock is at risk: its due time in Shanghai and the countdown.
        risk = board.text.split('data-testid="at-risk"')[1]
        assert 'data-clock="arrival"' in risk and "到场" in risk
        assert "10:03" in risk and "剩余 0:03:00" in risk
        choose = await dispatcher.page(f"/dispatch/orders/{order_id}")
        assert 'data-person="tech-wang"' in choose.text and "具备水暖技能" in choose.text
        assigned = await dispatcher.submit(
            f"/dispatch/orders/{order_id}",
            f"/dispatch/orders/{order_id}/assign",
            assignee="tech-wang",
        )
        assert assigned.status_code == 303 and assigned.headers["location"] == "/dispatch"
        after = await dispatcher.page("/dispatch")
        assert notes(after.text) == [f"{label} 已派给 tech-wang。"]
        assert 'data-testid="waiting"' not in after.text

    async with stack.browser() as tech:
        await tech.sign_in("tech-wang")
        page = await tech.page("/tech")
        assert "阳光花园 1号楼 1-101" in page.text
        for action, status in (
            ("arrive", "on_site"),
            ("start-work", "in_progress"),
        ):
            assert f'href="/tech/orders/{order_id}/{action}"' in (await tech.page("/tech")).text
            done = await tech.submit(
                f"/tech/orders/{order_id}/{action}", f"/tech/orders/{order_id}/{action}"
            )
            assert done.status_code == 303, done.text
            assert (await orders_of(stack))[0]["status"] == status
        # Completing asks what was done.
        bare = await tech.submit(
            f"/tech/orders/{order_id}/complete", f"/tech/orders/{order_id}/complete"
        )
        assert bare.status_code == 422 and "请填写：维修内容" in bare.text
        done = await tech.submit(
            f"/tech/orders/{order_id}/complete",
            f"/tech/orders/{order_id}/complete",
            note="换了三通阀",
        )
        assert done.status_code == 303
        assert (await orders_of(stack))[0]["status"] == "completed"
        assert notes((await tech.page("/tech")).text) == [f"{label} 已完工。"]

    async with stack.browser() as cs:
        await cs.sign_in("dev-customer_service")
        steps = re.findall(r'data-step="([a-z_]+)"', (await cs.page("/calls/live")).text)
        assert steps == ["reported", "assigned", "arrived", "work_started", "completed"]


async def test_the_assign_page_gives_dispatchs_reasons_in_chinese(stack: ConsoleStack) -> None:
    async with stack.browser() as cs:
        await cs.sign_in("dev-customer_service")
        await cs.submit("/calls", "/calls", **(CALL | {"category": "elevator"}))
    order_id = str((await orders_of(stack))[0]["id"])

    async with stack.browser() as dispatcher:
        await dispatcher.sign_in("dev-dispatcher")
        page = (await dispatcher.page(f"/dispatch/orders/{order_id}")).text

    suggested = page.split('data-person="tech-zhao"')[1].split("</tr>")[0]
    assert (
        "具备电梯技能; 负责 阳光花园 1号楼; 在岗; 未完成工单 0 个（上限 5 个）; 从未派过工; 轮转顺位"
        in suggested
    )
    assert 'data-person="tech-wang"' not in page
    assert "王师傅: 不具备电梯技能</li>" in page
    assert "elevator skill" not in page and "skill elevator" not in page


async def test_an_offer_shows_who_holds_it_and_the_technician_accepts_it(
    stack: ConsoleStack,
) -> None:
    async with stack.browser() as cs:
        await cs.sign_in("dev-customer_service")
        await cs.submit("/calls", "/calls", **{**CALL, "category": "electrical"})
    order = (await orders_of(stack))[0]
    order_id = str(order["id"])
    assert order["offered_to"] == ["tech-wang"]

    async with stack.browser("en") as dispatcher:
        await dispatcher.sign_in("dev-dispatcher")
        board = (await dispatcher.page("/dispatch/live")).text
        offers = board.split('data-testid="offers"')[1].split("</table>")[0]
        assert f'data-order="{order_id}"' in offers
        assert 'data-testid="holders">tech-wang<' in offers
        # Offered for 600 s: it expires at 10:10 in Shanghai.
        assert "10:10" in offers and "0:10:00 left" in offers

    async with stack.browser() as tech:
        await tech.sign_in("tech-wang")
        page = (await tech.page("/tech")).text
        assert f'href="/tech/orders/{order_id}/accept-offer"' in page
        accepted = await tech.submit(
            f"/tech/orders/{order_id}/accept-offer", f"/tech/orders/{order_id}/accept-offer"
        )
        assert accepted.status_code == 303
        assert (await orders_of(stack))[0]["assignee"] == "tech-wang"
        # Accepting twice (a double tap on an old page) is refused by dispatch, shown on the page.
        again = await tech.submit(
            f"/tech/orders/{order_id}/accept-offer", f"/tech/orders/{order_id}/accept-offer"
        )
        assert again.status_code == 409 and "派单系统拒绝了操作" in again.text


async def test_signing_out_forgets_the_session(stack: ConsoleStack) -> None:
    async with stack.browser() as browser:
        await browser.sign_in("dev-dispatcher")
        out = await browser.submit("/dispatch", "/sign-out")
        assert out.status_code == 303 and out.headers["location"] == "/sign-in"
        assert (await browser.page("/dispatch")).status_code == 303


async def test_operations_routes(stack: ConsoleStack) -> None:
    transport = httpx.ASGITransport(app=stack.app)
    async with httpx.AsyncClient(transport=transport, base_url="http://console") as client:
        assert (await client.get("/healthz")).json() == {"status": "ok"}
        assert (await client.get("/readyz")).json()["status"] == "ready"
        metrics = await client.get("/metrics")
        assert "http_requests_total{" in metrics.text
        missing = await client.get("/no-such-page")
        assert missing.status_code == 404 and "没有这个页面" in missing.text
        bad = await client.get("/tech/orders/x/dance")
        assert bad.status_code == 404


async def test_a_declined_offer_leaves_the_technicians_list_with_the_reason_recorded(
    stack: ConsoleStack,
) -> None:
    async with stack.browser() as cs:
        await cs.sign_in("dev-customer_service")
        await cs.submit("/calls", "/calls", **{**CALL, "category": "electrical"})
    order_id = str((await orders_of(stack))[0]["id"])
    label = str((await orders_of(stack))[0].get("number") or order_id[:8])
    async with stack.browser("en") as tech:
        await tech.sign_in("tech-wang")
        confirm = await tech.page(f"/tech/orders/{order_id}/decline-offer")
        assert "Decline this order?" in confirm.text and 'id="note"' in confirm.text
        declined = await tech.submit(
            f"/tech/orders/{order_id}/decline-offer",
            f"/tech/orders/{order_id}/decline-offer",
            note="on another job",
        )
        assert declined.status_code == 303
        page = await tech.page("/tech")
        assert notes(page.text) == [f"Declined {label}."]
        assert f'data-order="{order_id}"' not in page.text
    history = await stack.api.client.get(
        f"/v1/work-orders/{order_id}/events", headers=auth(Role.HQ_QUALITY)
    )
    declines = [
        e["data"]
        for e in history.json()["items"]
        if e["type"].startswith("workorder.assignment_declined")
    ]
    assert [d["reason"] for d in declines] == ["on another job"]
    # Nobody else does electrical work: the order waits for the dispatcher, marked so.
    async with stack.browser() as dispatcher:
        await dispatcher.sign_in("dev-dispatcher")
        board = (await dispatcher.page("/dispatch/live")).text
        waiting = board.split('data-testid="waiting"')[1].split("</table>")[0]
        assert f'data-order="{order_id}"' in waiting and "无人可派" in waiting
