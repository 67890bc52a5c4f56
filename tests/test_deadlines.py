"""One deadline: wait() and download() end on time whatever the server does (issue: paid work).

Each test runs for the sync and the async client against a real local server and measures the
seconds past the deadline, not only the error type."""

from __future__ import annotations

import json
import time
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any

import pytest
from conftest import TASK_ID, task_json
from servers import Requests, handler_server, reply

import wan_i2v
from wan_i2v.testing import TINY_MP4

# Real time, real processes or builds: run once, on the interpreter nox runs on.
pytestmark = pytest.mark.slow

DEADLINE = 2.0
# A request's connect time on loopback plus scheduling noise on a loaded CI machine.
SLACK = 0.6


def _status(answer: tuple[int, dict[str, str]]) -> Any:
    status, headers = answer

    def handle(h: BaseHTTPRequestHandler, seen: Requests) -> None:
        reply(h, status, b'{"detail": "busy"}', headers=headers)

    return handle


def _never_answers(h: BaseHTTPRequestHandler, seen: Requests) -> None:
    time.sleep(DEADLINE * 4)


@pytest.mark.parametrize(
    ("handle", "named"),
    [
        (_status((503, {"Retry-After": "2"})), "503"),
        (_status((429, {"Retry-After": "3"})), "429"),
        (_never_answers, "did not answer"),
    ],
    ids=["503-retry-after-2", "429-retry-after-3", "never-answers"],
)
def test_wait_ends_within_its_deadline(using: Any, handle: Any, named: str) -> None:
    """wait(timeout=2) raises WaitTimeoutError within 2 s plus a connect time, naming the
    failure that kept it from seeing the task (not 'last status: unknown')."""
    with handler_server(handle) as (url, seen):
        started = time.monotonic()
        with pytest.raises(wan_i2v.WaitTimeoutError) as info:
            using(lambda c: c.wait(TASK_ID, timeout=DEADLINE), base_url=url)
        elapsed = time.monotonic() - started
    assert elapsed <= DEADLINE + SLACK, f"{elapsed - DEADLINE:.2f} s past the deadline"
    assert named in str(info.value)
    assert info.value.task_id == TASK_ID
    assert seen.count("GET") >= 1


def test_wait_against_a_refused_connection_names_it(using: Any) -> None:
    """A server that is gone: the timeout says the connection was refused, on time."""
    with handler_server(_never_answers) as (url, _):
        pass  # closed: the port now refuses
    started = time.monotonic()
    with pytest.raises(wan_i2v.WaitTimeoutError, match="connection refused"):
        using(lambda c: c.wait(TASK_ID, timeout=1.0), base_url=url)
    assert time.monotonic() - started <= 1.0 + SLACK


def test_timeout_zero_looks_once(using: Any) -> None:
    """wait(id, timeout=0) makes exactly one status check, then gives up with what it saw."""

    def handle(h: BaseHTTPRequestHandler, seen: Requests) -> None:
        reply(h, 200, json.dumps(task_json("running")).encode())

    with (
        handler_server(handle) as (url, seen),
        pytest.raises(wan_i2v.WaitTimeoutError, match="last status: running"),
    ):
        using(lambda c: c.wait(TASK_ID, timeout=0), base_url=url)
    assert seen.count("GET") == 1


def test_timeout_zero_returns_a_finished_task(using: Any) -> None:
    """A task that is already done is returned by wait(id, timeout=0)."""
    done = task_json("succeeded", videos=["https://v.example/x.mp4"])

    def handle(h: BaseHTTPRequestHandler, seen: Requests) -> None:
        reply(h, 200, json.dumps(done).encode())

    with handler_server(handle) as (url, seen):
        task = using(lambda c: c.wait(TASK_ID, timeout=0), base_url=url)
    assert task.is_success
    assert seen.count("GET") == 1


def test_poll_interval_zero_is_floored(using: Any) -> None:
    """poll_interval=0 for 2 s sends a handful of GETs (0.5 s floor), not thousands."""

    def handle(h: BaseHTTPRequestHandler, seen: Requests) -> None:
        reply(h, 200, json.dumps(task_json("running")).encode())

    with handler_server(handle) as (url, seen), pytest.raises(wan_i2v.WaitTimeoutError):
        using(lambda c: c.wait(TASK_ID, timeout=DEADLINE, poll_interval=0), base_url=url)
    assert 2 <= seen.count("GET") <= DEADLINE / 0.5 + 2


def test_download_has_an_overall_deadline(using: Any, tmp_path: Path) -> None:
    """A video host that trickles bytes forever: download(timeout=1) gives up on time and
    leaves no file, temporary or final."""

    def handle(h: BaseHTTPRequestHandler, seen: Requests) -> None:
        h.send_response(200)
        h.send_header("content-type", "video/mp4")
        h.send_header("content-length", str(10**6))
        h.end_headers()
        for i in range(100):
            h.wfile.write(TINY_MP4[i * 100 : (i + 1) * 100])  # a real video, slowly
            h.wfile.flush()
            time.sleep(0.2)

    with handler_server(handle) as (url, _):
        started = time.monotonic()
        with pytest.raises(wan_i2v.DownloadError, match="did not finish"):
            using(lambda c: c.download(f"{url}/v.mp4", tmp_path / "v.mp4", timeout=1.0))
        elapsed = time.monotonic() - started
    assert elapsed <= 1.0 + SLACK
    assert list(tmp_path.iterdir()) == []
