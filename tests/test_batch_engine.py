"""The batch engine against the in-process sandbox: resume rules, unknown outcomes, the
concurrency bound, the spend ceiling and the shared 429 cool-down."""

from __future__ import annotations

import asyncio
import contextlib
import json
import socket
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from unittest import mock

import pytest
import stamina
from imagefiles import write_image

import wan_i2v
from wan_i2v.batch import Journal, RowResult, State, read_manifest
from wan_i2v.batch._engine import origin_of
from wan_i2v.sandbox import RunningSandbox, SandboxConfig, serve

CREATE = "/vendors/alibaba/v1/wan2.2-i2v-plus/generation"


@pytest.fixture(autouse=True)
def _fast_polls() -> Iterator[None]:
    """Polls without the 0.5 s floor (the rule stays; the test patches its number)."""
    with (
        mock.patch("wan_i2v._polling.POLL_FIRST_DELAY", 0.0),
        mock.patch("wan_i2v._polling.POLL_MIN_DELAY", 0.0),
    ):
        yield


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    write_image(tmp_path, "a.png", "png", 640, 480)
    return tmp_path


def manifest(folder: Path, count: int) -> Path:
    path = folder / "m.jsonl"
    rows = [{"key": f"r{i}", "image": "a.png", "prompt": f"p{i}"} for i in range(count)]
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


def run(sandbox: RunningSandbox, folder: Path, count: int, **options: Any) -> list[RowResult]:
    options.setdefault("poll_interval", 0.02)
    with wan_i2v.Client(base_url=sandbox.url, api_key="k") as client:
        rows = read_manifest(manifest(folder, count))
        return list(client.generate_many(rows, folder / "out", **options))


def states(folder: Path, origin: str) -> dict[str, State]:
    with Journal(folder / "out" / ".wan-i2v-journal.sqlite", origin=origin) as journal:
        return {k: e.state for k, e in journal.ledger("batch").entries().items()}


def test_after_create_5xx_is_unknown_and_not_paid_again(folder: Path) -> None:
    """A 500 after the task existed: the row is "unknown"; a rerun creates nothing; only
    retry_unknown pays again."""
    with serve(SandboxConfig(task_seconds=0)) as sandbox:
        sandbox.state.inject(500, operation="create", after_create=True)
        first = {r.key: r.status for r in run(sandbox, folder, 3)}
        assert first == {"r0": "unknown", "r1": "done", "r2": "done"} or sorted(first.values()) == [
            "done",
            "done",
            "unknown",
        ]
        assert sandbox.state.tasks_created == 3
        again = run(sandbox, folder, 3)
        assert sandbox.state.tasks_created == 3  # nothing created again
        (unknown,) = [r for r in again if r.status == "unknown"]
        assert "Check your MuleRouter tasks" in (unknown.error_detail or "")
        assert not unknown.this_run
        retried = run(sandbox, folder, 3, retry_unknown=True)
        assert sandbox.state.tasks_created == 4
        assert all(r.status == "done" for r in retried)


def test_creating_row_of_a_dead_process_becomes_unknown(folder: Path) -> None:
    """A row left "creating" (its process died during the POST) is never created again."""
    with serve(SandboxConfig(task_seconds=0)) as sandbox:
        run(sandbox, folder, 1)
        origin = origin_of(sandbox.url)
        path = folder / "out" / ".wan-i2v-journal.sqlite"
        rows = read_manifest(manifest(folder, 2))
        fingerprint = rows.rows[1].fingerprint
        with Journal(path, origin=origin) as journal:
            ledger = journal.ledger("batch")
            ledger.register([("r1", fingerprint)])
            ledger.claim("r1")
            ledger.creating("r1", fingerprint)
            # The journal closes with the row held: its owner is gone, as after kill -9.
        with wan_i2v.Client(base_url=sandbox.url, api_key="k") as client:
            results = {r.key: r.status for r in client.generate_many(rows, folder / "out")}
        assert results == {"r0": "done", "r1": "unknown"}
        assert sandbox.state.tasks_created == 1
        assert states(folder, origin)["r1"] is State.UNKNOWN


def test_unsent_create_puts_the_row_back(folder: Path) -> None:
    """No connection could be made: the row is "not started" again (nothing was sent)."""
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        url = f"http://127.0.0.1:{closed.getsockname()[1]}"
    rows = read_manifest(manifest(folder, 1))
    with wan_i2v.Client(base_url=url, api_key="k", max_retries=0) as client:
        (result,) = client.generate_many(rows, folder / "out")
    assert result.status == "not_started"
    assert states(folder, origin_of(url)) == {"r0": State.NEW}


def test_task_id_is_resumed_and_lost_is_reported(folder: Path) -> None:
    """A row with a task id is waited for and downloaded, never created again; one whose
    task the API forgot is "lost" and not created again by itself."""
    with serve(SandboxConfig(task_seconds=0)) as sandbox:
        origin = origin_of(sandbox.url)
        run(sandbox, folder, 2)
        (folder / "out" / "r0.mp4").unlink()  # a done row whose file is gone
        path = folder / "out" / ".wan-i2v-journal.sqlite"
        with Journal(path, origin=origin) as journal:
            journal.ledger("batch").created("r1", "3c90c3cc-0d44-4b50-8888-8dd25736052a")
        (folder / "out" / "r1.mp4").unlink()
        results = {r.key: r for r in run(sandbox, folder, 2)}
        assert sandbox.state.tasks_created == 2
        assert results["r0"].status == "done"
        assert (folder / "out" / "r0.mp4").is_file()
        assert results["r1"].status == "lost"
        assert states(folder, origin)["r1"] is State.LOST


