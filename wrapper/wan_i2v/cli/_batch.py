"""``wan-i2v batch``: a thin shell over the batch engine (``wan_i2v.batch``).

Exit codes: 0 every row succeeded; 1 a row failed, is unknown or lost, or was left unstarted
(``--max-new-tasks``, or a create that never left the machine); 2 the manifest or the journal
was refused (nothing was sent); 130 on Ctrl-C and 143 on SIGTERM (the journal holds all that a
rerun needs, and the message gives the command).
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import json
import shlex
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from types import TracebackType
from typing import Any, Self

import click

from .._client import Client
from .._errors import WanI2VError
from ..batch import JournalError, Manifest, ManifestError, RowResult, read_manifest
from ..batch._engine import BatchOptions, dry_run, run_batch_sync
from ._display import USAGE_ERRORS, LiveLine, Terminated, Where, say
from ._exit import EXIT_FAILURE, EXIT_INTERRUPTED, EXIT_TERMINATED, EXIT_USAGE

RESULTS_FILE = "results.jsonl"
SANDBOX_ORIGIN = "wan-i2v sandbox (in-process)"  # one name across runs: its port changes
ETA_AFTER = 3  # rows finished in this run before an ETA is shown


class BatchProgress:
    """Counts of the rows, and how they are shown: on a terminal one line rewritten in place
    (done / running / queued / failed / unknown, elapsed, an ETA); elsewhere one line per
    finished row. ``started`` is called from the engine's thread: counts are locked."""

    def __init__(self, total: int, *, tty: bool, as_json: bool) -> None:
        self.total = total
        self.tty = tty
        self.as_json = as_json
        self.counts: Counter[str] = Counter()
        self.running = 0
        self.finished_here = 0
        self._started_at = time.monotonic()
        self._lock = threading.Lock()  # the counts (``started`` comes from another thread)
        self._live = LiveLine(self.line, name="wan-i2v-batch-progress") if tty else None

    def __enter__(self) -> Self:
        if self._live is not None:
            self._live.__enter__()
        return self

    def started(self, _key: str) -> None:
        with self._lock:
            self.running += 1
        self._draw()

    def finished(self, result: RowResult) -> None:
        with self._lock:
            self.counts[result.status] += 1
            if result.this_run:
                self.finished_here += 1
                # A row counts as running from its start to its result (skips never start).
                if result.status != "not_started" or result.error_code != "max_new_tasks":
                    self.running = max(0, self.running - 1)
        if self.as_json:
            click.echo(json.dumps({**result.to_dict(), "this_run": result.this_run}))
        elif self._live is None:
            say(_row_line(result))
        else:
            self._live.clear()
            if result.status != "done" or result.this_run:
                say(_row_line(result))
        self._draw()

    def line(self) -> str:
        with self._lock:
            done = self.counts["done"]
            finished = sum(self.counts.values())
            queued = max(0, self.total - finished - self.running)
            elapsed = time.monotonic() - self._started_at
            parts = [
                f"[{elapsed:5.0f} s] done {done}/{self.total}",
                f"running {self.running}",
                f"queued {queued}",
                f"failed {self.counts['failed']}",
                f"unknown {self.counts['unknown'] + self.counts['lost']}",
            ]
            if self.finished_here >= ETA_AFTER and elapsed > 0:
                rate = self.finished_here / elapsed
                parts.append(f"ETA {(queued + self.running) / rate:.0f} s")
        return " · ".join(parts)

    def _draw(self) -> None:
        if self._live is not None:
            self._live.draw()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._live is not None:
            self._live.__exit__(exc_type, exc, tb)


def _row_line(result: RowResult) -> str:
    earlier = "" if result.this_run else " (earlier run)"
    if result.status == "done":
        return f"{result.key}: done {result.path}{earlier}"
    task = f" [task {result.task_id}]" if result.task_id else ""
    code = f" {result.error_code}:" if result.error_code else ""
    return f"{result.key}: {result.status}{task}{code} {result.error_detail or ''}{earlier}"


def _append_results(path: Path, result: RowResult) -> None:
    """One line per row outcome; the last line per key is the row's state."""
    line = {**result.to_dict(), "at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds")}
    with path.open("a", encoding="utf-8") as out:
        out.write(json.dumps(line, ensure_ascii=False) + "\n")


