"""Start-up: `python -c "import wan_i2v"` against `python -c "import httpx"`, fresh
processes, alternating. Target: at most 1.3x."""

from __future__ import annotations

import subprocess
import sys
import time

from ._common import Figure, alternate


def _time(module: str) -> float:
    started = time.perf_counter()
    subprocess.run([sys.executable, "-c", f"import {module}"], check=True)
    return time.perf_counter() - started


def run(quick: bool) -> list[Figure]:
    figure = Figure("start-up (import)", "time", "<= 1.30x")
    _time("wan_i2v"), _time("httpx")  # warm the file cache
    alternate(4 if quick else 24, lambda: _time("wan_i2v"), lambda: _time("httpx"), figure)
    figure.met = figure.median <= 1.3
    figure.note = (
        f"ours {1e3 * sorted(figure.ours)[len(figure.ours) // 2]:.0f} ms, "
        f"httpx {1e3 * sorted(figure.baseline)[len(figure.baseline) // 2]:.0f} ms"
    )
    return [figure]
