"""The sandbox's control surface (/_sandbox/stats, /_sandbox/faults) and its knobs, each
declared once in SandboxConfig and reachable from Python, HTTP and the command line."""

from __future__ import annotations

import dataclasses
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from PIL import Image
from sandbox_processes import sandbox_process
from test_sandbox_refusals import assert_error_shape

import wan_i2v
from wan_i2v._spec import load_spec
from wan_i2v.sandbox import Fault, RunningSandbox, SandboxConfig, SandboxControl, serve
from wan_i2v.sandbox._config import knobs
from wan_i2v.sandbox._from_spec import CREATE_OPERATION, operation_path

API = operation_path(CREATE_OPERATION)
KEY = "control-key"
AUTH = {"Authorization": f"Bearer {KEY}"}
VALID = {"prompt": "Flowers swaying", "image": "https://example.com/flower.jpg"}


@pytest.fixture
def sandbox() -> Iterator[RunningSandbox]:
    with serve(SandboxConfig(api_key=KEY, task_seconds=0)) as running:
        yield running


@pytest.fixture
def image(tmp_path: Path) -> Path:
    path = tmp_path / "in.png"
    Image.new("RGB", (640, 360), (20, 120, 200)).save(path)
    return path


def creates(stats: dict[str, Any]) -> int:
    """Create requests answered, whatever the answer."""
    return sum(stats["requests"].get("create", {}).values())


# --- Stats ---------------------------------------------------------------------------------


def test_stats_count_tasks_and_answers_by_operation_and_status(sandbox: RunningSandbox) -> None:
    """/_sandbox/stats counts tasks and answers by operation and status; it needs no key,
    and reading it (or the faults) counts nothing."""
    with httpx.Client(base_url=sandbox.url, headers=AUTH) as http:
        task = http.post(API, json=VALID).json()["task_info"]["id"]
        http.post(API, json={"prompt": "no image"})
        http.get(f"{API}/{task}")
        httpx.get(sandbox.url + f"{API}/{task}")  # no key: 401
        for _ in range(3):
            stats = httpx.get(sandbox.url + "/_sandbox/stats").json()
        httpx.get(sandbox.url + "/_sandbox/faults")
    assert stats["tasks_created"] == 1
    assert stats["requests"] == {"create": {"202": 1, "400": 1}, "get": {"200": 1, "401": 1}}
    assert sandbox.stats() == stats


def test_counters_never_drop(sandbox: RunningSandbox) -> None:
    """Counters keep counting past the task store's cap (tasks forgotten, not uncounted)."""
    with serve(SandboxConfig(task_seconds=0, max_tasks=2)) as small:
        for _ in range(5):
            httpx.post(small.url + API, json=VALID, headers=AUTH)
        stats = SandboxControl(small.url).stats()
    assert (stats["tasks_created"], stats["requests"]["create"]) == (5, {"202": 5})
    assert len(small.state.tasks) == 2


def test_control_paths_are_not_api_paths() -> None:
    """No path of the spec is under /_sandbox/: the control surface never shadows the API."""
    assert not [path for path in load_spec()["paths"] if path.startswith("/_sandbox")]


# --- Faults over HTTP ----------------------------------------------------------------------


def test_post_get_delete_faults(sandbox: RunningSandbox) -> None:
    """POST answers 201 with the fault as stored (defaults filled in), GET lists what is
    left to play, DELETE forgets them all; no key is needed for any of them."""
    url = sandbox.url + "/_sandbox/faults"
    posted = httpx.post(url, json={"status": 503, "after_create": True, "retry_after": 2})
    assert posted.status_code == 201
    stored = {
        "status": 503,
        "count": 1,
        "operation": "any",
        "after_create": True,
        "retry_after": 2,
    }
    assert posted.json() == stored
    httpx.post(url, json={"status": "drop", "count": 2, "operation": "get"})
    assert [f["status"] for f in httpx.get(url).json()] == [503, "drop"]
    assert httpx.delete(url).status_code == 204
    assert httpx.get(url).json() == []


