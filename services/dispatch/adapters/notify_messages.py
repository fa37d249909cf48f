"""The messages notify sent to a resident, read over its API with the caller's token."""

from __future__ import annotations

from typing import Any

import httpx

from shared.errors import Unavailable
from shared.logging import get_logger

log = get_logger(__name__)


class NotifyMessages:
    """`ResidentMessages` over notify's `GET /v1/residents/{resident}/deliveries`."""

    def __init__(self, client: httpx.AsyncClient, notify_url: str) -> None:
        self._client = client
        self._url = notify_url.rstrip("/")

    async def sent_to(self, resident: str, token: str) -> list[dict[str, Any]]:
        """Every delivery notify lists for the resident (following its pages)."""
        items: list[dict[str, Any]] = []
        params: dict[str, str] = {}
        while True:
            page = await self._page(resident, token, params)
            found = page.get("items") if isinstance(page, dict) else page
            if not isinstance(found, list):
                raise self._down("answered something that is not a list of deliveries")
            items.extend(item for item in found if isinstance(item, dict))
            cursor = page.get("next_cursor") if isinstance(page, dict) else None
            if not cursor:
                return items
            params = {"cursor": str(cursor)}

    async def _page(self, resident: str, token: str, params: dict[str, str]) -> Any:
        url = f"{self._url}/v1/residents/{resident}/deliveries"
        try:
            response = await self._client.get(
                url, params=params, headers={"Authorization": f"Bearer {token}"}
            )
        except httpx.HTTPError as exc:
            raise self._down(type(exc).__name__) from None
        if response.is_success:
            try:
                return response.json()
            except ValueError:
                raise self._down("answered no JSON") from None
        raise self._down(f"answered {response.status_code}")

    @staticmethod
    def _down(why: str) -> Unavailable:
        log.warning("notify_deliveries_unavailable", why=why)
        return Unavailable(
            f"the messages sent to the resident cannot be read from notify ({why}); "
            "no partial export is answered",
            code="notify_unavailable",
        )
