"""End to end on the production shape: a three-node NATS cluster with R3 streams,
PostgreSQL, two instances of every service as real processes, and a bounded load through
both dispatch instances during which one NATS node and one instance of each service are
killed (SIGKILL).

Afterwards:
- every command dispatch acknowledged (2xx) is in its store, and every stored event is on
  `EVENTS` exactly once, each work order's events in version order;
- every webhook notify planned was received, none twice except those the killed notify
  may have sent before it died without recording them (docs/notify.md: a crash mid-send
  means one more attempt), and every event notify recorded is on `EVENTS` exactly once;
- reporting's figures equal the oracle's, worked out from the events on the stream;
- no event became a dead letter.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import os
import time
import uuid
from collections import Counter, defaultdict
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import nats
import pytest
from nats.aio.client import Client
from nats.js.api import ConsumerInfo, DeliverPolicy
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from services.dispatch.adapters.tables import events as dispatch_events
from services.notify.adapters.tables import dead_letters as notify_dead_letters
from services.notify.adapters.tables import deliveries
from services.notify.adapters.tables import outbox as notify_outbox
from services.notify.domain.config import NotifyConfig, TenantConfig
from services.notify.domain.digest import DigestPolicy
from services.reporting.adapters.tables import dead_letters as reporting_dead_letters
from services.reporting.adapters.tables import pending as reporting_pending
from services.reporting.domain.kpis import KPIS, Unit
from shared.auth import Role
from shared.database import create_engine
from shared.subjects import EVENTS_STREAM, EVENTS_SUBJECTS
from tests.conftest import FreshPostgresDatabase
from tests.e2e.cluster_support import (
    NatsCluster,
    ServiceProcess,
    service_logs,
    service_process,
    start_all,
    stopped_at_exit,
    tcp_ports,
)
from tests.integration.notify.conftest import webhook_contact
from tests.integration.notify.support import HttpReceiver, Request, http_receiver
from tests.unit.reporting.oracle import Oracle
from tests.unit.reporting.support import oracle_figure
from wo.demo import (
    DEMO_OPERATOR,
    DEMO_PROJECTS,
    DEMO_RECEIVER,
    DEMO_TECHNICIANS,
    DEMO_TENANT,
    register_demo_projects,
)
from wo.token import mint_dev_token

pytestmark = [pytest.mark.slow, pytest.mark.postgres, pytest.mark.timeout(240)]

ORDERS = 120
"""Work orders reported; each then runs a share of its life (see `script`)."""
WORKERS = 8
"""Orders worked at once, each command after the previous one was acknowledged."""
COMMAND_SECONDS = 60.0
"""How long one command is retried (same Idempotency-Key) on connection errors and 503s."""
SETTLE_SECONDS = 90.0
"""How long the stack may take, after the load, to publish, send and project everything."""
RECEIVER_SECONDS = 0.3
"""How long the webhook receiver takes to answer: notify has sends in flight when it dies."""
CATCH_SECONDS = 10.0
"""How long to wait for a moment when the notify to be killed waits on the receiver."""
PROJECTS = [project.slug for project in DEMO_PROJECTS]
TECHNICIANS = sorted(DEMO_TECHNICIANS)
SECRET = "whsec_" + base64.b64encode(b"cluster-test-signing-key-0123456").decode()

SERVICE_SETTINGS = {
    "NATS_STREAM_REPLICAS": "3",
    "DATABASE_POOL_SIZE": "4",
    # Short enough that what a killed instance held comes back within the test, long
    # enough that nothing alive loses its lease or its messages on a loaded machine.
    "CONSUMER_ACK_WAIT_SECONDS": "5",
    # notify's lease must outlast two send timeouts (dispatch's, then the webhook's); the
    # receiver answers within a second.
    "DISPATCH_TIMEOUT_SECONDS": "1",
    "HTTP_TIMEOUT_SECONDS": "2",
    "SENDER_LEASE_SECONDS": "8",
    # The production back-off and limit (1, 5, 30, 120 s; 5 attempts): an event that
    # arrives at one notify before its predecessor, held by the other, waits for it
    # (`NotYet`, back in 0.5 s, not counted as a failure) rather than failing.
    "LOG_LEVEL": "INFO",
}


def notify_config(receiver_url: str) -> NotifyConfig:
    """Every member of the demo staff reached by a signed webhook on the test's receiver;
    residents reached on no channel (their messages are `unreached`, never sent)."""
    people = {DEMO_RECEIVER: "李客服", DEMO_OPERATOR: "运营值班"}
    people.update({tech: name for tech, (name, _) in DEMO_TECHNICIANS.items()})
    contacts = {
        person: webhook_contact(name, f"{receiver_url}/hooks/{person}", SECRET)
        for person, name in people.items()
    }
    # SLA alerts of a slow run come in storms and wait in digests: the shortest window
    # sends those within the test.
    tenant = TenantConfig(
        contacts=contacts,
        operator=DEMO_OPERATOR,
        resident_channels=(),
        digest=DigestPolicy(window_seconds=10),
    )
    return NotifyConfig(tenants={DEMO_TENANT: tenant})


def token(role: Role, subject: str) -> str:
    return mint_dev_token(role=role, tenant=DEMO_TENANT, projects=PROJECTS, subject=subject)


@dataclass(frozen=True)
class Step:
    """One command of a work order's script."""

    command: str
    """`report`, or the command's path segment (`assign`, `complete`, ...)."""
    token: str
    body: dict[str, Any]


