"""The project registry as the handlers see it: does a project exist for a tenant."""

from __future__ import annotations

from typing import Protocol


def project_stream_id(tenant: str, project: str) -> str:
    """The event stream of a project's registry entries."""
    return f"project:{tenant}:{project}"


class ProjectDirectory(Protocol):
    """Which projects are registered; work orders for any other project are refused."""

    async def exists(self, tenant: str, project: str) -> bool:
        """Whether `project` is registered for `tenant`."""
        ...

    def remember(self, tenant: str, project: str) -> None:
        """Note a project registered by this process (projects are never removed)."""
        ...