def test_failed_task_recorded_and_retried_on_request(folder: Path) -> None:
    """A failed task is recorded with its code and does not stop the batch; retry_failed
    creates it again."""
    with serve(SandboxConfig(task_seconds=0, fail_rate=1.0)) as sandbox:
        results = run(sandbox, folder, 2)
        assert [(r.status, r.error_code) for r in results] == [("failed", "3001")] * 2
        run(sandbox, folder, 2)
        assert sandbox.state.tasks_created == 2
        sandbox.state.config.fail_rate = 0.0
        assert all(r.ok for r in run(sandbox, folder, 2, retry_failed=True))
        assert sandbox.state.tasks_created == 4


def test_max_new_tasks_is_a_ceiling(folder: Path) -> None:
    """max_new_tasks=2 creates two tasks; the rest wait for a later run."""
    with serve(SandboxConfig(task_seconds=0)) as sandbox:
        results = run(sandbox, folder, 5, max_new_tasks=2)
        assert sandbox.state.tasks_created == 2
        assert sorted(r.status for r in results) == ["done"] * 2 + ["not_started"] * 3
        assert all(r.ok for r in run(sandbox, folder, 5) if r.this_run)
        assert sandbox.state.tasks_created == 5


@pytest.mark.slow
@pytest.mark.parametrize("concurrency", [1, 3])
def test_no_more_than_n_rows_in_flight(folder: Path, concurrency: int) -> None:
    """Server-side: between a task's create and its video's download, at most N others."""
    with serve(SandboxConfig(task_seconds=0.2)) as sandbox:
        assert all(r.ok for r in run(sandbox, folder, 8, concurrency=concurrency))
        in_flight = peak = 0
        for method, path in sandbox.state.requests:
            if method == "POST" and path == CREATE:
                in_flight += 1
            elif path.startswith("/files/"):
                in_flight -= 1
            peak = max(peak, in_flight)
    assert peak == concurrency


@pytest.mark.slow
def test_429_pauses_every_create_of_the_client(folder: Path) -> None:
    """One 429 with Retry-After: 2 on one worker's create holds the other workers' creates
    too: no create reaches the server until the cool-down has passed."""
    with serve(SandboxConfig(task_seconds=0)) as sandbox:
        arrivals: list[tuple[float, str, str]] = []
        record = sandbox.state.record

        def timed(method: str, path: str) -> None:
            arrivals.append((time.monotonic(), method, path))
            record(method, path)

        sandbox.state.record = timed  # type: ignore[method-assign]
        # The first create is answered 429: the cool-down starts when that answer arrives.
        sandbox.state.inject(429, operation="create", retry_after=2)

        async def main() -> list[RowResult]:
            async with wan_i2v.AsyncClient(base_url=sandbox.url, api_key="k") as client:
                rows = read_manifest(manifest(folder, 6))
                return [
                    r
                    async for r in client.generate_many(
                        rows, folder / "out", concurrency=3, poll_interval=0.02
                    )
                ]

        with stamina.set_testing(False):  # real retry delays, as in production
            results = asyncio.run(main())
    assert all(r.ok for r in results)
    creates = [t for t, method, path in arrivals if method == "POST" and path == CREATE]
    first = creates[0]
    # The creates sent with the first one (before its 429 came back) are within a few ms.
    later = [t - first for t in creates if t - first > 0.2]
    assert len(later) >= 6 - 3
    assert min(later) >= 1.9


def test_cooldown_is_one_per_client_and_capped() -> None:
    """A 429 holds its client's gate for Retry-After (capped at 60 s); another client's gate
    is untouched."""
    import httpx

    from wan_i2v._errors import make_status_error

    request = httpx.Request("POST", "https://api.example/x")
    response = httpx.Response(429, headers={"Retry-After": "3600"}, request=request)
    error = make_status_error(response, b"{}")
    with stamina.set_testing(False):
        one, two = wan_i2v.Client(api_key="k"), wan_i2v.Client(api_key="k")
        one._gate.cooldown.note(error)
        assert 59 < one._gate.cooldown.remaining() <= 60
        assert two._gate.cooldown.remaining() == 0
        one.close()
        two.close()


def test_creating_is_committed_before_the_post_arrives(folder: Path) -> None:
    """When each create reaches the server, its row already reads "creating" in the journal
    file (from another connection: what a process started after a crash would see)."""
    import sqlite3

    with serve(SandboxConfig(task_seconds=0)) as sandbox:
        seen: list[set[str]] = []
        record = sandbox.state.record
        journal = folder / "out" / ".wan-i2v-journal.sqlite"

        def check(method: str, path: str) -> None:
            if method == "POST" and path == CREATE:
                with contextlib.closing(sqlite3.connect(journal)) as db:
                    rows = db.execute("SELECT key FROM ledger_batch WHERE state = 'creating'")
                    seen.append({key for (key,) in rows})
            record(method, path)

        sandbox.state.record = check  # type: ignore[method-assign]
        assert all(r.ok for r in run(sandbox, folder, 3, concurrency=1))
    assert seen == [{"r0"}, {"r1"}, {"r2"}]
