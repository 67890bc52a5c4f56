"""Shared test setup: no network, no real key, no backoff sleeps, no leaking environment."""

from __future__ import annotations

import asyncio
import inspect
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import respx
import stamina

import wan_i2v
from wan_i2v import _spec_facts as facts


@pytest.fixture(autouse=True)
def _isolated_environment(
    monkeypatch: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory
) -> None:
    """Each test starts without MULEROUTER_* variables, in an empty working directory
    (so that no developer's .env is read)."""
    for name in list(os.environ):
        if name.startswith("MULEROUTER_"):
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path_factory.mktemp("cwd"))


@pytest.fixture(autouse=True)
def _instant_retries() -> Iterator[None]:
    """Retries keep their count but do not sleep (stamina's testing mode)."""
    with stamina.set_testing(True, attempts=10, cap=True):
        yield


# --- Clients against a mocked API ----------------------------------------------------------

KEY = "sk-test-SECRET-4242"  # recognisable, so tests can search every output for it
BASE = "https://api.mulerouter.ai"
CREATE_PATH = facts.CREATE_PATH  # the spec's, never typed out
TASK_ID = "3c90c3cc-0d44-4b50-8888-8dd25736052a"
TASK_PATH = facts.GET_PATH.format(task_id=TASK_ID)
VIDEO_URL = "https://videos.example.com/out/3c90c3cc.mp4"


def task_json(
    status: str = "pending",
    *,
    videos: list[str] | None = None,
    error: dict[str, Any] | None = None,
    task_id: str = TASK_ID,
) -> dict[str, Any]:
    """A task envelope as the API sends it."""
    info: dict[str, Any] = {
        "id": task_id,
        "status": status,
        "created_at": "2023-11-07T05:31:56Z",
        "updated_at": "2023-11-07T05:32:10Z",
    }
    if error is not None:
        info["error"] = error
    body: dict[str, Any] = {"task_info": info}
    if videos is not None:
        body["videos"] = videos
    return body


class SyncOrAsync:
    """Calls a Client's or an AsyncClient's methods the same way, so one test covers both."""

    def __init__(self, client: wan_i2v.Client | wan_i2v.AsyncClient) -> None:
        self.client = client
        self.is_async = isinstance(client, wan_i2v.AsyncClient)

    def __getattr__(self, name: str) -> Any:
        method = getattr(self.client, name)

        def call(*args: Any, **kwargs: Any) -> Any:
            result = method(*args, **kwargs)
            return asyncio.run(result) if inspect.iscoroutine(result) else result

        return call


@pytest.fixture
def api() -> Iterator[respx.MockRouter]:
    """The API, mocked: routes are added per test; unmatched requests fail the test."""
    with respx.mock(base_url=BASE, assert_all_called=False) as router:
        yield router


@pytest.fixture(params=["sync", "async"])
def make_client(request: pytest.FixtureRequest) -> Any:
    """A factory of clients of both kinds (the test runs once for each)."""

    def factory(**kwargs: Any) -> SyncOrAsync:
        kwargs.setdefault("api_key", KEY)
        cls = wan_i2v.Client if request.param == "sync" else wan_i2v.AsyncClient
        return SyncOrAsync(cls(**kwargs))

    return factory


@pytest.fixture
def client(make_client: Any) -> SyncOrAsync:
    """A client of each kind with the default settings and a test key."""
    return make_client()  # type: ignore[no-any-return]


@pytest.fixture
def image_path(tmp_path: Path) -> Path:
    """A real 640x480 PNG on disk."""
    from PIL import Image

    path = tmp_path / "input.png"
    Image.new("RGB", (640, 480), (30, 120, 200)).save(path)
    return path


@pytest.fixture(params=["sync", "async"])
def using(request: pytest.FixtureRequest) -> Any:
    """Run ``call(client)`` on a fresh client of each kind, closed afterwards, the async one
    inside a single event loop (real sockets cannot outlive their loop)."""

    def run(call: Any, **kwargs: Any) -> Any:
        kwargs.setdefault("api_key", KEY)
        if request.param == "sync":
            with wan_i2v.Client(**kwargs) as client:
                return call(client)

        async def main() -> Any:
            async with wan_i2v.AsyncClient(**kwargs) as client:
                result = call(client)
                return await result if inspect.isawaitable(result) else result

        return asyncio.run(main())

    return run
