"""Paid work is never lost: everything checkable is checked before the POST, and after it every
failure carries the task id. The tests count what reached the server (POSTs are money)."""

from __future__ import annotations

import errno
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any
from unittest import mock

import httpx
import pytest
from conftest import KEY, TASK_ID, task_json
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image
from servers import Requests, handler_server, reply
from test_cli import wan

import wan_i2v
from wan_i2v.sandbox import RunningSandbox, SandboxConfig, serve
from wan_i2v.testing import TINY_MP4

URL_IMAGE = "https://example.com/flower.jpg"


@pytest.fixture
def sandbox() -> Iterator[RunningSandbox]:
    with serve(SandboxConfig(api_key=KEY, task_seconds=0)) as running:
        yield running


def _read_only_folder(tmp_path: Path) -> Path:
    """A folder nobody can write in: chmod 0o555, or /proc when running as root (root
    ignores permissions; /proc refuses new files to everyone)."""
    if os.geteuid() == 0:
        return Path("/proc")
    folder = tmp_path / "ro"
    folder.mkdir()
    folder.chmod(0o555)
    return folder


# --- Before paying: the library ------------------------------------------------------------


def test_an_existing_output_is_refused_before_paying(
    using: Any, sandbox: RunningSandbox, tmp_path: Path
) -> None:
    """generate() with an existing output raises OutputExistsError and creates no task."""
    (tmp_path / "cat.mp4").write_bytes(b"mine")
    with pytest.raises(wan_i2v.OutputExistsError):
        using(
            lambda c: c.generate(image=URL_IMAGE, prompt="p", output=tmp_path / "cat.mp4"),
            base_url=sandbox.url,
        )
    assert sandbox.state.tasks_created == 0
    assert (tmp_path / "cat.mp4").read_bytes() == b"mine"


def test_a_read_only_folder_is_refused_before_paying(
    using: Any, sandbox: RunningSandbox, tmp_path: Path
) -> None:
    """An output folder that cannot be written: ValidationError, no task created."""
    folder = _read_only_folder(tmp_path)
    with pytest.raises(wan_i2v.ValidationError, match="cannot write"):
        using(
            lambda c: c.generate(image=URL_IMAGE, prompt="p", output=folder / "v.mp4"),
            base_url=sandbox.url,
        )
    assert sandbox.state.tasks_created == 0


def test_a_name_too_long_for_the_file_system_is_refused_before_paying(
    using: Any, sandbox: RunningSandbox, tmp_path: Path
) -> None:
    """A 300-byte file name can never exist: refused, no task created."""
    with pytest.raises(wan_i2v.ValidationError, match="file name"):
        using(
            lambda c: c.generate(image=URL_IMAGE, prompt="p", output=tmp_path / ("x" * 300)),
            base_url=sandbox.url,
        )
    assert sandbox.state.tasks_created == 0


@pytest.mark.parametrize("kind", ["missing folder", "255-byte name", "folder/"])
def test_outputs_that_can_be_written_are_written_whole(
    using: Any, sandbox: RunningSandbox, tmp_path: Path, kind: str
) -> None:
    """A missing folder is created, a 255-byte name fits (the temporary name is short), a
    path ending in / is a folder: one task, one whole video, no temporary file left."""
    output = {
        "missing folder": tmp_path / "new" / "deeper" / "v.mp4",
        "255-byte name": tmp_path / ("n" * 251 + ".mp4"),
        "folder/": f"{tmp_path}/videos/",
    }[kind]
    path = using(
        lambda c: c.generate(image=URL_IMAGE, prompt="p", output=output), base_url=sandbox.url
    )
    assert sandbox.state.tasks_created == 1
    assert path.read_bytes()[4:8] == b"ftyp"
    assert not [p for p in path.parent.iterdir() if p.name.endswith(".part")]


