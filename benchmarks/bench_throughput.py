"""Throughput: creates at concurrency 50 through AsyncClient against httpx.AsyncClient.
Target: at least 0.9x the baseline's requests per second."""

from __future__ import annotations

import asyncio
import time

import httpx

import wan_i2v

from ._common import CREATE_PATH, KEY, Figure, alternate, server

IMAGE = "https://example.com/flower.jpg"
BODY = {"prompt": "p", "image": IMAGE, "resolution": "1080P", "duration": 5, "prompt_extend": True}
CONCURRENCY = 50


async def _drive(total: int, call: object) -> float:
    semaphore = asyncio.Semaphore(CONCURRENCY)

    async def one() -> None:
        async with semaphore:
            await call()  # type: ignore[operator]

    started = time.perf_counter()
    await asyncio.gather(*(one() for _ in range(total)))
    return total / (time.perf_counter() - started)


def run(quick: bool) -> list[Figure]:
    total, rounds = (200, 2) if quick else (1000, 7)
    figure = Figure(
        f"throughput ({total} creates, concurrency {CONCURRENCY})", "requests/s", ">= 0.90x"
    )
    limits = httpx.Limits(max_connections=CONCURRENCY, max_keepalive_connections=CONCURRENCY)
    with server() as url:

        def ours() -> float:
            async def go() -> float:
                http = httpx.AsyncClient(limits=limits)
                # As many creates in flight as the baseline has (the default bounds them at
                # 8, which a like-for-like throughput figure must not hide behind).
                async with wan_i2v.AsyncClient(
                    base_url=url, api_key=KEY, http_client=http, max_concurrent_creates=CONCURRENCY
                ) as c:
                    try:
                        return await _drive(total, lambda: c.create(image=IMAGE, prompt="p"))
                    finally:
                        await http.aclose()

            return asyncio.run(go())

        def baseline() -> float:
            async def go() -> float:
                async with httpx.AsyncClient(
                    base_url=url, headers={"Authorization": f"Bearer {KEY}"}, limits=limits
                ) as http:

                    async def call() -> None:
                        (await http.post(CREATE_PATH, json=BODY)).json()

                    return await _drive(total, call)

            return asyncio.run(go())

        alternate(rounds, ours, baseline, figure, higher_is_better=True)
    figure.met = figure.median >= 0.9
    figure.note = (
        f"ours {sorted(figure.ours)[len(figure.ours) // 2]:.0f} req/s, "
        f"baseline {sorted(figure.baseline)[len(figure.baseline) // 2]:.0f} req/s"
    )
    return [figure]
