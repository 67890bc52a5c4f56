"""Start-up, fresh processes, alternating: `import wan_i2v` against `import httpx` (target:
at most 1.10x), and the time to a usable client, `import` + `Client()`, against `import
httpx` + `httpx.Client()` (reported beside it: laziness only moves a cost, and this is where
a moved cost would show)."""

from __future__ import annotations

import os
import subprocess
import sys
import time

from ._common import Figure, alternate

OURS_CLIENT = "import wan_i2v; wan_i2v.Client(api_key='k', base_url='http://127.0.0.1:9')"
HTTPX_CLIENT = "import httpx; httpx.Client(base_url='http://127.0.0.1:9')"


# Bytecode caches allowed, as an installed package has them (pip compiles at install): with
# PYTHONDONTWRITEBYTECODE set (CI images often set it), every run would compile every module
# from source and the figure would measure the compiler. The warm-up run writes them.
ENV = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}


def _time(code: str) -> float:
    started = time.perf_counter()
    subprocess.run([sys.executable, "-c", code], check=True, env=ENV)
    return time.perf_counter() - started


def _figure(name: str, target: str, ours: str, baseline: str, rounds: int) -> Figure:
    figure = Figure(name, "time", target)
    _time(ours), _time(baseline)  # warm the file cache
    alternate(rounds, lambda: _time(ours), lambda: _time(baseline), figure)
    figure.note = (
        f"ours {1e3 * sorted(figure.ours)[len(figure.ours) // 2]:.0f} ms, "
        f"httpx {1e3 * sorted(figure.baseline)[len(figure.baseline) // 2]:.0f} ms"
    )
    return figure


def run(quick: bool) -> list[Figure]:
    rounds = 4 if quick else 24
    imports = _figure("start-up (import)", "<= 1.10x", "import wan_i2v", "import httpx", rounds)
    imports.met = imports.median <= 1.10
    client = _figure(
        "start-up to a usable client (import + Client())",
        "report only",
        OURS_CLIENT,
        HTTPX_CLIENT,
        rounds,
    )
    return [imports, client]
