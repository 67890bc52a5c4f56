"""The six tools: what each does, on one ``AsyncClient`` and one journal ledger.

Every tool body runs inside ``guarded``: the library's errors, the server's refusals and any
surprise become an ``isError`` result with a message naming the field or the task (never a
traceback), and nothing that leaves carries the API key.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mcp.server.mcpserver import Context
from mcp_types import CallToolResult

from .._async_client import AsyncClient
from .._errors import (
    NotFoundError,
    TaskFailedError,
    ValidationError,
    WaitTimeoutError,
    WanI2VError,
)
from .._request import FIELDS, IMAGE_FIELDS, build_create_request
from .._task import Task, parse_task_id
from .._validation import check_field
from ..batch._journal import Entry, JournalError, State
from ._keys import LOST_DETAIL, KeyedCreates, KeyOutcome, unknown_advice
from ._paths import image_source, video_target
from ._results import (
    Redactor,
    ToolFailure,
    error_data,
    error_result,
    shown_request,
    status_phase,
    task_result,
)

logger = logging.getLogger("wan_i2v.mcp")
WAIT_DEFAULT = 50.0  # seconds: many hosts time a tool call out near 60 s
WAIT_MAX = 600.0
PROGRESS_EVERY = 2.0  # seconds between progress notifications while waiting


@dataclass(frozen=True, slots=True)
class Folders:
    """Where the server may read images and write videos."""

    output_dir: Path
    image_root: Path


class Tools:
    """The tools' bodies (``_server`` gives each its schema and description)."""

    def __init__(
        self, client: AsyncClient, keys: KeyedCreates, folders: Folders, redactor: Redactor
    ) -> None:
        self.client = client
        self.keys = keys
        self.folders = folders
        self.redactor = redactor
        self._running: set[asyncio.Future[Any]] = set()

    # --- The boundary ----------------------------------------------------------------------

    async def guarded(self, name: str, body: Awaitable[Any]) -> Any:
        """Run one tool body; every failure becomes an ``isError`` result."""
        try:
            result = await body
        except ToolFailure as failure:
            return error_result(failure.message, failure.data, self.redactor)
        except ValidationError as exc:
            return error_result(
                str(exc), error_data("invalid", exc.problem, field=exc.field), self.redactor
            )
        except WanI2VError as exc:
            data = error_data(type(exc).__name__, str(exc), task_id=exc.task_id)
            return error_result(str(exc), data, self.redactor)
        except (JournalError, OSError) as exc:
            return error_result(
                f"{name}: {exc}", error_data(type(exc).__name__, str(exc)), self.redactor
            )
        except Exception as exc:  # a bug of ours: one line on stderr, a message, no traceback
            logger.error("tool %s failed unexpectedly: %s: %s", name, type(exc).__name__, exc)
            message = f"{name} failed unexpectedly ({type(exc).__name__}: {exc})."
            return error_result(message, error_data("internal", message), self.redactor)
        if isinstance(result, CallToolResult):
            return result
        return self.redactor.data(result)

    # --- check_video_request ---------------------------------------------------------------

    def _checked(self, arguments: Mapping[str, Any]) -> dict[str, Any]:
        """The body as ``create`` would send it, or ``ToolFailure`` listing every problem
        with its field (each field checked by the library's own checker)."""
        problems: list[dict[str, str]] = []
        fields: dict[str, Any] = {}
        for name, value in arguments.items():
            info = FIELDS.get(name)
            if info is None or value is None:
                continue
            try:
                if name in IMAGE_FIELDS and isinstance(value, str):
                    value = image_source(value, self.folders.image_root, field=name)
                if info.fact is not None:  # an image is read once: its data URI goes on
                    value = check_field(info.fact, value)
            except ValidationError as exc:
                problems.append({"field": exc.field, "problem": exc.problem})
                continue
            fields[name] = value
        if problems:
            listing = "; ".join(f"{p['field']}: {p['problem']}" for p in problems)
            raise ToolFailure(
                f"The request is invalid, and nothing was sent: {listing}.",
                {"valid": False, "problems": problems},
            )
        return build_create_request(fields).to_dict()

    async def check(self, ctx: Context, arguments: dict[str, Any]) -> dict[str, Any]:
        body = await asyncio.to_thread(self._checked, arguments)
        return {"valid": True, "request": shown_request(body), "sent": False}

    # --- create_video_task -----------------------------------------------------------------

    async def create(self, ctx: Context, arguments: dict[str, Any]) -> Any:
        key: str = arguments["idempotency_key"]
        retry_unknown: bool = arguments["retry_unknown"]
        body = await asyncio.to_thread(self._checked, arguments)

        async def post(sent: Mapping[str, Any]) -> Task:
            # The checked body itself (images as data URIs): what is sent is what was
            # fingerprinted.
            return await self.client.create(**sent)

        # Shielded: a tool call cancelled by the host lets an in-flight create finish and
        # land its task id in the journal (the next call with the key then finds it).
        work = asyncio.ensure_future(self.keys.create(key, body, post, retry_unknown=retry_unknown))
        self._running.add(work)
        work.add_done_callback(self._running.discard)
        outcome = await asyncio.shield(work)
        return await self._key_result(outcome)

    async def _key_result(self, outcome: KeyOutcome) -> Any:
        entry = outcome.entry
        key = {"idempotency_key": entry.key}
        if outcome.kind == "created":
            assert outcome.task is not None
            return task_result(
                outcome.task,
                **key,
                created=True,
                message=(
                    f"Task {outcome.task.id} created (it is billed). Wait for it with "
                    "wait_for_video_task; a retry of this call must reuse the same "
                    "idempotency_key, which returns this same task."
                ),
            )
        if outcome.kind == "reused":
            return await self._reused(entry)
        if outcome.kind == "refused":
            raise ToolFailure(
                f"idempotency_key {entry.key!r} was already used with other fields (its task: "
                f"{entry.task_id or 'none yet'}, {entry.state}). Nothing was sent. Reuse a key "
                "only to retry the very same request; use a new key for a new video.",
                error_data(
                    "idempotency_key_reused", "used with other fields", **key, task_id=entry.task_id
                ),
            )
        if outcome.kind == "busy":
            raise ToolFailure(
                f"Another wan-i2v mcp process is creating idempotency_key {entry.key!r} right "
                "now. Nothing was sent; call again with the same key in a few seconds.",
                error_data("busy", "held by another process", **key),
            )
        if outcome.kind == "lost":
            raise ToolFailure(
                f"idempotency_key {entry.key!r}: {LOST_DETAIL}. Nothing was sent.",
                error_data("task_lost", LOST_DETAIL, **key, task_id=entry.task_id, status="lost"),
            )
        advice = unknown_advice(outcome.detail)
        raise ToolFailure(
            f"idempotency_key {entry.key!r}: {advice}",
            {
                **error_data("outcome_unknown", outcome.detail or "", **key),
                "task_id": None,
                "status": "outcome_unknown",
                "what_to_check": advice,
            },
        )

    async def _reused(self, entry: Entry) -> dict[str, Any]:
        """The key's task, as it is now (fetched: a GET is free); the journal's word for it
        when the API cannot be asked."""
        assert entry.task_id is not None
        message = (
            f"idempotency_key {entry.key!r} already made task {entry.task_id}: nothing was "
            "sent, no new task was created."
        )
        extra: dict[str, Any] = {"idempotency_key": entry.key, "created": False}
        if entry.path:
            extra["path"] = entry.path
        try:
            task = await self.client.get(entry.task_id)
        except WanI2VError as exc:
            return {
                "task_id": entry.task_id,
                "status": None,
                "phase": None,
                **extra,
                "message": f"{message} Its current status could not be read: {exc}",
            }
        return task_result(task, **extra, message=message)

    # --- get_video_task --------------------------------------------------------------------

    def _journaled(self, task_id: str) -> dict[str, Any]:
        entry = self.keys.key_of(task_id)
        if entry is None:
            return {}
        extra: dict[str, Any] = {"idempotency_key": entry.key}
        if entry.path:
            extra["path"] = entry.path
        return extra

    def _forgotten(self, task_id: str) -> None:
        """The API answered 404 for a task: a journaled key's task is then lost."""
        entry = self.keys.key_of(task_id)
        if entry is not None and entry.state in (State.CREATED, State.DONE):
            self.keys.ledger.lost(entry.key, LOST_DETAIL)

    async def get(self, ctx: Context, arguments: dict[str, Any]) -> dict[str, Any]:
        task_id = _task_id(arguments["task_id"])
        try:
            task = await self.client.get(task_id)
        except NotFoundError:
            self._forgotten(task_id)
            raise
        return task_result(task, **self._journaled(task_id))

    # --- wait_for_video_task ---------------------------------------------------------------

    async def wait(self, ctx: Context, arguments: dict[str, Any]) -> dict[str, Any]:
        task_id = _task_id(arguments["task_id"])
        timeout: float = arguments["timeout"]
        progress = _Progress(ctx, task_id, timeout, self.redactor)
        ticker = asyncio.ensure_future(progress.run())
        try:
            done = await self.client.wait(task_id, timeout=timeout, on_status=progress.status)
        except WaitTimeoutError as exc:
            return {
                "task_id": task_id,
                "status": exc.last_status,
                "phase": status_phase(exc.last_status),
                "still_running": True,
                "waited": round(exc.waited, 1),
                **self._journaled(task_id),
                "message": (
                    f"Task {task_id} is still running after {exc.waited:.1f} s (last status: "
                    f"{exc.last_status or 'none seen'}). Call wait_for_video_task again with "
                    "this task_id; do not create a new task."
                ),
            }
        except TaskFailedError as exc:
            entry = self.keys.key_of(task_id)
            code = None if exc.code is None else str(exc.code)
            if entry is not None:
                self.keys.ledger.failed(entry.key, code, exc.detail or exc.title or str(exc))
            raise ToolFailure(str(exc), task_result(exc.task, **self._journaled(task_id))) from None
        except NotFoundError:
            self._forgotten(task_id)
            raise
        finally:
            await progress.stop(ticker)
        return task_result(done, still_running=False, **self._journaled(task_id))

    # --- download_video --------------------------------------------------------------------

    async def download(self, ctx: Context, arguments: dict[str, Any]) -> dict[str, Any]:
        task_id = _task_id(arguments["task_id"])
        target = video_target(self.folders.output_dir, arguments["file_name"], task_id)
        overwrite: bool = arguments["overwrite"]
        try:
            # By id: the task is fetched first, so its link is fresh (links expire).
            path = await self.client.download(task_id, target, overwrite=overwrite)
        except NotFoundError:
            self._forgotten(task_id)
            raise
        entry = self.keys.key_of(task_id)
        if entry is not None:
            self.keys.ledger.done(entry.key, str(path))
        size = path.stat().st_size
        result = {"task_id": task_id, "path": str(path), "bytes": size}
        if entry is not None:
            result["idempotency_key"] = entry.key
        return result

    # --- list_video_tasks ------------------------------------------------------------------

    async def list(self, ctx: Context, arguments: dict[str, Any]) -> dict[str, Any]:
        rows = []
        for entry in self.keys.entries():
            error = None
            if entry.error_code is not None or entry.error_detail is not None:
                error = {"code": entry.error_code, "detail": entry.error_detail}
            rows.append(
                {
                    "idempotency_key": entry.key,
                    "task_id": entry.task_id,
                    "status": str(entry.state),
                    "path": entry.path,
                    "error": error,
                    "updated_at": _iso(entry.updated),
                }
            )
        return {"tasks": rows, "journal": str(self.keys.ledger.journal.path)}


