"""The wan-i2v command line, run as a real subprocess."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from PIL import Image

from wan_i2v._spec_facts import CREATE_PATH
from wan_i2v.sandbox import RunningSandbox, SandboxConfig, serve

# Real time, real processes or builds: run once, on the interpreter nox runs on.
pytestmark = pytest.mark.slow

KEY = "sk-test-SECRET-4242"


def wan(
    *args: str, env: dict[str, str] | None = None, cwd: Path | None = None, timeout: float = 60
) -> subprocess.CompletedProcess[str]:
    """Run `python -m wan_i2v.cli ARGS` with a clean MULEROUTER_* environment."""
    base = {k: v for k, v in os.environ.items() if not k.startswith("MULEROUTER_")}
    return subprocess.run(
        [sys.executable, "-m", "wan_i2v.cli", *args],
        env={**base, **(env or {})},
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


@pytest.fixture
def image(tmp_path: Path) -> Path:
    path = tmp_path / "in.jpg"
    Image.new("RGB", (640, 480), (90, 160, 60)).save(path)
    return path


@pytest.fixture
def sandbox() -> Iterator[RunningSandbox]:
    with serve(SandboxConfig(api_key=KEY, task_seconds=0)) as running:
        yield running


def env_for(sandbox: RunningSandbox) -> dict[str, str]:
    return {"MULEROUTER_BASE_URL": sandbox.url, "MULEROUTER_API_KEY": KEY}


def test_check_prints_the_body_offline(image: Path) -> None:
    """check validates with no key and no network and shows the body, base64 elided."""
    result = wan("check", str(image), "--prompt", "Leaves fall", "--seed", "7", "--json")
    assert result.returncode == 0, result.stderr
    out = json.loads(result.stdout)
    assert out["body"]["prompt"] == "Leaves fall"
    assert out["body"]["seed"] == 7
    assert out["body"]["image"].startswith("data:image/jpeg;base64,<")
    assert out["images"]["image"] == {
        "format": "jpeg",
        "width": 640,
        "height": 480,
        "bytes": image.stat().st_size,
    }


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (["--prompt", "x" * 801], "prompt: is 801 characters long; the maximum is 800"),
        (["--prompt", "p", "--resolution", "720P"], "resolution: '720P'"),
        (["--prompt", "p", "--seed", "-1"], "[0, 2147483647]"),
    ],
)
def test_check_refuses_bad_input_with_exit_2(image: Path, args: list[str], fragment: str) -> None:
    """A validation error exits 2 and names the field and the limit."""
    result = wan("check", str(image), *args)
    assert result.returncode == 2
    assert fragment in result.stderr


def test_check_refuses_a_small_image(tmp_path: Path) -> None:
    """An image below 360 px is refused offline with exit 2."""
    small = tmp_path / "small.png"
    Image.new("RGB", (300, 500)).save(small)
    result = wan("check", str(small), "--prompt", "p")
    assert result.returncode == 2
    assert "360" in result.stderr


def test_readme_first_command_writes_a_playable_mp4(tmp_path: Path) -> None:
    """The README's first command, on the example image kept in the repo, with no key."""
    example = Path(__file__).parents[1] / "examples" / "flower.jpg"
    out = tmp_path / "example.mp4"
    result = wan(
        "generate",
        str(example),
        "--prompt",
        "Flowers swaying in the wind",
        "--sandbox",
        "-o",
        str(out),
        "--json",
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["path"] == str(out)
    assert data["status"] == "completed"
    assert out.read_bytes()[4:8] == b"ftyp"
    assert "completed" in result.stderr  # the progress display


def test_no_key_and_no_sandbox_is_an_error_not_a_fallback(image: Path, tmp_path: Path) -> None:
    """Without a key the command exits 2 naming MULEROUTER_API_KEY; no sandbox is started."""
    result = wan("generate", str(image), "--prompt", "p", "-o", str(tmp_path / "x.mp4"))
    assert result.returncode == 2
    assert "MULEROUTER_API_KEY" in result.stderr
    assert "sandbox" not in result.stderr.lower()
    assert not (tmp_path / "x.mp4").exists()


def test_status_wait_and_download_against_a_server(
    sandbox: RunningSandbox, image: Path, tmp_path: Path
) -> None:
    """generate --no-wait, then status, wait and download by id, as scripts would."""
    env = env_for(sandbox)
    created = wan("generate", str(image), "--prompt", "p", "--no-wait", "--json", env=env)
    assert created.returncode == 0, created.stderr
    task_id = json.loads(created.stdout)["task_id"]
    assert f"wan-i2v wait {task_id}" in created.stderr

    status = wan("status", task_id, "--json", env=env)
    assert json.loads(status.stdout)["task_id"] == task_id

    waited = wan("wait", task_id, "-o", str(tmp_path / "w.mp4"), env=env)
    assert waited.returncode == 0, waited.stderr
    assert waited.stdout.strip() == str(tmp_path / "w.mp4")

    downloaded = wan("download", task_id, "-o", str(tmp_path / "d.mp4"), env=env)
    assert downloaded.returncode == 0
    assert (tmp_path / "d.mp4").read_bytes() == (tmp_path / "w.mp4").read_bytes()
    again = wan("download", task_id, "-o", str(tmp_path / "d.mp4"), env=env)
    assert again.returncode == 2
    assert "already exists" in again.stderr


def test_failed_task_exits_1_with_its_error(image: Path, tmp_path: Path) -> None:
    """A task that fails exits 1 and shows the API's code and detail."""
    with serve(SandboxConfig(api_key=KEY, task_seconds=0, fail_rate=1.0)) as sandbox:
        result = wan(
            "generate",
            str(image),
            "--prompt",
            "p",
            "-o",
            str(tmp_path / "f.mp4"),
            "--json",
            env=env_for(sandbox),
        )
    assert result.returncode == 1
    data = json.loads(result.stdout)
    assert data["error"] == "TaskFailedError"
    assert data["code"] == 3001
    assert "3001" in result.stderr


def test_unknown_and_malformed_ids(sandbox: RunningSandbox) -> None:
    """An unknown id is an API failure (1); a malformed one is a usage error (2)."""
    env = env_for(sandbox)
    unknown = wan("status", "3c90c3cc-0d44-4b50-8888-8dd25736052a", env=env)
    assert unknown.returncode == 1
    assert "404" in unknown.stderr
    malformed = wan("status", "not-an-id", env=env)
    assert malformed.returncode == 2
    assert "task_id" in malformed.stderr


def test_key_never_printed_even_verbose(
    sandbox: RunningSandbox, image: Path, tmp_path: Path
) -> None:
    """With -v (DEBUG logging) and on errors, neither stream shows the key."""
    env = env_for(sandbox)
    runs = [
        wan("-v", "generate", str(image), "--prompt", "p", "-o", str(tmp_path / "k.mp4"), env=env),
        wan("-v", "status", "3c90c3cc-0d44-4b50-8888-8dd25736052a", env=env),
        wan(
            "-v",
            "status",
            "3c90c3cc-0d44-4b50-8888-8dd25736052a",
            env={**env, "MULEROUTER_API_KEY": KEY + "-wrong"},
        ),
    ]
    assert "request POST" in runs[0].stderr  # verbose logging did run
    for result in runs:
        assert KEY not in result.stdout + result.stderr


def test_ctrl_c_while_waiting_prints_how_to_resume(image: Path, tmp_path: Path) -> None:
    """SIGINT during the wait exits 130 and prints the command that resumes."""
    with serve(SandboxConfig(api_key=KEY, task_seconds=60)) as sandbox:
        base = {k: v for k, v in os.environ.items() if not k.startswith("MULEROUTER_")}
        out = tmp_path / "slow.mp4"
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "wan_i2v.cli",
                "generate",
                str(image),
                "--prompt",
                "p",
                "-o",
                str(out),
            ],
            env={**base, **env_for(sandbox)},
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            # A suite started in the background inherits SIGINT ignored: restore it.
            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
        )
        deadline = time.monotonic() + 30
        while sandbox.state.tasks_created == 0 and time.monotonic() < deadline:
            time.sleep(0.05)
        time.sleep(0.5)
        process.send_signal(signal.SIGINT)
        _, stderr = process.communicate(timeout=30)
        task_id = next(iter(sandbox.state.tasks))
    assert process.returncode == 130
    assert f"Finish it with: wan-i2v wait {task_id} -o {out}" in stderr
    assert "Traceback" not in stderr


