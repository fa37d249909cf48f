"""The one refusal of a caller whose role may not do something (`role_not_allowed`, 403)."""

from __future__ import annotations

from shared.auth import Principal, Role
from shared.errors import Forbidden


def require_role(principal: Principal, roles: frozenset[Role], what: str) -> None:
    """Refuse (`Forbidden`, `role_not_allowed`, naming the caller's role) a caller whose
    role is not in `roles`: "a technician may not `what`"."""
    if principal.role not in roles:
        raise Forbidden(
            f"a {principal.role.value} may not {what}",
            code="role_not_allowed",
            role=principal.role.value,
        )


PRIVACY_OFFICERS = frozenset({Role.PRIVACY_OFFICER})


def require_privacy_officer(principal: Principal, doing: str) -> None:
    """Refuse (`role_not_allowed`, 403) anyone but a privacy officer: the access log,
    erasure, export and retention are theirs alone."""
    require_role(principal, PRIVACY_OFFICERS, f"{doing}; ask your privacy officer")
