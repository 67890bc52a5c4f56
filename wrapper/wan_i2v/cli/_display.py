"""What the command line shows: one JSON shape per task, one progress display, one way to
report a failure (with the task id and the command that finishes the job).

A status word, an error title or a video link is the server's text: an ANSI or OSC sequence in
it must not clear the screen or retitle the terminal. Results go through ``terminal_safe``
(people) or ``json_safe`` (``--json``), the progress line escapes the status word, and error
messages come escaped from the errors themselves. The key never gets this far: the client
removed it when the answer was read (_scrub.py).
"""

from __future__ import annotations

import json
import shlex
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any, Self

import click

from .._errors import (
    ConfigurationError,
    CreateOutcomeUnknownError,
    NotFoundError,
    OutputExistsError,
    TaskFailedError,
    ValidationError,
    WaitTimeoutError,
    WanI2VError,
)
from .._http import display_url
from .._scrub import escape_controls
from .._task import Task, phase_of
from ._exit import EXIT_FAILURE, EXIT_INTERRUPTED, EXIT_TERMINATED, EXIT_USAGE

# Errors that mean "the command was used wrongly": nothing was paid for.
USAGE_ERRORS = (ValidationError, ConfigurationError)


class Terminated(KeyboardInterrupt):
    """SIGTERM, turned into the same path as Ctrl-C: temporary files are removed on the way."""


def task_dict(task: Task, **extra: Any) -> dict[str, Any]:
    """The one JSON shape of a task on the command line (``task_id`` and ``phase`` always)."""
    data: dict[str, Any] = {
        "task_id": task.id,
        "status": task.status,
        "phase": task.phase.value,
        "created_at": task.created_at.isoformat(),
        "updated_at": task.updated_at.isoformat(),
        "videos": list(task.videos),
        "request_id": task.request_id,
    }
    if task.error is not None:
        data["error"] = {
            "code": task.error.code,
            "title": task.error.title,
            "detail": task.error.detail,
        }
    data.update(extra)
    return data


@dataclass
class Where:
    """How this run reached the API, so that a printed command goes to the same place."""

    base_url: str | None = None
    site: str | None = None
    sandbox: bool = False

    def prefix(self) -> list[str]:
        words = ["wan-i2v"]
        if self.base_url:
            words += ["--base-url", display_url(self.base_url)]
        if self.site:
            words += ["--site", self.site]
        return words

    @property
    def masked(self) -> bool:
        return bool(self.base_url) and display_url(self.base_url or "") != self.base_url


@dataclass
class Run:
    """One command's run: what it has done so far, and how to report its end.

    ``stage`` is where a Ctrl-C lands: "checking" (nothing sent), "creating" (the POST is in
    flight: a task may exist), "created" (``task`` exists and may be billed).
    """

    as_json: bool
    where: Where
    output: str | None = None
    overwrite: bool = False
    stage: str = "checking"
    known_id: str | None = None  # a task named on the command line (wait, download)
    task: Task | None = None
    last: Task | None = None
    _line_open: bool = field(default=False, repr=False)

    def creating(self, _body: object = None) -> None:
        self.stage = "creating"

    def created(self, task: Task) -> None:
        self.stage, self.task, self.last = "created", task, task
        say(f"Created task {task.id}")

    @property
    def task_id(self) -> str | None:
        return self.task.id if self.task else self.known_id

    def finish_command(self, task_id: str) -> str:
        words = [*self.where.prefix(), "wait", task_id]
        if self.output is not None:
            words += ["-o", str(self.output)]
        if self.overwrite:
            words.append("--overwrite")
        return shlex.join(words)

    def emit(self, data: dict[str, Any], human: str) -> None:
        click.echo(json.dumps(json_safe(data)) if self.as_json else terminal_safe(human))

    def fail(self, error: BaseException) -> int:
        """Report how the run ended and return the exit code; never a traceback."""
        task_id = self.task_id or getattr(error, "task_id", None)
        if isinstance(error, KeyboardInterrupt):
            code = EXIT_TERMINATED if isinstance(error, Terminated) else EXIT_INTERRUPTED
            kind, message = "Interrupted", self._interrupted_message(task_id)
        elif isinstance(error, WanI2VError):
            # Exit 2: the command was used wrongly and this run paid for nothing.
            paid_here = self.task is not None and self.known_id is None
            usage = isinstance(error, (*USAGE_ERRORS, OutputExistsError)) and not paid_here
            code = EXIT_USAGE if usage else EXIT_FAILURE
            kind, message = type(error).__name__, str(error)
        else:  # an OSError from our own writing, say
            code, kind = EXIT_FAILURE, type(error).__name__
            message = str(error) or kind
        lines = [f"error: {message}"]
        # Nothing to finish: the command was used wrongly (exit 2: an existing -o, a bad
        # field; the same command would fail again), or the API has no such task.
        finishable = code != EXIT_USAGE and not isinstance(error, NotFoundError)
        if task_id and finishable and not isinstance(error, KeyboardInterrupt):
            lines.append(self._finish_hint(task_id, error))
        payload: dict[str, Any] = {
            "task_id": task_id,
            "phase": self._phase(error),  # always there, as for a task (null: not known)
            "error": kind,
            "message": message,
        }
        if isinstance(error, TaskFailedError):
            payload.update(code=error.code, title=error.title, detail=error.detail)
        if isinstance(error, WaitTimeoutError):
            payload.update(status=error.last_status)
        if self.last is not None:
            payload.update(status=self.last.status)
        failed = isinstance(error, TaskFailedError)
        if task_id and finishable and not self.where.sandbox and not failed:
            payload["finish_with"] = self.finish_command(task_id)
        if self.as_json:
            click.echo(json.dumps(json_safe(payload)))
        say("\n".join(line for line in lines if line))
        return code

    def _phase(self, error: BaseException) -> str | None:
        """The phase of the task as last seen (a failed task: failed), or None."""
        if self.last is not None:
            return self.last.phase.value
        if isinstance(error, TaskFailedError):
            return error.task.phase.value
        if isinstance(error, WaitTimeoutError) and error.last_status:
            return phase_of(error.last_status).value
        return None

    def _finish_hint(self, task_id: str, error: BaseException) -> str:
        if isinstance(error, TaskFailedError):
            return ""
        if self.where.sandbox:
            return f"Task {task_id} lived in the sandbox, which ended with this command."
        hint = f"Task {task_id} may be billed. Finish it with: {self.finish_command(task_id)}"
        return hint + self._masked_note()

    def _masked_note(self) -> str:
        if not self.where.masked:
            return ""
        return "\n(The password in the base URL is masked: pass it as MULEROUTER_BASE_URL.)"

    def _interrupted_message(self, task_id: str | None) -> str:
        if self.where.sandbox:
            gone = f" Task {task_id} lived in the sandbox and is gone." if task_id else ""
            return f"Interrupted.{gone} Nothing was billed."
        if task_id:
            return (
                f"Interrupted. Task {task_id} is still running on the server and may be billed."
                f"\nFinish it with: {self.finish_command(task_id)}{self._masked_note()}"
            )
        if self.stage == "creating":
            return (
                "Interrupted while the create request was in flight. "
                + CreateOutcomeUnknownError.what_to_check
            )
        return "Interrupted. Nothing was sent."