def script(n: int) -> list[Step]:
    """Work order `n`'s commands: reported, and then as far along its life as `n % 6` says
    (left waiting; assigned; worked and completed; followed up; closed)."""
    cs = token(Role.CUSTOMER_SERVICE, DEMO_RECEIVER)
    dispatcher = token(Role.DISPATCHER, "dispatcher-1")
    tech = TECHNICIANS[n % len(TECHNICIANS)]
    technician = token(Role.TECHNICIAN, tech)
    report = {
        "project": PROJECTS[n % len(PROJECTS)],
        "kind": "repair",
        "category": "plumbing",
        "location": {"building": "b1", "unit": "1-101"},
        "reporter": {"name": f"住户{n}", "phone": f"139{n:08d}"},
        "channel": "phone",
        "description": f"厨房水管漏水 #{n}",
    }
    steps = [Step("report", cs, report)]
    stage = n % 6
    if stage >= 1:
        steps.append(Step("assign", dispatcher, {"assignee": tech}))
    if stage >= 2:
        steps += [
            Step("arrive", technician, {}),
            Step("start-work", technician, {}),
            Step("complete", technician, {"summary": f"换了阀门 #{n}"}),
        ]
    if stage >= 3:
        steps.append(Step("record-follow-up", cs, {"rating": 1 + n % 5, "comment": "好"}))
    if stage >= 5:
        steps.append(Step("close", cs, {}))
    return steps


@dataclass(frozen=True)
class Ack:
    """A command dispatch acknowledged: the work order and the version it answered."""

    order: str
    version: int
    command: str


