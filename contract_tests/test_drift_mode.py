"""The live drift check itself works, and cannot bill: run it against the sandbox."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from wan_i2v._spec import load_spec
from wan_i2v.contract import plan
from wan_i2v.sandbox import SandboxConfig, serve


def test_live_mode_passes_against_a_conforming_server_and_creates_nothing() -> None:
    """`-m live` against the sandbox: every check passes, and no task is created."""
    with serve(SandboxConfig(api_key="live-key")) as sandbox:
        result = subprocess.run(
            [
                sys.executable,
                "-m",
                "pytest",
                "contract_tests/test_live_api.py",
                "-m",
                "live",
                "-q",
                "-p",
                "no:cacheprovider",
            ],
            env={
                **os.environ,
                "WAN_I2V_CONTRACT_URL": sandbox.url,
                "WAN_I2V_CONTRACT_KEY": "live-key",
            },
            capture_output=True,
            text=True,
            timeout=120,
            cwd=Path(__file__).parents[1],
            check=False,
        )
        assert result.returncode == 0, result.stdout[-3000:]
        assert "skipped" not in result.stdout.splitlines()[-1]
        assert sandbox.state.tasks_created == 0
        posts = sum(method == "POST" for method, _ in sandbox.state.requests)
        assert posts >= len(plan(load_spec()))  # at least one probe per rule check