def test_output_none_checks_the_folder_not_a_fixed_name(
    using: Any, sandbox: RunningSandbox
) -> None:
    """With output=None, an unrelated ./video.mp4 does not block: <task id>.mp4 is written."""
    Path("video.mp4").write_bytes(b"unrelated")
    path = using(lambda c: c.generate(image=URL_IMAGE, prompt="p"), base_url=sandbox.url)
    assert path.name.endswith(".mp4")
    assert path.name != "video.mp4"
    assert Path("video.mp4").read_bytes() == b"unrelated"


# --- After paying: the task id is never lost ------------------------------------------------


def _api_then_video(video_status: int) -> Any:
    """A server that creates a task, reports it succeeded, and serves its video badly."""

    def handle(h: BaseHTTPRequestHandler, seen: Requests) -> None:
        base = f"http://{h.headers['host']}"
        if h.command == "POST":
            reply(h, 202, json.dumps(task_json()).encode())
        elif h.path.startswith("/video") and video_status == 200:
            reply(h, 200, TINY_MP4, content_type="video/mp4")
        elif h.path.startswith("/video"):
            reply(h, video_status, b"<html>no</html>", content_type="text/html")
        else:
            done = task_json("succeeded", videos=[f"{base}/video/{TASK_ID}.mp4"])
            reply(h, 200, json.dumps(done).encode())

    return handle


def test_a_download_that_fails_after_paying_carries_the_task_id(using: Any, tmp_path: Path) -> None:
    """The video host fails: DownloadError with task_id, one POST only."""
    with (
        handler_server(_api_then_video(500)) as (url, seen),
        pytest.raises(wan_i2v.DownloadError) as info,
    ):
        using(
            lambda c: c.generate(image=URL_IMAGE, prompt="p", output=tmp_path / "v.mp4"),
            base_url=url,
            max_retries=0,
        )
    assert info.value.task_id == TASK_ID
    assert seen.count("POST") == 1
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("code", [errno.ENOSPC, errno.EACCES, errno.ENAMETOOLONG])
def test_a_write_that_fails_after_paying_carries_the_task_id(
    using: Any, tmp_path: Path, code: int
) -> None:
    """Disk full, permission, name: a DownloadError with task_id and the reason, never a raw
    OSError, and no file (temporary or final) left."""
    with (
        handler_server(_api_then_video(200)) as (url, _),
        mock.patch("wan_i2v._download.os.fsync", side_effect=OSError(code, "boom")),
        pytest.raises(wan_i2v.DownloadError) as info,
    ):
        using(
            lambda c: c.generate(image=URL_IMAGE, prompt="p", output=tmp_path / "v.mp4"),
            base_url=url,
        )
    assert info.value.task_id == TASK_ID
    assert os.strerror(code) in str(info.value) or "boom" in str(info.value)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    ("error", "code"),
    [
        ("Content moderation", None),
        (None, None),
        ({"code": 3001, "title": "Task Execution Error", "detail": "bad"}, 3001),
        (["odd"], None),
    ],
    ids=["string", "missing", "object", "list"],
)
def test_a_failed_task_is_failed_whatever_its_error_looks_like(
    using: Any, error: Any, code: int | None
) -> None:
    """status failed is TaskFailedError at the first look, whatever `error` is."""
    body = task_json("failed")
    if error is not None:
        body["task_info"]["error"] = error

    def handle(h: BaseHTTPRequestHandler, seen: Requests) -> None:
        reply(h, 200, json.dumps(body).encode())

    with handler_server(handle) as (url, seen), pytest.raises(wan_i2v.TaskFailedError) as info:
        using(lambda c: c.wait(TASK_ID, timeout=30), base_url=url)
    assert info.value.task_id == TASK_ID
    assert info.value.code == code
    assert seen.count("GET") == 1


def test_error_code_beside_the_error_is_read(using: Any) -> None:
    """task_info.error_code (one page's spelling) is the failure's code."""
    body = task_json("failed")
    body["task_info"]["error_code"] = 4008

    def handle(h: BaseHTTPRequestHandler, seen: Requests) -> None:
        reply(h, 200, json.dumps(body).encode())

    with handler_server(handle) as (url, _), pytest.raises(wan_i2v.TaskFailedError) as info:
        using(lambda c: c.wait(TASK_ID, timeout=30), base_url=url)
    assert info.value.code == 4008


