"""asyncio cancellation after the create keeps the paid task's id: the CancelledError (or the
TimeoutError that asyncio.wait_for raises from it) carries a note naming the task and how to
finish it, logged once at WARNING, and it stays a CancelledError (never swallowed)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterator

import pytest

import wan_i2v
from wan_i2v.sandbox import RunningSandbox, SandboxConfig, serve

URL_IMAGE = "https://example.com/flower.jpg"


@pytest.fixture
def slow_sandbox() -> Iterator[RunningSandbox]:
    with serve(SandboxConfig(task_seconds=60)) as running:
        yield running


def _notes(exc: BaseException) -> str:
    return "\n".join(getattr(exc, "__notes__", ()))


def test_wait_for_timeout_after_the_create_names_the_task(
    slow_sandbox: RunningSandbox, caplog: pytest.LogCaptureFixture
) -> None:
    """asyncio.wait_for(generate(), 2): TimeoutError from a CancelledError that carries the
    task id, and one WARNING on wan_i2v with it."""
    created: list[str] = []

    async def main() -> None:
        async with wan_i2v.AsyncClient(base_url=slow_sandbox.url, api_key="k") as client:
            await asyncio.wait_for(
                client.generate(
                    image=URL_IMAGE, prompt="p", on_created=lambda t: created.append(t.id)
                ),
                2,
            )

    with caplog.at_level(logging.WARNING, logger="wan_i2v"), pytest.raises(TimeoutError) as info:
        asyncio.run(main())
    (task_id,) = created
    cause = info.value.__cause__ or info.value.__context__
    assert isinstance(cause, asyncio.CancelledError)
    assert task_id in _notes(cause)
    assert f"wait({task_id!r})" in _notes(cause)
    warnings = [r for r in caplog.records if task_id in r.getMessage()]
    assert len(warnings) == 1
    assert warnings[0].levelno == logging.WARNING


def test_task_cancel_during_wait_stays_cancelled_with_a_note(
    slow_sandbox: RunningSandbox, caplog: pytest.LogCaptureFixture
) -> None:
    """task.cancel() while generate waits: a CancelledError (structured concurrency keeps
    working) whose note names the task; nothing converts it."""
    created: list[str] = []
    caught: list[BaseException] = []

    async def main() -> None:
        async with wan_i2v.AsyncClient(base_url=slow_sandbox.url, api_key="k") as client:
            job = asyncio.ensure_future(
                client.generate(
                    image=URL_IMAGE, prompt="p", on_created=lambda t: created.append(t.id)
                )
            )
            while not created:
                await asyncio.sleep(0.05)
            await asyncio.sleep(0.3)
            job.cancel()
            try:
                await job
            except asyncio.CancelledError as exc:
                caught.append(exc)

    with caplog.at_level(logging.WARNING, logger="wan_i2v"):
        asyncio.run(main())
    (exc,) = caught
    assert type(exc) is asyncio.CancelledError
    assert created[0] in _notes(exc)
    assert sum(created[0] in r.getMessage() for r in caplog.records) == 1


def test_cancellation_before_the_create_names_no_task(slow_sandbox: RunningSandbox) -> None:
    """Cancelled before anything was created: no note, no task to speak of."""

    async def main() -> None:
        async with wan_i2v.AsyncClient(base_url=slow_sandbox.url, api_key="k") as client:

            async def before(_: object) -> None:
                raise asyncio.CancelledError

            await client.generate(image=URL_IMAGE, prompt="p", before_create=before)

    with pytest.raises(asyncio.CancelledError) as info:
        asyncio.run(main())
    assert _notes(info.value) == ""
