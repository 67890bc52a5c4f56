"""Every Python example in README.md runs as written (against the sandbox, offline)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from PIL import Image

from wan_i2v.sandbox import SandboxConfig, serve

README = Path(__file__).parents[1] / "README.md"
BLOCKS = re.findall(r"```python\n(.*?)```", README.read_text(encoding="utf-8"), re.S)


def test_readme_has_python_examples() -> None:
    """The README shows the library in use (so the test below checks something)."""
    assert len(BLOCKS) >= 3


@pytest.mark.parametrize("code", BLOCKS, ids=[f"block{i}" for i in range(len(BLOCKS))])
def test_readme_example_runs(code: str, tmp_path: Path) -> None:
    """The example exits 0 with MULEROUTER_* pointing at a sandbox and its files present."""
    for name in ("cat.png", "in.png"):
        Image.new("RGB", (640, 480), (120, 80, 40)).save(tmp_path / name)
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
