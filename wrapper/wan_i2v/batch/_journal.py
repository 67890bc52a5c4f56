"""The journal: paid work written down before it is paid for, in SQLite.

One design serves every use that must never pay twice (the batch command's rows, the MCP
server's idempotency keys): a file holds a ``meta`` table (schema version, API origin), an
``owners`` table (which processes are working on it), and one ledger table per use
(``Journal.ledger("batch")``). A ledger row is keyed by the caller's own key and moves
through these states:

    new ──claim──> creating ──202──> created(task id) ──> done(path)
                      │                  │            └──> failed(code, detail)
                      │                  └── the API no longer knows the id ──> lost
                      └── outcome unknown, or the process died during the POST ──> unknown

The order of writes is what makes it safe: "creating" is committed before the POST, the task
id as soon as the 202 arrives. A row left "creating" by a process that is gone may have made a
task: it becomes "unknown", and only the caller's explicit decision pays again.

Two processes on one file never act on the same row: a row is claimed in a write transaction
(``BEGIN IMMEDIATE``) that records its owner, and a row whose owner is alive is left alone.
A process is alive while its pid runs with the same start time (same host), or while its
heartbeat is fresh (another host). WAL mode lets readers run beside the one writer; commits
are synchronous (``synchronous=FULL``) so a crash or a power cut keeps every committed row.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import socket
import sqlite3
import threading
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any, Self

from .._errors import WanI2VError

SCHEMA_VERSION = 1
JOURNAL_NAME = ".wan-i2v-journal.sqlite"  # the default file, inside the output folder
HEARTBEAT_SECONDS = 20.0  # how often a running process says it is alive
OTHER_HOST_LEASE = 120.0  # a process on another host is taken as gone after this silence
BUSY_TIMEOUT = 30.0  # seconds to wait for another process's write transaction


class State(StrEnum):
    """Where a row is. ``NEW`` is "not started": nothing was ever sent for it."""

    NEW = "new"
    CREATING = "creating"
    CREATED = "created"
    DONE = "done"
    FAILED = "failed"
    UNKNOWN = "unknown"
    LOST = "lost"


class JournalError(WanI2VError):
    """The journal cannot be used for this run (another API, a newer schema, a bad file)."""


@dataclass(frozen=True, slots=True)
class Entry:
    """One ledger row as committed."""

    key: str
    fingerprint: str
    state: State
    task_id: str | None = None
    path: str | None = None
    error_code: str | None = None
    error_detail: str | None = None
    owner: str | None = None
    updated: float = 0.0


def _self_start_time(pid: int) -> str | None:
    """The process's start time in clock ticks since boot (Linux), to tell a reused pid."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = stat.rpartition(")")[2].split()
    # fields[0] is the state (field 3); starttime is field 22.
    if fields and fields[0] == "Z":
        return "zombie"
    return fields[19] if len(fields) > 19 else None


