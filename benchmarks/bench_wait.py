"""Waiting, on a simulated clock: status requests made and the delay from a job's end to
its detection, for wait()'s schedule (wan_i2v._polling.Waiter, the code wait() runs) and for
fixed 20 s polling as the vendor's tools do. No target: both are reported."""

from __future__ import annotations

import datetime as dt
import math
import random
import statistics

from wan_i2v._polling import Waiter
from wan_i2v._task import Task

from ._common import Figure

JOBS = (30.0, 120.0, 300.0)
NOW = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)


def _task(status: str) -> Task:
    videos = ("https://v/x.mp4",) if status == "completed" else ()
    return Task(id="t", status=status, created_at=NOW, updated_at=NOW, videos=videos)


def ours(job_seconds: float, seed: int) -> tuple[int, float]:
    """(status requests, detection delay) of wait() for a job ending at job_seconds."""
    clock = [0.0]
    rng = random.Random(seed)
    waiter = Waiter(_task("pending"), timeout=900, clock=lambda: clock[0], rng=rng.random)
    polls = 0
    while waiter.result is None:
        clock[0] += waiter.next_delay()
        polls += 1
        waiter.observe(_task("completed" if clock[0] >= job_seconds else "processing"))
    return polls, clock[0] - job_seconds


def vendor(job_seconds: float) -> tuple[int, float]:
    """Fixed 20 s polling: the first check at 20 s, then every 20 s."""
    polls = max(1, math.ceil(job_seconds / 20))
    return polls, polls * 20 - job_seconds


def run(quick: bool) -> list[Figure]:
    # Jobs of about 30 s, 2 min and 5 min, their exact ends spread over a 20 s window so
    # that neither schedule gains from a job ending just on one of its checks.
    spread = 5 if quick else 200
    figures = []
    for job in JOBS:
        ends = [job + 20 * i / spread for i in range(spread)]
        ours_runs = [ours(end, seed) for seed, end in enumerate(ends)]
        vendor_runs = [vendor(end) for end in ends]
        ours_delay = statistics.mean(d for _, d in ours_runs)
        vendor_delay = statistics.mean(d for _, d in vendor_runs)
        figure = Figure(f"waiting: job of ~{job:.0f} s", "mean detection delay", "report only")
        figure.ratios = [ours_delay / vendor_delay]
        figure.note = (
            f"wait(): {statistics.mean(p for p, _ in ours_runs):.1f} status requests, "
            f"noticed {ours_delay:.1f} s after the end (max {max(d for _, d in ours_runs):.1f} s); "
            f"fixed 20 s: {statistics.mean(p for p, _ in vendor_runs):.1f} requests, "
            f"{vendor_delay:.1f} s (max {max(d for _, d in vendor_runs):.1f} s)"
        )
        figures.append(figure)
    return figures
