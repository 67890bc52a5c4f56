"""The I/O primitives the async client awaits, paired one for one with _sync_io.py.

scripts/unasync.py rewrites ``_async_client.py`` into ``_client.py`` by swapping this module for
_sync_io and dropping the awaits, so each primitive here has a twin there with the same name and
signature. Keep them that small: rules live elsewhere, written once.
"""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import AsyncIterable, Callable
from typing import ParamSpec, TypeVar

from ._body import AsyncUpload, StreamedBody

P = ParamSpec("P")
# Bounds how many creates one client has in flight (``async with``); made in __init__, which
# may run outside any event loop: asyncio's primitives bind to a loop on first use only.
Semaphore = asyncio.Semaphore
T = TypeVar("T")


async def sleep(seconds: float) -> None:
    await asyncio.sleep(seconds)


async def run_blocking(function: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
    """File reading and other blocking work, off the event loop (in a worker thread)."""
    return await asyncio.to_thread(function, *args, **kwargs)


def upload(body: StreamedBody) -> AsyncIterable[bytes]:
    """A streamed request body as ``httpx.AsyncClient`` takes it."""
    return AsyncUpload(body)


async def call_hook(hook: Callable[..., object], *args: object) -> None:
    """A user's callback, which on the async client may be a coroutine function."""
    result = hook(*args)
    if inspect.isawaitable(result):
        await result
