"""Ours beside the peer SDKs (fal-client, replicate, openai), in one run, against one local
server (_peer_server.py) that answers each the shape it expects.

    nox -s bench_peers                      # makes the peers' venvs, runs, writes RESULTS.md
    python benchmarks/bench_peers.py --make-venvs --quick --no-write   # a smoke run

Each SDK runs in a venv of its own (.nox/peer-<name>, made by the nox session), with httpx
0.28.1 beside it, so that every baseline is the same raw ``httpx.Client.post``. Per client,
a worker process (_peer_worker.py) stays up; round after round every worker, in a rotating
order, times its SDK's create and the raw post of the same request in that same process
(which first alternates), so a ratio never compares two moments of a shared machine.

- **Per-create overhead**: time per call of the SDK's create (a URL image) over raw httpx's.
- **10 MB inline file**: tracemalloc peak over the file's size for one create that sends a
  real 9.7 MB PNG inline the SDK's way, each in a fresh process.
- **Start-up**: ``import <sdk>`` over ``import httpx`` in the same venv, and with a client
  built (the time to a usable client).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import statistics
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks import bench_startup  # runnable as a script
from benchmarks._common import CREATE_PATH, HERE, Figure, machine, python, server
from benchmarks.bench_large_image import make_image

ROOT = HERE.parent
RESULTS = HERE / "RESULTS.md"
SECTION = "## Beside the peer SDKs"  # bench_peers owns RESULTS.md from this heading on


@dataclass(frozen=True)
class Peer:
    """A client under test: its import name, what it is installed as, how a client is made."""

    module: str
    requirement: str  # pinned: a figure must say which release it measured
    client: str  # code that builds a usable client, after `import <module>`
    ways: tuple[str, ...]  # how it sends a file inline (_peer_worker.py)

    @property
    def venv(self) -> Path:
        return ROOT / ".nox" / f"peer-{self.module}"

    @property
    def python(self) -> str:
        return sys.executable if self.module == "wan_i2v" else str(self.venv / "bin" / "python")


OURS = Peer(
    "wan_i2v",
    "wan-i2v",
    "wan_i2v.Client(api_key='k', base_url='http://127.0.0.1:9')",
    ("path", "naive"),
)
PEERS = (
    Peer(
        "fal_client",
        "fal-client==1.0.3",
        "fal_client.SyncClient(key='k')._client",
        ("encode_file",),
    ),
    Peer("replicate", "replicate==1.0.7", "replicate.Client(api_token='k')._client", ("base64",)),
    Peer("openai", "openai==3.60.0", "openai.OpenAI(api_key='k')", ("chat_base64", "file_upload")),
)
BASELINE = "httpx==0.28.1"  # in every peer venv: the raw client each ratio divides by
WAYS = {
    "path": "create(image=path)",
    "naive": "naive: read, base64, json.dumps, post",
    "encode_file": "encode_file() data URI in submit()",
    "base64": 'Path input, file_encoding_strategy="base64"',
    "chat_base64": "base64 data URI in a chat message",
    "file_upload": "files.create(file=path) (multipart)",
}


def make_venvs() -> None:
    """Each peer in a venv of its own under .nox/ (pinned, with the baseline's httpx): with
    uv when it is installed (seconds), else venv and pip."""
    import importlib.util

    uv = importlib.util.find_spec("uv") is not None
    for peer in PEERS:
        wanted = [peer.requirement, BASELINE]
        if uv:
            subprocess.run(
                [
                    sys.executable,
                    "-m",
                    "uv",
                    "venv",
                    "-q",
                    "--allow-existing",
                    "--python",
                    sys.executable,
                    str(peer.venv),
                ],
                check=True,
            )
            install = [sys.executable, "-m", "uv", "pip", "install", "-q", "--python", peer.python]
        else:
            subprocess.run([sys.executable, "-m", "venv", str(peer.venv)], check=True)
            install = [peer.python, "-m", "pip", "install", "-q"]
        subprocess.run([*install, *wanted], check=True)


def _version(peer: Peer) -> str:
    code = f"import importlib.metadata as m; print(m.version({peer.requirement.split('==')[0]!r}))"
    return subprocess.run(
        [peer.python, "-c", code], capture_output=True, text=True, check=True
    ).stdout.strip()


def _worker(peer: Peer, url: str, *args: str) -> list[str]:
    return [peer.python, str(HERE / "_peer_worker.py"), peer.module, url, CREATE_PATH, *args]


def overhead(url: str, clients: tuple[Peer, ...], calls: int, rounds: int) -> list[Figure]:
    """Per-create time over raw httpx's, every worker up at once, rounds interleaved."""
    workers = {
        peer.module: subprocess.Popen(
            _worker(peer, url, "overhead", str(calls)),
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        for peer in clients
    }
    figures = {
        peer.module: Figure(f"per-create time: {peer.module}", "time per call", "report")
        for peer in clients
    }
    try:
        for process in workers.values():
            assert process.stdout is not None
            if process.stdout.readline().strip() != "ready":
                raise RuntimeError("a benchmark worker did not start")
        for number in range(rounds):
            order = list(workers)[number % len(workers) :] + list(workers)[: number % len(workers)]
            for module in order:
                process = workers[module]
                assert process.stdin is not None
                assert process.stdout is not None
                process.stdin.write(f"round {number}\n")
                process.stdin.flush()
                result = json.loads(process.stdout.readline())
                figure = figures[module]
                figure.ours.append(result["sdk"])
                figure.baseline.append(result["raw"])
                figure.ratios.append(result["sdk"] / result["raw"])
    finally:
        for process in workers.values():
            if process.stdin is not None:
                process.stdin.close()
            process.wait(timeout=30)
    for figure in figures.values():
        extra = statistics.median(a - b for a, b in zip(figure.ours, figure.baseline, strict=True))
        figure.note = (
            f"{1e6 * statistics.median(figure.ours):.0f} us vs raw "
            f"{1e6 * statistics.median(figure.baseline):.0f} us per call ({1e6 * extra:+.0f} us)"
        )
    return list(figures.values())


def memory(url: str, clients: tuple[Peer, ...], image: Path, reps: int) -> list[Figure]:
    """Peak traced memory over the file's size, one fresh process per measurement."""
    size = image.stat().st_size
    figures: list[Figure] = []
    for peer in clients:
        for way in peer.ways:
            figure = Figure(
                f"10 MB inline file: {peer.module}, {WAYS[way]}", "peak / file size", "report"
            )
            for _ in range(reps):
                out = subprocess.run(
                    _worker(peer, url, "memory", str(image), way),
                    capture_output=True,
                    text=True,
                    check=True,
                )
                figure.ours.append(int(out.stdout.split()[-1]) / size)
                figure.ratios.append(figure.ours[-1])
            figure.note = f"max {max(figure.ours):.3f}x of {size:,} bytes"
            figures.append(figure)
    return figures


def startup(clients: tuple[Peer, ...], rounds: int) -> list[Figure]:
    """``import <sdk>`` and ``import`` + a client, over httpx's, each in the SDK's own venv."""
    no_click = bench_startup.NO_CLICK
    figures = []
    for peer in clients:
        pythons = {"ours_python": peer.python, "baseline_python": peer.python, "who": peer.module}
        imports = bench_startup.figure_of(
            f"start-up (import): {peer.module}",
            "report",
            f"{no_click}import {peer.module}",
            f"{no_click}import httpx",
            rounds,
            **pythons,
        )
        client = bench_startup.figure_of(
            f"start-up to a usable client: {peer.module}",
            "report",
            f"{no_click}import {peer.module}; {peer.client}",
            f"{no_click}import httpx; httpx.Client()",
            rounds,
            **pythons,
        )
        figures += [imports, client]
    return figures


def run(quick: bool) -> tuple[list[Figure], str]:
    clients = (OURS, *PEERS)
    missing = [str(p.venv) for p in PEERS if not Path(p.python).exists()]
    if missing:
        raise SystemExit(f"no peer venv at {', '.join(missing)}: run `nox -s bench_peers`")
    calls, rounds = (30, 5) if quick else (300, 15)
    figures: list[Figure] = []
    with tempfile.TemporaryDirectory() as tmp, server("_peer_server.py", CREATE_PATH) as url:
        image = make_image(Path(tmp))
        for module, ways in ((p.module, p.ways) for p in clients):
            print(f"  {module}: {', '.join(ways)}", file=sys.stderr, flush=True)
        figures += overhead(url, clients, calls, rounds)
        figures += memory(url, clients, image, 1 if quick else 3)
    figures += startup(clients, 5 if quick else 11)
    versions = ", ".join(f"{p.requirement.split('==')[0]} {_version(p)}" for p in PEERS)
    return figures, versions


def section(figures: list[Figure], versions: str, quick: bool) -> str:
    from benchmarks.run_all import table

    return (
        f"{SECTION}\n\n"
        f"{dt.date.today().isoformat()} on {machine()}; {python()}; {versions}."
        f"{' Quick mode.' if quick else ''} "
        "`nox -s bench_peers`: each SDK in a venv of its own with httpx 0.28.1 for the "
        "baseline, one local server (`_peer_server.py`) answering each SDK the shape it "
        "expects; every worker up at once, rounds interleaved, each ratio taken inside one "
        "process. fal-client has no base-URL setting: its module constants (`QUEUE_URL_FORMAT`, "
        "`RUN_URL_FORMAT`, `REST_URL`, `CDN_URL`, all `https://`) are pointed at the local "
        "server in its own venv (`_peer_worker.py`). openai 3.x sends through `httpx2`, its "
        "own fork of httpx; its baseline is still httpx 0.28.1.\n\n"
        f"{table(figures, 'the client / raw httpx')}\n"
    )


def write(text: str) -> None:
    """Put this section into RESULTS.md in place of the last one, leaving the rest as is."""
    current = RESULTS.read_text(encoding="utf-8") if RESULTS.exists() else "# Benchmark results\n"
    head = current.split(SECTION, 1)[0].rstrip("\n")
    RESULTS.write_text(f"{head}\n\n{text}", encoding="utf-8")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a few iterations only")
    parser.add_argument("--no-write", action="store_true", help="do not write RESULTS.md")
    parser.add_argument("--make-venvs", action="store_true", help="make the peers' venvs first")
    args = parser.parse_args()
    if args.make_venvs:
        make_venvs()
    figures, versions = run(args.quick)
    text = section(figures, versions, args.quick)
    print(text)
    if not args.no_write:
        write(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