def test_missing_click_gets_a_friendly_message() -> None:
    """Without the cli extra: exit 2 and the pip command, not a traceback."""
    code = "import sys; sys.modules['click'] = None; from wan_i2v.cli import main; main()"
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=False, timeout=60
    )
    assert result.returncode == 2
    assert 'pip install "wan-i2v[cli]"' in result.stderr
    assert "Traceback" not in result.stderr


def test_sandbox_command_serves_the_api() -> None:
    """`wan-i2v sandbox` runs a server on loopback that answers a create with 202."""
    import socket

    import httpx

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    process = subprocess.Popen(
        [sys.executable, "-m", "wan_i2v.cli", "sandbox", "--port", str(port), "--api-key", KEY],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        url = f"http://127.0.0.1:{port}{CREATE_PATH}"
        body = {"prompt": "p", "image": "https://example.com/a.jpg"}
        deadline = time.monotonic() + 20
        while True:
            try:
                response = httpx.post(url, json=body, headers={"Authorization": f"Bearer {KEY}"})
                break
            except httpx.TransportError:
                assert time.monotonic() < deadline, "the sandbox did not start"
                time.sleep(0.1)
        assert response.status_code == 202
        assert httpx.post(url, json=body).status_code == 401
    finally:
        process.send_signal(signal.SIGINT)
        stdout, _ = process.communicate(timeout=20)
    assert f"http://127.0.0.1:{port}" in stdout


# --- The newcomer's path (issue 21) ------------------------------------------------------------


def _created(sandbox: RunningSandbox, image: Path) -> str:
    created = wan(
        "generate", str(image), "--prompt", "p", "--no-wait", "--json", env=env_for(sandbox)
    )
    assert created.returncode == 0, created.stderr
    return str(json.loads(created.stdout)["task_id"])


@pytest.mark.parametrize("as_json", [False, True])
def test_download_onto_an_existing_file_is_usage_with_no_finish_hint(
    sandbox: RunningSandbox, image: Path, tmp_path: Path, as_json: bool
) -> None:
    """`download ID -o existing`: exit 2, the file untouched, and no "may be billed" or
    "finish it with" the same failing command (nor `finish_with` in --json)."""
    task_id = _created(sandbox, image)
    existing = tmp_path / "taken.mp4"
    existing.write_bytes(b"mine")
    args = ["download", task_id, "-o", str(existing)] + (["--json"] if as_json else [])
    result = wan(*args, env=env_for(sandbox))
    assert result.returncode == 2
    assert existing.read_bytes() == b"mine"
    assert "already exists" in result.stderr
    assert "may be billed" not in result.stderr
    assert "Finish it with" not in result.stderr
    if as_json:
        data = json.loads(result.stdout)
        assert "finish_with" not in data
        assert data["task_id"] == task_id


def test_json_errors_carry_phase_and_the_task_id_given(sandbox: RunningSandbox) -> None:
    """`status ID --json` for a task the API does not know: the error names the id given
    (not null) and has `phase`; no "may be billed" hint for a task that does not exist."""
    task_id = "3c90c3cc-0d44-4b50-8888-8dd25736052a"
    result = wan("status", task_id, "--json", env=env_for(sandbox))
    assert result.returncode == 1
    data = json.loads(result.stdout)
    assert data["task_id"] == task_id
    assert "phase" in data
    assert data["error"] == "NotFoundError"
    assert "may be billed" not in result.stderr


def test_a_failed_task_json_error_has_its_phase(image: Path, tmp_path: Path) -> None:
    """A task that failed: the --json error says phase "failed", with its task id."""
    with serve(SandboxConfig(api_key=KEY, task_seconds=0, fail_rate=1.0)) as failing:
        args = ["generate", str(image), "--prompt", "p", "-o", str(tmp_path / "x.mp4"), "--json"]
        result = wan(*args, env=env_for(failing))
    assert result.returncode == 1
    data = json.loads(result.stdout)
    assert data["phase"] == "failed"
    assert data["task_id"]


def test_an_unknown_status_word_prints_nothing_on_stderr(tmp_path: Path) -> None:
    """A status word the spec does not know, with no logging configured: `status` shows it
    and stderr stays empty (no line through Python's last-resort handler)."""
    from servers import handler_server, reply

    task_id = "3c90c3cc-0d44-4b50-8888-8dd25736052a"
    body = {"task_info": {"id": task_id, "status": "frobnicating",
                          "created_at": "2023-11-07T05:31:56Z",
                          "updated_at": "2023-11-07T05:31:56Z"}}  # fmt: skip

    def answer(handler: object, seen: object) -> None:
        reply(handler, 200, json.dumps(body).encode())  # type: ignore[arg-type]

    with handler_server(answer) as (url, _):
        result = wan("status", task_id, env={"MULEROUTER_BASE_URL": url, "MULEROUTER_API_KEY": KEY})
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == f"{task_id}: frobnicating"
    assert result.stderr == ""


def test_check_prints_readable_lines_not_a_dict(image: Path) -> None:
    """`check` without --json describes each image in words, never as a Python dict repr."""
    result = wan("check", str(image), "--prompt", "Leaves fall")
    assert result.returncode == 0, result.stderr
    size = image.stat().st_size
    assert result.stderr.splitlines() == [f"image: jpeg, 640x480 px, {size:,} bytes"]
    assert "{'" not in result.stdout + result.stderr
    assert json.loads(result.stdout)["prompt"] == "Leaves fall"
