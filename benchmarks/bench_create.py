"""One create call with a URL image: Client.create against httpx.Client.post of the same
JSON over the same kept-alive connection, reading its JSON. Target: at most 1.08x the time.

Beside the wall time, the client process's CPU time per call (``time.process_time``): the
server runs in another process, so this is the client's own work, and on a shared machine it
is the steadier of the two figures."""

from __future__ import annotations

import statistics
import time

import httpx

import wan_i2v

from ._common import CREATE_PATH, KEY, Figure, alternate, server

IMAGE = "https://example.com/flower.jpg"
PROMPT = "Flowers swaying in the wind"
BODY = {
    "prompt": PROMPT,
    "image": IMAGE,
    "resolution": "1080P",
    "duration": 5,
    "prompt_extend": True,
}


def run(quick: bool) -> list[Figure]:
    calls, rounds = (30, 4) if quick else (300, 15)
    figure = Figure("one create call (URL image)", "time per call", "<= 1.08x")
    cpu = Figure("one create call: client CPU", "CPU time per call", "<= 1.08x")
    with (
        server() as url,
        wan_i2v.Client(base_url=url, api_key=KEY) as client,
        httpx.Client(base_url=url, headers={"Authorization": f"Bearer {KEY}"}) as http,
    ):

        def ours() -> float:
            started, cpu_started = time.perf_counter(), time.process_time()
            for _ in range(calls):
                client.create(image=IMAGE, prompt=PROMPT)
            cpu.ours.append((time.process_time() - cpu_started) / calls)
            return (time.perf_counter() - started) / calls

        def baseline() -> float:
            started, cpu_started = time.perf_counter(), time.process_time()
            for _ in range(calls):
                http.post(CREATE_PATH, json=BODY).json()  # a caller reads the task id too
            cpu.baseline.append((time.process_time() - cpu_started) / calls)
            return (time.perf_counter() - started) / calls

        ours(), baseline()  # warm both connections and code paths
        cpu.ours.clear(), cpu.baseline.clear()
        alternate(rounds, ours, baseline, figure)
    cpu.ratios = [a / b for a, b in zip(cpu.ours, cpu.baseline, strict=True)]
    for f in (figure, cpu):
        f.met = f.median <= 1.08
        f.note = (
            f"ours {1e6 * statistics.median(f.ours):.0f} us, "
            f"baseline {1e6 * statistics.median(f.baseline):.0f} us per call"
        )
    return [figure, cpu]
