"""End to end: a scripted week of orders under `wo up`, then every byte the stack wrote
(the `EVENTS` stream's store, reporting's and notify's databases, dispatch's own, the
services' logs) searched for the residents' names, phones and units.

Residents' data is sealed before it is stored and masked wherever it is shown, so none of
the seeded values may appear anywhere on disk; the people who need them still read them
through dispatch's API (checked first, so the search is not vacuous).
"""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from shared.auth import Role
from tests.e2e.docs_session import link_checkout
from tests.e2e.wo_up_support import STACK_TIMEOUT, running_wo_up, user_environment
from wo.token import mint_dev_token

pytestmark = [pytest.mark.slow, pytest.mark.timeout(420)]

TENANT = "demo"
PROJECT = "sunny-garden"


@dataclass(frozen=True)
class Resident:
    name: str
    phone: str
    unit: str

    @property
    def searched(self) -> tuple[bytes, ...]:
        """The values that must not be found, as stored text would hold them: the phone
        also as the digits a form keeps and with the country code."""
        return (
            self.name.encode(),
            self.phone.encode(),
            f"+86{self.phone}".encode(),
            self.unit.encode(),
        )


def week_of_residents() -> list[Resident]:
    """Three callers a day for a week: names not in any template, phones and units
    that occur nowhere else."""
    surnames = "欧阳司马上官诸葛东方慕容皇甫"
    given = "娜婷皓宇轩铭瑶"
    people = []
    for day in range(7):
        for call in range(3):
            n = day * 3 + call
            surname = surnames[(n % 7) * 2 : (n % 7) * 2 + 2]
            people.append(
                Resident(
                    name=f"{surname}{given[day]}{given[call]}",
                    phone=f"1397{day}{call}4{n:04d}"[:11],
                    unit=f"{7 + call}-{2400 + n}",
                )
            )
    return people


def _headers(token: str, key: str | None = None) -> dict[str, str]:
    headers = {"Authorization": f"Bearer {token}"}
    if key:
        headers["Idempotency-Key"] = key
    return headers


def _post(client: httpx.Client, url: str, token: str, body: dict[str, Any] | None = None) -> Any:
    response = client.post(url, json=body or {}, headers=_headers(token))
    assert response.status_code < 300, f"{url}: {response.status_code} {response.text}"
    return response.json()


def _script_the_week(
    client: httpx.Client, api: str, tokens: dict[str, str], people: list[Resident]
) -> list[str]:
    """Report every resident's call and take each order as far as its day allows: the
    week's first orders are closed with a rating, the middle ones in progress, the last
    ones just reported (a complaint gets its feedback)."""
    tech = mint_dev_token(
        role=Role.TECHNICIAN, tenant=TENANT, projects=[PROJECT], subject="tech-wang"
    )
    cs, dispatcher = tokens["customer_service"], tokens["dispatcher"]
    orders = []
    for n, person in enumerate(people):
        complaint = n % 5 == 4
        body = {
            "project": PROJECT,
            "kind": "complaint" if complaint else "repair",
            "category": "noise" if complaint else "plumbing",
            "location": {"building": "b1", "unit": person.unit, "detail": f"{person.unit} 厨房"},
            "reporter": {"name": person.name, "phone": person.phone},
            "channel": "phone",
            "description": "楼上噪音" if complaint else "厨房水管漏水",
            # Urgent repairs are told at once, whatever the hour (quiet hours hold the
            # rest), so the SMS path runs at any time of day.
            "urgency": "normal" if complaint else "urgent",
        }
        response = client.post(
            f"{api}/v1/work-orders", json=body, headers=_headers(cs, f"week-{n}")
        )
        assert response.status_code == 201, response.text
        order = response.json()["id"]
        orders.append(order)
        if complaint:
            _post(
                client,
                f"{api}/v1/work-orders/{order}/give-feedback",
                cs,
                {"message": "已联系物业处理"},
            )
            continue
        if n >= 15:
            continue  # reported late in the week: not yet assigned
        _post(client, f"{api}/v1/work-orders/{order}/assign", dispatcher, {"assignee": "tech-wang"})
        _post(client, f"{api}/v1/work-orders/{order}/arrive", tech)
        if n >= 9:
            continue  # in progress at the week's end
        _post(client, f"{api}/v1/work-orders/{order}/start-work", tech)
        _post(client, f"{api}/v1/work-orders/{order}/complete", tech, {"summary": "换了阀门"})
        _post(client, f"{api}/v1/work-orders/{order}/record-follow-up", cs, {"rating": 5})
        _post(client, f"{api}/v1/work-orders/{order}/close", cs)
    return orders