def _pid_running(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process: it exists
        return True
    except OSError:
        return False
    return True


class Journal:
    """A journal file, opened for one process.

    Args:
        path: the SQLite file (created with its folder if missing).
        origin: the API this run talks to (scheme, host, port and path; never a password).
            A journal written against another origin is refused: its task ids mean nothing
            there, and a resume would pay again.
        readonly: only read (``--dry-run``): nothing is written, not even the origin.

    Raises:
        JournalError: another origin, a schema newer than this version knows, or a file that
            is not a journal.
    """

    def __init__(
        self, path: str | os.PathLike[str], *, origin: str, readonly: bool = False
    ) -> None:
        self.path = Path(path)
        self.origin = origin
        self.readonly = readonly
        self._lock = threading.RLock()
        host, pid = socket.gethostname(), os.getpid()
        self.owner = f"{host}:{pid}:{secrets.token_hex(4)}"
        self._host, self._pid = host, pid
        if readonly:
            uri = f"{self.path.resolve().as_uri()}?mode=ro"
            self._db = sqlite3.connect(
                uri, uri=True, timeout=BUSY_TIMEOUT, isolation_level=None, check_same_thread=False
            )
        else:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(
                self.path, timeout=BUSY_TIMEOUT, isolation_level=None, check_same_thread=False
            )
        try:
            self._open()
        except sqlite3.DatabaseError as exc:
            self._db.close()
            raise JournalError(f"{self.path} is not a wan-i2v journal ({exc})") from None
        except BaseException:
            self._db.close()
            raise

    def _open(self) -> None:
        db = self._db
        if not self.readonly:
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA synchronous=FULL")
        with self.transaction():
            if not self.readonly:
                db.execute("CREATE TABLE IF NOT EXISTS meta (name TEXT PRIMARY KEY, value TEXT)")
                db.execute(
                    "CREATE TABLE IF NOT EXISTS owners (owner TEXT PRIMARY KEY, host TEXT, "
                    "pid INTEGER, started TEXT, seen REAL)"
                )
            meta = dict(db.execute("SELECT name, value FROM meta").fetchall())
            version = int(meta.get("schema_version", SCHEMA_VERSION))
            if version > SCHEMA_VERSION:
                raise JournalError(
                    f"{self.path} was written by a newer wan-i2v (journal schema {version}; "
                    f"this one knows {SCHEMA_VERSION}): upgrade wan-i2v to resume it."
                )
            recorded = meta.get("origin")
            if recorded is not None and recorded != self.origin:
                raise JournalError(
                    f"{self.path} records tasks of {recorded}, and this run talks to "
                    f"{self.origin}: their task ids mean nothing there, and resuming would pay "
                    "again. Use the same base URL to resume, or another --journal (and --out) "
                    "for a new batch."
                )
            if self.readonly:
                return
            db.execute(
                "INSERT OR IGNORE INTO meta VALUES ('schema_version', ?)", (str(SCHEMA_VERSION),)
            )
            db.execute("INSERT OR IGNORE INTO meta VALUES ('origin', ?)", (self.origin,))
            db.execute(
                "INSERT OR REPLACE INTO owners VALUES (?, ?, ?, ?, ?)",
                (self.owner, self._host, self._pid, _self_start_time(self._pid), time.time()),
            )

    @contextlib.contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """One write transaction, taken at once (``BEGIN IMMEDIATE``): a claim read and
        written in it cannot interleave with another process's."""
        with self._lock:
            self._db.execute("BEGIN" if self.readonly else "BEGIN IMMEDIATE")
            try:
                yield self._db
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")

    def ledger(self, use: str) -> Ledger:
        """The table of one use (``"batch"``, ``"mcp"``), created if missing."""
        return Ledger(self, use)

    def heartbeat(self) -> None:
        """Say this process is still alive (for processes on other hosts)."""
        if self.readonly:
            return
        with self.transaction() as db:
            db.execute("UPDATE owners SET seen = ? WHERE owner = ?", (time.time(), self.owner))

    def alive(self, owner: str | None) -> bool:
        """Is the process that holds a row still running?"""
        if owner is None:
            return False
        if owner == self.owner:
            return True
        row = self._db.execute(
            "SELECT host, pid, started, seen FROM owners WHERE owner = ?", (owner,)
        ).fetchone()
        if row is None:
            return False
        host, pid, started, seen = row
        if host == self._host:
            if pid == self._pid:  # our pid, another token: that process is gone
                return False
            return _pid_running(pid) and _self_start_time(pid) == started
        return bool(time.time() - seen < OTHER_HOST_LEASE)

    def close(self) -> None:
        with self._lock:
            if not self.readonly:
                with contextlib.suppress(sqlite3.Error), self.transaction() as db:
                    db.execute("DELETE FROM owners WHERE owner = ?", (self.owner,))
            self._db.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


_COLUMNS = "key, fingerprint, state, task_id, path, error_code, error_detail, owner, updated"


class Ledger:
    """One use's rows in a journal. Every method commits before it returns."""

    def __init__(self, journal: Journal, use: str) -> None:
        if not use.isidentifier():
            raise ValueError(f"a ledger name must be an identifier, got {use!r}")
        self.journal = journal
        self.table = f"ledger_{use}"
        if not journal.readonly:
            with journal.transaction() as db:
                db.execute(
                    f"CREATE TABLE IF NOT EXISTS {self.table} (key TEXT PRIMARY KEY, "
                    "fingerprint TEXT NOT NULL, state TEXT NOT NULL, task_id TEXT, path TEXT, "
                    "error_code TEXT, error_detail TEXT, owner TEXT, updated REAL)"
                )

    def _exists(self, db: sqlite3.Connection) -> bool:
        found = db.execute(
            "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?", (self.table,)
        ).fetchone()
        return found is not None

    def entries(self) -> dict[str, Entry]:
        """Every row, by key."""
        with self.journal.transaction() as db:
            if not self._exists(db):
                return {}
            rows = db.execute(f"SELECT {_COLUMNS} FROM {self.table}").fetchall()  # noqa: S608
        return {row[0]: _entry(row) for row in rows}

    def entry(self, key: str) -> Entry | None:
        with self.journal.transaction() as db:
            return self._read(db, key)

    def _read(self, db: sqlite3.Connection, key: str) -> Entry | None:
        if self.journal.readonly and not self._exists(db):
            return None
        sql = f"SELECT {_COLUMNS} FROM {self.table} WHERE key = ?"  # noqa: S608  # our names
        row = db.execute(sql, (key,)).fetchone()
        return _entry(row) if row else None

    def register(self, rows: Iterable[tuple[str, str]]) -> dict[str, Entry]:
        """Record (key, fingerprint) pairs not seen before as "new"; a new row's fingerprint
        follows the manifest (nothing was paid for it). Returns every row, by key."""
        with self.journal.transaction() as db:
            for key, fingerprint in rows:
                db.execute(
                    f"INSERT INTO {self.table} (key, fingerprint, state, updated) "  # noqa: S608
                    "VALUES (?, ?, 'new', ?) ON CONFLICT(key) DO UPDATE SET "
                    "fingerprint = excluded.fingerprint WHERE state = 'new'",
                    (key, fingerprint, time.time()),
                )
        return self.entries()

    def claim(self, key: str) -> Entry | None:
        """Take the row for this process, unless a live process holds it (then None).

        The read and the write are one transaction: two processes never both hold a row."""
        with self.journal.transaction() as db:
            entry = self._read(db, key)
            if entry is None:
                raise KeyError(key)
            if entry.owner is not None and self.journal.alive(entry.owner):
                return None if entry.owner != self.journal.owner else entry
            sql = f"UPDATE {self.table} SET owner = ? WHERE key = ?"  # noqa: S608  # our names
            db.execute(sql, (self.journal.owner, key))
            return self._read(db, key)

    def release(self, key: str) -> None:
        """Give the row back (its state stays)."""
        self._update(key, owner=None)

    def creating(self, key: str, fingerprint: str) -> None:
        """Committed before the POST: from here on, a task may exist."""
        self._update(
            key,
            state=State.CREATING,
            fingerprint=fingerprint,
            task_id=None,
            path=None,
            error_code=None,
            error_detail=None,
        )

    def created(self, key: str, task_id: str) -> None:
        """Committed as soon as the 202 arrives: the task id is never lost."""
        self._update(key, state=State.CREATED, task_id=task_id)

    def done(self, key: str, path: str) -> None:
        self._update(key, state=State.DONE, path=path, error_code=None, error_detail=None)

    def failed(self, key: str, code: str | None, detail: str) -> None:
        self._update(key, state=State.FAILED, error_code=code, error_detail=detail)

    def unknown(self, key: str, detail: str) -> None:
        self._update(key, state=State.UNKNOWN, error_code="outcome_unknown", error_detail=detail)

    def lost(self, key: str, detail: str) -> None:
        self._update(key, state=State.LOST, error_code="task_lost", error_detail=detail)

    def reset(self, key: str, detail: str | None = None) -> None:
        """Back to "not started": what was sent provably never left this machine."""
        self._update(key, state=State.NEW, task_id=None, error_code=None, error_detail=detail)

    def restore(self, entry: Entry) -> None:
        """Back to what ``entry`` says: a create that provably never left this machine
        changes nothing (an "unknown" row retried in vain stays "unknown")."""
        self._update(
            entry.key,
            state=entry.state,
            fingerprint=entry.fingerprint,
            task_id=entry.task_id,
            path=entry.path,
            error_code=entry.error_code,
            error_detail=entry.error_detail,
        )

    def resumed(self, key: str) -> None:
        """A done row whose file is gone: back to its task, to download again."""
        self._update(key, state=State.CREATED, path=None)

    def _update(self, key: str, **values: Any) -> None:
        values["updated"] = time.time()
        assignments = ", ".join(f"{name} = ?" for name in values)
        with self.journal.transaction() as db:
            db.execute(
                f"UPDATE {self.table} SET {assignments} WHERE key = ?",  # noqa: S608  # our names
                (*(str(v) if isinstance(v, State) else v for v in values.values()), key),
            )


def _entry(row: tuple[Any, ...]) -> Entry:
    key, fingerprint, state, task_id, path, code, detail, owner, updated = row
    return Entry(key, fingerprint, State(state), task_id, path, code, detail, owner, updated or 0.0)
