"""1,000 concurrent ``AsyncClient.generate()`` against the sandbox: no paid task is lost.

Every create either has its id (the video, or an error carrying ``task_id``) or provably never
left the machine (a connection error, which is not "outcome unknown"). Creates wait their turn
unsent behind ``max_concurrent_creates``, so status checks are not starved of connections."""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from pathlib import Path

import pytest
from PIL import Image

import wan_i2v
from wan_i2v.sandbox import SandboxConfig, serve

JOBS = 1000


@pytest.mark.load
def test_a_thousand_concurrent_generates_lose_no_paid_task(tmp_path: Path) -> None:
    """1,000 generate() at once: tasks the sandbox created == ids the caller holds, no
    'outcome unknown', every video written."""
    image = tmp_path / "in.png"
    Image.new("RGB", (640, 480), (30, 120, 200)).save(image)
    out = tmp_path / "videos"
    known: set[str] = set()
    outcomes: Counter[str] = Counter()

    async def one(client: wan_i2v.AsyncClient, n: int) -> None:
        try:
            await client.generate(
                image=image,
                prompt="p",
                output=out / f"{n}.mp4",
                timeout=300,
                on_created=lambda task: known.add(task.id),
            )
            outcomes["video"] += 1
        except wan_i2v.CreateOutcomeUnknownError:
            outcomes["unknown"] += 1
        except wan_i2v.WanI2VError as exc:
            outcomes[type(exc).__name__] += 1
            if exc.task_id is not None:
                known.add(exc.task_id)

    async def main() -> None:
        async with wan_i2v.AsyncClient(base_url=running.url, api_key="k") as client:
            await asyncio.gather(*(one(client, n) for n in range(JOBS)))

    with serve(SandboxConfig(task_seconds=1.0)) as running:
        started = time.monotonic()
        asyncio.run(main())
        elapsed = time.monotonic() - started
        created = running.state.tasks_created
    print(f"\n{JOBS} generates in {elapsed:.1f} s: {dict(outcomes)}; {created} tasks created")
    assert outcomes["unknown"] == 0
    assert created == len(known)  # every paid task's id is held by the caller
    assert outcomes["video"] == JOBS
    assert len(list(out.iterdir())) == JOBS
