"""Every Python example in README.md runs as written (against the sandbox, offline)."""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from wan_i2v.sandbox import SandboxConfig, serve

ROOT = Path(__file__).parents[1]
README = ROOT / "README.md"
TEXT = README.read_text(encoding="utf-8")
BLOCKS = re.findall(r"```python\n(.*?)```", TEXT, re.S)


def section(title: str) -> str:
    """The README's text under ``## title``, up to the next section."""
    found = re.search(rf"^## {re.escape(title)}\n(.*?)(?=^## )", TEXT, re.S | re.M)
    assert found, title
    return found.group(1)


def sh_lines(text: str) -> list[str]:
    """The commands of the ```sh blocks in ``text``, comments removed."""
    lines = []
    for block in re.findall(r"```sh\n(.*?)```", text, re.S):
        for line in block.splitlines():
            command = line.split(" #", 1)[0].strip()
            if command:
                lines.append(command)
    return lines


def clone_like(tmp_path: Path) -> Path:
    """A working folder holding what a clone has that the examples use: examples/."""
    shutil.copytree(ROOT / "examples", tmp_path / "examples")
    return tmp_path


def test_readme_has_python_examples() -> None:
    """The README shows the library in use (so the test below checks something)."""
    assert len(BLOCKS) >= 3


@pytest.mark.parametrize("code", BLOCKS, ids=[f"block{i}" for i in range(len(BLOCKS))])
def test_readme_example_runs(code: str, tmp_path: Path) -> None:
    """The example exits 0 with MULEROUTER_* pointing at a sandbox, run from a folder laid
    out like the clone (only the files the repository ships)."""
    clone_like(tmp_path)
    # A block of tests (the pytest plugin's example) runs as a user's test file.
    command = ["-c", code]
    if "def test_" in code:
        (tmp_path / "test_readme_example.py").write_text(code, encoding="utf-8")
        command = ["-m", "pytest", "-q", "-p", "no:cacheprovider", "test_readme_example.py"]
    with serve(SandboxConfig(task_seconds=0)) as sandbox:
        env = {k: v for k, v in os.environ.items() if not k.startswith("MULEROUTER_")}
        env.update(MULEROUTER_BASE_URL=sandbox.url, MULEROUTER_API_KEY="readme-key")
        result = subprocess.run(
            [sys.executable, *command],
            cwd=tmp_path,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
    assert result.returncode == 0, result.stderr[-2000:]


def test_install_names_only_what_installs_here() -> None:
    """Install says how to install from a clone or a built wheel: no bare `pip install
    wan-i2v` (the package is on no index), every extra it names exists, and the wheel's
    glob matches the distribution's name as wheels spell it."""
    lines = [line for line in sh_lines(section("Install")) if line.startswith("pip install")]
    assert lines
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    extras = set(project["optional-dependencies"])
    for line in lines:
        (target,) = shlex.split(line)[2:]
        where, _, named = target.partition("[")
        assert where in (".", "dist/wan_i2v-*.whl"), line
        assert set(named.rstrip("]").split(",")) - {""} <= extras, line
    assert any("dist/wan_i2v-*.whl" in line for line in lines)
    assert project["name"].replace("-", "_") == "wan_i2v"  # the wheel's file name starts so


@pytest.mark.slow  # seven subprocesses
def test_quick_start_commands_run_as_written(tmp_path: Path) -> None:
    """The command-line quick start, line by line against a sandbox (TASK_ID: the id the
    --no-wait line printed; the sandbox line, a server that runs until stopped, is left out)."""
    lines = sh_lines(section("Quick start: command line"))
    assert lines[0].startswith("export MULEROUTER_API_KEY=")
    clone_like(tmp_path)
    task_id = None
    ran = 0
    with serve(SandboxConfig(task_seconds=0)) as sandbox:
        env = {k: v for k, v in os.environ.items() if not k.startswith("MULEROUTER_")}
        env.update(MULEROUTER_BASE_URL=sandbox.url, MULEROUTER_API_KEY="readme-key")
        for line in lines[1:]:
            words = shlex.split(line)
            assert words[0] == "wan-i2v", line
            if words[1] == "sandbox":
                continue
            if "TASK_ID" in words:
                assert task_id is not None, "TASK_ID used before a line printed it"
                words = [task_id if w == "TASK_ID" else w for w in words]
            result = subprocess.run(
                [sys.executable, "-m", "wan_i2v.cli", *words[1:]],
                cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120, check=False,
            )  # fmt: skip
            assert result.returncode == 0, f"{line}\n{result.stderr[-2000:]}"
            if "--no-wait" in words:
                task_id = json.loads(result.stdout)["task_id"]
            ran += 1
    assert ran == len(lines) - 2
    for name in ("flower.mp4", "resumed.mp4", "again.mp4"):
        assert (tmp_path / name).read_bytes()[4:8] == b"ftyp"
