"""End to end: `wo up` starts the stack as a user would; a work order reported over HTTP
reaches JetStream; Ctrl-C stops every process it started."""

from __future__ import annotations

import asyncio
import json
import os
import re
import signal
import subprocess
import time
from pathlib import Path
from typing import Any

import httpx
import nats
import pytest
from nats.js.api import DeliverPolicy

from tests.e2e.wo_up_support import (
    STACK_TIMEOUT,
    STOP_TIMEOUT,
    WoUp,
    alive,
)
from tests.integration.dispatch.api_support import report_body

pytestmark = [pytest.mark.slow, pytest.mark.timeout(300)]

EVENT_TIMEOUT = 10.0

WORK_ORDER = report_body(project="sunny-garden")


async def reported_event(nats_url: str, work_order_id: str, within: float) -> dict[str, Any]:
    """The `workorder.reported.v1` event of `work_order_id`, read from the start of EVENTS."""
    nc = await nats.connect(nats_url, connect_timeout=5)
    seen: list[tuple[Any, Any]] = []
    try:
        js = nc.jetstream()
        sub = await js.subscribe(
            "events.demo.sunny-garden.workorder.>",
            ordered_consumer=True,
            deliver_policy=DeliverPolicy.ALL,
        )
        loop = asyncio.get_running_loop()
        deadline = loop.time() + within
        while (left := deadline - loop.time()) > 0:
            try:
                msg = await sub.next_msg(timeout=left)
            except nats.errors.TimeoutError:
                break
            event = json.loads(msg.data)
            seen.append((event.get("type"), event.get("subject")))
            if (
                event.get("type") == "workorder.reported.v1"
                and event.get("subject") == work_order_id
            ):
                return dict(event)
    finally:
        await nc.close()
    pytest.fail(f"no workorder.reported.v1 for {work_order_id} within {within:g} s; saw {seen}")


def notify_deliveries(stack: dict[str, Any], work_order_id: str, within: float) -> list[Any]:
    """notify's sent deliveries of a work order, once there are any (bounded wait).

    The resident's messages may be held by quiet hours; staff messages go at once.
    """
    notify = stack["services"]["notify"]["url"]
    headers = {"Authorization": f"Bearer {stack['tokens']['supervisor']}"}
    deadline = time.monotonic() + within
    rows: list[Any] = []
    with httpx.Client(timeout=10.0, trust_env=False) as client:
        while time.monotonic() < deadline:
            response = client.get(
                f"{notify}/v1/deliveries", params={"work_order_id": work_order_id}, headers=headers
            )
            rows = [row for row in response.json() if row["status"] == "sent"]
            if rows:
                return rows
            time.sleep(0.2)
    pytest.fail(f"notify sent nothing for {work_order_id} within {within:g} s: {rows}")


def test_reported_work_order_reaches_jetstream_and_ctrl_c_stops_everything(wo_up: WoUp) -> None:
    stack = wo_up.wait_for_stack(STACK_TIMEOUT)
    dispatch = stack["services"]["dispatch"]["url"]
    assert not dispatch.endswith(":8000"), "port 8000 is taken, dispatch must use another"
    assert stack["tenant"] == "demo"
    assert "sunny-garden" in stack["projects"]

    # The console's URL is the first one `wo up` prints, and it offers the demo's people.
    console = stack["services"]["console"]["url"]
    wait_for_output(wo_up, "Open the console", 30)
    printed = re.findall(r"https?://[\w.:]+", wo_up.output.read_text(encoding="utf-8"))
    assert printed[0] == console, wo_up.console()
    with httpx.Client(timeout=10.0, trust_env=False) as client:
        sign_in = client.get(f"{console}/sign-in")
    assert sign_in.status_code == 200, sign_in.text
    assert 'data-person="tech-wang"' in sign_in.text and "王师傅" in sign_in.text

    with httpx.Client(timeout=10.0, trust_env=False) as client:
        assert client.get(f"{dispatch}/healthz").status_code == 200
        response = client.post(
            f"{dispatch}/v1/work-orders",
            json=WORK_ORDER,
            headers={"Authorization": f"Bearer {stack['tokens']['customer_service']}"},
        )
        # A resident's own report in the app is owned by the demo's customer service.
        in_app = client.post(
            f"{dispatch}/v1/work-orders",
            json={**WORK_ORDER, "channel": "app"},
            headers={"Authorization": f"Bearer {stack['tokens']['resident']}"},
        )
    assert response.status_code == 201, response.text
    work_order_id = response.json()["id"]
    assert in_app.status_code == 201, in_app.text
    assert in_app.json()["owner"] == "dev-customer_service"

    event = asyncio.run(reported_event(stack["nats_url"], work_order_id, EVENT_TIMEOUT))
    assert event["tenant"] == "demo"
    assert event["project"] == "sunny-garden"
    # notify consumed it: the owner (customer service) was told in their inbox.
    delivered = notify_deliveries(stack, work_order_id, EVENT_TIMEOUT)
    assert {(d["template"], d["channel"]) for d in delivered} >= {("reported_owner", "inbox")}

    pids = wo_up.pids()
    assert set(pids) >= {"dispatch", "notify", "nats-server"}
    wo_up.process.send_signal(signal.SIGINT)
    try:
        code = wo_up.process.wait(STOP_TIMEOUT)
    except subprocess.TimeoutExpired:
        pytest.fail(f"wo up did not stop within {STOP_TIMEOUT:g} s:\n{wo_up.console()}")
    assert code == 0, wo_up.console()
    assert not wo_up.stack_file.exists(), "stack.json must be removed when the stack stops"
    left_behind = {name: pid for name, pid in pids.items() if alive(pid)}
    assert not left_behind, f"processes still running after wo up stopped: {left_behind}"


