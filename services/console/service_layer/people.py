"""The development sign-in: the tenant's people by role, and a token for the one chosen.

The people are dispatch's staff directory (technicians with their trades, customer service,
supervisors, ...) plus, for every staff role, the development login `dev-<role>` that
`wo token` and `wo up`'s stack.json use, so each role can be tried even with an empty
directory. Tokens are signed by the services' own signer (`shared.auth.mint_token`) with
the secret, issuer and audience the services verify.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from services.console.domain.roles import STAFF_ROLES
from services.console.domain.session import SignedIn
from services.console.service_layer.ports import DispatchPort
from services.console.settings import ConsoleSettings
from shared.auth import ALL_PROJECTS, Role, mint_token
from shared.clock import SystemClock

DIRECTORY_READER = "console-dev-sign-in"
"""Subject of the short-lived token the sign-in page reads the directory with."""

SESSION_TOKEN_TTL = timedelta(hours=12)


@dataclass(frozen=True)
class Person:
    """Someone the development sign-in offers."""

    subject: str
    name: str
    role: Role
    projects: frozenset[str]
    trades: tuple[str, ...] = ()


def dev_login(role: Role) -> str:
    """The development login of `role` (the subject `wo token` gives by default)."""
    return f"dev-{role}"


def people(staff: Sequence[dict[str, Any]], registered: Sequence[str]) -> list[Person]:
    """The directory's staff with a console role, then each role's development login.

    A directory entry named like a development login is that login (with its real name and
    projects). A development login is granted every registered project.
    """
    found: dict[str, Person] = {}
    for member in staff:
        try:
            role = Role(str(member.get("role")))
        except ValueError:
            continue
        if role not in STAFF_ROLES or not member.get("id"):
            continue
        found[str(member["id"])] = Person(
            subject=str(member["id"]),
            name=str(member.get("name") or member["id"]),
            role=role,
            projects=frozenset(str(p) for p in member.get("projects") or ()),
            trades=tuple(sorted(str(t) for t in member.get("trades") or ())),
        )
    for role in STAFF_ROLES:
        login = dev_login(role)
        if login not in found:
            found[login] = Person(login, "", role, frozenset(registered))
    order = {role: index for index, role in enumerate(STAFF_ROLES)}
    return sorted(found.values(), key=lambda p: (order[p.role], p.subject))


class DevSignIn:
    """Lists the people of the development tenant and signs one of them in."""

    def __init__(self, settings: ConsoleSettings, dispatch: DispatchPort) -> None:
        self._settings = settings
        self._dispatch = dispatch
        # Every verifier checks a token's expiry against the wall clock, so tokens are
        # minted by it, whatever clock the console's pages run on.
        self._clock = SystemClock()

    def _token(self, subject: str, role: Role, projects: Sequence[str], ttl: timedelta) -> str:
        settings = self._settings
        secret = settings.jwt_secret.get_secret_value() if settings.jwt_secret else ""
        return mint_token(
            secret=secret,
            subject=subject,
            role=role,
            tenant=settings.dev_tenant,
            projects=list(projects),
            issuer=settings.jwt_issuer,
            audience=settings.jwt_audience,
            now=self._clock.now(),
            ttl=ttl,
        )

    async def people(self) -> list[Person]:
        """Everyone the sign-in page offers, by role (read with a short-lived token)."""
        reader = self._token(
            DIRECTORY_READER, Role.HQ_QUALITY, [ALL_PROJECTS], timedelta(minutes=5)
        )
        projects = await self._dispatch.get(reader, "/v1/projects")
        staff = await self._dispatch.get(reader, "/v1/staff")
        registered = sorted(str(p["project"]) for p in projects.get("items", []))
        return people(staff.get("items", []), registered)

    async def sign_in(self, subject: str) -> SignedIn | None:
        """The person `subject` of the listing with a fresh token (None if not listed)."""
        person = next((p for p in await self.people() if p.subject == subject), None)
        if person is None:
            return None
        token = self._token(person.subject, person.role, sorted(person.projects), SESSION_TOKEN_TTL)
        return SignedIn(
            subject=person.subject,
            name=person.name,
            role=person.role,
            tenant=self._settings.dev_tenant,
            projects=person.projects,
            token=token,
        )
