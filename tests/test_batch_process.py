"""`wan-i2v batch` as a real process against `wan-i2v sandbox` as a real process: killed with
SIGKILL at several points and rerun, an after-create 5xx, the concurrency bound, a 429 storm,
two batches on one journal, SIGTERM, a refused manifest. Tasks and requests are counted by
the sandbox (`GET /_sandbox/stats`), which outlives every batch process."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from imagefiles import write_image
from sandbox_processes import Sandbox, sandbox_process

from wan_i2v import CreateOutcomeUnknownError
from wan_i2v.sandbox import SandboxControl

pytestmark = pytest.mark.slow

KEY = "sk-batch-process-key"
ROWS = 6
Stats = dict[str, Any]


@pytest.fixture
def manifest(tmp_path: Path) -> Path:
    write_image(tmp_path, "a.png", "png", 640, 480)
    path = tmp_path / "m.jsonl"
    rows = [{"key": f"r{i}", "image": "a.png", "prompt": f"p{i}"} for i in range(ROWS)]
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


@pytest.fixture
def sandbox_args() -> list[str]:
    """Extra `wan-i2v sandbox` options; a test overrides it with parametrize."""
    return []


@pytest.fixture
def sandbox(tmp_path: Path, sandbox_args: list[str]) -> Iterator[Sandbox]:
    logs = tmp_path / "sandbox"
    logs.mkdir()
    args = ("--api-key", KEY, "--task-seconds", "1", *sandbox_args)
    with sandbox_process(logs, *args) as running:
        yield running


def stats(sandbox: Sandbox) -> Stats:
    return SandboxControl(sandbox.url).stats()


def answered(numbers: Stats, operation: str, status: str | None = None) -> int:
    """Answers to ``operation`` (with ``status``, or all of them) in a stats reading."""
    by_status: dict[str, int] = numbers["requests"].get(operation, {})
    return sum(by_status.values()) if status is None else by_status.get(status, 0)


STARTED: list[subprocess.Popen[str]] = []


@pytest.fixture(autouse=True)
def _reap() -> Iterator[None]:
    """A failed assertion leaves no batch process running."""
    yield
    while STARTED:
        process = STARTED.pop()
        if process.poll() is None:
            process.kill()
        process.communicate()


def start(sandbox: Sandbox, *args: str) -> subprocess.Popen[str]:
    base = {k: v for k, v in os.environ.items() if not k.startswith("MULEROUTER_")}
    env = {**base, "MULEROUTER_BASE_URL": sandbox.url, "MULEROUTER_API_KEY": KEY}
    process = subprocess.Popen(
        [sys.executable, "-m", "wan_i2v.cli", "batch", *args],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    STARTED.append(process)
    return process


def until(condition: Callable[[], bool], timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.02)


def journal_rows(out: Path) -> dict[str, tuple[str, str | None]]:
    with contextlib.closing(sqlite3.connect(out / ".wan-i2v-journal.sqlite")) as db:
        rows = db.execute("SELECT key, state, task_id FROM ledger_batch").fetchall()
    return {key: (state, task_id) for key, state, task_id in rows}


def created_rows(out: Path) -> dict[str, str]:
    """key -> task id of the rows the journal holds as "created" (waiting or downloading)."""
    if not (out / ".wan-i2v-journal.sqlite").exists():
        return {}
    try:
        rows = journal_rows(out)
    except sqlite3.OperationalError:  # the table is not there yet
        return {}
    return {k: task for k, (state, task) in rows.items() if state == "created" and task}


# When to kill, by what the sandbox has answered since the process started.
KILL_POINTS: dict[str, Callable[[Stats, Stats], bool]] = {
    "during creates": lambda now, before: answered(now, "create") > answered(before, "create"),
    "during waits": lambda now, before: answered(now, "get") > answered(before, "get"),
    "during downloads": lambda now, before: answered(now, "file") > answered(before, "file"),
}


def test_sigkill_at_several_points_then_rerun_pays_once_per_row(
    sandbox: Sandbox, manifest: Path, tmp_path: Path
) -> None:
    """Killed with SIGKILL during creates, during waits and during downloads, the rerun ends
    with every row's video and one task per row (a row whose POST was in flight at a kill
    may be "unknown" instead, and is then not created again)."""
    out = tmp_path / "out"
    args = (str(manifest), "--out", str(out))
    seen: dict[str, str] = {}  # key -> task id, of rows caught "created" at a kill
    for point, reached in KILL_POINTS.items():
        before = stats(sandbox)
        process = start(sandbox, *args)

        def kill_now(
            process: subprocess.Popen[str] = process,
            reached: Callable[[Stats, Stats], bool] = reached,
            before: Stats = before,
        ) -> bool:
            # A slow machine may let a run finish first: no kill then.
            return process.poll() is not None or reached(stats(sandbox), before)

        until(kill_now)
        process.kill()
        process.communicate()
        seen.update(created_rows(out))
        assert process.returncode in (-signal.SIGKILL, 0, 1), point
    final = start(sandbox, *args)
    _, stderr = final.communicate(timeout=120)
    rows = journal_rows(out)
    done = {k for k, (state, _) in rows.items() if state == "done"}
    unknown = {k for k, (state, _) in rows.items() if state == "unknown"}
    assert done | unknown == set(rows) == {f"r{i}" for i in range(ROWS)}, stderr
    assert final.returncode == (0 if not unknown else 1), stderr
    for key in done:
        assert (out / f"{key}.mp4").read_bytes()[4:8] == b"ftyp"
    # One task per row: the done rows' ids are distinct, and only an unknown row's POST may
    # have made a task nobody waits for.
    created = stats(sandbox)["tasks_created"]
    assert len({rows[k][1] for k in done}) == len(done)
    assert len(done) <= created <= len(done) + len(unknown)
    # A row caught with its task id was finished with that task, never created again.
    assert {k: rows[k] for k in seen} == {k: ("done", task) for k, task in seen.items()}
    results = [json.loads(line) for line in (out / "results.jsonl").read_text().splitlines()]
    last = {r["key"]: r["status"] for r in results}
    assert {k for k, s in last.items() if s == "done"} == done


def test_results_file_catches_up_with_the_journal(
    sandbox: Sandbox, manifest: Path, tmp_path: Path
) -> None:
    """A process killed after the journal's "done" and before its results.jsonl line: the
    rerun writes that row's state there (once), sending nothing."""
    out = tmp_path / "out"
    args = (str(manifest), "--out", str(out), "--concurrency", str(ROWS))
    first = start(sandbox, *args)
    first.communicate(timeout=120)
    assert first.returncode == 0
    results = out / "results.jsonl"
    lines = results.read_text().splitlines()
    results.write_text("".join(line + "\n" for line in lines if '"key": "r0"' not in line))
    sent = stats(sandbox)["requests_received"]
    rerun = start(sandbox, *args)
    rerun.communicate(timeout=120)
    assert rerun.returncode == 0
    after = [json.loads(line) for line in results.read_text().splitlines()]
    assert [r["key"] for r in after].count("r0") == 1
    assert len(after) == ROWS  # the other rows are not written again
    assert (after[-1]["key"], after[-1]["status"]) == ("r0", "done")
    assert stats(sandbox)["requests_received"] == sent


