"""The sandbox's limits as upstream plays them: a rate (token bucket, any positive rate), tasks
running at once, and options that cannot work refused in one line."""

from __future__ import annotations

import asyncio
import subprocess
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
from sandbox_processes import command, sandbox_process
from test_sandbox_refusals import assert_error_shape

from wan_i2v.sandbox import SandboxConfig, SandboxState, create_app
from wan_i2v.sandbox._from_spec import CREATE_OPERATION, operation_path

API = operation_path(CREATE_OPERATION)
AUTH = {"Authorization": "Bearer limits"}
VALID = {"prompt": "Flowers swaying", "image": "https://example.com/flower.jpg"}


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class Sandbox:
    """An in-process sandbox on a clock the test moves."""

    def __init__(self, **config: Any) -> None:
        self.clock = Clock()
        config.setdefault("task_seconds", 0.0)
        self.state = SandboxState(SandboxConfig(**config), clock=self.clock)
        self.app = create_app(state=self.state)

    def post(self) -> httpx.Response:
        return self.request("POST", API, json=VALID)

    def request(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        async def send() -> httpx.Response:
            transport = httpx.ASGITransport(app=self.app)
            async with httpx.AsyncClient(transport=transport, base_url="http://sandbox") as http:
                return await http.request(method, path, headers=AUTH, **kwargs)

        return asyncio.run(send())


# --- Rate limit ----------------------------------------------------------------------------


def test_a_rate_below_one_per_second_lets_requests_through() -> None:
    """--rate-limit 0.5: one request every 2 s passes; one sooner is a 429 whose Retry-After
    says how long to wait (a per-second window would refuse every request forever)."""
    sandbox = Sandbox(rate_limit=0.5)
    assert sandbox.post().status_code == 202
    refused = sandbox.post()
    assert refused.status_code == 429
    assert refused.headers["retry-after"] == "2"
    assert "rate limit" in assert_error_shape(refused)["detail"]
    sandbox.clock.now += 1.0
    assert sandbox.post().headers["retry-after"] == "1"
    sandbox.clock.now += 1.0
    assert sandbox.post().status_code == 202
    for _ in range(5):  # 3 s apart, forever allowed
        sandbox.clock.now += 3.0
        assert sandbox.post().status_code == 202


def test_the_bucket_holds_rate_requests_and_refills_at_rate() -> None:
    """At 10/s: 10 at once pass, the 11th is refused; 0.1 s later one more passes."""
    sandbox = Sandbox(rate_limit=10)
    statuses = [sandbox.post().status_code for _ in range(11)]
    assert statuses == [202] * 10 + [429]
    sandbox.clock.now += 0.1
    assert sandbox.post().status_code == 202
    assert sandbox.post().status_code == 429


def test_refusals_take_no_token() -> None:
    """Requests refused by the limit do not push the next allowed one further away."""
    sandbox = Sandbox(rate_limit=0.25)
    assert sandbox.post().status_code == 202
    for _ in range(10):
        sandbox.clock.now += 0.3
        sandbox.post()
    sandbox.clock.now = 1004.0
    assert sandbox.post().status_code == 202


@pytest.mark.slow
def test_rate_below_one_per_second_on_the_real_process(tmp_path: Path) -> None:
    """`wan-i2v sandbox --rate-limit 0.5` in real time: 202, 429 (Retry-After 2), and 202
    again once the 2 s have passed."""
    with sandbox_process(tmp_path, "--rate-limit", "0.5", "--task-seconds", "0") as process:
        first = httpx.post(process.url + API, json=VALID, headers=AUTH)
        second = httpx.post(process.url + API, json=VALID, headers=AUTH)
        time.sleep(float(second.headers["retry-after"]))
        third = httpx.post(process.url + API, json=VALID, headers=AUTH)
    assert [first.status_code, second.status_code, third.status_code] == [202, 429, 202]
    assert second.headers["retry-after"] == "2"


# --- Tasks running at once -----------------------------------------------------------------


def test_running_tasks_limit() -> None:
    """max_running=2: a third create while two run is a 429 with Retry-After until the first
    ends, and creates no task; once one has ended a create is accepted again."""
    sandbox = Sandbox(max_running=2, task_seconds=10.0)
    assert sandbox.post().status_code == 202
    sandbox.clock.now += 4.0
    assert sandbox.post().status_code == 202
    refused = sandbox.post()
    assert refused.status_code == 429
    assert refused.headers["retry-after"] == "6"
    assert "running at once" in assert_error_shape(refused)["detail"]
    assert sandbox.state.tasks_created == 2
    sandbox.clock.now += 6.0
    assert sandbox.post().status_code == 202
    assert sandbox.post().status_code == 429


def test_finished_and_failed_tasks_do_not_count_as_running() -> None:
    """Tasks that ended (failed ones included) free their slot; with no limit, no refusal."""
    sandbox = Sandbox(max_running=1, fail_rate=1.0)
    assert [sandbox.post().status_code for _ in range(3)] == [202] * 3  # instant tasks
    unlimited = Sandbox(task_seconds=60.0)
    assert {unlimited.post().status_code for _ in range(20)} == {202}


@pytest.mark.slow
def test_running_limit_on_the_real_process(tmp_path: Path) -> None:
    """`wan-i2v sandbox --max-running 2`: the third concurrent task is refused with 429."""
    args = ("--max-running", "2", "--task-seconds", "30")
    with sandbox_process(tmp_path, *args) as process:
        statuses = [
            httpx.post(process.url + API, json=VALID, headers=AUTH).status_code for _ in range(3)
        ]
        stats = httpx.get(process.url + "/_sandbox/stats").json()
    assert statuses == [202, 202, 429]
    assert stats["tasks_created"] == 2


# --- Options that cannot work --------------------------------------------------------------


@pytest.mark.slow
@pytest.mark.parametrize(
    ("args", "named"),
    [
        (["--port", "70000"], "port"),
        (["--port", "-1"], "port"),
        (["--host", "0.0.0.0"], "loopback"),  # refused, never bound
        (["--rate-limit", "0"], "rate_limit"),
        (["--rate-limit", "nan"], "rate_limit"),
        (["--fail-rate", "2"], "fail_rate"),
        (["--max-running", "0"], "max_running"),
        (["--max-connections", "0"], "max_connections"),
        (["--header-timeout", "-1"], "header_timeout"),
        (["--task-seconds", "inf"], "task_seconds"),
        (["--fault", '{"status": 200}'], "status"),
        (["--api-key", " "], "api_key"),
    ],
)
def test_bad_options_are_one_line_and_exit_2(args: list[str], named: str) -> None:
    """Every option out of its bounds: exit 2, one line naming it, no banner, no traceback."""
    result = subprocess.run(command(*args), capture_output=True, text=True, timeout=30, check=False)
    assert result.returncode == 2
    assert result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error: ")
    assert named in lines[0]


def test_port_is_checked_before_binding() -> None:
    """serve()/run() refuse a port outside 0-65535 with a ValueError naming it."""
    from wan_i2v.sandbox._run import bind

    for port in (70000, -1):
        with pytest.raises(ValueError, match="port"):
            bind("127.0.0.1", port)
