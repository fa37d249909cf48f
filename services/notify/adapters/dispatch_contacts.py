"""A resident's phone from dispatch, at send time (`GET /v1/residents/{ref}/contact`).

notify calls as its service identity, role `notifier`: a token minted per tenant with
`JWT_SECRET` (an hour long, renewed before it runs out), or `NOTIFY_DISPATCH_TOKEN` where
an identity provider signs tokens. dispatch writes each answer to its access log. The
phone answered is used for one send and dropped: it is never stored or logged, and no
error quotes dispatch's answer.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta

import httpx

from services.notify.service_layer.ports import DeliveryFailed, ResidentGone
from shared.auth import ALL_PROJECTS, Role, mint_token

NOTIFY_SUBJECT = "notify"
"""The subject of notify's tokens: what dispatch's access log names as the reader."""

TOKEN_LIFETIME = timedelta(hours=1)
RENEW_BEFORE = timedelta(minutes=5)


class NotifierTokens:
    """notify's bearer token for dispatch, per tenant: minted, or the one configured."""

    def __init__(
        self,
        *,
        secret: str | None,
        issuer: str,
        audience: str,
        now: Callable[[], datetime],
        configured: str | None = None,
    ) -> None:
        self._secret = secret
        self._issuer = issuer
        self._audience = audience
        self._now = now
        self._configured = configured
        self._minted: dict[str, tuple[str, datetime]] = {}

    def for_tenant(self, tenant: str) -> str:
        """The token to call dispatch with about `tenant`'s residents."""
        if self._secret is None:
            if not self._configured:
                raise DeliveryFailed("neither JWT_SECRET nor NOTIFY_DISPATCH_TOKEN is set")
            return self._configured
        now = self._now()
        minted = self._minted.get(tenant)
        if minted is None or minted[1] - RENEW_BEFORE <= now:
            token = mint_token(
                secret=self._secret,
                subject=NOTIFY_SUBJECT,
                role=Role.NOTIFIER,
                tenant=tenant,
                projects=[ALL_PROJECTS],
                issuer=self._issuer,
                audience=self._audience,
                now=now,
                ttl=TOKEN_LIFETIME,
            )
            minted = (token, now + TOKEN_LIFETIME)
            self._minted[tenant] = minted
        return minted[0]


class DispatchContacts:
    """Implements `service_layer.ports.ResidentContacts` over dispatch's HTTP API."""

    def __init__(self, client: httpx.AsyncClient, base_url: str, tokens: NotifierTokens) -> None:
        self._client = client
        self._base_url = base_url.rstrip("/")
        self._tokens = tokens

    async def phone(self, tenant: str, resident: str, work_order_id: str) -> str | None:
        """The resident's phone in clear, for this send only (see the module)."""
        headers = {"authorization": f"Bearer {self._tokens.for_tenant(tenant)}"}
        try:
            answer = await self._client.get(
                f"{self._base_url}/v1/residents/{resident}/contact",
                params={"work_order": work_order_id},
                headers=headers,
            )
        except httpx.HTTPError as exc:
            raise DeliveryFailed(
                f"dispatch did not answer for the resident's contact: {type(exc).__name__}"
            ) from None
        if answer.status_code == httpx.codes.GONE:
            raise ResidentGone(resident)
        if answer.status_code != httpx.codes.OK:
            # The problem's code only: an answer's text is never kept.
            code = _problem_code(answer)
            raise DeliveryFailed(
                f"dispatch answered {answer.status_code} ({code}) for the resident's contact"
            )
        phone = answer.json().get("phone")
        return str(phone) if phone else None


def _problem_code(answer: httpx.Response) -> str:
    try:
        code = answer.json().get("code")
    except ValueError:
        return "no problem details"
    return str(code)[:64] if isinstance(code, str) else "no code"
