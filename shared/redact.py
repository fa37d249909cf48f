"""Keeping credentials and personal data out of log lines, error texts and answers.

Robots and webhooks carry their credential in the URL itself: WeCom's `key=`, DingTalk's
`access_token=` (and its `sign=`), Feishu's hook token as the last path segment, an
integrator's `user:password@` or `?token=`. Which part of an arbitrary URL is a secret
cannot be told reliably, so a redacted URL keeps only what locates the receiver: scheme,
host and port.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from urllib.parse import parse_qsl, urlsplit

from pydantic import ValidationError

REDACTED = "…"
"""What stands in for the path, query and user info a redacted URL leaves out."""

# A URL ends before white space or quotes, and punctuation after it is the sentence's.
_URL = re.compile(r"""[a-zA-Z][a-zA-Z0-9+.-]*://[^\s'"<>`]*[^\s'"<>`.,;:!?)\]]""")


def redact_url(url: str) -> str:
    """`scheme://host[:port]`, plus `/…` when the URL had anything after its host."""
    try:
        parts = urlsplit(url)
        host = parts.hostname or ""
        port = parts.port
    except ValueError:
        return REDACTED
    if not parts.scheme or not host:
        return REDACTED
    if ":" in host:
        host = f"[{host}]"
    location = f"{parts.scheme}://{host}" + (f":{port}" if port is not None else "")
    rest = parts.path not in ("", "/") or parts.query or parts.fragment or parts.username
    return location + (f"/{REDACTED}" if rest else "")


_SHORTEST_TOKEN = 16
"""Path segments this long are taken for tokens (Feishu's hook id); shorter ones are words."""


_SHORTEST_SECRET = 6
"""Known secrets shorter than this are not searched for: they would match ordinary words."""


def url_secrets(url: str) -> list[str]:
    """The parts of `url` that may be credentials: user info, query values, long path segments."""
    try:
        parts = urlsplit(url)
        found = [parts.username or "", parts.password or ""]
    except ValueError:
        return [url]
    found += [value for _, value in parse_qsl(parts.query, keep_blank_values=False)]
    found += [segment for segment in parts.path.split("/") if len(segment) >= _SHORTEST_TOKEN]
    return [secret for secret in found if secret]


def redact_text(text: str, secrets: Iterable[str | None] = ()) -> str:
    """`text` with every URL in it redacted by `redact_url` (e.g. an HTTP library's error),
    and every occurrence of the known `secrets` (a receiver may echo its key back)."""
    text = _URL.sub(lambda match: redact_url(match.group(0)), text)
    for secret in sorted({s for s in secrets if s and len(s) >= _SHORTEST_SECRET}, key=len)[::-1]:
        text = text.replace(secret, REDACTED)
    return text


def validation_summary(exc: ValidationError) -> str:
    """Which fields failed and why, without the values given: those may be a resident's
    name or phone, and the summary is shown to operators and logged."""
    return "; ".join(
        f"{'.'.join(str(part) for part in error['loc']) or '(body)'}: {error['msg']}"
        for error in exc.errors(include_url=False, include_input=False, include_context=False)
    )