@pytest.mark.parametrize(
    ("fault", "named"),
    [
        ({"status": 200}, "status"),
        ({"status": True}, "status"),
        ({"count": 2}, "status is required"),
        ({"status": 503, "count": 0}, "count"),
        ({"status": 503, "operation": "delete"}, "operation"),
        ({"status": 503, "operation": "get", "after_create": True}, "after_create"),
        ({"status": 503, "retry_after": -1}, "retry_after"),
        ({"status": 503, "later": 1}, "later"),
        ([503], "JSON object"),
    ],
)
def test_a_bad_fault_is_a_400_naming_it(sandbox: RunningSandbox, fault: Any, named: str) -> None:
    """A fault inject() would refuse is refused over HTTP, in the one error shape."""
    response = httpx.post(sandbox.url + "/_sandbox/faults", json=fault)
    assert response.status_code == 400
    assert named in assert_error_shape(response)["detail"]
    assert sandbox.state.faults == type(sandbox.state.faults)()


def test_not_json_fault_is_a_400(sandbox: RunningSandbox) -> None:
    """A body that is not JSON is a 400 in the one error shape."""
    response = httpx.post(sandbox.url + "/_sandbox/faults", content=b"status=503")
    assert response.status_code == 400
    assert_error_shape(response)


def test_after_create_fault_over_http_bills_once_and_is_raised(
    sandbox: RunningSandbox, image: Path, tmp_path: Path
) -> None:
    """The money test: a 5xx after the task was created, set over HTTP, makes generate()
    raise CreateOutcomeUnknownError with exactly one task created and one POST sent."""
    control = SandboxControl(sandbox.url)
    control.inject(503, operation="create", after_create=True)
    before = control.stats()
    with (
        wan_i2v.Client(base_url=sandbox.url, api_key=KEY) as client,
        pytest.raises(wan_i2v.CreateOutcomeUnknownError),
    ):
        client.generate(image=image, prompt="p", output=tmp_path / "out.mp4")
    after = control.stats()
    assert after["tasks_created"] - before["tasks_created"] == 1
    assert creates(after) - creates(before) == 1
    assert after["requests"]["create"] == {"503": 1}
    assert not (tmp_path / "out.mp4").exists()


def test_dropped_connection_after_create(sandbox: RunningSandbox, image: Path) -> None:
    """A "drop" after create closes the connection unanswered once the task exists: the
    client cannot know, raises CreateOutcomeUnknownError, and does not POST again."""
    sandbox.inject("drop", operation="create", after_create=True)
    with (
        wan_i2v.Client(base_url=sandbox.url, api_key=KEY) as client,
        pytest.raises(wan_i2v.CreateOutcomeUnknownError),
    ):
        client.create(image=image, prompt="p")
    stats = sandbox.stats()
    assert stats["tasks_created"] == 1
    assert stats["requests"]["create"] == {"dropped": 1}


def test_drop_before_create_makes_no_task(sandbox: RunningSandbox) -> None:
    """A "drop" before anything is done closes the connection with no task made."""
    sandbox.inject("drop", operation="create")
    with pytest.raises(httpx.RemoteProtocolError):
        httpx.post(sandbox.url + API, json=VALID, headers=AUTH)
    assert sandbox.stats()["tasks_created"] == 0
    assert httpx.post(sandbox.url + API, json=VALID, headers=AUTH).status_code == 202


def test_after_create_error_rate(image: Path) -> None:
    """after_create_error_rate=1: every create makes its task, then answers 5xx."""
    config = SandboxConfig(api_key=KEY, task_seconds=0, after_create_error_rate=1.0)
    with serve(config) as sandbox:
        statuses = [
            httpx.post(sandbox.url + API, json=VALID, headers=AUTH).status_code for _ in range(4)
        ]
        assert sandbox.stats()["tasks_created"] == 4
    assert set(statuses) <= {500, 502, 503}


def test_faults_from_the_config_play_in_order() -> None:
    """SandboxConfig(faults=...) takes Fault, its JSON object or its command-line text."""
    config = SandboxConfig(
        task_seconds=0,
        faults=(Fault(502), {"status": 429, "retry_after": 3}, '{"status": 503}'),  # type: ignore[arg-type]
    )
    with serve(config) as sandbox:
        answers = [httpx.post(sandbox.url + API, json=VALID, headers=AUTH) for _ in range(4)]
    assert [a.status_code for a in answers] == [502, 429, 503, 202]
    assert answers[1].headers["retry-after"] == "3"
    assert [f.count for f in config.faults] == [1, 1, 1]  # used up in the state, not here