def _deep(depth: int) -> bytes:
    return b'{"task_info": ' + b"[" * depth + b"]" * depth + b"}"


def test_deeply_nested_json_is_a_parse_error_at_once(using: Any) -> None:
    """A 200 nested 100,000 deep during wait(): APIResponseValidationError with the task id,
    at the first look (not a timeout minutes later, not a RecursionError)."""

    def handle(h: BaseHTTPRequestHandler, seen: Requests) -> None:
        reply(h, 200, _deep(100_000))

    with (
        handler_server(handle) as (url, seen),
        pytest.raises(wan_i2v.APIResponseValidationError) as info,
    ):
        using(lambda c: c.wait(TASK_ID, timeout=30), base_url=url)
    assert info.value.task_id == TASK_ID
    assert seen.count("GET") == 1


def test_an_unreadable_create_answer_is_outcome_unknown_and_never_resent(using: Any) -> None:
    """A 202 nested 100,000 deep: CreateOutcomeUnknownError, one POST."""

    def handle(h: BaseHTTPRequestHandler, seen: Requests) -> None:
        reply(h, 202, _deep(100_000))

    with (
        handler_server(handle) as (url, seen),
        pytest.raises(wan_i2v.CreateOutcomeUnknownError),
    ):
        using(lambda c: c.create(image=URL_IMAGE, prompt="p"), base_url=url)
    assert seen.count("POST") == 1


# --- Property: whatever the server answers, no second POST and no lost id ----------------

CREATE_ANSWERS = st.sampled_from(
    ["202", "201", "500", "503", "429", "garbage-202", "connect-error", "read-timeout", "400"]
)
POLL_ANSWERS = st.lists(
    st.sampled_from(["pending", "running", "succeeded", "failed", "failed-str", "503", "404",
                     "garbage-200", "unknown-word"]),
    min_size=1,
    max_size=4,
)  # fmt: skip
VIDEO_ANSWERS = st.sampled_from(["200", "500", "403", "short", "relative-url"])


def _answer(kind: str, request: httpx.Request, base: str) -> httpx.Response:
    video = [f"{base}/video/x.mp4"]
    table: dict[str, Any] = {
        "202": (202, task_json()),
        "201": (201, task_json()),
        "pending": (200, task_json("pending")),
        "running": (200, task_json("running")),
        "unknown-word": (200, task_json("in_review")),
        "succeeded": (200, task_json("succeeded", videos=video)),
        "failed": (200, task_json("failed", error={"code": 3001})),
        "failed-str": (200, {"task_info": {**task_json("failed")["task_info"], "error": "x"}}),
        "400": (400, {"detail": "bad"}),
        "404": (404, {"detail": "unknown"}),
        "429": (429, {"detail": "slow"}),
        "500": (500, {"detail": "oops"}),
        "503": (503, {"detail": "busy"}),
    }
    if kind in table:
        status, body = table[kind]
        return httpx.Response(status, json=body, request=request)
    if kind.startswith("garbage"):
        return httpx.Response(int(kind[-3:]), content=b"{not json", request=request)
    if kind == "connect-error":
        raise httpx.ConnectError("refused", request=request)
    raise httpx.ReadTimeout("slow", request=request)


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(create=st.lists(CREATE_ANSWERS, min_size=1, max_size=3), polls=POLL_ANSWERS,
       video=VIDEO_ANSWERS)  # fmt: skip
