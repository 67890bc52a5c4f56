"""The progress line on a terminal (cli/_display.LiveLine, shared by `wait`/`generate` and
`batch`): rewritten in place, and ended on leaving, so the next line stands on its own."""

from __future__ import annotations

import datetime as dt

import pytest

from wan_i2v import Task
from wan_i2v.cli._batch import BatchProgress
from wan_i2v.cli._display import Progress, Run, Where

TASK_ID = "3c90c3cc-0d44-4b50-8888-8dd25736052a"


def _task(status: str) -> Task:
    now = dt.datetime.now(dt.UTC)
    return Task(id=TASK_ID, status=status, created_at=now, updated_at=now)


def test_a_terminal_line_is_rewritten_escaped_and_ended(capsys: pytest.CaptureFixture[str]) -> None:
    """Each status redraws one line (\\r ... erase to the end); a hostile status word is
    escaped; leaving ends the line with a newline."""
    run = Run(as_json=False, where=Where(base_url=None, site=None))
    with Progress(run, tty=True) as progress:
        progress(_task("pending"))
        progress(_task("running\x1b]0;owned\x07"))
    err = capsys.readouterr().err
    assert err.count("\r") == 2
    assert "\x1b]0" not in err
    assert "running\\x1b]0;owned\\x07" in err
    assert err.endswith("owned\\x07\n")  # click drops the erase sequence off a terminal


def test_off_a_terminal_one_line_per_status(capsys: pytest.CaptureFixture[str]) -> None:
    """In logs and CI: one plain line per change of status, no control sequences."""
    run = Run(as_json=False, where=Where(base_url=None, site=None))
    with Progress(run, tty=False) as progress:
        progress(_task("pending"))
        progress(_task("completed"))
    lines = capsys.readouterr().err.splitlines()
    assert [line.split("] ")[1] for line in lines] == [
        f"task {TASK_ID}: pending",
        f"task {TASK_ID}: completed",
    ]
    assert "\x1b" not in "".join(lines)


def test_the_batch_line_is_ended_on_leaving(capsys: pytest.CaptureFixture[str]) -> None:
    """The batch's live counts use the same line: drawn on a terminal, ended on leaving."""
    with BatchProgress(3, tty=True, as_json=False) as progress:
        progress.started("a")
    err = capsys.readouterr().err
    assert "running 1" in err
    assert err.endswith("\n")
