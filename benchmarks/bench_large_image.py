"""A 10 MB local image: Client.create(image=path) against reading the file, base64,
json.dumps and posting by hand. Targets: faster than the baseline; peak memory <= 3x the
file size (tracemalloc, each side in a fresh process)."""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from ._common import CREATE_PATH, HERE, KEY, Figure, alternate, server

# Run in a fresh interpreter per measurement so one side's garbage never counts for the other.
MEMORY_PROBE = r"""
import base64, json, sys, tracemalloc
import httpx, wan_i2v, wan_i2v._spec_facts
side, url, path = sys.argv[1:4]
client = wan_i2v.Client(base_url=url, api_key="bench-key")
http = httpx.Client(base_url=url, headers={"Authorization": "Bearer bench-key"})
def ours():
    client.create(image=path, prompt="p")
def baseline():
    with open(path, "rb") as f:
        data = f.read()
    body = {"prompt": "p", "image": "data:image/png;base64," + base64.b64encode(data).decode()}
    http.post(wan_i2v._spec_facts.CREATE_PATH,
              content=json.dumps(body), headers={"content-type": "application/json"}).json()
run = ours if side == "ours" else baseline
run()  # warm: imports and connections are not what is measured
tracemalloc.start()
run()
print(tracemalloc.get_traced_memory()[1])
"""


def make_image(directory: Path) -> Path:
    """A real PNG just under 10,000,000 bytes: 1800x1800 noise, stored uncompressed."""
    import os

    from PIL import Image

    side = 1800
    image = Image.frombytes("RGB", (side, side), os.urandom(side * side * 3))
    path = directory / "large.png"
    image.save(path, compress_level=0)
    assert path.stat().st_size < 10_000_000
    return path


def peak(side: str, url: str, path: Path) -> int:
    out = subprocess.run(
        [sys.executable, "-c", MEMORY_PROBE, side, url, str(path)],
        capture_output=True,
        text=True,
        check=True,
        cwd=HERE.parent,
    )
    return int(out.stdout.strip().splitlines()[-1])


def run(quick: bool) -> list[Figure]:
    import base64

    import httpx

    import wan_i2v

    rounds = 3 if quick else 9
    speed = Figure("a 10 MB local image: time", "time per call", "< 1.00x (faster)")
    memory = Figure("a 10 MB local image: peak memory", "peak / file size", "<= 3x the file")
    with tempfile.TemporaryDirectory() as tmp, server() as url:
        path = make_image(Path(tmp))
        size = path.stat().st_size
        with (
            wan_i2v.Client(base_url=url, api_key=KEY) as client,
            httpx.Client(base_url=url, headers={"Authorization": f"Bearer {KEY}"}) as http,
        ):

            def ours() -> float:
                started = time.perf_counter()
                client.create(image=path, prompt="p")
                return time.perf_counter() - started

            def baseline() -> float:
                started = time.perf_counter()
                data = path.read_bytes()
                body = {
                    "prompt": "p",
                    "image": "data:image/png;base64," + base64.b64encode(data).decode(),
                }
                http.post(
                    CREATE_PATH,
                    content=json.dumps(body),
                    headers={"content-type": "application/json"},
                ).json()
                return time.perf_counter() - started

            ours(), baseline()
            alternate(rounds, ours, baseline, speed)
        for _ in range(1 if quick else 3):
            memory.ours.append(peak("ours", url, path) / size)
            memory.baseline.append(peak("baseline", url, path) / size)
            memory.ratios.append(memory.ours[-1])
    speed.met = speed.median < 1.0
    speed.note = f"file {size:,} bytes"
    memory.met = max(memory.ours) <= 3.0
    memory.note = (
        f"peak {max(memory.ours):.2f}x the file for ours, "
        f"{max(memory.baseline):.2f}x for the baseline"
    )
    return [speed, memory]
