"""`wan-i2v batch` as a real process: killed with SIGKILL and rerun, two at once on one
journal, SIGTERM, a refused manifest. Tasks are counted by the sandbox (in this process, so
that it outlives every batch process)."""

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

import pytest
from imagefiles import write_image

from wan_i2v.sandbox import RunningSandbox, SandboxConfig, serve

pytestmark = pytest.mark.slow

KEY = "sk-batch-process-key"
ROWS = 6


@pytest.fixture
def sandbox() -> Iterator[RunningSandbox]:
    with serve(SandboxConfig(api_key=KEY, task_seconds=1.0)) as running:
        yield running


@pytest.fixture
def manifest(tmp_path: Path) -> Path:
    write_image(tmp_path, "a.png", "png", 640, 480)
    path = tmp_path / "m.jsonl"
    rows = [{"key": f"r{i}", "image": "a.png", "prompt": f"p{i}"} for i in range(ROWS)]
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


def start(sandbox: RunningSandbox, *args: str) -> subprocess.Popen[str]:
    base = {k: v for k, v in os.environ.items() if not k.startswith("MULEROUTER_")}
    env = {**base, "MULEROUTER_BASE_URL": sandbox.url, "MULEROUTER_API_KEY": KEY}
    return subprocess.Popen(
        [sys.executable, "-m", "wan_i2v.cli", "batch", *args],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )


def until(condition: Callable[[], bool], timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.02)


def journal_rows(out: Path) -> dict[str, tuple[str, str | None]]:
    with contextlib.closing(sqlite3.connect(out / ".wan-i2v-journal.sqlite")) as db:
        rows = db.execute("SELECT key, state, task_id FROM ledger_batch").fetchall()
    return {key: (state, task_id) for key, state, task_id in rows}


def test_sigkill_at_several_points_then_rerun_pays_once_per_row(
    sandbox: RunningSandbox, manifest: Path, tmp_path: Path
) -> None:
    """Killed with SIGKILL during creates and again during waits/downloads, the rerun ends
    with every row's video and one task per row (a row whose POST was in flight at a kill
    may be "unknown" instead, and is then not created again)."""
    out = tmp_path / "out"
    args = (str(manifest), "--out", str(out))
    seen: dict[str, str] = {}  # key -> task id, of rows caught "created" at a kill

    def created_rows() -> dict[str, str]:
        if not (out / ".wan-i2v-journal.sqlite").exists():
            return {}
        try:
            rows = journal_rows(out)
        except sqlite3.OperationalError:  # the table is not there yet
            return {}
        return {k: task for k, (state, task) in rows.items() if state == "created" and task}

    first = start(sandbox, *args)
    # During the first creates and waits (a slow machine may finish first: no kill then).
    until(lambda: first.poll() is not None or bool(created_rows()))
    first.kill()
    first.communicate()
    seen.update(created_rows())
    second = start(sandbox, *args)
    # Later: some videos written, other rows waiting or downloading.
    until(
        lambda: (
            second.poll() is not None
            or (len(list(out.glob("*.mp4"))) >= 2 and bool(created_rows()))
        )
    )
    second.kill()
    second.communicate()
    seen.update(created_rows())
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
    assert len({rows[k][1] for k in done}) == len(done)
    assert len(done) <= sandbox.state.tasks_created <= ROWS
    # A row caught with its task id was finished with that task, never created again.
    assert {k: rows[k] for k in seen} == {k: ("done", task) for k, task in seen.items()}
    results = [json.loads(line) for line in (out / "results.jsonl").read_text().splitlines()]
    last = {r["key"]: r["status"] for r in results}
    assert {k for k, s in last.items() if s == "done"} == done


def test_two_processes_on_one_journal_create_each_row_once(
    sandbox: RunningSandbox, manifest: Path, tmp_path: Path
) -> None:
    """Two batch processes started together on the same manifest and journal share the
    rows: each row is created once, and both end with every row done."""
    out = tmp_path / "out"
    args = (str(manifest), "--out", str(out), "--concurrency", "2")
    one, two = start(sandbox, *args), start(sandbox, *args)
    outcomes = [p.communicate(timeout=120) for p in (one, two)]
    assert (one.returncode, two.returncode) == (0, 0), outcomes
    assert sandbox.state.tasks_created == ROWS
    assert all(state == "done" for state, _ in journal_rows(out).values())
    assert len(list(out.glob("r*.mp4"))) == ROWS


def test_sigterm_exits_143_with_the_resume_command(
    sandbox: RunningSandbox, manifest: Path, tmp_path: Path
) -> None:
    """SIGTERM mid-batch: exit 143, the command to resume, and a journal holding every task
    id created (a rerun creates no task twice)."""
    out = tmp_path / "out"
    process = start(sandbox, str(manifest), "--out", str(out))
    until(lambda: sandbox.state.tasks_created >= 2)
    process.send_signal(signal.SIGTERM)
    _, stderr = process.communicate(timeout=60)
    assert process.returncode == 143, stderr
    assert f"resume with: wan-i2v batch {manifest} --out {out}" in stderr
    assert "Traceback" not in stderr
    created = sandbox.state.tasks_created
    ids = {task for _, task in journal_rows(out).values() if task}
    assert ids == set(sandbox.state.tasks)
    rerun = start(sandbox, str(manifest), "--out", str(out), "--json")
    stdout, _ = rerun.communicate(timeout=120)
    assert rerun.returncode == 0
    assert sandbox.state.tasks_created == created + (ROWS - len(ids))
    assert {json.loads(line)["key"] for line in stdout.splitlines()} == {
        f"r{i}" for i in range(ROWS)
    }


def test_refused_manifest_exits_2_and_sends_nothing(
    sandbox: RunningSandbox, tmp_path: Path
) -> None:
    """A bad row refuses the whole manifest: exit 2, the row named, no request sent."""
    write_image(tmp_path, "a.png", "png", 640, 480)
    path = tmp_path / "m.csv"
    path.write_text("key,image,prompt,resolution\nok,a.png,p,480P\nbad,a.png,p,720P\n")
    process = start(sandbox, str(path), "--out", str(tmp_path / "out"))
    _, stderr = process.communicate(timeout=60)
    assert process.returncode == 2
    assert "line 3, key 'bad': resolution:" in stderr
    assert sandbox.state.requests_received == 0