@dataclass
class Load:
    """The load's record: what was acknowledged, what was refused, how it went."""

    dispatch: list[str]
    acks: list[Ack] = field(default_factory=list)
    refusals: list[str] = field(default_factory=list)
    retries: int = 0
    progress: asyncio.Event = field(default_factory=asyncio.Event)

    async def send(
        self, client: httpx.AsyncClient, n: int, path: str, step: Step
    ) -> httpx.Response:
        """POST `step` to a dispatch instance, again with the same Idempotency-Key on the
        other instance (then this one) while it cannot be reached or answers 503."""
        key = str(uuid.uuid4())
        headers = {"Authorization": f"Bearer {step.token}", "Idempotency-Key": key}
        deadline = time.monotonic() + COMMAND_SECONDS
        attempt = 0
        while True:
            url = self.dispatch[(n + attempt) % len(self.dispatch)]
            attempt += 1
            try:
                response = await client.post(f"{url}{path}", json=step.body, headers=headers)
            except httpx.TransportError as exc:
                failure = f"{type(exc).__name__}: {exc}"
            else:
                if response.status_code != 503:
                    return response
                failure = f"503 {response.text[:200]}"
            self.retries += 1
            if time.monotonic() > deadline:
                raise AssertionError(f"{step.command} of order {n} never answered: {failure}")
            await asyncio.sleep(0.2)

    async def run_order(self, client: httpx.AsyncClient, n: int) -> None:
        """Run order `n`'s script; stop at the first refusal (recorded)."""
        order = ""
        for step in script(n):
            path = "/v1/work-orders" if not order else f"/v1/work-orders/{order}/{step.command}"
            response = await self.send(client, n, path, step)
            if not response.is_success:
                self.refusals.append(
                    f"order {n} {step.command}: {response.status_code} {response.text[:300]}"
                )
                return
            body = response.json()
            order = body["id"]
            self.acks.append(Ack(order, int(body["version"]), step.command))
            self.progress.set()

    async def run(self, client: httpx.AsyncClient) -> None:
        """Every order's script, `WORKERS` at a time."""
        orders = iter(range(ORDERS))

        async def worker() -> None:
            for n in orders:
                await self.run_order(client, n)

        await asyncio.gather(*(worker() for _ in range(WORKERS)))

    async def acknowledged(self, count: int) -> None:
        """Wait until at least `count` commands were acknowledged."""
        while len(self.acks) < count:
            self.progress.clear()
            await self.progress.wait()


@dataclass
class Deployment:
    """What the test started and what it killed."""

    cluster: NatsCluster
    dispatch: list[ServiceProcess]
    notify: list[ServiceProcess]
    reporting: list[ServiceProcess]
    databases: dict[str, str]
    killed: list[str] = field(default_factory=list)
    notify_victim_ports: set[int] = field(default_factory=set)
    sending_at_kill: set[str] = field(default_factory=set)
    """The webhooks the killed notify had sent and not had an answer to."""

    @property
    def services(self) -> list[ServiceProcess]:
        return [*self.dispatch, *self.notify, *self.reporting]

    def logs(self) -> str:
        return f"killed: {self.killed}\n{service_logs(self.services)}\n{self.cluster.logs()}"


@contextlib.asynccontextmanager
async def databases() -> AsyncIterator[dict[str, str]]:
    """A fresh PostgreSQL database for each service."""
    async with contextlib.AsyncExitStack() as stack:
        yield {
            name: await stack.enter_async_context(FreshPostgresDatabase())
            for name in ("dispatch", "notify", "reporting")
        }


def deployment(tmp_path: Path, receiver: HttpReceiver, urls: dict[str, str]) -> Deployment:
    """The cluster and two instances of each service, configured and not started yet:
    every instance talks to every node, notify's staff hear on `receiver`."""
    ports: set[int] = set()
    cluster = NatsCluster(tmp_path / "nats", ports)
    config = tmp_path / "notify.json"
    config.write_text(notify_config(receiver.url).model_dump_json(), encoding="utf-8")
    settings = {**SERVICE_SETTINGS, "NOTIFY_CONFIG_FILE": str(config)}

    def instances(name: str) -> list[ServiceProcess]:
        return [
            service_process(
                name, f"{name}-{label}", tmp_path, cluster.url, urls[name], settings, ports
            )
            for label in ("a", "b")
        ]

    return Deployment(
        cluster, instances("dispatch"), instances("notify"), instances("reporting"), urls
    )