def _task_id(value: str) -> str:
    parsed = parse_task_id(value.strip())
    if parsed is None:
        raise ValidationError(field="task_id", problem=f"{value!r} is not a task id (a UUID)")
    return parsed


def _iso(seconds: float) -> str | None:
    if not seconds:
        return None
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(seconds))


class _Progress:
    """Progress notifications while a wait runs: every few seconds and at each status."""

    def __init__(self, ctx: Context, task_id: str, timeout: float, redactor: Redactor) -> None:
        self.ctx = ctx
        self.task_id = task_id
        self.timeout = timeout
        self.redactor = redactor
        self.started = time.monotonic()
        self.last: str | None = None
        self._changed = asyncio.Event()
        self._stopped = False

    def status(self, task: Task) -> None:
        self.last = task.status
        self._changed.set()

    async def stop(self, ticker: asyncio.Future[None]) -> None:
        """Ends the ticker by a flag: a cancel delivered inside the SDK's send can be taken
        for the SDK's own and swallowed, and the ticker would then tick forever."""
        self._stopped = True
        self._changed.set()
        try:
            await asyncio.wait_for(asyncio.shield(ticker), PROGRESS_EVERY)
        except TimeoutError:  # stuck in a send: leave it to the host's session
            ticker.cancel()

    async def run(self) -> None:
        while not self._stopped:
            elapsed = min(time.monotonic() - self.started, self.timeout)
            message = (
                f"task {self.task_id}: {self.last or 'waiting for its first status'} "
                f"({elapsed:.0f} s of at most {self.timeout:.0f} s)"
            )
            with contextlib.suppress(Exception):  # a progress notice that fails is no failure
                await self.ctx.report_progress(elapsed, self.timeout, self.redactor.text(message))
            self._changed.clear()
            if self._stopped:
                return
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._changed.wait(), PROGRESS_EVERY)