def test_generate_never_pays_twice_and_never_loses_the_id(
    tmp_path: Path, create: list[str], polls: list[str], video: str
) -> None:
    """Whatever the server answers: at most one POST once a task may exist; every error after
    an accepted create carries its id; nothing but a WanI2VError escapes; no stray file."""
    base = "https://api.example"
    posts: list[str] = []
    creates, gets = iter(create), iter(polls)
    accepted = False

    def handler(request: httpx.Request) -> httpx.Response:
        nonlocal accepted
        if request.method == "POST":
            kind = next(creates, create[-1])
            posts.append(kind)
            if kind in ("202", "201"):
                accepted = True
            return _answer(kind, request, base)
        if request.url.path.startswith("/video"):
            if video == "relative-url":
                return httpx.Response(200, content=b"", request=request)
            if video == "short":
                return httpx.Response(
                    200, content=b"abc", headers={"content-length": "10"}, request=request
                )
            return httpx.Response(int(video), content=b"\0\0\0 ftypmp4", request=request)
        return _answer(next(gets, "running"), request, base)

    out = tmp_path / f"o{len(posts)}{time.monotonic_ns()}"
    user = httpx.Client(transport=httpx.MockTransport(handler))
    with (
        mock.patch("wan_i2v._polling.POLL_FIRST_DELAY", 0.0),
        mock.patch("wan_i2v._polling.POLL_MIN_DELAY", 0.0),
        mock.patch("wan_i2v._deadline.MIN_REQUEST_SECONDS", 0.01),
        mock.patch("wan_i2v._polling.MIN_REQUEST_SECONDS", 0.01),
        wan_i2v.Client(api_key=KEY, base_url=base, http_client=user) as client,
    ):
        error: wan_i2v.WanI2VError | None = None
        try:
            client.generate(image=URL_IMAGE, prompt="p", output=out / "v.mp4", timeout=0.3)
        except wan_i2v.WanI2VError as exc:
            error = exc
        if error is not None and accepted:
            assert error.task_id == TASK_ID, repr(error)
        maybe_created = [i for i, k in enumerate(posts) if k not in ("429", "connect-error")]
        if maybe_created:
            assert len(posts) == maybe_created[0] + 1, posts  # nothing after it
    if out.exists():
        assert not [p for p in out.iterdir() if p.name.endswith(".part")]
    user.close()


# --- The command line -----------------------------------------------------------------------


@pytest.fixture
def image(tmp_path: Path) -> Path:
    path = tmp_path / "in.jpg"
    Image.new("RGB", (640, 480), (90, 160, 60)).save(path)
    return path


@pytest.mark.slow
def test_cli_generate_checks_the_output_before_paying(
    sandbox: RunningSandbox, image: Path, tmp_path: Path
) -> None:
    """wan-i2v generate: an existing -o and a read-only folder exit 2 with no task created;
    a missing folder and a 255-byte name get the video written whole."""
    env = {"MULEROUTER_BASE_URL": sandbox.url, "MULEROUTER_API_KEY": KEY}
    existing = tmp_path / "cat.mp4"
    existing.write_bytes(b"mine")
    for output in (existing, _read_only_folder(tmp_path) / "v.mp4"):
        result = wan("generate", str(image), "--prompt", "x", "-o", str(output), env=env)
        assert result.returncode == 2, result.stderr
        assert "Traceback" not in result.stderr
    assert sandbox.state.tasks_created == 0
    for output in (tmp_path / "nodir" / "x.mp4", tmp_path / ("n" * 251 + ".mp4")):
        result = wan("generate", str(image), "--prompt", "x", "-o", str(output), env=env)
        assert result.returncode == 0, result.stderr
        assert output.read_bytes()[4:8] == b"ftyp"
    assert sandbox.state.tasks_created == 2


@pytest.mark.slow
def test_cli_failure_after_paying_prints_the_id_and_how_to_finish(tmp_path: Path) -> None:
    """A video host that fails: exit 1, the task id and the exact command (same --base-url)
    on stderr; with --json, one object holding task_id; no traceback."""
    image = tmp_path / "in.jpg"
    Image.new("RGB", (640, 480)).save(image)
    with handler_server(_api_then_video(500)) as (url, _):
        result = wan(
            "--base-url", url, "generate", str(image), "--prompt", "x", "-o",
            str(tmp_path / "v.mp4"), "--json", env={"MULEROUTER_API_KEY": KEY},
        )  # fmt: skip
    assert result.returncode == 1
    assert json.loads(result.stdout)["task_id"] == TASK_ID
    assert f"wan-i2v --base-url {url} wait {TASK_ID} -o {tmp_path / 'v.mp4'}" in result.stderr
    assert "Traceback" not in result.stderr


