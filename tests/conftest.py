"""Shared test setup: no network, no real key, no backoff sleeps, no leaking environment."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
import stamina


@pytest.fixture(autouse=True)
def _isolated_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Each test starts without MULEROUTER_* variables, in an empty working directory
    (so that no developer's .env is read)."""
    for name in list(os.environ):
        if name.startswith("MULEROUTER_"):
            monkeypatch.delenv(name)
    workdir = tmp_path / "cwd"
    workdir.mkdir()
    monkeypatch.chdir(workdir)


@pytest.fixture(autouse=True)
def _instant_retries() -> Iterator[None]:
    """Retries keep their count but do not sleep (stamina's testing mode)."""
    with stamina.set_testing(True, attempts=10, cap=True):
        yield
