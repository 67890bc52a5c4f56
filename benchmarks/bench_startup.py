"""Start-up, fresh processes, alternating: `import wan_i2v` against `import httpx` (target:
at most 1.10x), and the time to a usable client, `import` + `Client()`, against `import
httpx` + `httpx.Client()` (reported beside it: laziness only moves a cost, and this is where
a moved cost would show).

Both sides run with click blocked: httpx imports its own command line (click, and rich and
pygments when present) whenever click is installed, as our ``cli`` extra installs it. That
would add ~30 ms to the baseline that a library user without the extra never pays, and flatter
the ratio. Beside the wall time, each child's CPU time (user + system, from ``getrusage``): on a
loaded machine it is the steadier of the two."""

from __future__ import annotations

import os
import resource
import statistics
import subprocess
import sys
import time

from ._common import Figure, alternate

NO_CLICK = "import sys; sys.modules['click'] = None; "
OURS_IMPORT = NO_CLICK + "import wan_i2v"
HTTPX_IMPORT = NO_CLICK + "import httpx"
OURS_CLIENT = (
    NO_CLICK + "import wan_i2v; wan_i2v.Client(api_key='k', base_url='http://127.0.0.1:9')"
)
HTTPX_CLIENT = NO_CLICK + "import httpx; httpx.Client(base_url='http://127.0.0.1:9')"


# Bytecode caches allowed, as an installed package has them (pip compiles at install): with
# PYTHONDONTWRITEBYTECODE set (CI images often set it), every run would compile every module
# from source and the figure would measure the compiler. The warm-up run writes them.
ENV = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def timed(code: str, cpu: list[float], python: str = sys.executable) -> float:
    """Wall seconds of a fresh ``python -c code``; its CPU seconds appended to ``cpu``."""
    cpu_started, started = _children_cpu(), time.perf_counter()
    subprocess.run([python, "-c", code], check=True, env=ENV)
    elapsed = time.perf_counter() - started
    cpu.append(_children_cpu() - cpu_started)
    return elapsed


def figure_of(
    name: str, target: str, ours: str, baseline: str, rounds: int, who: str = "ours", **pythons: str
) -> Figure:
    """``ours`` against ``baseline``, each a fresh process, alternated; ``ours_python`` and
    ``baseline_python`` name other interpreters (a peer's venv), ``who`` the measured side."""
    figure = Figure(name, "time", target)
    ours_python = pythons.get("ours_python", sys.executable)
    baseline_python = pythons.get("baseline_python", sys.executable)
    ours_cpu: list[float] = []
    baseline_cpu: list[float] = []
    timed(ours, [], ours_python), timed(baseline, [], baseline_python)  # warm the file cache
    alternate(
        rounds,
        lambda: timed(ours, ours_cpu, ours_python),
        lambda: timed(baseline, baseline_cpu, baseline_python),
        figure,
    )
    cpu_ratio = statistics.median(a / b for a, b in zip(ours_cpu, baseline_cpu, strict=True))
    figure.note = (
        f"{who} {1e3 * statistics.median(figure.ours):.0f} ms, "
        f"httpx {1e3 * statistics.median(figure.baseline):.0f} ms; "
        f"CPU {cpu_ratio:.3f}x ({1e3 * statistics.median(ours_cpu):.0f} ms / "
        f"{1e3 * statistics.median(baseline_cpu):.0f} ms)"
    )
    return figure


def run(quick: bool) -> list[Figure]:
    rounds = 4 if quick else 24
    imports = figure_of("start-up (import)", "<= 1.10x", OURS_IMPORT, HTTPX_IMPORT, rounds)
    imports.met = imports.median <= 1.10
    client = figure_of(
        "start-up to a usable client (import + Client())",
        "report only",
        OURS_CLIENT,
        HTTPX_CLIENT,
        rounds,
    )
    return [imports, client]
