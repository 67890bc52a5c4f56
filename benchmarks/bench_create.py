"""One create call with a URL image: Client.create against httpx.Client.post of the same
JSON over the same kept-alive connection. Target: at most 1.10x the time."""

from __future__ import annotations

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
    figure = Figure("one create call (URL image)", "time per call", "<= 1.10x")
    with (
        server() as url,
        wan_i2v.Client(base_url=url, api_key=KEY) as client,
        httpx.Client(base_url=url, headers={"Authorization": f"Bearer {KEY}"}) as http,
    ):

        def ours() -> float:
            started = time.perf_counter()
            for _ in range(calls):
                client.create(image=IMAGE, prompt=PROMPT)
            return (time.perf_counter() - started) / calls

        def baseline() -> float:
            started = time.perf_counter()
            for _ in range(calls):
                http.post(CREATE_PATH, json=BODY).json()  # a caller reads the task id too
            return (time.perf_counter() - started) / calls

        ours(), baseline()  # warm both connections and code paths
        alternate(rounds, ours, baseline, figure)
    figure.met = figure.median <= 1.10
    figure.note = (
        f"ours {1e6 * sorted(figure.ours)[len(figure.ours) // 2]:.0f} us, "
        f"baseline {1e6 * sorted(figure.baseline)[len(figure.baseline) // 2]:.0f} us per call"
    )
    return [figure]
