"""The development outbox stands in for SMS and e-mail without a provider, in development only."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import create_async_engine

from services.notify.adapters.channels.dev_outbox import DevOutboxChannel, stands_in_for
from services.notify.adapters.channels.email import EmailChannel
from services.notify.adapters.channels.http import HttpLanes
from services.notify.adapters.channels.inbox import InboxBroker
from services.notify.adapters.channels.sms import SmsChannel
from services.notify.domain.model import ChannelName
from services.notify.entrypoints.bootstrap import channels
from services.notify.settings import NotifySettings
from shared.clock import ManualClock
from tests.unit.notify.builders import T0

SMS, EMAIL = ChannelName.SMS, ChannelName.EMAIL


def test_it_stands_in_for_the_unconfigured_provider_channels_in_development_only() -> None:
    assert stands_in_for("development", set()) == [SMS, EMAIL]
    assert stands_in_for("development", {SMS}) == [EMAIL]
    assert stands_in_for("development", {SMS, EMAIL}) == []
    for environment in ("production", "staging", "test"):
        assert stands_in_for(environment, set()) == []


async def test_production_never_sends_to_the_development_outbox() -> None:
    engine = create_async_engine("sqlite+aiosqlite://")
    clock = ManualClock(T0)
    http = HttpLanes(connections=1, timeout=1.0)
    try:
        found = {
            environment: channels(
                NotifySettings(environment=environment, jwt_secret="s" * 40),
                engine,
                http,
                clock,
                InboxBroker(),
            )
            for environment in ("development", "production")
        }
        configured = channels(
            NotifySettings(
                environment="development",
                smtp_host="127.0.0.1",
                sms_endpoint="http://127.0.0.1:9/sms",
                sms_api_key="key",
            ),
            engine,
            http,
            clock,
            InboxBroker(),
        )
    finally:
        await http.aclose()
        await engine.dispose()
    development, production = found["development"], found["production"]
    assert isinstance(development[SMS], DevOutboxChannel)
    assert isinstance(development[EMAIL], DevOutboxChannel)
    # Production without providers: SMS and e-mail stay unconfigured (recipients unreached).
    assert SMS not in production and EMAIL not in production
    assert not any(isinstance(c, DevOutboxChannel) for c in production.values())
    # A real provider always wins, in development too.
    assert isinstance(configured[SMS], SmsChannel)
    assert isinstance(configured[EMAIL], EmailChannel)