def _recorded(path: Path) -> dict[str, str]:
    """The last status results.jsonl holds for each key: a process killed between the
    journal's commit and its results line left that row's state unwritten there, and the
    next run writes it (a torn last line is skipped)."""
    last: dict[str, str] = {}
    with contextlib.suppress(FileNotFoundError):
        for line in path.read_text(encoding="utf-8").splitlines():
            with contextlib.suppress(ValueError, KeyError, TypeError):
                item = json.loads(line)
                last[item["key"]] = item["status"]
    return last


def _summary(counts: Counter[str], total: int) -> str:
    order = ("done", "failed", "unknown", "lost", "incomplete", "not_started")
    parts = [f"{counts[name]} {name.replace('_', ' ')}" for name in order if counts[name]]
    return f"{total} row{'s' if total != 1 else ''}: " + (", ".join(parts) or "nothing to do")


def _resume_command(where: Where, params: dict[str, Any]) -> str:
    """The same command (the base URL masked if it holds a password), to run again."""
    words = [*where.prefix(), "batch", str(params["manifest"]), "--out", str(params["out_dir"])]
    if params["journal"] is not None:
        words += ["--journal", str(params["journal"])]
    for name in ("concurrency", "max_new_tasks", "timeout"):
        value = params[name]
        if value is not None and value != {"concurrency": 2, "timeout": 900.0}.get(name):
            words += ["--" + name.replace("_", "-"), str(value)]
    for flag in ("retry_unknown", "retry_failed", "skip_invalid", "json", "sandbox"):
        if params.get("as_json" if flag == "json" else flag):
            words.append("--" + flag.replace("_", "-"))
    return shlex.join(words)


@contextlib.contextmanager
def _client(where: Where, sandbox: bool) -> Iterator[Client]:
    if sandbox:
        from ._commands import _sandbox_client  # the group's own helper (no import cycle)

        with _sandbox_client() as client:
            yield client
        return
    with Client(base_url=where.base_url, site=where.site) as client:
        yield client