class Bus:
    """The test's own client of the cluster (the nodes still running), for the checks."""

    def __init__(self, client: Client) -> None:
        self.client = client
        self.js = client.jetstream()

    @classmethod
    @contextlib.asynccontextmanager
    async def connected(cls, url: str) -> AsyncIterator[Bus]:
        client = await nats.connect(servers=url.split(","), connect_timeout=2)
        try:
            yield cls(client)
        finally:
            await client.close()

    async def last_sequence(self) -> int:
        return int((await self.js.stream_info(EVENTS_STREAM)).state.last_seq)

    async def messages(self) -> list[tuple[int, dict[str, Any]]]:
        """Every message on EVENTS as (stream sequence, envelope), in stream order."""
        last = await self.last_sequence()
        found: list[tuple[int, dict[str, Any]]] = []
        if last == 0:
            return found
        sub = await self.js.subscribe(
            EVENTS_SUBJECTS, ordered_consumer=True, deliver_policy=DeliverPolicy.ALL
        )
        try:
            while not found or found[-1][0] < last:
                message = await sub.next_msg(timeout=10)
                found.append((message.metadata.sequence.stream, json.loads(message.data)))
        finally:
            await sub.unsubscribe()
        return found

    async def drained(self, durable: str) -> bool:
        """Whether consumer `durable` was handed, and acknowledged, everything it filters."""
        # nats-py leaves consumer_info unannotated; it answers a ConsumerInfo.
        info: ConsumerInfo = await self.js.consumer_info(EVENTS_STREAM, durable)
        return info.num_pending == 0 and info.num_ack_pending == 0


async def stream_leader(url: str) -> str:
    """The name of the node leading EVENTS."""
    async with Bus.connected(url) as bus:
        info = await bus.js.stream_info(EVENTS_STREAM)
        assert info.cluster is not None and info.cluster.leader, info
        return info.cluster.leader


