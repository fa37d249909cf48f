"""dispatch's SQL statements counted by kind, in its own process (`python -m bench.counted`).

Every SQLAlchemy engine in the process (the service's, its SQLite twin, the relay's and
the scheduler's) reports each statement before it runs (`before_cursor_execute`), and
each commit and rollback. On SIGUSR1 the counts so far are written as JSON to the file
named by `STATEMENT_COUNTS`; a benchmark reads them before and after a load, so start-up
and migrations fall outside the difference.
"""

from __future__ import annotations

import json
import os
import re
import signal
from collections import Counter
from pathlib import Path
from types import FrameType
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import Engine

_TABLE = re.compile(r'\b(?:INTO|FROM|UPDATE|TABLE)\s+"?(\w+)', re.IGNORECASE)


def statement_kind(sql: str) -> str:
    """The statement's verb and first table named: `INSERT events`, `SELECT outbox`,
    `UPDATE sla_timers`; the verb alone when it names no table (`BEGIN IMMEDIATE` is `BEGIN`)."""
    words = sql.split(None, 1)
    if not words:
        return "(empty)"
    verb = words[0].upper()
    table = _TABLE.search(sql)
    return f"{verb} {table.group(1)}" if table and verb != "PRAGMA" else verb


class StatementCounter:
    """Statements by kind, executemany parameter sets, commits and rollbacks."""

    def __init__(self) -> None:
        self.statements: Counter[str] = Counter()
        self.rows: Counter[str] = Counter()
        """Parameter sets of each kind (an executemany counts every row)."""
        self.transactions: Counter[str] = Counter()

    def install(self) -> None:
        """Listen on every engine this process makes."""
        event.listen(Engine, "before_cursor_execute", self._statement)
        event.listen(Engine, "commit", self._commit)
        event.listen(Engine, "rollback", self._rollback)

    def _statement(
        self,
        _conn: Any,
        _cursor: Any,
        statement: str,
        parameters: Any,
        _context: Any,
        executemany: bool,
    ) -> None:
        kind = statement_kind(statement)
        self.statements[kind] += 1
        self.rows[kind] += len(parameters) if executemany else 1

    def _commit(self, _conn: Any) -> None:
        self.transactions["COMMIT"] += 1

    def _rollback(self, _conn: Any) -> None:
        self.transactions["ROLLBACK"] += 1

    def snapshot(self) -> dict[str, dict[str, int]]:
        """The counts so far."""
        return {
            "statements": dict(self.statements),
            "rows": dict(self.rows),
            "transactions": dict(self.transactions),
        }


def per_report(
    before: dict[str, dict[str, int]], after: dict[str, dict[str, int]], reports: int
) -> dict[str, dict[str, float]]:
    """Each count's growth between two snapshots, divided by the reports made between them."""
    return {
        part: {
            kind: round((after[part].get(kind, 0) - before[part].get(kind, 0)) / reports, 3)
            for kind in sorted(after[part], key=lambda k: -after[part][k])
            if after[part].get(kind, 0) != before[part].get(kind, 0)
        }
        for part in after
    }


def serve_counted_dispatch() -> None:
    """Serve dispatch as `python -m services.dispatch` does, with the counter installed."""
    from services.dispatch.__main__ import main as dispatch_main

    counter = StatementCounter()
    counter.install()
    out = Path(os.environ["STATEMENT_COUNTS"])

    def dump(_signum: int, _frame: FrameType | None) -> None:
        # Written whole, then renamed: the reader never sees half a file.
        partial = out.with_suffix(".partial")
        partial.write_text(json.dumps(counter.snapshot()))
        partial.replace(out)

    signal.signal(signal.SIGUSR1, dump)
    dispatch_main()
