"""Sessions: ids and CSRF secrets, sign-in rotation, expiry, notes, the memory store's bound."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

from services.console.adapters.memory_sessions import MemorySessionStore
from services.console.domain.languages import Language
from services.console.domain.session import SignedIn, csrf_valid, new_session
from services.console.service_layer.sessions import Sessions
from shared.auth import Role
from shared.clock import ManualClock

NOW = datetime(2026, 12, 1, 8, 0, tzinfo=UTC)
WANG = SignedIn("tech-wang", "王师傅", Role.TECHNICIAN, "demo", frozenset({"sunny"}), "token")


def sessions(capacity: int = 100) -> tuple[Sessions, MemorySessionStore, ManualClock]:
    store = MemorySessionStore(capacity)
    clock = ManualClock(NOW)
    return Sessions(store, clock, idle_seconds=3600), store, clock


def test_the_csrf_token_must_be_the_sessions_own() -> None:
    session = new_session(Language.EN, NOW)
    other = new_session(Language.EN, NOW)
    assert csrf_valid(session, session.csrf)
    assert not csrf_valid(session, other.csrf)
    assert not csrf_valid(session, "")
    assert not csrf_valid(session, None)
    assert len(session.id) >= 43 and session.id != session.csrf


def test_a_new_browser_gets_a_session_in_its_language_and_keeps_it() -> None:
    service, store, _ = sessions()
    first = service.current(None, "en-US")
    assert first.language is Language.EN and first.user is None
    assert service.current(first.id, "zh-CN").id == first.id
    assert service.current("made-up", None).id != first.id
    assert len(store) == 2


def test_signing_in_gives_a_new_id_and_csrf_and_forgets_the_old_id() -> None:
    service, store, _ = sessions()
    anonymous = service.current(None, None)
    signed = service.sign_in(anonymous, WANG)
    assert signed.user == WANG
    assert signed.id != anonymous.id and signed.csrf != anonymous.csrf
    assert store.get(anonymous.id) is None
    out = service.sign_out(signed)
    assert out.user is None and store.get(signed.id) is None
    assert out.language is signed.language


def test_an_idle_session_is_forgotten() -> None:
    service, store, clock = sessions()
    signed = service.sign_in(service.current(None, None), WANG)
    clock.advance(timedelta(minutes=59))
    assert service.current(signed.id, None).user == WANG
    clock.advance(timedelta(minutes=61))
    fresh = service.current(signed.id, None)
    assert fresh.user is None and fresh.id != signed.id
    assert store.get(signed.id) is None


def test_notes_are_shown_once_and_the_language_is_kept() -> None:
    service, _, _ = sessions()
    session = service.note(service.current(None, None), "Order 1 recorded.")
    session = service.choose_language(session, Language.EN)
    session, shown = service.take_notes(session)
    assert shown == ("Order 1 recorded.",)
    assert service.take_notes(session)[1] == ()
    assert service.current(session.id, None).language is Language.EN


def test_the_store_forgets_the_least_recently_used_beyond_its_capacity() -> None:
    store = MemorySessionStore(2)
    a, b, c = (replace(new_session(Language.EN, NOW)) for _ in range(3))
    store.put(a)
    store.put(b)
    assert store.get(a.id) == a  # a is now the most recently used
    store.put(c)
    assert store.get(b.id) is None
    assert store.get(a.id) == a and store.get(c.id) == c
