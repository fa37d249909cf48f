"""Who may do what on the bus: one NATS user per service, and read-only integrators.

Each service publishes only its own events (a forged `workorder.reported` from anyone
but dispatch is refused by the server), uses only the JetStream API calls it needs on
its own streams, and receives replies on `_INBOX.>`. Integrators read `EVENTS` and
`KPI` through their own durable consumers and publish nothing but API requests and
acknowledgements. The local stack (`wo up`) writes these users into its nats-server
configuration; `deploy/nats/nats-server.conf` holds the same permissions.
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from typing import Any
from urllib.parse import quote, urlsplit, urlunsplit

from shared.subjects import EVENTS_STREAM, KPI_STREAM

SERVICE_USERS = ("dispatch", "notify", "reporting")
INTEGRATOR = "integrator"
"""The read-only user the local stack creates for scripts and `wo events tail`."""


def _stream_reader(stream: str) -> list[str]:
    """The API subjects a durable or ordered consumer of `stream` publishes to."""
    return [
        f"$JS.API.STREAM.INFO.{stream}",
        f"$JS.API.CONSUMER.CREATE.{stream}",
        f"$JS.API.CONSUMER.CREATE.{stream}.>",
        f"$JS.API.CONSUMER.DURABLE.CREATE.{stream}.>",
        f"$JS.API.CONSUMER.INFO.{stream}.>",
        f"$JS.API.CONSUMER.DELETE.{stream}.>",
        f"$JS.API.CONSUMER.MSG.NEXT.{stream}.>",
        f"$JS.ACK.{stream}.>",
        f"$JS.FC.{stream}.>",
    ]


def _stream_owner(stream: str) -> list[str]:
    """The API subjects that create, update, delete and count `stream`."""
    return [
        f"$JS.API.STREAM.CREATE.{stream}",
        f"$JS.API.STREAM.UPDATE.{stream}",
        f"$JS.API.STREAM.DELETE.{stream}",
        f"$JS.API.STREAM.INFO.{stream}",
        f"$JS.API.CONSUMER.CREATE.{stream}.>",
        f"$JS.API.CONSUMER.DELETE.{stream}.>",
    ]


_EVERYONE = ["$JS.API.INFO"]
_REPLIES = ["_INBOX.>"]

PUBLISH: Mapping[str, list[str]] = {
    "dispatch": [
        "events.*.*.workorder.>",
        "events.*.*.project.>",
        *_EVERYONE,
        *_stream_owner(EVENTS_STREAM),
    ],
    "notify": [
        "events.*.*.notification.>",
        # The inbox's wake-ups between notify's own processes.
        "notify.inbox.>",
        *_EVERYONE,
        *_stream_reader(EVENTS_STREAM),
    ],
    "reporting": [
        "kpi.>",
        *_EVERYONE,
        *_stream_owner(KPI_STREAM),
        *_stream_reader(EVENTS_STREAM),
        *_stream_reader(KPI_STREAM),
    ],
    INTEGRATOR: [
        *_EVERYONE,
        "$JS.API.STREAM.NAMES",
        *_stream_reader(EVENTS_STREAM),
        *_stream_reader(KPI_STREAM),
    ],
}
"""What each user may publish; everything else is refused by the server."""

SUBSCRIBE: Mapping[str, list[str]] = {
    "dispatch": _REPLIES,
    "notify": [*_REPLIES, "notify.inbox.>"],
    "reporting": _REPLIES,
    INTEGRATOR: [*_REPLIES, "events.>", "kpi.>"],
}
"""What each user may subscribe to (replies come to `_INBOX.>`)."""


def new_passwords(users: tuple[str, ...] = (*SERVICE_USERS, INTEGRATOR)) -> dict[str, str]:
    """A fresh random password per user."""
    return {user: secrets.token_urlsafe(24) for user in users}


def authorization(passwords: Mapping[str, str]) -> dict[str, Any]:
    """The `authorization` block of a nats-server configuration for these users."""
    return {
        "users": [
            {
                "user": user,
                "password": password,
                "permissions": {
                    "publish": {"allow": PUBLISH[user]},
                    "subscribe": {"allow": SUBSCRIBE[user]},
                },
            }
            for user, password in passwords.items()
        ]
    }


def url_with_user(url: str, user: str, password: str) -> str:
    """`url` (each of a comma-separated list) with `user:password@` in it."""
    userinfo = f"{quote(user, safe='')}:{quote(password, safe='')}"
    return ",".join(
        urlunsplit(parts._replace(netloc=f"{userinfo}@{parts.hostname}:{parts.port}"))
        for parts in (urlsplit(server.strip()) for server in url.split(","))
    )