def test_after_create_5xx_is_unknown_and_not_created_again(
    sandbox: Sandbox, manifest: Path, tmp_path: Path
) -> None:
    """A 503 on a create whose task existed: that row ends "unknown" with what to check; a
    rerun creates nothing; only --retry-unknown pays for it again."""
    out = tmp_path / "out"
    SandboxControl(sandbox.url).inject(503, operation="create", after_create=True)
    first = start(sandbox, str(manifest), "--out", str(out), "--json", "--concurrency", "6")
    stdout, stderr = first.communicate(timeout=120)
    assert first.returncode == 1, stderr
    rows = [json.loads(line) for line in stdout.splitlines()]
    (unknown,) = [r for r in rows if r["status"] == "unknown"]
    assert unknown["task_id"] is None
    assert CreateOutcomeUnknownError.what_to_check in unknown["error"]["detail"]
    assert stats(sandbox)["tasks_created"] == ROWS  # the 503's task exists, and is billed

    again = start(sandbox, str(manifest), "--out", str(out), "--concurrency", "6")
    _, stderr = again.communicate(timeout=120)
    assert again.returncode == 1
    assert f"{unknown['key']}: unknown" in stderr
    assert CreateOutcomeUnknownError.what_to_check in stderr
    assert stats(sandbox)["tasks_created"] == ROWS  # not created again

    paid = start(sandbox, str(manifest), "--out", str(out), "--retry-unknown")
    _, stderr = paid.communicate(timeout=120)
    assert paid.returncode == 0, stderr
    assert stats(sandbox)["tasks_created"] == ROWS + 1
    assert journal_rows(out)[unknown["key"]][0] == "done"


