"""The batch engine: many rows, N at a time, every paid step journaled before it is taken.

It is written once, async; ``Client.generate_many`` runs it in an event loop of its own in a
thread (a copy made by unasync would run the rows one at a time). Each worker takes a row,
claims it in the journal and acts by the row's state:

- not started (or failed with ``retry_failed``, unknown or lost with ``retry_unknown``):
  create it with ``AsyncClient.generate``, whose ``before_create`` commits "creating" before
  the POST and whose ``on_created`` commits the task id as soon as the 202 arrives;
- created (a task id): wait for it and download it (``wait`` fetches the task, so its links
  are fresh; an expired link is fetched again by id). Never created again;
- creating with no task id (a process died during the POST): "unknown", reported with what to
  check, never paid again by itself;
- done: skipped, its file checked (a missing file is downloaded again from its task).

A create that provably never left the machine (no connection) puts its row back to "not
started". A task id the API no longer knows (404) makes the row "lost". A row held by another
live process is left to it, and watched until it ends or its process is gone.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import os
import queue
import threading
from collections.abc import AsyncIterator, Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from .._constants import DEFAULT_WAIT_TIMEOUT
from .._errors import (
    APIConnectionError,
    APIStatusError,
    AuthenticationError,
    ConfigurationError,
    CreateOutcomeUnknownError,
    DownloadError,
    NotFoundError,
    PaymentRequiredError,
    PermissionDeniedError,
    RateLimitError,
    TaskFailedError,
    WanI2VError,
)
from .._http import display_url
from .._output import plan_output
from ._journal import HEARTBEAT_SECONDS, JOURNAL_NAME, Entry, Journal, Ledger, State
from ._manifest import BatchRow, Manifest, ManifestError, RowProblem, check_rows, fingerprint

if TYPE_CHECKING:
    from .._async_client import AsyncClient
    from .._client import Client

RowStatus = Literal["done", "failed", "unknown", "lost", "not_started", "incomplete"]
LEDGER = "batch"
WATCH_SECONDS = 0.5  # how often rows held by another process are looked at again
# The library's one "what to check" text, then how to pay again here.
UNKNOWN_ADVICE = (
    f"{CreateOutcomeUnknownError.what_to_check} Rerun with --retry-unknown "
    "(retry_unknown=True) only to pay for it again."
)
LOST_ADVICE = (
    "the API no longer knows its task id (ids expire after about 24 h). Rerun with "
    "--retry-unknown (retry_unknown=True) to pay for it again."
)
# Failures that every row would meet: the batch stops instead of trying each row.
FATAL = (AuthenticationError, PaymentRequiredError, PermissionDeniedError)


@dataclass(frozen=True, slots=True)
class RowResult:
    """How one row ended (in this run, or in an earlier one when ``this_run`` is False).

    Attributes:
        status: "done", "failed" (the task or the API refused it), "unknown" (the create's
            outcome is unknown: a task may exist), "lost" (the API forgot the task),
            "not_started" (``max_new_tasks`` reached, or the create never left the machine)
            or "incomplete" (the task exists but its video is not saved yet: rerun).
        this_run: something happened to the row in this run (False: reported as found).
    """

    key: str
    status: RowStatus
    task_id: str | None = None
    path: str | None = None
    error_code: str | None = None
    error_detail: str | None = None
    line: int | None = None
    this_run: bool = True

    @property
    def ok(self) -> bool:
        return self.status == "done"

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {"key": self.key, "status": self.status, "task_id": self.task_id}
        if self.path is not None:
            data["path"] = self.path
        if self.error_code is not None or self.error_detail is not None:
            data["error"] = {"code": self.error_code, "detail": self.error_detail}
        return data


@dataclass(frozen=True, slots=True)
class BatchPlan:
    """What a run would do, row by row (``dry_run`` prints its counts)."""

    create: list[str] = field(default_factory=list)
    resume: list[str] = field(default_factory=list)
    skip: list[str] = field(default_factory=list)  # done, file present
    report: list[str] = field(default_factory=list)  # failed / unknown / lost, not retried
    elsewhere: list[str] = field(default_factory=list)  # held by another live process

    def counts(self) -> dict[str, int]:
        return {name: len(getattr(self, name)) for name in BatchPlan.__dataclass_fields__}


def origin_of(base_url: str) -> str:
    """The API a journal belongs to: the base URL without credentials or a trailing slash."""
    return display_url(base_url).replace(":***@", "@").rstrip("/")


def open_journal(
    journal: Journal | str | os.PathLike[str] | None,
    out_dir: Path,
    origin: str,
    *,
    readonly: bool = False,
) -> tuple[Journal | None, bool]:
    """(the journal, whether we opened it and must close it). Read-only on a missing file:
    None (nothing was ever journaled)."""
    if isinstance(journal, Journal):
        return journal, False
    path = Path(journal) if journal is not None else out_dir / JOURNAL_NAME
    if readonly and not path.exists():
        return None, False
    return Journal(path, origin=origin, readonly=readonly), True


def as_rows(rows: Manifest | Iterable[BatchRow | Mapping[str, Any]]) -> list[BatchRow]:
    """Checked rows with fingerprints; mappings are checked as the manifest reader does."""
    if isinstance(rows, Manifest):
        return list(rows.rows)
    given = list(rows)
    if all(isinstance(r, BatchRow) and r.fingerprint for r in given):
        return given  # type: ignore[return-value]
    raw = [
        (r.line, {**r.fields, "key": r.key, "output": r.output})
        if isinstance(r, BatchRow)
        else (None, r)
        for r in given
    ]
    manifest = check_rows(raw, source="the rows")
    if manifest.problems:
        raise ManifestError(manifest.problems, source=manifest.source)
    return manifest.rows


class BatchEngine:
    """One run of a batch over one journal (see the module's docstring)."""

    def __init__(
        self,
        client: AsyncClient,
        rows: list[BatchRow],
        out_dir: Path,
        ledger: Ledger | None,
        *,
        concurrency: int,
        max_new_tasks: int | None,
        retry_unknown: bool,
        retry_failed: bool,
        timeout: float,
        poll_interval: float | None,
        on_start: Callable[[str], object] | None,
    ) -> None:
        if concurrency < 1:
            raise ValueError(f"concurrency must be >= 1, got {concurrency!r}")
        if max_new_tasks is not None and max_new_tasks < 0:
            raise ValueError(f"max_new_tasks must be >= 0, got {max_new_tasks!r}")
        self.client = client
        self.rows = {row.key: row for row in rows}
        self.out_dir = out_dir
        self.ledger = ledger
        self.concurrency = concurrency
        self.max_new_tasks = max_new_tasks
        self.retry_unknown = retry_unknown
        self.retry_failed = retry_failed
        self.timeout = timeout
        self.poll_interval = poll_interval
        self.on_start = on_start
        self.new_tasks = 0  # creates sent by this run (the ceiling counts these)
        self.stop: BaseException | None = None  # a failure every row would meet

    # --- Before anything is sent -----------------------------------------------------------

    def target(self, row: BatchRow) -> Path:
        return self.out_dir / row.output

    def wants_create(self, entry: Entry | None) -> bool:
        state = entry.state if entry else State.NEW
        return (
            state is State.NEW
            or (state is State.FAILED and self.retry_failed)
            or (state in (State.UNKNOWN, State.LOST, State.CREATING) and self.retry_unknown)
        )

    def plan(self, entries: Mapping[str, Entry]) -> BatchPlan:
        """Sort the rows by what this run will do with them; refuse rows changed under their
        key since they were paid for, and new rows whose output cannot be written."""
        plan = BatchPlan()
        problems: list[RowProblem] = []
        for key, row in self.rows.items():
            entry = entries.get(key)
            if entry is None or self.wants_create(entry):
                if entry is not None and self._held(entry):
                    plan.elsewhere.append(key)
                    continue
                try:
                    plan_output(self.target(row), overwrite=False)
                except WanI2VError as exc:
                    problems.append(RowProblem(row.line, key, "output", str(exc)))
                    continue
                plan.create.append(key)
                continue
            if entry.fingerprint != row.fingerprint:  # paid for (or tried) with other fields
                problems.append(
                    RowProblem(
                        row.line,
                        key,
                        "fields",
                        f"changed since this key was sent (it is {entry.state}): give the row "
                        "a new key to make a new video, or restore its fields to resume it",
                    )
                )
            elif self._held(entry):
                plan.elsewhere.append(key)
            elif entry.state is State.DONE and entry.path and Path(entry.path).is_file():
                plan.skip.append(key)
            elif entry.state in (State.CREATED, State.DONE):
                plan.resume.append(key)
            else:
                plan.report.append(key)
        if problems:
            raise ManifestError(problems, source="the batch")
        return plan

    def _held(self, entry: Entry) -> bool:
        """Another live process works on this row."""
        ledger = self.ledger
        return ledger is not None and entry.owner is not None and ledger.journal.alive(entry.owner)

    # --- Running -----------------------------------------------------------------------------

    async def run(self) -> AsyncIterator[RowResult]:
        """Every row's result as it finishes; rows held by another live process are watched
        until it lets them go, then taken like any other."""
        pending = list(self.rows)
        heartbeat = asyncio.ensure_future(self._heartbeat())
        try:
            while pending and self.stop is None:
                keys = collections.deque(pending)
                elsewhere: list[str] = []
                results: asyncio.Queue[RowResult | BaseException | None] = asyncio.Queue()
                count = min(self.concurrency, len(keys))
                workers = [
                    asyncio.ensure_future(self._worker(keys, results, elsewhere))
                    for _ in range(count)
                ]
                try:
                    while count:
                        item = await results.get()
                        if item is None:
                            count -= 1
                        elif isinstance(item, BaseException):
                            raise item
                        else:
                            yield item
                finally:
                    for worker in workers:
                        worker.cancel()
                    await asyncio.gather(*workers, return_exceptions=True)
                pending = elsewhere
                if pending and self.stop is None:  # another process holds them: look again
                    await asyncio.sleep(WATCH_SECONDS)
            if self.stop is not None:
                raise self.stop
        finally:
            heartbeat.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await heartbeat

    async def _heartbeat(self) -> None:
        if self.ledger is None:
            return
        while True:
            await asyncio.sleep(HEARTBEAT_SECONDS)
            self.ledger.journal.heartbeat()

    async def _worker(
        self,
        keys: collections.deque[str],
        results: asyncio.Queue[RowResult | BaseException | None],
        elsewhere: list[str],
    ) -> None:
        try:
            while keys and self.stop is None:
                key = keys.popleft()
                try:
                    result = await self._row(key)
                except FATAL as exc:
                    # Every row would meet it: take no more rows (those in flight finish).
                    self.stop = self.stop or exc
                    return
                if result is None:
                    elsewhere.append(key)
                else:
                    results.put_nowait(result)
        except Exception as exc:  # raised on in the caller's task
            results.put_nowait(exc)
        finally:
            results.put_nowait(None)

    async def _row(self, key: str) -> RowResult | None:
        row = self.rows[key]
        if self.ledger is None:
            raise AssertionError("a run without a journal is a dry run")
        entry = self.ledger.claim(key)
        if entry is None:
            return None
        try:
            return await self._act(row, entry)
        finally:
            self.ledger.release(key)

    async def _act(self, row: BatchRow, entry: Entry) -> RowResult:
        assert self.ledger is not None
        earlier = dict(line=row.line, this_run=False)
        state = entry.state
        if state is State.DONE and entry.path and Path(entry.path).is_file():
            return RowResult(row.key, "done", entry.task_id, entry.path, **earlier)  # type: ignore[arg-type]
        if self.wants_create(entry):
            return await self._create(row, entry)
        if state is State.CREATING:  # its process died during the POST
            self.ledger.unknown(row.key, "the process stopped while its create was in flight")
            return self._unknown(row, "the process stopped while its create was in flight")
        if state is State.UNKNOWN:
            return self._unknown(row, entry.error_detail, this_run=False)
        if state is State.LOST:
            return RowResult(
                row.key,
                "lost",
                entry.task_id,
                None,
                "task_lost",
                entry.error_detail,
                row.line,
                this_run=False,
            )
        if state is State.FAILED:
            return RowResult(
                row.key,
                "failed",
                entry.task_id,
                None,
                entry.error_code,
                entry.error_detail,
                row.line,
                this_run=False,
            )
        assert entry.task_id is not None  # CREATED, or DONE with its file gone
        if state is State.DONE:
            self.ledger.resumed(row.key)
        self._started(row.key)
        return await self._finish(row, entry.task_id)

    def _started(self, key: str) -> None:
        if self.on_start is not None:
            self.on_start(key)

    def _unknown(self, row: BatchRow, reason: str | None, *, this_run: bool = True) -> RowResult:
        detail = f"{reason}. {UNKNOWN_ADVICE}" if reason else UNKNOWN_ADVICE
        return RowResult(
            row.key, "unknown", None, None, "outcome_unknown", detail, row.line, this_run
        )

    async def _create(self, row: BatchRow, entry: Entry) -> RowResult:
        assert self.ledger is not None
        ledger = self.ledger
        if self.max_new_tasks is not None and self.new_tasks >= self.max_new_tasks:
            return RowResult(
                row.key,
                "not_started",
                None,
                None,
                "max_new_tasks",
                f"left for a later run: this run's ceiling of "
                f"{self.max_new_tasks} new tasks was reached",
                row.line,
            )
        self.new_tasks += 1
        self._started(row.key)
        task_id: str | None = None
        sent = False

        async def before_create(body: Mapping[str, Any]) -> None:
            nonlocal sent
            ledger.creating(row.key, fingerprint(body))  # committed before the POST
            sent = True

        def on_created(task: Any) -> None:
            nonlocal task_id
            task_id = task.id
            ledger.created(row.key, task.id)  # committed as soon as the 202 arrives

        try:
            path = await self.client.generate(
                output=self.target(row),
                timeout=self.timeout,
                poll_interval=self.poll_interval,
                before_create=before_create,
                on_created=on_created,
                **row.fields,
            )
        except CreateOutcomeUnknownError as exc:
            ledger.unknown(row.key, exc.reason)
            return self._unknown(row, exc.reason)
        except WanI2VError as exc:
            if task_id is not None:
                return self._after_task_error(row, task_id, exc)
            if not sent or isinstance(exc, (APIConnectionError, RateLimitError, *FATAL)):
                # Stopped before the POST, or it never left this machine (no connection), or
                # the API did nothing (429, a refused key): the row is as it was.
                self.new_tasks -= 1
                if sent:
                    ledger.restore(entry)
                if isinstance(exc, FATAL):
                    raise
                return RowResult(row.key, "not_started", None, None, _code(exc), str(exc), row.line)
            # The API refused the create (a 4xx): no task exists.
            ledger.failed(row.key, _code(exc), str(exc))
            return RowResult(row.key, "failed", None, None, _code(exc), str(exc), row.line)
        ledger.done(row.key, str(path))
        return RowResult(row.key, "done", task_id, str(path), line=row.line)

    async def _finish(self, row: BatchRow, task_id: str) -> RowResult:
        """A row with a task id: wait for it and download it; never create it again."""
        assert self.ledger is not None
        target = self.target(row)
        if target.is_file():  # downloaded whole (files appear only once complete)
            self.ledger.done(row.key, str(target))
            return RowResult(row.key, "done", task_id, str(target), line=row.line)
        try:
            done = await self.client.wait(
                task_id, timeout=self.timeout, poll_interval=self.poll_interval
            )
            try:
                path = await self.client.download(done, target)
            except DownloadError as exc:
                if exc.status_code not in (401, 403, 404, 410):
                    raise
                path = await self.client.download(task_id, target)  # a fresh link, by id
        except WanI2VError as exc:
            return self._after_task_error(row, task_id, exc)
        self.ledger.done(row.key, str(path))
        return RowResult(row.key, "done", task_id, str(path), line=row.line)

    def _after_task_error(self, row: BatchRow, task_id: str, exc: WanI2VError) -> RowResult:
        assert self.ledger is not None
        if isinstance(exc, TaskFailedError):
            code = None if exc.code is None else str(exc.code)
            detail = exc.detail or exc.title or str(exc)
            self.ledger.failed(row.key, code, detail)
            return RowResult(row.key, "failed", task_id, None, code, detail, row.line)
        if isinstance(exc, NotFoundError):
            self.ledger.lost(row.key, LOST_ADVICE)
            return RowResult(row.key, "lost", task_id, None, "task_lost", LOST_ADVICE, row.line)
        # Still created: a rerun waits for it and downloads it (never creates it again).
        return RowResult(
            row.key,
            "incomplete",
            task_id,
            None,
            _code(exc),
            f"{exc} Rerun the batch to finish it.",
            row.line,
        )


def _code(exc: WanI2VError) -> str:
    if isinstance(exc, APIStatusError):
        return f"http_{exc.status_code}"
    return type(exc).__name__


# --- The two faces -----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class BatchOptions:
    concurrency: int = 2
    journal: Journal | str | os.PathLike[str] | None = None
    max_new_tasks: int | None = None
    retry_unknown: bool = False
    retry_failed: bool = False
    skip_invalid: bool = False
    timeout: float = DEFAULT_WAIT_TIMEOUT
    poll_interval: float | None = None
    on_start: Callable[[str], object] | None = None
    origin: str | None = None


def prepare(
    client: AsyncClient | Client,
    rows: Manifest | Iterable[BatchRow | Mapping[str, Any]],
    out_dir: str | os.PathLike[str],
    options: BatchOptions,
    *,
    readonly: bool,
) -> tuple[list[BatchRow], Path, Journal | None, bool, str]:
    folder = Path(out_dir)
    checked = as_rows(rows)
    origin = options.origin or origin_of(client.base_url)
    if not readonly:
        folder.mkdir(parents=True, exist_ok=True)
    journal, owned = open_journal(options.journal, folder, origin, readonly=readonly)
    return checked, folder, journal, owned, origin


async def run_batch(
    client: AsyncClient,
    rows: Manifest | Iterable[BatchRow | Mapping[str, Any]],
    out_dir: str | os.PathLike[str],
    options: BatchOptions,
) -> AsyncIterator[RowResult]:
    """The engine's one entry: check, plan (refusing what cannot be paid for safely), run."""
    checked, folder, journal, owned, _ = await asyncio.to_thread(
        prepare, client, rows, out_dir, options, readonly=False
    )
    assert journal is not None
    try:
        ledger = journal.ledger(LEDGER)
        engine = _engine(client, checked, folder, ledger, options)
        entries = ledger.register((row.key, row.fingerprint) for row in checked)
        try:
            engine.plan(entries)
        except ManifestError as exc:
            if not options.skip_invalid:
                raise
            for problem in exc.problems:  # reported, and left out of this run
                if engine.rows.pop(problem.key or "", None) is not None:
                    yield RowResult(
                        problem.key or "",
                        "not_started",
                        None,
                        None,
                        "invalid",
                        f"{problem.field}: {problem.problem}",
                        problem.line,
                    )
        async for result in engine.run():
            yield result
    finally:
        if owned:
            journal.close()


def dry_run(
    client: AsyncClient | Client,
    rows: Manifest | Iterable[BatchRow | Mapping[str, Any]],
    out_dir: str | os.PathLike[str],
    options: BatchOptions,
) -> BatchPlan:
    """What a run would create, resume, skip and report; nothing is sent or written."""
    checked, folder, journal, owned, _ = prepare(client, rows, out_dir, options, readonly=True)
    try:
        ledger = journal.ledger(LEDGER) if journal is not None else None
        engine = _engine(client, checked, folder, ledger, options)
        return engine.plan(ledger.entries() if ledger is not None else {})
    finally:
        if owned and journal is not None:
            journal.close()


def _engine(
    client: AsyncClient | Client,
    rows: list[BatchRow],
    folder: Path,
    ledger: Ledger | None,
    options: BatchOptions,
) -> BatchEngine:
    return BatchEngine(
        client,  # type: ignore[arg-type]  # a dry run never calls it
        rows,
        folder,
        ledger,
        concurrency=options.concurrency,
        max_new_tasks=options.max_new_tasks,
        retry_unknown=options.retry_unknown,
        retry_failed=options.retry_failed,
        timeout=options.timeout,
        poll_interval=options.poll_interval,
        on_start=options.on_start,
    )


def run_batch_sync(
    client: Client,
    rows: Manifest | Iterable[BatchRow | Mapping[str, Any]],
    out_dir: str | os.PathLike[str],
    options: BatchOptions,
) -> Iterator[RowResult]:
    """The sync face: the async engine in an event loop of its own, in a thread, on an
    ``AsyncClient`` with this client's settings and its create gate (one cool-down)."""
    if client._sends_through:
        raise ConfigurationError(
            "Client.generate_many runs the async engine and cannot send through your "
            "httpx.Client: use AsyncClient(http_client=httpx.AsyncClient(...)).generate_many"
        )
    from .._async_client import AsyncClient
    from .._pacing import AsyncCreateGate

    items: queue.Queue[tuple[str, Any]] = queue.Queue()
    started = threading.Event()
    state: dict[str, Any] = {}

    async def main() -> None:
        state["loop"], state["task"] = asyncio.get_running_loop(), asyncio.current_task()
        started.set()
        twin = AsyncClient(
            api_key=client._settings.auth.reveal(),
            base_url=client.base_url,
            timeout=client._settings.timeout,
            max_retries=client.max_retries,
        )
        twin._gate = AsyncCreateGate(client._gate.cooldown)
        async with twin:
            async for result in run_batch(twin, rows, out_dir, options):
                items.put(("result", result))

    def thread_main() -> None:
        try:
            asyncio.run(main())
        except BaseException as exc:  # handed to the caller's thread
            items.put(("error", exc))
        else:
            items.put(("end", None))
        finally:
            started.set()

    worker = threading.Thread(target=thread_main, name="wan-i2v-batch", daemon=True)
    worker.start()
    try:
        while True:
            try:
                kind, value = items.get(timeout=0.2)
            except queue.Empty:
                continue
            if kind == "result":
                yield value
            elif kind == "error":
                if isinstance(value, asyncio.CancelledError):
                    return
                raise value
            else:
                return
    finally:
        # Ctrl-C, SIGTERM, or a caller that stopped early: cancel the engine and wait for it
        # (the journal then holds every task id; nothing runs on behind the caller's back).
        started.wait()
        loop, task = state.get("loop"), state.get("task")
        if worker.is_alive() and loop is not None and task is not None:
            with contextlib.suppress(RuntimeError):  # the loop closed meanwhile
                loop.call_soon_threadsafe(task.cancel)
        worker.join()