def wait_for_output(wo_up: WoUp, text: str, timeout: float) -> None:
    """Wait (bounded) until `wo up` has printed `text`."""
    deadline = time.monotonic() + timeout
    while text not in wo_up.console():
        if time.monotonic() > deadline or wo_up.process.poll() is not None:
            pytest.fail(f"wo up did not print {text!r}:\n{wo_up.console()}")
        time.sleep(0.2)


def mode(path: Path) -> int:
    return path.stat().st_mode & 0o777


def test_the_stack_is_private_authenticated_and_restarts_a_crashed_service(wo_up: WoUp) -> None:
    stack = wo_up.wait_for_stack(STACK_TIMEOUT)
    var = wo_up.var_dir

    # Residents' data and secrets are the owner's alone.
    assert mode(var) == 0o700
    assert mode(var / "log") == 0o700
    for path in [*var.glob("*.db*"), *(var / "log").iterdir(), var / "stack.json"]:
        assert mode(path) == 0o600, f"{path} is {oct(mode(path))}"
    assert {p.name for p in var.glob("*.db")} >= {"dispatch.db", "notify.db"}
    assert mode(var / "nats-server.conf") == 0o600
    # The privacy master key: generated there, the owner's alone, given to every service.
    assert mode(var / "privacy-master.key") == 0o600
    master_key = (var / "privacy-master.key").read_text(encoding="utf-8").strip()
    for service in stack["services"].values() if Path("/proc/self/environ").exists() else ():
        environ = Path(f"/proc/{service['pid']}/environ").read_bytes().split(b"\0")
        assert f"PRIVACY_MASTER_KEY={master_key}".encode() in environ
    assert master_key not in json.dumps(stack)

    # NATS admits only the stack's users; stack.json's reader may read, not publish.
    async def unauthenticated() -> None:
        nc = await nats.connect(stack["nats"]["url"], allow_reconnect=False, connect_timeout=2)
        await nc.close()

    with pytest.raises(Exception, match=r"(?i)authori"):
        asyncio.run(unauthenticated())
    assert set(stack["nats"]["users"]) == {"dispatch", "notify", "reporting", "integrator"}

    # A crashed service is started again with a growing back-off; the stack stays up.
    dispatch = stack["services"]["dispatch"]
    os.kill(dispatch["pid"], signal.SIGKILL)
    wait_for_output(wo_up, "dispatch exited with code -9; restarting it in 1 s", 30)
    wait_for_output(wo_up, "dispatch is ready again", 60)
    restarted = json.loads(wo_up.stack_file.read_text(encoding="utf-8"))
    assert restarted["services"]["dispatch"]["pid"] != dispatch["pid"]
    os.kill(restarted["services"]["dispatch"]["pid"], signal.SIGKILL)
    wait_for_output(wo_up, "dispatch exited with code -9; restarting it in 2 s", 30)
    wait_for_output(wo_up, "restart 2", 30)
    assert wo_up.process.poll() is None, wo_up.console()
    with httpx.Client(timeout=10.0, trust_env=False) as client:
        deadline = time.monotonic() + 60
        while True:
            try:
                if client.get(f"{dispatch['url']}/readyz").status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert time.monotonic() < deadline, wo_up.console()
            time.sleep(0.2)
    wo_up.stack = json.loads(wo_up.stack_file.read_text(encoding="utf-8"))
