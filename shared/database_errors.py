"""What a database error means for the caller, and the outage log of one database.

A driver error is one of three faults, or none of them (a bug, answered 500):

- a value the database refuses (a NUL character in text on PostgreSQL, an integer past
  64 bits, a string over a limit): the fault of the one command that carried it, 422;
- a busy database (a lock not granted in time, a serialization failure, a deadlock, no
  pooled connection free): transient, 503 with `Retry-After`;
- a database that is down (no connection, the connection lost, the database not
  accepting connections): transient, 503 with `Retry-After`, and logged once per
  outage by `Outage`, not once per request.

The messages of the answers are ours, never the driver's: a driver's message may quote
the refused value (personal data) or name hosts.
"""

from __future__ import annotations

import enum

from sqlalchemy import exc as sa_exc

from shared.errors import AppError, InvalidInput, Unavailable
from shared.logging import get_logger

log = get_logger(__name__)

BUSY_RETRY_AFTER_SECONDS = 1
"""`Retry-After` of an answer refused because the database was busy."""
DOWN_RETRY_AFTER_SECONDS = 5
"""`Retry-After` of an answer refused because the database was down."""


class Fault(enum.Enum):
    """The kinds of database error a caller is told about."""

    REFUSED_VALUE = "refused_value"
    BUSY = "busy"
    DOWN = "down"


# PostgreSQL SQLSTATEs by class (first two characters) or in full.
_PG_CLASSES = {
    "22": Fault.REFUSED_VALUE,  # data exception: NUL, out of range, bad encoding
    "54": Fault.REFUSED_VALUE,  # program limit exceeded: e.g. a value too big to index
    "08": Fault.DOWN,  # connection exception
    "53": Fault.BUSY,  # insufficient resources: too many connections, out of memory
    "40": Fault.BUSY,  # transaction rollback: serialization failure, deadlock
}
_PG_STATES = {
    "55P03": Fault.BUSY,  # lock not available (lock_timeout)
    "57014": Fault.BUSY,  # query canceled (statement_timeout)
    "57P01": Fault.DOWN,  # admin shutdown (the backend was terminated)
    "57P02": Fault.DOWN,  # crash shutdown
    "57P03": Fault.DOWN,  # cannot connect now (starting up)
}
# SQLite's primary result codes (the extended ones start with them, e.g. SQLITE_BUSY_SNAPSHOT).
_SQLITE_CODES = {
    "SQLITE_BUSY": Fault.BUSY,
    "SQLITE_LOCKED": Fault.BUSY,
    "SQLITE_IOERR": Fault.DOWN,
    "SQLITE_CANTOPEN": Fault.DOWN,
    "SQLITE_FULL": Fault.DOWN,
    "SQLITE_READONLY": Fault.DOWN,
    "SQLITE_TOOBIG": Fault.REFUSED_VALUE,
    "SQLITE_MISMATCH": Fault.REFUSED_VALUE,
    "SQLITE_RANGE": Fault.REFUSED_VALUE,
}


def fault_of(error: BaseException) -> Fault | None:
    """The fault a database error stands for; None if it is none of them (a bug)."""
    if isinstance(error, OverflowError):
        # sqlite3 refuses to bind an integer past 64 bits before SQLite sees it.
        return Fault.REFUSED_VALUE
    if isinstance(error, sa_exc.TimeoutError):  # no pooled connection became free
        return Fault.BUSY
    if not isinstance(error, sa_exc.DBAPIError):
        return None
    if error.connection_invalidated:  # the connection was lost while in use
        return Fault.DOWN
    fault = _driver_fault(error.orig)
    if fault is None and error.statement is None and not isinstance(error, sa_exc.IntegrityError):
        # Raised while connecting (not accepting connections, authentication failed):
        # the database cannot be used now.
        return Fault.DOWN
    return fault


def _driver_fault(orig: BaseException | None) -> Fault | None:
    state = getattr(orig, "sqlstate", None) or getattr(orig, "pgcode", None)
    if isinstance(state, str) and len(state) == 5:
        return _PG_STATES.get(state) or _PG_CLASSES.get(state[:2])
    name = getattr(orig, "sqlite_errorname", None)
    if isinstance(name, str):
        return next((f for code, f in _SQLITE_CODES.items() if name.startswith(code)), None)
    if isinstance(orig, OSError):
        return Fault.DOWN
    return None


def describe(error: BaseException) -> str:
    """The driver error's class and code, without its message (which may quote a value)."""
    orig = error.orig if isinstance(error, sa_exc.DBAPIError) else error
    code = getattr(orig, "sqlstate", None) or getattr(orig, "sqlite_errorname", None)
    name = type(orig).__name__
    return f"{name} {code}" if code else name


def storage_answer(error: BaseException) -> AppError | None:
    """The answer of the command whose write failed with `error`; None for a bug.

    A refused value and a busy database are logged here, one line each, without the
    value; an outage is logged once by the engine's `Outage`, not per command.
    """
    fault = fault_of(error)
    if fault is Fault.REFUSED_VALUE:
        log.info("database.refused_value", error=describe(error))
        return InvalidInput(
            "a value of the request cannot be stored (a control character such as NUL, "
            "or a number out of range); correct it and send the request again",
            code="unstorable_value",
        )
    if fault is Fault.BUSY:
        log.warning("database.busy", error=describe(error))
        return Unavailable(
            "the database is busy; retry shortly",
            code="database_busy",
            retry_after=BUSY_RETRY_AFTER_SECONDS,
        )
    if fault is Fault.DOWN:
        return Unavailable(
            "the database is not reachable right now; retry shortly",
            code="database_unavailable",
            retry_after=DOWN_RETRY_AFTER_SECONDS,
        )
    return None


class Outage:
    """Whether one database is down, so that an outage is logged once, not per request.

    The engine reports every error (`down`) and every new connection (`up`); only the
    changes are logged.
    """

    def __init__(self, database: str) -> None:
        self.database = database
        self.is_down = False

    def down(self, error: BaseException) -> None:
        """Note a failure; log it if it starts an outage."""
        if fault_of(error) is not Fault.DOWN or self.is_down:
            return
        self.is_down = True
        # The connection error's own message says why (refused, not accepting
        # connections); it names the database and host, never a password.
        orig = error.orig if isinstance(error, sa_exc.DBAPIError) else error
        log.error(
            "database.unavailable",
            database=self.database,
            error=describe(error),
            reason=str(orig)[:200],
        )

    def up(self) -> None:
        """Note a new connection; log the end of an outage."""
        if self.is_down:
            self.is_down = False
            log.info("database.recovered", database=self.database)
