"""Digest windows and channel retry policies."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from services.notify.domain.digest import DigestPolicy
from services.notify.domain.retry import RetryPolicy

AT = datetime(2026, 11, 23, 2, 0, 42, tzinfo=UTC)


def test_windows_are_fixed_and_aligned() -> None:
    policy = DigestPolicy(threshold=3, window_seconds=60)
    assert policy.window_start(AT) == datetime(2026, 11, 23, 2, 0, tzinfo=UTC)
    assert policy.window_end(AT) == datetime(2026, 11, 23, 2, 1, tzinfo=UTC)


def test_alerts_beyond_the_threshold_are_digested() -> None:
    policy = DigestPolicy(threshold=3, window_seconds=60)
    assert [policy.digests(n) for n in range(5)] == [False, False, False, True, True]


def test_retries_follow_the_backoff_then_give_up() -> None:
    policy = RetryPolicy(max_attempts=3, backoff_seconds=(1.0, 10.0))
    assert policy.next_attempt(1, AT) == AT + timedelta(seconds=1)
    assert policy.next_attempt(2, AT) == AT + timedelta(seconds=10)
    assert policy.next_attempt(3, AT) is None


def test_the_last_backoff_step_repeats() -> None:
    policy = RetryPolicy(max_attempts=10, backoff_seconds=(1.0, 10.0))
    assert policy.next_attempt(7, AT) == AT + timedelta(seconds=10)
