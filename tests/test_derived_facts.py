"""The spec's facts are generated, and every rule built on them follows a spec edit.

Each derivation test edits a copy of spec/openapi.yaml, regenerates the facts module with
scripts/generate_facts.py into a copy of the package (a temp dir), and drives that copy in a
subprocess: validation of both clients, what is sent, and the command line all follow with no
other edit. The generator is called directly, not through nox (CI time)."""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import subprocess
import sys
import typing
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

import wan_i2v
from wan_i2v import _spec_facts
from wan_i2v._spec import spec_path

ROOT = Path(__file__).resolve().parents[1]
GENERATOR = ROOT / "scripts" / "generate_facts.py"
PACKAGE = Path(wan_i2v.__file__).parent

SpecEdit = Callable[[dict[str, Any]], None]


def _generate(spec: dict[str, Any], folder: Path) -> Path:
    (folder / "openapi.yaml").write_text(yaml.safe_dump(spec, sort_keys=False))
    out = folder / "_spec_facts.py"
    subprocess.run(
        [sys.executable, str(GENERATOR), "--spec", str(folder / "openapi.yaml"), "--output", out],
        check=True,
        timeout=60,
    )
    return out


def _load_spec() -> dict[str, Any]:
    spec: dict[str, Any] = yaml.safe_load(spec_path().read_text(encoding="utf-8"))
    return spec


def test_the_committed_facts_are_what_the_spec_generates(tmp_path: Path) -> None:
    """The facts module in the package equals a fresh generation from the spec (the nox
    regeneration check also compares the bytes)."""
    path = _generate(_load_spec(), tmp_path)
    module_spec = importlib.util.spec_from_file_location("wan_i2v._fresh_facts", path)
    assert module_spec is not None
    assert module_spec.loader is not None
    fresh = importlib.util.module_from_spec(module_spec)
    sys.modules[module_spec.name] = fresh  # its annotations are resolved in its own namespace
    try:
        module_spec.loader.exec_module(fresh)
        for name in (
            "CREATE_PATH",
            "GET_PATH",
            "CREATE_FIELDS",
            "IMAGE_FIELDS",
            "STATUS_WORDS",
            "ERROR_STATUSES",
            "DOCUMENTED_ERROR_STATUSES",
        ):
            assert getattr(fresh, name) == getattr(_spec_facts, name), name
        hints = typing.get_type_hints
        assert hints(fresh.SpecFields, include_extras=True) == hints(
            _spec_facts.SpecFields, include_extras=True
        )
    finally:
        del sys.modules[module_spec.name]


# Runs in the package copy: prints one JSON object of what happened.
PROBE = r"""
import asyncio, json, logging, sys
import httpx
from click.testing import CliRunner
import wan_i2v, wan_i2v._polling
from wan_i2v.cli._commands import cli

assert wan_i2v.__file__.startswith(sys.argv[1]), wan_i2v.__file__
fields = json.loads(sys.argv[2])
posts = []
STATUSES = iter(json.loads(sys.argv[3]))
TASK = "3c90c3cc-0d44-4b50-8888-8dd25736052a"

def answer(request):
    if request.method == "POST":
        posts.append(json.loads(request.content))
        status = "pending"
    else:
        status = next(STATUSES)
    done = status in ("completed", "succeeded")
    body = {"task_info": {"id": TASK, "status": status, "created_at": "2026-01-01T00:00:00Z",
            "updated_at": "2026-01-01T00:00:00Z"}}
    if done:
        body["videos"] = ["https://videos.example.com/v.mp4"]
    return httpx.Response(202 if request.method == "POST" else 200, json=body)

async def async_answer(request):
    return answer(request)

def attempt(call):
    try:
        call()
        return None
    except wan_i2v.ValidationError as exc:
        return exc.field

def sync_client():
    http = httpx.Client(transport=httpx.MockTransport(answer))
    return wan_i2v.Client(api_key="k", http_client=http)

out = {}
with sync_client() as c:
    given = {"prompt": "p", **fields}
    out["sync"] = attempt(lambda: c.create(image="https://example.com/a.jpg", **given))

async def run_async():
    http = httpx.AsyncClient(transport=httpx.MockTransport(async_answer))
    async with wan_i2v.AsyncClient(api_key="k", http_client=http) as c:
        try:
            await c.create(image="https://example.com/a.jpg", **{"prompt": "p", **fields})
        except wan_i2v.ValidationError as exc:
            return exc.field
    return None

out["async"] = asyncio.run(run_async())
out["posts"] = posts
args = ["check", "https://example.com/a.jpg", "--prompt", fields.pop("prompt", "p"), "--json"]
for name, value in fields.items():
    args += ["--" + name.replace("_", "-"), str(value)]
result = CliRunner().invoke(cli, args)
out["cli_exit"] = result.exit_code
out["cli_body"] = json.loads(result.output)["body"] if result.exit_code == 0 else None

warnings = []
class Catch(logging.Handler):
    def emit(self, record):
        warnings.append(record.getMessage())
logging.getLogger("wan_i2v").addHandler(Catch(logging.WARNING))
wan_i2v._polling.POLL_MIN_DELAY = 0.001  # the floor is patched, not the rule
STATUSES = iter(json.loads(sys.argv[3]))
with sync_client() as c:
    if json.loads(sys.argv[3]):
        done = c.wait(TASK, timeout=30, poll_interval=0.001)
        out["waited_to"] = done.status
out["warnings"] = warnings
print(json.dumps(out))
"""