@click.command("batch")
@click.argument("manifest", type=click.Path(dir_okay=False, path_type=Path))
@click.option(
    "--out",
    "out_dir",
    required=True,
    type=click.Path(file_okay=False, path_type=Path),
    help="Folder of the videos, the journal and results.jsonl.",
)
@click.option(
    "--journal",
    type=click.Path(dir_okay=False, path_type=Path),
    help="The journal file (default: OUT/.wan-i2v-journal.sqlite).",
)
@click.option(
    "--concurrency",
    type=click.IntRange(min=1),
    default=2,
    show_default=True,
    help="Rows in flight at once (2: the upstream limit of concurrent Wan i2v tasks per account).",
)
@click.option(
    "--max-new-tasks",
    type=click.IntRange(min=0),
    help="Create at most N tasks in this run (the spend you can afford).",
)
@click.option(
    "--retry-unknown",
    is_flag=True,
    help="Create again rows whose outcome is unknown or whose task was lost (pays again).",
)
@click.option("--retry-failed", is_flag=True, help="Create again rows whose task failed.")
@click.option("--skip-invalid", is_flag=True, help="Go on with the valid rows of a bad manifest.")
@click.option(
    "--dry-run", is_flag=True, help="Check everything; say what would happen; send nothing."
)
@click.option(
    "--timeout",
    type=float,
    default=900.0,
    show_default=True,
    help="Seconds to wait for each video.",
)
@click.option("--json", "as_json", is_flag=True, help="One JSON object per finished row.")
@click.option("--sandbox", is_flag=True, help="Use the offline sandbox instead of the API.")
@click.pass_context
def batch_command(
    ctx: click.Context,
    manifest: Path,
    out_dir: Path,
    journal: Path | None,
    concurrency: int,
    max_new_tasks: int | None,
    retry_unknown: bool,
    retry_failed: bool,
    skip_invalid: bool,
    dry_run: bool,
    timeout: float,
    as_json: bool,
    sandbox: bool,
) -> None:
    """Make one video per row of MANIFEST (JSON Lines or CSV), resumably.

    Each row holds the create fields by name (image, prompt, ...), and optionally `key` (its
    own id; default: its line number) and `output` (file name under OUT; default
    <key>.mp4). Every row is checked before anything is sent. Rerun the same command after
    any interruption: it resumes without paying twice.
    """
    given = Where(getattr(ctx.obj, "base_url", None), getattr(ctx.obj, "site", None))
    where = Where(given.base_url, given.site, sandbox=sandbox)
    resume = _resume_command(where, ctx.params)
    try:
        rows = read_manifest(manifest, skip_invalid=skip_invalid)
    except ManifestError as exc:
        _refused(exc, as_json)
    except OSError as exc:
        say(f"error: cannot read {manifest}: {exc.strerror or exc}")
        raise SystemExit(EXIT_USAGE) from None
    for problem in rows.problems:
        say(f"skipped (invalid): {problem}")
    options = BatchOptions(
        concurrency=concurrency,
        journal=journal,
        max_new_tasks=max_new_tasks,
        retry_unknown=retry_unknown,
        retry_failed=retry_failed,
        skip_invalid=skip_invalid,
        timeout=timeout,
        origin=SANDBOX_ORIGIN if sandbox else None,
    )
    try:
        if dry_run:
            _dry_run(where, rows, out_dir, options, as_json)
            return
        code = _run(where, rows, out_dir, options, as_json, sandbox)
    except ManifestError as exc:
        _refused(exc, as_json)
    except KeyboardInterrupt as exc:
        code = EXIT_TERMINATED if isinstance(exc, Terminated) else EXIT_INTERRUPTED
        say(
            "Interrupted. The journal holds every task created so far (none is lost or paid "
            f"twice); resume with: {resume}"
        )
        if sandbox:
            say("(The in-process sandbox ended with this command: its tasks are gone.)")
        raise SystemExit(code) from None
    except (JournalError, *USAGE_ERRORS) as exc:
        say(f"error: {exc}")
        raise SystemExit(EXIT_USAGE) from None
    except WanI2VError as exc:
        say(f"error: {exc}\nThe batch stopped; the journal holds its tasks. Resume with: {resume}")
        raise SystemExit(EXIT_FAILURE) from None
    raise SystemExit(code)


def _refused(exc: ManifestError, as_json: bool) -> None:
    if as_json:
        problems = [p.to_dict() for p in exc.problems]
        click.echo(json.dumps({"error": "ManifestError", "problems": problems}))
    say(f"error: {exc}")
    raise SystemExit(EXIT_USAGE)


def _dry_run(
    where: Where, rows: Manifest, out_dir: Path, options: BatchOptions, as_json: bool
) -> None:
    with _client(where, where.sandbox) as client:
        plan = dry_run(client, rows, out_dir, options)
    counts = plan.counts()
    if options.max_new_tasks is not None and counts["create"] > options.max_new_tasks:
        counts["left_for_later"] = counts["create"] - options.max_new_tasks
        counts["create"] = options.max_new_tasks
    if as_json:
        click.echo(json.dumps({"dry_run": True, **counts}))
        return
    click.echo(
        f"Would create {counts['create']}, resume {counts['resume']}, skip {counts['skip']} "
        f"(done), report {counts['report']} (failed, unknown or lost)"
        + (f", wait for {counts['elsewhere']} held by another process" if plan.elsewhere else "")
        + (f", leave {counts['left_for_later']} for later" if "left_for_later" in counts else "")
        + ". Nothing was sent."
    )


def _run(
    where: Where,
    rows: Manifest,
    out_dir: Path,
    options: BatchOptions,
    as_json: bool,
    sandbox: bool,
) -> int:
    total = len(rows.rows)
    progress = BatchProgress(total, tty=sys.stderr.isatty() and not as_json, as_json=as_json)
    options = dataclasses.replace(options, on_start=progress.started)
    results = out_dir / RESULTS_FILE
    recorded = _recorded(results)
    with _client(where, sandbox) as client, progress:
        for result in run_batch_sync(client, rows, out_dir, options):
            if result.this_run or recorded.get(result.key) != result.status:
                _append_results(results, result)
            progress.finished(result)
    say(_summary(progress.counts, total))
    return 0 if progress.counts["done"] == total else EXIT_FAILURE
