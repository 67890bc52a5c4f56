"""Idempotency keys: one agent's key, one paid task, across retries and server restarts.

The keys live in the batch command's journal (``wan_i2v.batch._journal``: one design, a
ledger table per use, here ``ledger_mcp``), with the same order of writes: "creating" is
committed before the POST, the task id as soon as the 202 arrives. A row's fingerprint is the
batch's (a hash of the body as sent, images by the hash of their data), so the same key with
other fields is noticed and refused. A key whose create had an unknown outcome (a 5xx or a
dropped connection after sending, or a server that stopped during the POST) is never sent
again unless the agent says ``retry_unknown``.

Two tool calls with one key in this process take turns (a lock per key); two server processes
on one journal never both create a key (the journal's claim is a transaction, and a row held
by a live process is left alone).
"""

from __future__ import annotations

import asyncio
import weakref
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

from .._errors import CreateOutcomeUnknownError, WanI2VError
from .._task import Task
from ..batch._journal import Entry, Ledger, State
from ..batch._manifest import fingerprint

LEDGER = "mcp"
IN_FLIGHT_AT_STOP = "the server stopped while this key's create request was in flight"
RETRY_ADVICE = (
    "Calling create_video_task again with this idempotency_key sends nothing; only "
    "retry_unknown: true creates the task again, and pays again."
)
LOST_DETAIL = (
    "the API no longer knows this key's task (task ids expire after about 24 h): "
    "create_video_task with this idempotency_key and retry_unknown: true pays for a new one"
)


def unknown_advice(reason: str | None) -> str:
    """Why the outcome is unknown, the library's one "what to check" text, then what the
    agent can do here."""
    why = reason or IN_FLIGHT_AT_STOP
    return (
        f"the outcome of its create request is unknown ({why}). "
        f"{CreateOutcomeUnknownError.what_to_check} {RETRY_ADVICE}"
    )


Kind = Literal["created", "reused", "unknown", "lost", "busy", "refused"]


@dataclass(frozen=True, slots=True)
class KeyOutcome:
    """What a create with a key came to.

    Attributes:
        kind: "created" (a new task, billed), "reused" (the key's task, nothing sent),
            "unknown" / "lost" (nothing sent now; see ``detail``), "busy" (another server
            process is creating this key right now), "refused" (the key was used with other
            fields).
        entry: the key's journal row after the call.
        task: the new task ("created" only).
    """

    kind: Kind
    entry: Entry
    task: Task | None = None
    detail: str | None = None


class KeyedCreates:
    """The creates of one server, by idempotency key, over one journal ledger."""

    def __init__(self, ledger: Ledger) -> None:
        self.ledger = ledger
        self._locks: weakref.WeakValueDictionary[str, asyncio.Lock] = weakref.WeakValueDictionary()

    async def create(
        self,
        key: str,
        body: Mapping[str, Any],
        post: Callable[[Mapping[str, Any]], Awaitable[Task]],
        *,
        retry_unknown: bool,
    ) -> KeyOutcome:
        """Create ``body`` under ``key`` unless the key already holds a task (or may).

        ``post`` sends the create (``AsyncClient.create``); it is called only after "creating"
        is committed, and at most once.

        Raises:
            WanI2VError: the create was refused or never left this machine (the row is put
                back as it was: nothing was paid for, a retry with the key may send again).
        """
        lock = self._locks.get(key)
        if lock is None:
            lock = self._locks[key] = asyncio.Lock()
        async with lock:
            return await self._create(key, body, post, retry_unknown=retry_unknown)

    async def _create(
        self,
        key: str,
        body: Mapping[str, Any],
        post: Callable[[Mapping[str, Any]], Awaitable[Task]],
        *,
        retry_unknown: bool,
    ) -> KeyOutcome:
        ledger = self.ledger
        fp = fingerprint(body)
        seen = ledger.register([(key, fp)])[key]
        entry = ledger.claim(key)
        if entry is None:
            return KeyOutcome("busy", seen)
        try:
            if entry.state is not State.NEW and entry.fingerprint != fp:
                return KeyOutcome("refused", entry)
            if entry.state is State.CREATING:  # claimed, so its process is gone
                ledger.unknown(key, IN_FLIGHT_AT_STOP)
                entry = self._entry(key)
            if entry.state in (State.CREATED, State.DONE, State.FAILED):
                return KeyOutcome("reused", entry)
            if entry.state in (State.UNKNOWN, State.LOST) and not retry_unknown:
                kind: Kind = "lost" if entry.state is State.LOST else "unknown"
                return KeyOutcome(kind, entry, detail=entry.error_detail)
            return await self._post(entry, body, fp, post)
        finally:
            ledger.release(key)

    async def _post(
        self,
        entry: Entry,
        body: Mapping[str, Any],
        fp: str,
        post: Callable[[Mapping[str, Any]], Awaitable[Task]],
    ) -> KeyOutcome:
        ledger, key = self.ledger, entry.key
        ledger.creating(key, fp)  # committed before the POST: from here a task may exist
        try:
            task = await post(body)
        except CreateOutcomeUnknownError as exc:
            ledger.unknown(key, exc.reason)
            return KeyOutcome("unknown", self._entry(key), detail=exc.reason)
        except WanI2VError:
            # Refused (4xx, 429) or never sent (no connection): no task exists. The row goes
            # back to what it was (an unknown row retried in vain stays unknown).
            ledger.restore(entry)
            raise
        # Cancelled or killed during the POST: the row stays "creating", which the next look
        # at this key reports as an unknown outcome.
        ledger.created(key, task.id)  # committed as soon as the 202 arrives
        return KeyOutcome("created", self._entry(key), task=task)

    def _entry(self, key: str) -> Entry:
        entry = self.ledger.entry(key)
        assert entry is not None
        return entry

    def key_of(self, task_id: str) -> Entry | None:
        """The journal row of a task id, if one of this journal's keys made it."""
        for entry in self.ledger.entries().values():
            if entry.task_id == task_id:
                return entry
        return None

    def entries(self) -> list[Entry]:
        return sorted(self.ledger.entries().values(), key=lambda e: e.updated)