def say(text: str) -> None:
    """A line for people, on stderr (stdout is for results and --json)."""
    if text:
        click.echo(text, err=True)  # errors escape their messages themselves


def terminal_safe(text: str) -> str:
    """Text for a terminal: our own line breaks kept, every other control character escaped
    (one that came inside a line, the server's, shows as ``\x1b``, ``\r``...)."""
    return "\n".join(escape_controls(line) for line in text.split("\n"))


def json_safe(value: Any) -> Any:
    """A ``--json`` value whose strings hold no control character: json.dumps would write ESC
    as ``\u001b``, which ``jq -r`` turns back into a raw ESC on the terminal."""
    if isinstance(value, str):
        return escape_controls(value)
    if isinstance(value, list | tuple):
        return [json_safe(item) for item in value]
    if isinstance(value, dict):
        return {json_safe(k): json_safe(v) for k, v in value.items()}
    return value


class LiveLine:
    """One line on stderr, rewritten in place on a terminal and redrawn every second from
    ``render`` by a timer thread; leaving it ends the line, so whatever is printed next (an
    error included) starts on a line of its own. The one ticker of every progress display."""

    def __init__(self, render: Callable[[], str], *, name: str) -> None:
        self._render = render
        self._name = name
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._drawn = False
        self._ticker: threading.Thread | None = None

    def __enter__(self) -> Self:
        self._ticker = threading.Thread(target=self._tick, name=self._name, daemon=True)
        self._ticker.start()
        return self

    def _tick(self) -> None:
        while not self._stop.wait(1.0):
            self.draw()

    def draw(self) -> None:
        text = self._render()
        with self._lock:
            click.echo(f"\r{text}\x1b[K", err=True, nl=False)
            self._drawn = True

    def clear(self) -> None:
        """Wipe the line, so that a line printed next stands alone."""
        with self._lock:
            if self._drawn:
                click.echo("\r\x1b[K", err=True, nl=False)

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._stop.set()
        if self._ticker is not None:
            self._ticker.join()
        with self._lock:
            if self._drawn:
                click.echo("", err=True)


class Progress:
    """The status and the elapsed time while waiting, on stderr: on a terminal a ``LiveLine``
    whose clock ticks every second; elsewhere (logs, CI), one line per change of status."""

    def __init__(self, run: Run, *, tty: bool | None = None) -> None:
        self._run = run
        self._started = time.monotonic()
        self._status = "waiting"
        tty = sys.stderr.isatty() if tty is None else tty
        self._live = LiveLine(self._line, name="wan-i2v-progress") if tty else None

    def __enter__(self) -> Self:
        if self._live is not None:
            self._live.__enter__()
        return self

    def __call__(self, task: Task) -> None:
        self._run.last = task
        self._status = f"task {task.id}: {escape_controls(task.status)}"
        if self._live is not None:
            self._live.draw()
        else:
            click.echo(self._line(), err=True)

    def _line(self) -> str:
        return f"[{time.monotonic() - self._started:5.0f} s] {self._status}"

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._live is not None:
            self._live.__exit__(exc_type, exc, tb)
