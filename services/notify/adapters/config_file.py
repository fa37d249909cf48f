"""Reading notify's configuration (contacts, roles, routes, policies) from a JSON file."""

from __future__ import annotations

from pathlib import Path

from pydantic import ValidationError

from services.notify.domain.config import NotifyConfig
from shared.errors import InvalidInput


def load_config(path: Path | None) -> NotifyConfig:
    """The configuration in `path`, or the defaults (every tenant, default routes) without one."""
    if path is None:
        return NotifyConfig()
    try:
        return NotifyConfig.model_validate_json(path.read_bytes())
    except OSError as exc:
        raise InvalidInput(f"cannot read {path}: {exc}", code="config_unreadable") from None
    except ValidationError as exc:
        raise InvalidInput(f"{path} is not a valid notify configuration: {exc}") from None
