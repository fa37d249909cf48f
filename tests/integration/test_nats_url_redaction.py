"""A password in NATS_URL never reaches a log line (connect, disconnect, reconnect, errors)."""

from __future__ import annotations

import asyncio
import sys

import pytest

from shared.logging import redact_credentials
from tests.conftest import SecuredNats


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        ("nats://notify:s3cr%2Ft@nats-1:4222", "nats://notify:***@nats-1:4222"),
        (
            "nats://a:x@n1:4222,nats://a:x@n2:4222",
            "nats://a:***@n1:4222,nats://a:***@n2:4222",
        ),
        ("connect to tls://tok3n@host failed", "connect to tls://***@host failed"),
        ("nats://127.0.0.1:4222", "nats://127.0.0.1:4222"),
        ("mail cs@example.com", "mail cs@example.com"),
    ],
)
def test_credentials_in_urls_are_hidden(text: str, shown: str) -> None:
    assert redact_credentials(text) == shown


# Logging as a service process sets it up (structlog to stderr), in a process of its own.
CHILD = """
import asyncio, sys
from shared.logging import configure_logging
from shared.nats import connect, connect_with_streams

async def main(url: str, wrong: str) -> None:
    nc = await connect(url, "redaction-child")
    print("connected", flush=True)
    while nc.is_connected:
        await asyncio.sleep(0.02)
    while not nc.is_connected:
        await asyncio.sleep(0.02)
    # nats-py marks the client connected, flushes, and only then calls the reconnect
    # callback (which logs): a flush of ours is answered after the reconnect's own, so
    # once it returns the callback has run. Closing earlier lost the log line now and then.
    await nc.flush()
    await asyncio.sleep(0)
    await nc.close()
    # A wrong password: retried, its errors logged.
    try:
        async with asyncio.timeout(1.5):
            await connect_with_streams(wrong, "redaction-child", waits_for=("EVENTS",))
    except TimeoutError:
        pass

configure_logging("child", "INFO", "console")
asyncio.run(main(sys.argv[1], sys.argv[2]))
"""


async def test_a_password_in_the_nats_url_is_not_logged_on_reconnect(
    secured_nats: SecuredNats,
) -> None:
    password = secured_nats.passwords["notify"]
    url = secured_nats.url("notify")
    wrong = url.replace(password, "wrong-" + password)
    child = await asyncio.create_subprocess_exec(
        sys.executable,
        "-c",
        CHILD,
        url,
        wrong,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    assert child.stdout is not None
    assert await asyncio.wait_for(child.stdout.readline(), 30) == b"connected\n"
    # The server goes away and comes back: the child logs the disconnect and reconnect.
    secured_nats.server.stop()
    secured_nats.server.start()
    _, stderr = await asyncio.wait_for(child.communicate(), 60)
    logged = stderr.decode()

    assert child.returncode == 0, logged
    assert "nats.disconnected" in logged
    assert "nats.reconnected" in logged
    assert "notify:***@" in logged
    assert password not in logged