def _run(tmp_path: Path, edit: SpecEdit, fields: dict[str, Any], statuses: list[str]) -> Any:
    """Edit a copy of the spec, regenerate the facts into a copy of the package, probe it."""
    spec = _load_spec()
    edit(spec)
    root = tmp_path / "site"
    # symlinks=False: the checkout's _generated is a symlink to generated/; copy what it holds.
    shutil.copytree(PACKAGE, root / "wan_i2v", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(_generate(spec, tmp_path), root / "wan_i2v" / "_spec_facts.py")
    # What `nox -s generate` also does: the generated client from the edited spec.
    bin_dir = Path(sys.executable).parent
    env = {**os.environ, "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}"}
    shutil.rmtree(root / "wan_i2v" / "_generated")
    subprocess.run(
        [
            str(bin_dir / "openapi-python-client"),
            "generate",
            "--path",
            str(tmp_path / "openapi.yaml"),
            "--config",
            str(ROOT / "spec" / "generator-config.yaml"),
            "--meta",
            "none",
            "--output-path",
            str(root / "wan_i2v" / "_generated"),
        ],
        check=True,
        capture_output=True,
        cwd=ROOT,  # its ruff post-hooks read the project's pyproject
        env=env,
        timeout=120,
    )
    env["PYTHONPATH"] = str(root)
    result = subprocess.run(
        [sys.executable, "-c", PROBE, str(root), json.dumps(fields), json.dumps(statuses)],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def _props(spec: dict[str, Any]) -> dict[str, Any]:
    props: dict[str, Any] = spec["components"]["schemas"]["CreateGenerationTaskRequest"][
        "properties"
    ]
    return props


def _add_fps(spec: dict[str, Any]) -> None:
    _props(spec)["fps"] = {"type": "integer", "minimum": 1, "maximum": 60}


@pytest.mark.slow
def test_a_new_bounded_integer_field_is_checked_sent_and_offered(tmp_path: Path) -> None:
    """fps (integer, 1..60) added to the spec: 1000 is refused naming it, nothing sent, by both
    clients and the command line; 30 is sent and offered as --fps."""
    refused = _run(tmp_path / "a", _add_fps, {"fps": 1000}, [])
    assert refused["sync"] == refused["async"] == "fps"
    assert refused["posts"] == []
    assert refused["cli_exit"] == 2
    accepted = _run(tmp_path / "b", _add_fps, {"fps": 30}, [])
    assert accepted["sync"] is accepted["async"] is None
    assert [p["fps"] for p in accepted["posts"]] == [30, 30]
    assert accepted["cli_exit"] == 0
    assert accepted["cli_body"]["fps"] == 30


@pytest.mark.slow
def test_a_new_enum_value_is_accepted_and_sent(tmp_path: Path) -> None:
    """720P added to resolution's enum: accepted and sent by both clients, and by
    --resolution."""

    def edit(spec: dict[str, Any]) -> None:
        _props(spec)["resolution"]["enum"].append("720P")

    out = _run(tmp_path, edit, {"resolution": "720P"}, [])
    assert out["sync"] is out["async"] is None
    assert [p["resolution"] for p in out["posts"]] == ["720P", "720P"]
    assert out["cli_exit"] == 0
    assert out["cli_body"]["resolution"] == "720P"


@pytest.mark.slow
def test_a_lower_max_length_is_enforced(tmp_path: Path) -> None:
    """prompt's maxLength lowered to 10: an 11-character prompt is refused everywhere."""

    def edit(spec: dict[str, Any]) -> None:
        _props(spec)["prompt"]["maxLength"] = 10

    out = _run(tmp_path, edit, {"prompt": "x" * 11}, [])
    assert out["sync"] == out["async"] == "prompt"
    assert out["posts"] == []
    assert out["cli_exit"] == 2


@pytest.mark.slow
def test_a_lower_seed_maximum_is_enforced(tmp_path: Path) -> None:
    """seed's maximum lowered to 100: 101 is refused by both clients and --seed."""

    def edit(spec: dict[str, Any]) -> None:
        _props(spec)["seed"]["maximum"] = 100

    out = _run(tmp_path, edit, {"seed": 101}, [])
    assert out["sync"] == out["async"] == "seed"
    assert out["posts"] == []
    assert out["cli_exit"] == 2


@pytest.mark.slow
def test_a_new_running_word_is_waited_through_without_warning(tmp_path: Path) -> None:
    """A made-up word added to the running vocabulary is waited through as running, with no
    'unknown status' warning."""

    def edit(spec: dict[str, Any]) -> None:
        status = spec["components"]["schemas"]["TaskInfo"]["properties"]["status"]
        status["x-known-values"]["running"].append("warming")

    out = _run(tmp_path, edit, {}, ["warming", "warming", "completed"])
    assert out["waited_to"] == "completed"
    assert out["warnings"] == []


def test_an_unknown_word_is_warned_about_without_the_spec_edit(tmp_path: Path) -> None:
    """Without the edit, the same word warns: the test above can fail."""
    out = _run(tmp_path, lambda spec: None, {}, ["warming", "completed"])
    assert out["waited_to"] == "completed"
    assert any("warming" in w for w in out["warnings"])
