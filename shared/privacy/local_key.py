"""The local stack's privacy master key file, kept beside the SQLite databases it protects.

`wo up` generates it once and gives it to the services it starts (`wo.master_key`). An
operator command run later against one of those databases must use the same key: what
it derives from another one (the residents' blind index) would not match what the
stack's services derive, and their searches would silently miss every entry.
"""

from __future__ import annotations

from pathlib import Path

from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

FILE_NAME = "privacy-master.key"


def key_beside(database_url: str) -> str | None:
    """The master key kept beside the SQLite database of `database_url`; None for another
    kind of database, or a directory without the key file."""
    try:
        url = make_url(database_url)
    except ArgumentError:
        return None  # not a URL at all: the command's own check of it says so
    if url.get_backend_name() != "sqlite" or url.database in (None, "", ":memory:"):
        return None
    try:
        key = (Path(str(url.database)).parent / FILE_NAME).read_text(encoding="utf-8").strip()
    except FileNotFoundError:
        return None
    return key or None
