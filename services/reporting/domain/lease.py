"""Who runs the projector: a lease one reporting process holds and renews, the others wait.

Several reporting processes serve the API on one database; one of them projects. It holds
the lease, renewing it well before it expires; a standby asks as often and takes it once
it has expired (its holder died, or stopped renewing), so it takes over within the
expiry. Pure: the time is given, the row is the caller's.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta


@dataclass(frozen=True, slots=True)
class Lease:
    """Who holds the lease, and until when."""

    holder: str
    expires_at: datetime

    def held_by(self, holder: str, now: datetime) -> bool:
        """Whether `holder` holds it at `now`."""
        return self.holder == holder and now < self.expires_at


def claim(current: Lease | None, holder: str, now: datetime, expiry: timedelta) -> Lease:
    """The lease after `holder` asks for it at `now`: renewed (theirs already), taken (none
    yet, or expired), or as it was (another holds it)."""
    if current is None or current.holder == holder or current.expires_at <= now:
        return Lease(holder, now + expiry)
    return current


def check_timing(renew_seconds: float, expiry_seconds: float) -> None:
    """Refuse a renewal that would not keep a lease: at least two renewals must fit in
    the expiry, so one slow or failed renewal does not hand the projector over."""
    if renew_seconds <= 0:
        raise ValueError(f"the renew interval must be positive, not {renew_seconds:g} s")
    if expiry_seconds < 2 * renew_seconds:
        raise ValueError(
            f"the lease's expiry ({expiry_seconds:g} s) must be at least twice its renew "
            f"interval ({renew_seconds:g} s)"
        )
