"""A 10 MB local image: Client.create(image=path) against reading the file, base64,
json.dumps and posting by hand. Targets: faster than the baseline; peak memory <= 1.2x the
files' size (tracemalloc, each side in a fresh process), sync, async, and image + last_frame."""

from __future__ import annotations

import json
import statistics
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
def ours_two():
    client.create(image=path, last_frame=path, prompt="p")
def ours_async():
    import asyncio
    async def go():
        async with wan_i2v.AsyncClient(base_url=url, api_key="bench-key") as c:
            await c.create(image=path, prompt="p")
    asyncio.run(go())
def baseline():
    with open(path, "rb") as f:
        data = f.read()
    body = {"prompt": "p", "image": "data:image/png;base64," + base64.b64encode(data).decode()}
    http.post(wan_i2v._spec_facts.CREATE_PATH,
              content=json.dumps(body), headers={"content-type": "application/json"}).json()
run = {"ours": ours, "ours-async": ours_async, "ours-two": ours_two, "baseline": baseline}[side]
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
    memory = Figure("a 10 MB local image: peak memory", "peak / file size", "<= 1.2x the file")
    memory_async = Figure(
        "a 10 MB local image: peak memory, AsyncClient", "peak / file size", "<= 1.2x the file"
    )
    memory_two = Figure(
        "10 MB image + 10 MB last_frame: peak memory", "peak / files' size", "<= 1.2x the files"
    )
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
        for _ in range(1 if quick else 5):
            baseline = peak("baseline", url, path) / size
            for figure, side, files in (
                (memory, "ours", 1),
                (memory_async, "ours-async", 1),
                (memory_two, "ours-two", 2),
            ):
                figure.ours.append(peak(side, url, path) / (files * size))
                figure.baseline.append(baseline)
                figure.ratios.append(figure.ours[-1])
    speed.met = speed.median < 1.0
    speed.note = (
        f"file {size:,} bytes; ours {1e3 * statistics.median(speed.ours):.0f} ms, "
        f"baseline {1e3 * statistics.median(speed.baseline):.0f} ms"
    )
    for figure in (memory, memory_async, memory_two):
        figure.met = max(figure.ours) <= 1.2
        figure.note = (
            f"max {max(figure.ours):.3f}x for ours; the baseline (read, base64, json.dumps) "
            f"{statistics.median(figure.baseline):.2f}x the file"
        )
    return [speed, memory, memory_async, memory_two]
