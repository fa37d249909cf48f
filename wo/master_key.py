"""The local stack's privacy master key: generated once under the var directory, kept.

Every resident's personal data the stack stores is encrypted under keys wrapped by it
(docs/privacy.md), so it must outlive each `wo up`: a new key each run would leave the
previous runs' data unreadable. It lives beside the databases it protects, readable by
the owner only; deleting the var directory deletes both. A `PRIVACY_MASTER_KEY` in the
environment (a production-like key the user brings) is used instead, and nothing is written.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import MutableMapping
from pathlib import Path

from shared.settings import MIN_SECRET_BYTES

VARIABLE = "PRIVACY_MASTER_KEY"
KEY_BYTES = 32
"""Random bytes in a generated key (43 characters of URL-safe base64)."""


class MasterKeyError(Exception):
    """The key file exists but cannot be the key: the message says why and what to do."""


def ensure_master_key(path: Path) -> str:
    """The key in `path`, created (random, 0600) if missing; an existing file is narrowed
    to 0600 and must hold a key of at least `MIN_SECRET_BYTES`."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        path.chmod(0o600)
        key = path.read_text(encoding="utf-8").strip()
        if len(key.encode()) < MIN_SECRET_BYTES:
            raise MasterKeyError(
                f"{path} holds {len(key.encode())} bytes, not a privacy master key of at least "
                f"{MIN_SECRET_BYTES}: restore it from where you keep it (the local residents' "
                "data is unreadable without it), or delete it with the databases beside it"
            ) from None
        return key
    key = secrets.token_urlsafe(KEY_BYTES)
    with os.fdopen(fd, "w", encoding="utf-8") as file:
        file.write(key + "\n")
    return key


def provide_master_key(environment: MutableMapping[str, str], path: Path) -> None:
    """Put the stack's master key into `environment` (which the services inherit), unless
    the user set one there."""
    if not environment.get(VARIABLE, "").strip():
        environment[VARIABLE] = ensure_master_key(path)