# --- One declaration per knob --------------------------------------------------------------


def sandbox_help() -> str:
    return subprocess.run(
        [sys.executable, "-m", "wan_i2v.cli", "sandbox", "--help"],
        capture_output=True,
        text=True,
        check=True,
        env={"COLUMNS": "300", "PATH": ""},
    ).stdout


def test_every_knob_is_a_command_line_option() -> None:
    """Each SandboxConfig field is an option of `wan-i2v sandbox`, with its help."""
    shown = sandbox_help()
    fields = [f.name for f in dataclasses.fields(SandboxConfig)]
    assert [info.name for info in knobs()] == fields
    for info in knobs():
        assert info.flag in shown
        assert info.help.split()[0] in shown
    assert "--max-logged-requests" in shown


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("fail_rate", 1.5),
        ("error_rate", float("nan")),
        ("after_create_error_rate", -0.1),
        ("task_seconds", float("inf")),
        ("rate_limit", 0),
        ("max_running", 0),
        ("max_tasks", True),
        ("task_ttl", "1"),
        ("max_body_bytes_in_flight", 0),
        ("max_upload_wait", -1),
        ("max_connections", 0),
        ("header_timeout", 0),
        ("vocabulary", "old"),
        ("api_key", ""),
        ("faults", ("{",)),
    ],
)
def test_every_knob_is_checked_where_it_is_declared(field: str, value: Any) -> None:
    """A value out of a knob's bounds (or of the wrong type) is a ValueError naming it."""
    with pytest.raises(ValueError, match=field):
        SandboxConfig(**{field: value})


@pytest.mark.slow
def test_the_process_plays_a_fault_from_its_command_line(tmp_path: Path) -> None:
    """`wan-i2v sandbox --fault JSON` plays it from the start; stats are read over HTTP."""
    fault = '{"status": 503, "operation": "create", "after_create": true}'
    with sandbox_process(tmp_path, "--task-seconds", "0", "--fault", fault) as process:
        first = httpx.post(process.url + API, json=VALID, headers=AUTH)
        second = httpx.post(process.url + API, json=VALID, headers=AUTH)
        stats = SandboxControl(process.url).stats()
    assert (first.status_code, second.status_code) == (503, 202)
    assert stats["tasks_created"] == 2


@pytest.mark.slow
def test_money_test_against_the_real_process(image: Path, tmp_path: Path) -> None:
    """Against `wan-i2v sandbox` as a process: a fault posted over HTTP, one generate(),
    exactly one task created, CreateOutcomeUnknownError, never a second POST."""
    with sandbox_process(tmp_path, "--api-key", KEY, "--task-seconds", "0") as process:
        control = SandboxControl(process.url)
        before = control.stats()
        posted = httpx.post(
            process.url + "/_sandbox/faults",
            json={"status": 503, "operation": "create", "after_create": True},
        )
        assert posted.status_code == 201
        with (
            wan_i2v.Client(base_url=process.url, api_key=KEY) as client,
            pytest.raises(wan_i2v.CreateOutcomeUnknownError),
        ):
            client.generate(image=image, prompt="p", output=tmp_path / "out.mp4")
        after = control.stats()
    assert after["tasks_created"] - before["tasks_created"] == 1
    assert creates(after) - creates(before) == 1


def test_a_drop_without_a_socket_is_raised() -> None:
    """Served by an ASGI transport (no socket to close), a "drop" raises ConnectionDropped
    into the caller instead of pretending to answer."""
    import asyncio

    from wan_i2v.sandbox import create_app
    from wan_i2v.sandbox._http import ConnectionDropped

    app = create_app(SandboxConfig(task_seconds=0, faults=({"status": "drop"},)))  # type: ignore[arg-type]

    async def post() -> None:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://sandbox") as http:
            await http.post(API, json=VALID, headers=AUTH)

    with pytest.raises(ConnectionDropped):
        asyncio.run(post())
    assert app.state.sandbox.stats()["requests"] == {"create": {"dropped": 1}}