def _wait_for_deliveries(
    client: httpx.Client, notify: str, token: str, expected_sms: int
) -> list[dict[str, Any]]:
    """notify's SMS deliveries once none is waiting to be sent and at least
    `expected_sms` were sent (quiet hours hold the others: `deferred`), at most ~60 s."""
    deliveries: list[dict[str, Any]] = []
    for _ in range(300):
        response = client.get(
            f"{notify}/v1/deliveries",
            params={"channel": "sms", "limit": 500},
            headers=_headers(token),
        )
        assert response.status_code == 200, response.text
        deliveries = response.json()
        statuses = [d["status"] for d in deliveries]
        if statuses.count("sent") >= expected_sms and "queued" not in statuses:
            return deliveries
        time.sleep(0.2)
    pytest.fail(f"notify sent {len(deliveries)} SMS, not {expected_sms}: {deliveries[:3]}")


def _wait_for_reporting(client: httpx.Client, reporting: str, token: str, closed: int) -> None:
    for _ in range(300):
        response = client.get(f"{reporting}/v1/kpis", headers=_headers(token))
        assert response.status_code == 200, response.text
        kpis = {k["kpi"]: k for k in response.json()["kpis"]}
        if kpis["satisfaction"]["denominator"] >= closed:
            return
        time.sleep(0.2)
    pytest.fail(f"reporting did not fold the week's closed orders within ~60 s: {kpis}")


def _files(root: Path) -> Iterator[Path]:
    for path in sorted(root.rglob("*")):
        if path.is_file():
            yield path


def _found(roots: list[Path], values: tuple[bytes, ...]) -> dict[str, list[str]]:
    """Which of `values` each file under `roots` holds."""
    hits: dict[str, list[str]] = {}
    for root in roots:
        for path in _files(root):
            data = path.read_bytes()
            held = [v.decode() for v in values if v in data]
            if held:
                hits[str(path)] = held
    return hits


@dataclass(frozen=True)
class Urls:
    """Where the stack's services answer, and a token for every role."""

    api: str
    notify: str
    reporting: str
    tokens: dict[str, str]

    @classmethod
    def of(cls, described: dict[str, Any]) -> Urls:
        services = described["services"]
        return cls(
            services["dispatch"]["url"],
            services["notify"]["url"],
            services["reporting"]["url"],
            described["tokens"],
        )


def test_a_week_of_orders_leaves_no_resident_data_in_clear_anywhere(tmp_path: Path) -> None:
    people = week_of_residents()
    workdir = link_checkout(tmp_path)
    with running_wo_up(workdir) as stack:
        urls = Urls.of(stack.wait_for_stack(STACK_TIMEOUT))
        api, notify, reporting, tokens = urls.api, urls.notify, urls.reporting, urls.tokens
        with httpx.Client(timeout=15, trust_env=False) as client:
            orders = _script_the_week(client, api, tokens, people)
            # Control: whoever takes the calls reads them in clear (logged), so the
            # values searched for below are the ones the stack was given.
            shown = client.get(
                f"{api}/v1/work-orders/{orders[0]}", headers=_headers(tokens["supervisor"])
            )
            assert shown.status_code == 200, shown.text
            assert shown.json()["reporter"]["name"] == people[0].name
            assert shown.json()["reporter"]["phone"] == people[0].phone
            urgent = sum(1 for n in range(len(people)) if n % 5 != 4)
            deliveries = _wait_for_deliveries(client, notify, tokens["supervisor"], urgent)
            _wait_for_reporting(
                client,
                reporting,
                tokens["hq_quality"],
                closed=sum(1 for n in range(9) if n % 5 != 4),
            )
        assert {d["recipient"].split(":")[0] for d in deliveries} == {"resident"}
        var_dir = stack.var_dir
    # Stopped: every database and the stream's store are on disk, written through.
    searched = tuple(value for person in people for value in person.searched)
    hits = _found([var_dir], searched)
    output = (workdir / "wo-up.out").read_bytes()
    hits.update(
        {"wo-up.out": [v.decode() for v in searched if v in output]}
        if any(v in output for v in searched)
        else {}
    )
    assert hits == {}, f"residents' data in clear: {hits}"
    # Control: the stream's store and notify's database are plain enough to search: the
    # first resident's masked phone is in both.
    masked_phone = f"{people[0].phone[:3]}****{people[0].phone[-4:]}".encode()
    stores = _found([var_dir], (masked_phone,))
    assert any("jetstream" in path or "nats" in path for path in stores), stores
    assert any("notify" in path for path in stores), stores


def _figures(client: httpx.Client, reporting: str, token: str) -> dict[str, Any]:
    response = client.get(f"{reporting}/v1/kpis", headers=_headers(token))
    assert response.status_code == 200, response.text
    return {k["kpi"]: k for k in response.json()["kpis"]}


