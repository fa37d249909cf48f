"""Random (version 4) UUIDs from a buffer of the operating system's randomness.

`uuid.uuid4()` reads 16 bytes with one `os.urandom` call, which releases the GIL. On a
busy process that is a switch: the event loop hands the GIL to a worker thread (SQLite's
unit of work) and waits up to the switch interval to get it back, for each id, and every
appended event needs one. Reading the randomness for 256 ids at once keeps the ids exactly
as random while making that hand-over 256 times rarer.
"""

from __future__ import annotations

import os
import threading
import uuid

_IDS_PER_READ = 256


class _Randomness:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._buffer = b""
        self._at = 0

    def take16(self) -> bytes:
        with self._lock:
            if self._at >= len(self._buffer):
                self._buffer = os.urandom(16 * _IDS_PER_READ)
                self._at = 0
            chunk = self._buffer[self._at : self._at + 16]
            self._at += 16
        return chunk

    def forget(self) -> None:
        # A forked child must not hand out the ids its parent still holds in the buffer.
        self._lock = threading.Lock()
        self._buffer = b""
        self._at = 0


_randomness = _Randomness()
os.register_at_fork(after_in_child=_randomness.forget)


def new_uuid() -> uuid.UUID:
    """A random UUID (version 4), as `uuid.uuid4()` makes."""
    return uuid.UUID(bytes=_randomness.take16(), version=4)