@pytest.mark.parametrize("sandbox_args", [["--max-running", "3"]])
def test_no_more_than_n_tasks_in_flight(sandbox: Sandbox, manifest: Path, tmp_path: Path) -> None:
    """With --concurrency 3 against a sandbox that, like upstream, refuses a create beyond 3
    running tasks (429), no create is ever refused: never more than 3 rows are in flight."""
    process = start(sandbox, str(manifest), "--out", str(tmp_path / "out"), "--concurrency", "3")
    _, stderr = process.communicate(timeout=120)
    assert process.returncode == 0, stderr
    numbers = stats(sandbox)
    assert numbers["requests"]["create"] == {"202": ROWS}  # no 429
    assert numbers["tasks_created"] == ROWS


@pytest.mark.parametrize(
    "sandbox_args",
    [["--fault", '{"status": 429, "operation": "create", "retry_after": 3}']],
)
def test_a_429_pauses_every_worker(sandbox: Sandbox, manifest: Path, tmp_path: Path) -> None:
    """The first create gets 429 with Retry-After: 3: the other workers, whose rows end about
    2 s later, create nothing more until the 3 s are over (one cool-down for all), and the
    batch still ends with one task per row."""
    process = start(sandbox, str(manifest), "--out", str(tmp_path / "out"), "--concurrency", "3")
    until(lambda: process.poll() is not None or answered(stats(sandbox), "create", "429") > 0)
    refused = time.monotonic()
    while time.monotonic() < refused + 2.7:  # the cool-down runs to refused + 3
        # At most the two creates sent with the refused one, before the 429 came back.
        assert answered(stats(sandbox), "create", "202") <= 2
        time.sleep(0.05)
    _, stderr = process.communicate(timeout=120)
    assert process.returncode == 0, stderr
    numbers = stats(sandbox)
    assert numbers["requests"]["create"] == {"202": ROWS, "429": 1}
    assert numbers["tasks_created"] == ROWS


def test_two_processes_on_one_journal_create_each_row_once(
    sandbox: Sandbox, manifest: Path, tmp_path: Path
) -> None:
    """Two batch processes started together on the same manifest and journal share the
    rows: each row is created once, and both end with every row done."""
    out = tmp_path / "out"
    args = (str(manifest), "--out", str(out), "--concurrency", "2")
    one, two = start(sandbox, *args), start(sandbox, *args)
    outcomes = [p.communicate(timeout=120) for p in (one, two)]
    assert (one.returncode, two.returncode) == (0, 0), outcomes
    assert stats(sandbox)["tasks_created"] == ROWS
    assert answered(stats(sandbox), "create") == ROWS
    assert all(state == "done" for state, _ in journal_rows(out).values())
    assert len(list(out.glob("r*.mp4"))) == ROWS


def test_sigterm_exits_143_with_the_resume_command(
    sandbox: Sandbox, manifest: Path, tmp_path: Path
) -> None:
    """SIGTERM mid-batch: exit 143, the command to resume, and a journal holding every task
    id whose 202 arrived (a rerun creates no task twice; a create still in flight at the
    signal is reported "unknown", not paid again)."""
    out = tmp_path / "out"
    process = start(sandbox, str(manifest), "--out", str(out))
    until(lambda: len(created_rows(out)) >= 2)
    process.send_signal(signal.SIGTERM)
    _, stderr = process.communicate(timeout=60)
    assert process.returncode == 143, stderr
    assert f"resume with: wan-i2v batch {manifest} --out {out}" in stderr
    assert "Traceback" not in stderr
    created = stats(sandbox)["tasks_created"]
    rows = journal_rows(out)
    ids = {task for _, task in rows.values() if task}
    in_flight = {k for k, (state, task) in rows.items() if state in ("creating", "unknown")}
    # Every task the sandbox made is in the journal, or belongs to a create in flight.
    assert len(ids) <= created <= len(ids) + len(in_flight)
    rerun = start(sandbox, str(manifest), "--out", str(out), "--json")
    stdout, _ = rerun.communicate(timeout=120)
    assert rerun.returncode == (1 if in_flight else 0)
    assert stats(sandbox)["tasks_created"] == created + (ROWS - len(ids) - len(in_flight))
    assert {json.loads(line)["key"] for line in stdout.splitlines()} == {
        f"r{i}" for i in range(ROWS)
    }


def test_refused_manifest_exits_2_and_sends_nothing(sandbox: Sandbox, tmp_path: Path) -> None:
    """A bad row refuses the whole manifest: exit 2, the row named, no request sent."""
    write_image(tmp_path, "a.png", "png", 640, 480)
    path = tmp_path / "m.csv"
    path.write_text("key,image,prompt,resolution\nok,a.png,p,480P\nbad,a.png,p,720P\n")
    process = start(sandbox, str(path), "--out", str(tmp_path / "out"))
    _, stderr = process.communicate(timeout=60)
    assert process.returncode == 2
    assert "line 3, key 'bad': resolution:" in stderr
    assert stats(sandbox)["requests_received"] == 0