async def chaos(deployment: Deployment, load: Load, receiver: HttpReceiver) -> None:
    """A third of the way: SIGKILL the node leading EVENTS. Half way: SIGKILL one instance
    of dispatch and of reporting, then notify's while a webhook it sent waits for the
    receiver's answer, if it is caught so within `CATCH_SECONDS`."""
    total = sum(len(script(n)) for n in range(ORDERS))
    await load.acknowledged(total // 3)
    leader = deployment.cluster.node(await stream_leader(deployment.cluster.url))
    deployment.cluster.kill(leader)
    deployment.killed.append(f"{leader.name} (EVENTS' leader) at {len(load.acks)} acks")
    await load.acknowledged(total // 2)
    for service in (deployment.dispatch[0], deployment.reporting[0]):
        service.kill()
    deployment.killed.append(f"dispatch-a, reporting-a at {len(load.acks)} acks")
    victim = deployment.notify[0]

    def frozen() -> tuple[set[int], list[Request]]:
        victim.freeze()
        # Nothing else runs on this loop meanwhile: the receiver answers no one.
        ports = tcp_ports(victim.pid)
        return ports, [r for port, r in receiver.unanswered.items() if port in ports]

    # Its kept-alive connections to the receiver, looked up once; then watched without
    # stopping it, so its sends are not held back by the looking.
    ports, sending = frozen()
    victim.thaw()
    deadline = time.monotonic() + CATCH_SECONDS
    while not sending and time.monotonic() < deadline:
        await asyncio.sleep(0.01)
        if ports & set(receiver.unanswered):
            ports, sending = frozen()
            if not sending:
                victim.thaw()
    if not sending:
        ports, sending = frozen()
    deployment.notify_victim_ports = ports
    deployment.sending_at_kill = {request.headers["webhook-id"] for request in sending}
    victim.kill()
    deployment.killed.append(
        f"notify-a at {len(load.acks)} acks, {len(sending)} of its webhooks unanswered"
    )


async def settled(check: Callable[[], Awaitable[bool]], seconds: float = SETTLE_SECONDS) -> None:
    """Wait until `check()` is true (at most `seconds`: the assertions then say what is not).
    A JetStream request that times out meanwhile (the cluster still settling after the
    kills: CI saw `STREAM.INFO` time out once) counts as not yet."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        with contextlib.suppress(nats.errors.TimeoutError):
            if await check():
                return
        await asyncio.sleep(0.5)


def counted(messages: list[tuple[int, dict[str, Any]]], source: str) -> Counter[str]:
    """How often each event id of `source` is on the stream."""
    return Counter(envelope["id"] for _, envelope in messages if envelope["source"] == source)


async def check_dispatch(engine: AsyncEngine, load: Load, bus: Bus) -> None:
    """Every acknowledged command is in the store; every stored event is on EVENTS exactly
    once (nothing else of dispatch's is there); each work order's events in version order."""
    e = dispatch_events.c

    async def stored() -> dict[str, tuple[str, int]]:
        async with engine.connect() as conn:
            rows = await conn.execute(select(e.event_id, e.stream_id, e.version))
            return {str(row.event_id): (row.stream_id, row.version) for row in rows}

    async def all_published() -> bool:
        return set(await stored()) <= set(counted(await bus.messages(), "/dispatch"))

    await settled(all_published)
    store = await stored()
    messages = await bus.messages()
    ours = [(seq, envelope) for seq, envelope in messages if envelope["source"] == "/dispatch"]
    counts = counted(ours, "/dispatch")
    unpublished = set(store) - set(counts)
    assert not unpublished, f"{len(unpublished)} of {len(store)} stored events not on EVENTS"
    versions = set(store.values())
    lost = [ack for ack in load.acks if (ack.order, ack.version) not in versions]
    assert not lost, f"acknowledged but not stored: {lost[:10]}"
    doubled = {event: n for event, n in counts.items() if n > 1}
    assert not doubled, f"dispatch's events on EVENTS more than once: {doubled}"
    strangers = set(counts) - set(store)
    assert not strangers, f"dispatch's events on EVENTS that its store lacks: {strangers}"
    in_stream_order: dict[str, list[int]] = defaultdict(list)
    for _, envelope in ours:
        in_stream_order[envelope["subject"]].append(envelope["sequence"])
    disordered = {
        order: seen
        for order, seen in in_stream_order.items()
        if seen != list(range(1, len(seen) + 1))
    }
    assert not disordered, f"work orders whose events are out of version order: {disordered}"
    print(f"dispatch: {len(store)} events stored, each once on EVENTS, in order")


async def check_notify(
    engine: AsyncEngine, bus: Bus, receiver: HttpReceiver, deployment: Deployment
) -> None:
    """Every webhook delivery was sent and received (an alert carried by a digest, in
    its digest); none twice, except a send of the killed instance it had no time to
    record, repeated once by the survivor; every event notify recorded is on EVENTS
    exactly once."""
    d = deliveries.c
    victim = deployment.notify_victim_ports

    async def statuses() -> Counter[str]:
        async with engine.connect() as conn:
            rows = await conn.execute(select(d.status).where(d.channel == "webhook"))
            return Counter(row.status for row in rows)

    async def unpublished() -> int:
        async with engine.connect() as conn:
            query = select(func.count()).where(notify_outbox.c.published_at.is_(None))
            return int(await conn.scalar(query) or 0)

    async def done() -> bool:
        sent = await statuses()
        return await bus.drained("notify") and set(sent) == {"sent"} and await unpublished() == 0

    await settled(done)
    assert await bus.drained("notify"), "notify's durable still holds events"
    sent = await statuses()
    assert set(sent) == {"sent"}, f"webhook deliveries not all sent: {dict(sent)}"
    assert await unpublished() == 0, "notify's outbox still holds events"
    async with engine.connect() as conn:
        webhooks = select(d.id, d.digest_id).where(d.channel == "webhook")
        rows = (await conn.execute(webhooks)).all()
        dead = await conn.scalar(select(func.count()).select_from(notify_dead_letters))
        recorded = {row.msg_id for row in await conn.execute(select(notify_outbox.c.msg_id))}
    assert dead == 0, f"{dead} dead letters in notify"
    planned = {str(row.id) for row in rows if row.digest_id is None}
    carried = {str(row.id): str(row.digest_id) for row in rows if row.digest_id is not None}
    received: dict[str, list[int]] = defaultdict(list)
    for request in receiver.requests:
        received[request.headers["webhook-id"]].append(request.peer_port)
    in_no_digest = sorted(alert for alert, digest in carried.items() if digest not in received)
    assert not in_no_digest, f"alerts whose digest was never received: {in_no_digest[:10]}"
    assert set(received) == planned, (
        f"sent but not received: {sorted(planned - set(received))[:10]}; "
        f"received but never planned: {sorted(set(received) - planned)[:10]}"
    )
    repeated = {
        delivery: ports
        for delivery, ports in received.items()
        if len(ports) > 1 and not (len(ports) == 2 and sum(p in victim for p in ports) == 1)
    }
    assert not repeated, f"webhooks received more than once (sender ports): {repeated}"
    # Sent by the killed instance and never answered: sent once more by the survivor.
    once = {delivery for delivery in deployment.sending_at_kill if len(received[delivery]) != 2}
    assert not once, f"in flight when notify was killed, and not sent again: {once}"
    counts = counted(await bus.messages(), "/notify")
    assert set(counts) == recorded, "notify's events on EVENTS differ from its outbox"
    doubled = {event: n for event, n in counts.items() if n > 1}
    assert not doubled, f"notify's events on EVENTS more than once: {doubled}"
    again = sum(len(ports) > 1 for ports in received.values())
    by_victim = sum(port in victim for ports in received.values() for port in ports)
    print(
        f"notify: {len(planned)} webhooks sent ({len(carried)} alerts in digests), "
        f"{by_victim} by the instance killed ({len(deployment.sending_at_kill)} in flight at "
        f"its death), {again} again after the crash"
    )


def api_figure(figure: dict[str, Any]) -> object:
    """A KPI of reporting's answer in the shape `oracle_figure` gives."""
    kpi = KPIS[figure["kpi"]]
    if figure["kpi"] == "backlog" or kpi.unit is Unit.COUNT:
        return figure["numerator"]
    if kpi.unit is Unit.SECONDS:
        return tuple(figure[p] for p in ("p50", "p90", "p99"))
    return figure["numerator"], figure["denominator"]


async def check_reporting(
    client: httpx.AsyncClient, url: str, engine: AsyncEngine, bus: Bus
) -> None:
    """Once reporting's durable acknowledged the whole stream, its figures (every KPI, the
    notifications per channel) equal the oracle's over the events on the stream."""

    async def caught_up() -> bool:
        last = await bus.last_sequence()
        return await bus.drained("reporting") and await bus.last_sequence() == last

    await settled(caught_up)
    assert await bus.drained("reporting"), "reporting's durable still holds events"
    zone = ZoneInfo(DEMO_PROJECTS[0].time_zone)
    today = datetime.now(UTC).astimezone(zone).date()
    start, end = today - timedelta(days=1), today + timedelta(days=2)
    scope = {(DEMO_TENANT, project) for project in PROJECTS}
    oracle = Oracle([envelope for _, envelope in await bus.messages()])
    expected: dict[str, object] = {
        name: oracle_figure(oracle, name, scope, start, end) for name in KPIS
    }
    expected["notifications"] = oracle.notifications(scope, start, end)
    response = await client.get(
        f"{url}/v1/kpis",
        params={"from": start.isoformat(), "to": end.isoformat()},
        headers={"Authorization": f"Bearer {token(Role.HQ_QUALITY, 'hq-1')}"},
    )
    assert response.status_code == 200, response.text
    board = response.json()
    answered: dict[str, object] = {k["kpi"]: api_figure(k) for k in board["kpis"]}
    answered["notifications"] = {
        channel: {outcome: n for outcome, n in outcomes.items() if outcome != "delivery_rate" and n}
        for channel, outcomes in board["notifications"]["by_channel"].items()
    }
    async with engine.connect() as conn:
        dead = await conn.scalar(select(func.count()).select_from(reporting_dead_letters))
        # With every event delivered and acknowledged no gap is left open: an event still
        # waiting for its predecessor was stranded by a fold that never saw it waiting.
        stranded = (
            (await conn.execute(select(reporting_pending.c.stream_id).distinct())).scalars().all()
        )
    assert dead == 0, f"{dead} dead letters in reporting"
    differing = {k: (answered[k], expected[k]) for k in expected if answered[k] != expected[k]}
    assert not differing, (
        f"(reporting, oracle): {differing}; {len(stranded)} work orders stranded with "
        "events in rp_pending (two projectors folding at once strand them so)"
    )
    print(f"reporting: every figure equals the oracle's over {len(oracle.orders)} streams")


async def test_a_cluster_that_loses_a_node_and_an_instance_of_each_service_loses_nothing(
    tmp_path: Path,
) -> None:
    if not os.environ.get("TEST_DATABASE_URL"):
        pytest.skip("needs PostgreSQL (TEST_DATABASE_URL): several instances share a database")
    async with databases() as urls, http_receiver(delay_seconds=RECEIVER_SECONDS) as receiver:
        planned = deployment(tmp_path, receiver, urls)
        with stopped_at_exit(planned.cluster, planned.services):
            try:
                await run_and_check(planned, receiver)
            except BaseException:
                print(planned.logs())
                raise


async def run_and_check(deployment: Deployment, receiver: HttpReceiver) -> None:
    """Start everything, run the load with its kills, then check what came of it."""
    began = time.monotonic()
    cluster = deployment.cluster
    await asyncio.to_thread(cluster.start)
    first = [deployment.dispatch[0], deployment.notify[0], deployment.reporting[0]]
    second = [deployment.dispatch[1], deployment.notify[1], deployment.reporting[1]]
    await asyncio.to_thread(start_all, first)
    await asyncio.to_thread(start_all, second)
    with httpx.Client(timeout=30, trust_env=False) as sync_client:
        hq = token(Role.HQ_QUALITY, "hq-1")
        await asyncio.to_thread(register_demo_projects, sync_client, deployment.dispatch[0].url, hq)
    up = time.monotonic()
    print(f"up: cluster, 6 services and the demo projects in {up - began:.1f} s")
    load = Load([service.url for service in deployment.dispatch])
    async with httpx.AsyncClient(timeout=30, trust_env=False) as client:
        killing = asyncio.create_task(chaos(deployment, load, receiver))
        try:
            await load.run(client)
            loaded = time.monotonic()
            # The kills go on when the load is done first: notify-a is then caught while
            # it sends the backlog (chaos waits at most CATCH_SECONDS for a send, and the
            # kills before it wait on acknowledgements the whole load has made).
            await asyncio.wait_for(asyncio.shield(killing), CATCH_SECONDS + 30)
        finally:
            if not killing.done():
                killing.cancel()
        print(
            f"load: {len(load.acks)} commands acknowledged in {loaded - up:.1f} s "
            f"({load.retries} retries); killed {deployment.killed}"
        )
        assert not load.refusals, load.refusals[:10]
        await killing
        engines = {
            name: create_engine(url, pool_size=2) for name, url in deployment.databases.items()
        }
        try:
            async with Bus.connected(cluster.live_url) as bus:
                await check_dispatch(engines["dispatch"], load, bus)
                await check_notify(engines["notify"], bus, receiver, deployment)
                await check_reporting(
                    client, deployment.reporting[1].url, engines["reporting"], bus
                )
        finally:
            for engine in engines.values():
                await engine.dispose()
            refused = sum(
                "consumer.waiting" in line
                for service in deployment.notify
                for line in service.log.read_text(errors="replace").splitlines()
            )
            print(f"notify: {refused} events waited for their work order's previous one")
            print(
                f"checks: {time.monotonic() - loaded:.1f} s; total {time.monotonic() - began:.1f} s"
            )
