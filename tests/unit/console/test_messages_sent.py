"""The messages page without notify's development outbox: said, not an error page."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pytest

from services.console.domain.session import SignedIn
from services.console.service_layer.boards import messages_sent
from services.console.service_layer.ports import Json, UpstreamError
from shared.auth import Role

USER = SignedIn("cs-li", "李", Role.CUSTOMER_SERVICE, "acme", frozenset({"sunny"}), "token")


class Refusing:
    """A dispatch and notify that refuse every read with one problem."""

    def __init__(self, refusal: UpstreamError) -> None:
        self.refusal = refusal

    async def get(self, token: str, path: str, params: Mapping[str, Any] | None = None) -> Json:
        raise self.refusal

    async def get_list(
        self, token: str, path: str, params: Mapping[str, Any] | None = None
    ) -> list[Json]:
        raise self.refusal

    async def post(
        self, token: str, path: str, body: Json | None, headers: Mapping[str, str] | None = None
    ) -> Json:
        raise self.refusal

    async def put(
        self, token: str, path: str, body: Json, params: Mapping[str, Any] | None = None
    ) -> Json:
        raise self.refusal

    async def patch(self, token: str, path: str, patch: Json) -> Json:
        raise self.refusal


async def test_an_outbox_notify_does_not_keep_is_shown_as_not_available() -> None:
    notify = Refusing(UpstreamError(404, "not_found", "development only", "notify"))

    shown = await messages_sent(notify, notify, USER, None, "13800000000")

    assert (shown.available, shown.messages, shown.order) == (False, [], None)


async def test_any_other_refusal_of_the_outbox_is_not_hidden() -> None:
    refusal = UpstreamError(403, "role_not_allowed", "not for you", "notify")

    with pytest.raises(UpstreamError) as raised:
        await messages_sent(Refusing(refusal), Refusing(refusal), USER, None, "13800000000")

    assert raised.value is refusal