SETTLE_SECONDS = 1.0
"""What the checks allow an event to reach reporting's figures (relay, then projector)."""


def _settled_figures(client: httpx.Client, reporting: str, token: str) -> dict[str, Any]:
    """The figures once they stop moving: unchanged over `SETTLE_SECONDS` (the week's last
    events, order 10's arrival among them, may still be on their way to the projector)."""
    figures = _figures(client, reporting, token)
    for _ in range(60):
        time.sleep(SETTLE_SECONDS)
        again = _figures(client, reporting, token)
        if again == figures:
            return figures
        figures = again
    pytest.fail(f"reporting's figures kept moving for ~60 s: {figures}")


def _rebuild_reporting(workdir: Path, described: dict[str, Any]) -> None:
    """`wo reporting rebuild` as docs/reporting.md runs it against the running stack."""
    env = {
        **user_environment(),
        "NATS_URL": described["nats"]["users"]["reporting"]["url"],
        "DATABASE_URL": f"sqlite+aiosqlite:///{workdir / 'var' / 'reporting.db'}",
    }
    done = subprocess.run(
        [sys.executable, "-m", "wo", "reporting", "rebuild"],
        cwd=workdir,
        env=env,
        capture_output=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stdout.decode() + done.stderr.decode()


def test_an_erased_resident_is_unreadable_sent_nothing_and_no_figure_moves(
    tmp_path: Path,
) -> None:
    people = week_of_residents()[:12]
    workdir = link_checkout(tmp_path)
    with running_wo_up(workdir) as stack:
        described = stack.wait_for_stack(STACK_TIMEOUT)
        urls = Urls.of(described)
        api, notify, reporting, tokens = urls.api, urls.notify, urls.reporting, urls.tokens
        supervisor, hq = tokens["supervisor"], tokens["hq_quality"]
        with httpx.Client(timeout=15, trust_env=False) as client:
            orders = _script_the_week(client, api, tokens, people)
            _wait_for_reporting(client, reporting, hq, closed=8)
            # Order 10 is on site, not yet done: its resident is erased while it is open.
            erased_order = orders[10]
            shown = client.get(f"{api}/v1/work-orders/{erased_order}", headers=_headers(supervisor))
            reference = shown.json()["reporter"]["resident"]
            # (CI once read them while order 10's arrival was still on its way.)
            before = _settled_figures(client, reporting, hq)

            erase = client.post(
                f"{api}/v1/residents/{reference}/erase",
                json={"reason": "request"},
                headers=_headers(tokens["privacy_officer"]),
            )
            assert erase.status_code == 200, erase.text

            # Unreadable through the API, to those who saw it in clear before.
            shown = client.get(f"{api}/v1/work-orders/{erased_order}", headers=_headers(supervisor))
            assert shown.status_code == 200, shown.text
            reporter = shown.json()["reporter"]
            assert people[10].name not in shown.text and people[10].phone not in shown.text
            assert reporter["name"] == "erased", reporter
            # The order's history still replays, and the order goes on.
            history = client.get(
                f"{api}/v1/work-orders/{erased_order}/events", headers=_headers(supervisor)
            )
            assert history.status_code == 200, history.text
            assert history.json()["items"][0]["type"] == "workorder.reported.v1"

            # No figure moves: the erasure, then a rebuild of reporting from the stream.
            time.sleep(SETTLE_SECONDS)  # the erasure event reaches reporting's projector
            assert _figures(client, reporting, hq) == before
            _rebuild_reporting(workdir, described)
            assert _figures(client, reporting, hq) == before

            # The work goes on and notify tells the resident nothing more.
            tech = mint_dev_token(
                role=Role.TECHNICIAN, tenant=TENANT, projects=[PROJECT], subject="tech-wang"
            )
            _post(client, f"{api}/v1/work-orders/{erased_order}/start-work", tech)
            _post(
                client, f"{api}/v1/work-orders/{erased_order}/complete", tech, {"summary": "好了"}
            )
            _wait_for_reporting(client, reporting, hq, closed=8)
            for _ in range(50):  # ~10 s for notify to fold the completion
                answer = client.get(
                    f"{notify}/v1/deliveries",
                    params={"work_order_id": erased_order, "limit": 500},
                    headers=_headers(supervisor),
                )
                assert answer.status_code == 200, answer.text
                if any(d["event_type"] == "workorder.completed" for d in answer.json()):
                    break
                time.sleep(0.2)
            after_erasure = [
                d
                for d in answer.json()
                if d["audience"] == "resident"
                and d["created_at"] > erase.json().get("erased_at", "")
            ]
            assert all(d["status"] != "sent" for d in after_erasure), after_erasure