def _hang(h: BaseHTTPRequestHandler, seen: Requests) -> None:
    if h.command == "POST":
        time.sleep(30)
    base = f"http://{h.headers['host']}"
    if h.path.startswith("/video"):
        h.send_response(200)
        h.send_header("content-length", str(10**7))
        h.end_headers()
        h.wfile.write(TINY_MP4[:1000])  # a video's start, then nothing
        h.wfile.flush()
        time.sleep(30)
        return
    done = task_json("succeeded", videos=[f"{base}/video/x.mp4"])
    reply(h, 200, json.dumps(done).encode())


def _interrupt(args: list[str], env: dict[str, str], when: Any, sig: int) -> tuple[int, str, str]:
    process = subprocess.Popen(
        [sys.executable, "-m", "wan_i2v.cli", *args],
        env={**{k: v for k, v in os.environ.items() if not k.startswith("MULEROUTER_")}, **env},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        # A suite started in the background inherits SIGINT ignored: restore it.
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    deadline = time.monotonic() + 20
    while not when() and time.monotonic() < deadline:
        time.sleep(0.05)
    time.sleep(0.3)
    process.send_signal(sig)
    out, err = process.communicate(timeout=30)
    return process.returncode, out, err


@pytest.mark.slow
def test_cli_ctrl_c_during_the_create_says_a_task_may_exist(tmp_path: Path) -> None:
    """Ctrl-C while the POST is in flight: exit 130, 'a task may exist', JSON with task_id
    null, no traceback."""
    image = tmp_path / "in.jpg"
    Image.new("RGB", (640, 480)).save(image)
    with handler_server(_hang) as (url, seen):
        code, out, err = _interrupt(
            ["--base-url", url, "generate", str(image), "--prompt", "x", "--json"],
            {"MULEROUTER_API_KEY": KEY},
            lambda: seen.count("POST") >= 1,
            signal.SIGINT,
        )
    assert code == 130
    assert wan_i2v.CreateOutcomeUnknownError.what_to_check in err
    assert json.loads(out) == json.loads(out) | {"task_id": None, "error": "Interrupted"}
    assert "Traceback" not in err


@pytest.mark.slow
@pytest.mark.parametrize(("sig", "code"), [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_cli_interrupted_download_leaves_nothing_and_says_how_to_finish(
    tmp_path: Path, sig: int, code: int
) -> None:
    """Ctrl-C or SIGTERM during the download: the exit code, the task id and the command that
    finishes it (with the same --base-url), and no temporary file left behind."""
    out_dir = tmp_path / "out"
    with handler_server(_hang) as (url, seen):
        rc, _, err = _interrupt(
            ["--base-url", url, "wait", TASK_ID, "-o", f"{out_dir}/"],
            {"MULEROUTER_API_KEY": KEY},
            lambda: seen.count("GET", "/video") >= 1,
            sig,
        )
    assert rc == code
    assert f"wan-i2v --base-url {url} wait {TASK_ID}" in err
    assert list(out_dir.iterdir()) == []
    assert "Traceback" not in err


def test_a_sandbox_task_is_not_offered_for_resuming(capsys: pytest.CaptureFixture[str]) -> None:
    """With --sandbox the task died with the process: no resume command, it says so."""
    import datetime as dt

    from wan_i2v._task import Task
    from wan_i2v.cli._display import Run, Where

    now = dt.datetime.now(dt.UTC)
    run = Run(as_json=True, where=Where(sandbox=True))
    run.created(Task(id=TASK_ID, status="pending", created_at=now, updated_at=now))
    assert run.fail(KeyboardInterrupt()) == 130
    assert run.fail(wan_i2v.DownloadError("x", task_id=TASK_ID)) == 1
    out, err = capsys.readouterr()
    assert "wan-i2v wait" not in out + err
    assert "sandbox" in err
    assert all(json.loads(line)["task_id"] == TASK_ID for line in out.splitlines())
