"""Run every benchmark, print the table and write benchmarks/RESULTS.md.

    python benchmarks/run_all.py            # full size, about four minutes on two cores
    python benchmarks/run_all.py --quick    # a few iterations: checks the scripts still run

A missed target is reported, never an error; a benchmark that crashes exits non-zero.
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
import traceback
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks import (  # runnable as a script
    bench_batch,
    bench_create,
    bench_large_image,
    bench_startup,
    bench_throughput,
    bench_wait,
)
from benchmarks._common import Figure, machine, python

BENCHMARKS = [
    bench_create,
    bench_large_image,
    bench_throughput,
    bench_startup,
    bench_wait,
    bench_batch,
]
RESULTS = Path(__file__).parent / "RESULTS.md"


def table(figures: list[Figure], ratio: str = "ours / baseline") -> str:
    rows = [
        f"| figure | {ratio} (median) | spread | target | met | detail |",
        "|---|---|---|---|---|---|",
    ]
    for f in figures:
        met = {True: "yes", False: "**no**", None: "-"}[f.met]
        rows.append(
            f"| {f.name} | {f.median:.3f} ({f.unit}) | {f.spread()} | {f.target} | "
            f"{met} | {f.note} |"
        )
    return "\n".join(rows)


def _peers_section() -> str:
    """The section bench_peers.py wrote (its own run, its own session), kept as it was."""
    from benchmarks.bench_peers import SECTION

    current = RESULTS.read_text(encoding="utf-8") if RESULTS.exists() else ""
    return f"\n{SECTION}{current.split(SECTION, 1)[1]}" if SECTION in current else ""


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a few iterations only")
    parser.add_argument("--no-write", action="store_true", help="do not write RESULTS.md")
    args = parser.parse_args()
    figures: list[Figure] = []
    failed = False
    for module in BENCHMARKS:
        name = module.__name__.rsplit(".", 1)[1]
        print(f"running {name}...", file=sys.stderr, flush=True)
        try:
            figures += module.run(args.quick)
        except Exception:
            traceback.print_exc()
            failed = True
    text = table(figures)
    print(text)
    if not args.no_write and not failed:
        header = (
            f"# Benchmark results\n\n{dt.date.today().isoformat()} on {machine()}; "
            f"{python()}.{' Quick mode.' if args.quick else ''}\n\n"
        )
        footer = "\nWhy a target is missed, measured with a profiler: [README.md](README.md).\n"
        RESULTS.write_text(header + text + "\n" + footer + _peers_section(), encoding="utf-8")
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
