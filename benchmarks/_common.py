"""Shared by the benchmarks: the server, ABAB alternation, statistics, the machine."""

from __future__ import annotations

import contextlib
import os
import platform
import socket
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from wan_i2v import _spec_facts as facts

HERE = Path(__file__).parent
CREATE_PATH = facts.CREATE_PATH
KEY = "bench-key"


@contextlib.contextmanager
def server(script: str = "_server.py", *args: str) -> Iterator[str]:
    """Start benchmarks/``script`` (its port, then ``args``) on a free loopback port in its
    own process."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    process = subprocess.Popen([sys.executable, str(HERE / script), str(port), *args])
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                httpx.get(url + "/ping", timeout=1)
                break
            except httpx.TransportError:
                if time.monotonic() > deadline or process.poll() is not None:
                    raise RuntimeError("the benchmark server did not start") from None
                time.sleep(0.05)
        yield url
    finally:
        process.terminate()
        process.wait(timeout=10)


@dataclass
class Figure:
    """One row of the results: a ratio of ours to the baseline, over repeated rounds."""

    name: str
    unit: str  # what the ratio compares, e.g. "time" or "requests/s"
    target: str
    ratios: list[float] = field(default_factory=list)
    ours: list[float] = field(default_factory=list)
    baseline: list[float] = field(default_factory=list)
    met: bool | None = None
    note: str = ""

    @property
    def median(self) -> float:
        return statistics.median(self.ratios)

    def spread(self) -> str:
        if len(self.ratios) < 4:
            return f"{min(self.ratios):.3f}-{max(self.ratios):.3f} (min-max)"
        q = statistics.quantiles(self.ratios, n=4)
        return f"{q[0]:.3f}-{q[2]:.3f} (IQR)"


def alternate(
    rounds: int,
    ours: Callable[[], float],
    baseline: Callable[[], float],
    figure: Figure,
    *,
    higher_is_better: bool = False,
) -> Figure:
    """Run ours and the baseline in turn (ABAB..., starting side swapped each round so
    neither always runs first), recording each side's measure and their ratio."""
    for i in range(rounds):
        pair = [(figure.ours, ours), (figure.baseline, baseline)]
        for store, run in pair if i % 2 == 0 else reversed(pair):
            store.append(run())
        a, b = figure.ours[-1], figure.baseline[-1]
        figure.ratios.append(a / b)
    return figure


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    memory = ""
    with contextlib.suppress(OSError, ValueError):
        kb = int(Path("/proc/meminfo").read_text().split()[1])
        memory = f", {kb / 2**20:.0f} GiB"
    return f"{cpu}, {os.cpu_count()} cores{memory}"


def python() -> str:
    return f"Python {platform.python_version()}, httpx {httpx.__version__}"
