"""Sessions in the console process's memory, the least recently used forgotten first.

Sessions hold bearer tokens, so they are not written anywhere: a restart of the console
signs everybody out, which the development sign-in makes a click to undo.
"""

from __future__ import annotations

from collections import OrderedDict

from services.console.domain.session import Session


class MemorySessionStore:
    """At most `capacity` sessions; a new one past it pushes out the least recently used."""

    def __init__(self, capacity: int) -> None:
        self._capacity = capacity
        self._sessions: OrderedDict[str, Session] = OrderedDict()

    def get(self, session_id: str) -> Session | None:
        """The session with this id, if kept (and marks it recently used)."""
        session = self._sessions.get(session_id)
        if session is not None:
            self._sessions.move_to_end(session_id)
        return session

    def put(self, session: Session) -> None:
        """Keep `session`, forgetting the least recently used one beyond the capacity."""
        self._sessions[session.id] = session
        self._sessions.move_to_end(session.id)
        while len(self._sessions) > self._capacity:
            self._sessions.popitem(last=False)

    def delete(self, session_id: str) -> None:
        """Forget the session with this id."""
        self._sessions.pop(session_id, None)

    def __len__(self) -> int:
        return len(self._sessions)
