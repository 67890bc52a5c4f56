"""A batch of 1,000 rows (50 in the quick pass) at concurrency 50 against a real sandbox
process (`wan-i2v sandbox`: tasks of 1 s, 5 % of them failed, two 429 storms on creates).

Measured: the wall time of `AsyncClient.generate_many` against the ideal (rows x task time /
concurrency), the client's peak memory (a process of its own: its peak RSS, and how much the
batch added to the RSS it had before), requests per row and duplicate tasks (tasks the sandbox
created minus rows that got a task id: must be 0), both from `GET /_sandbox/stats`.

Two runs: `poll_interval` equal to the task time (what the engine costs), and `wait()`'s own
schedule (first check after ~2 s, made for jobs of 30 s to 5 min: what a user gets).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import re
import resource
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from wan_i2v.sandbox import SandboxControl

from ._common import KEY, Figure

CONCURRENCY = 50
TASK_SECONDS = 1.0
FAIL_RATE = 0.05
STORM = 10  # creates answered 429 (Retry-After: 1 s) at the start, and again half-way
ROOT = Path(__file__).resolve().parents[1]
CLIENT = [sys.executable, "-m", "benchmarks.bench_batch"]  # the batch, in a process of its own


@contextlib.contextmanager
def sandbox(log: Path) -> Iterator[str]:
    """`wan-i2v sandbox --port 0` with the faults above, in its own process; its URL."""
    storm = json.dumps({"status": 429, "count": STORM, "operation": "create", "retry_after": 1})
    args = ["--port", "0", "--task-seconds", str(TASK_SECONDS), "--fail-rate", str(FAIL_RATE)]
    args += ["--seed", "23", "--fault", storm]
    with log.open("wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "wan_i2v.cli", "sandbox", *args],
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        deadline = time.monotonic() + 30
        while not (found := re.search(r"sandbox on (http://\S+)", log.read_text())):
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"the sandbox did not start: {log.read_text()}")
            time.sleep(0.05)
        url = found.group(1)
        while True:
            try:
                SandboxControl(url, timeout=1).stats()
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)
        yield url
    finally:
        process.terminate()
        process.wait(timeout=20)


def _png(path: Path) -> None:
    from PIL import Image

    Image.new("RGB", (640, 480), (200, 120, 40)).save(path)


def _storm_half_way(control: SandboxControl, rows: int, stop: threading.Event) -> None:
    """A second 429 storm once half the rows have their task (so it lands mid-run)."""
    while not stop.wait(0.1):
        if control.stats()["tasks_created"] >= rows // 2:
            control.inject(429, count=STORM, operation="create", retry_after=1)
            return


def one_run(rows: int, poll_interval: float | None) -> dict[str, Any]:
    """One batch in a fresh sandbox and a fresh client process; its measures."""
    with tempfile.TemporaryDirectory() as tmp, sandbox(Path(tmp) / "sandbox.log") as url:
        folder = Path(tmp)
        _png(folder / "a.png")
        manifest = folder / "m.jsonl"
        manifest.write_text(
            "".join(
                json.dumps({"key": f"r{i:04}", "image": "a.png", "prompt": f"clip {i}"}) + "\n"
                for i in range(rows)
            )
        )
        control = SandboxControl(url)
        stop = threading.Event()
        storm = threading.Thread(target=_storm_half_way, args=(control, rows, stop))
        storm.start()
        try:
            child = subprocess.run(
                [*CLIENT, url, str(manifest), str(folder / "out"), json.dumps(poll_interval)],
                cwd=ROOT,
                env={k: v for k, v in os.environ.items() if not k.startswith("MULEROUTER_")},
                capture_output=True,
                text=True,
                check=False,
            )
        finally:
            stop.set()
            storm.join()
        if child.returncode != 0:
            raise RuntimeError(f"the batch process failed:\n{child.stderr}")
        measures: dict[str, Any] = json.loads(child.stdout)
        measures["stats"] = control.stats()
        measures["videos"] = len(list((folder / "out").glob("*.mp4")))
        return measures


def _figures(rows: int, runs: dict[str, dict[str, Any]]) -> list[Figure]:
    ideal = rows * TASK_SECONDS / CONCURRENCY
    figures = []
    for label, m in runs.items():
        requests = m["stats"]["requests"]
        total = sum(sum(by_status.values()) for by_status in requests.values())
        statuses = m["statuses"]
        created = m["rows_with_task"]
        duplicates = m["stats"]["tasks_created"] - created
        name = f"batch: {rows} rows, concurrency {CONCURRENCY}, 1 s tasks, {label}"
        wall = Figure(f"{name}: wall time", "wall / ideal", "report only")
        wall.ratios.append(m["elapsed"] / ideal)
        wall.note = (
            f"{rows} rows in {m['elapsed']:.1f} s against an ideal of {ideal:.0f} s; "
            f"{', '.join(f'{n} {s}' for s, n in sorted(statuses.items()))}; "
            f"{m['videos']} videos; 429s answered: "
            f"{sum(by.get('429', 0) for by in requests.values())}; client CPU "
            f"{m['cpu'] * 1000 / rows:.0f} ms per row; the event loop spent "
            f"{m['journal_seconds']:.1f} s in {m['journal_commits']} journal commits"
        )
        memory = Figure(f"{name}: client peak memory", "peak RSS / RSS before", "report only")
        memory.ratios.append(m["peak_rss"] / m["rss_before"])
        memory.note = (
            f"peak RSS {m['peak_rss'] / 2**20:.0f} MiB, "
            f"{m['rss_before'] / 2**20:.0f} MiB before the batch "
            f"({(m['peak_rss'] - m['rss_before']) / rows / 1024:.0f} KiB per row)"
        )
        per_row = Figure(f"{name}: requests per row", "requests / row", "report only")
        per_row.ratios.append(total / rows)
        per_row.note = "; ".join(
            f"{op} " + ", ".join(f"{n} x {s}" for s, n in by.items()) for op, by in requests.items()
        )
        dup = Figure(f"{name}: duplicate tasks", "tasks created - rows with a task", "0")
        dup.ratios.append(float(duplicates))
        dup.met = duplicates == 0
        dup.note = f"{m['stats']['tasks_created']} tasks created, {created} rows with a task id"
        figures += [wall, memory, per_row, dup]
    return figures


def run(quick: bool) -> list[Figure]:
    rows = 50 if quick else 1000
    runs = {"poll every 1 s": one_run(rows, TASK_SECONDS)}
    if not quick:
        runs["wait()'s schedule"] = one_run(rows, None)
    return _figures(rows, runs)


# --- The client process ------------------------------------------------------------------------


def _memory(name: str) -> int:
    """Bytes of this process's ``VmRSS`` (resident now) or ``VmHWM`` (its peak). Not
    ``ru_maxrss``: that keeps the peak of the process we were forked from."""
    text = Path("/proc/self/status").read_text()
    return int(re.search(rf"{name}:\s+(\d+) kB", text).group(1)) * 1024  # type: ignore[union-attr]


def _time_journal_commits() -> list[float]:
    """Seconds spent in each journal transaction: they run on the event loop, so this is
    time no other row moved (a measure only: the journal itself is unchanged)."""
    from wan_i2v.batch._journal import Journal

    spent: list[float] = []
    transaction = Journal.transaction

    @contextlib.contextmanager
    def timed(self: Journal) -> Iterator[Any]:
        started = time.perf_counter()
        try:
            with transaction(self) as db:
                yield db
        finally:
            spent.append(time.perf_counter() - started)

    Journal.transaction = timed  # type: ignore[method-assign]
    return spent


async def _client(url: str, manifest: Path, out: Path, poll_interval: float | None) -> None:
    import wan_i2v
    from wan_i2v.batch import read_manifest

    commits = _time_journal_commits()

    rows = read_manifest(manifest)
    statuses: Counter[str] = Counter()
    with_task = 0
    async with wan_i2v.AsyncClient(base_url=url, api_key=KEY) as client:
        rss_before = _memory("VmRSS")
        started = time.perf_counter()
        results = client.generate_many(
            rows, out, concurrency=CONCURRENCY, poll_interval=poll_interval
        )
        async for result in results:
            statuses[result.status] += 1
            with_task += result.task_id is not None
        elapsed = time.perf_counter() - started
    usage = resource.getrusage(resource.RUSAGE_SELF)
    peak = _memory("VmHWM")
    print(
        json.dumps(
            {
                "elapsed": elapsed,
                "rss_before": rss_before,
                "peak_rss": peak,
                "cpu": usage.ru_utime + usage.ru_stime,
                "journal_commits": len(commits),
                "journal_seconds": sum(commits),
                "statuses": statuses,
                "rows_with_task": with_task,
            }
        )
    )


if __name__ == "__main__":
    url_arg, manifest_arg, out_arg, poll_arg = sys.argv[1:5]
    asyncio.run(_client(url_arg, Path(manifest_arg), Path(out_arg), json.loads(poll_arg)))
