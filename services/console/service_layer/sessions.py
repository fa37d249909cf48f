"""Sessions across requests: find or start one, sign in and out, language, one-time notes."""

from __future__ import annotations

from dataclasses import replace

from services.console.domain.languages import Language, negotiate
from services.console.domain.session import Session, SignedIn, new_session
from services.console.service_layer.ports import SessionStore
from shared.clock import Clock


class Sessions:
    """The console's sessions, kept in a `SessionStore`, forgotten after `idle_seconds` unused."""

    def __init__(self, store: SessionStore, clock: Clock, idle_seconds: float) -> None:
        self._store = store
        self._clock = clock
        self._idle_seconds = idle_seconds

    def current(self, session_id: str | None, accept_language: str | None) -> Session:
        """The browser's live session, else a new anonymous one in its preferred language."""
        now = self._clock.now()
        session = self._store.get(session_id) if session_id else None
        if session is not None and session.expired(now, self._idle_seconds):
            self._store.delete(session.id)
            session = None
        if session is None:
            session = new_session(negotiate(accept_language), now)
        elif session.user is not None and session.user.token_expired(now):
            # The services would refuse the token from now on: sign in again.
            self._store.delete(session.id)
            session = new_session(session.language, now)
        else:
            session = replace(session, last_seen=now)
        self._store.put(session)
        return session

    def sign_in(self, session: Session, user: SignedIn) -> Session:
        """`user` signs in on this browser: a new session id replaces the old one."""
        self._store.delete(session.id)
        signed = session.signed_in(user, self._clock.now())
        self._store.put(signed)
        return signed

    def sign_out(self, session: Session) -> Session:
        """Forget the session and its token; the browser keeps only its language."""
        self._store.delete(session.id)
        fresh = new_session(session.language, self._clock.now())
        self._store.put(fresh)
        return fresh

    def choose_language(self, session: Session, language: Language) -> Session:
        """The language the person picked, for the rest of the session."""
        chosen = replace(session, language=language)
        self._store.put(chosen)
        return chosen

    def note(self, session: Session, message: str) -> Session:
        """Keep `message` (a catalog message id) to show once on the next page."""
        noted = replace(session, flash=(*session.flash, message))
        self._store.put(noted)
        return noted

    def take_notes(self, session: Session) -> tuple[Session, tuple[str, ...]]:
        """The notes to show now; they are shown once."""
        if not session.flash:
            return session, ()
        taken = replace(session, flash=())
        self._store.put(taken)
        return taken, session.flash
