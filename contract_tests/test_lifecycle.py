"""The whole lifecycle through the wrapper against the sandbox over real loopback HTTP."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import stamina
from PIL import Image

import wan_i2v
from wan_i2v.sandbox import RunningSandbox, SandboxConfig, serve

from ._support import CONTRACT_KEY


@pytest.fixture
def image(tmp_path: Path) -> Path:
    path = tmp_path / "portrait.jpg"
    Image.new("RGB", (720, 1280), (200, 120, 40)).save(path, quality=80)
    return path


@pytest.fixture
def sandbox() -> Iterator[RunningSandbox]:
    with serve(SandboxConfig(api_key=CONTRACT_KEY, task_seconds=0.3)) as running:
        yield running


def run(
    kind: str, sandbox: RunningSandbox, scenario: str, *, key: str = CONTRACT_KEY, **kwargs: Any
) -> Any:
    """Call one method on a fresh client of the given kind (sync or async)."""
    if kind == "sync":
        with wan_i2v.Client(base_url=sandbox.url, api_key=key) as client:
            return getattr(client, scenario)(**kwargs)

    async def go() -> Any:
        async with wan_i2v.AsyncClient(base_url=sandbox.url, api_key=key) as client:
            return await getattr(client, scenario)(**kwargs)

    return asyncio.run(go())


KINDS = ["sync", "async"]


@pytest.mark.parametrize("kind", KINDS)
def test_generate_end_to_end(
    kind: str, sandbox: RunningSandbox, image: Path, tmp_path: Path
) -> None:
    """create, wait and download give a real MP4 in the image's aspect ratio, one task."""
    statuses: list[str] = []
    out = run(kind, sandbox, "generate", image=image, prompt="The figure waves",
              output=tmp_path / "out.mp4", poll_interval=0.1,
              on_status=lambda t: statuses.append(t.status))  # fmt: skip
    data = out.read_bytes()
    assert data[4:8] == b"ftyp"
    assert statuses[-1] == "completed"
    assert statuses[0] in ("pending", "processing")
    assert sandbox.state.tasks_created == 1
    assert sandbox.state.file_requests_with_auth == 0  # the key stayed with the API


@pytest.mark.parametrize("kind", KINDS)
def test_failed_task_raises_with_its_error(kind: str, image: Path) -> None:
    """A task the sandbox fails surfaces as TaskFailedError with code 3001."""
    with serve(SandboxConfig(api_key=CONTRACT_KEY, task_seconds=0, fail_rate=1.0)) as sandbox:
        task = run(kind, sandbox, "create", image=image, prompt="p")
        with pytest.raises(wan_i2v.TaskFailedError) as info:
            run(kind, sandbox, "wait", task_or_id=task.id, poll_interval=0.05)
    assert info.value.code == 3001
    assert info.value.task_id == task.id


@pytest.mark.parametrize("kind", KINDS)
def test_429_is_retried_after_retry_after(kind: str, sandbox: RunningSandbox) -> None:
    """A create answered 429 with Retry-After: 0.4 is sent again after that wait, once."""
    sandbox.state.inject(429, operation="create", retry_after=0.4)
    with stamina.set_testing(False):
        started = time.monotonic()
        task = run(kind, sandbox, "create", image="https://example.com/a.jpg", prompt="p")
        elapsed = time.monotonic() - started
    assert task.status == "pending"
    assert elapsed >= 0.4
    assert sandbox.state.tasks_created == 1
    assert [m for m, _ in sandbox.state.requests].count("POST") == 2


@pytest.mark.parametrize("kind", KINDS)
def test_5xx_on_create_never_makes_a_second_task(kind: str, sandbox: RunningSandbox) -> None:
    """The sandbox makes the task, then answers 503: the client does not POST again."""
    sandbox.state.inject(503, operation="create", after_create=True)
    with pytest.raises(wan_i2v.CreateOutcomeUnknownError):
        run(kind, sandbox, "create", image="https://example.com/a.jpg", prompt="p")
    assert sandbox.state.tasks_created == 1
    assert [m for m, _ in sandbox.state.requests].count("POST") == 1


@pytest.mark.parametrize("kind", KINDS)
def test_status_errors_while_waiting_are_ridden_out(kind: str, sandbox: RunningSandbox) -> None:
    """Two 503s on status checks do not end the wait: the task still arrives."""
    task = run(kind, sandbox, "create", image="https://example.com/a.jpg", prompt="p")
    sandbox.state.inject(503, operation="get", count=2)
    done = run(kind, sandbox, "wait", task_or_id=task.id, poll_interval=0.05)
    assert done.is_success


@pytest.mark.parametrize("kind", KINDS)
def test_wrong_key_is_an_authentication_error(kind: str, sandbox: RunningSandbox) -> None:
    """The sandbox's 401 reaches the user as AuthenticationError, naming the variable."""
    with pytest.raises(wan_i2v.AuthenticationError, match="MULEROUTER_API_KEY"):
        run(kind, sandbox, "get", key="wrong", task_id="3c90c3cc-0d44-4b50-8888-8dd25736052a")
