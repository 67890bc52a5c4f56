"""The I/O primitives of the sync client: the twins of _async_io.py, same names, no awaits.

``_client.py`` is generated from ``_async_client.py`` (scripts/unasync.py), which imports
these where the async source imports _async_io.
"""

from __future__ import annotations

import inspect
import threading
import time
from collections.abc import Callable, Iterable
from typing import ParamSpec, TypeVar

from ._body import StreamedBody, Upload

P = ParamSpec("P")
# Bounds how many creates one client has in flight across the threads that share it.
Semaphore = threading.Semaphore
T = TypeVar("T")


def sleep(seconds: float) -> None:
    time.sleep(seconds)


def run_blocking(function: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
    """Blocking work, run where we are: the sync client has no event loop to keep free."""
    return function(*args, **kwargs)


def upload(body: StreamedBody) -> Iterable[bytes]:
    """A streamed request body as ``httpx.Client`` takes it."""
    return Upload(body)


def call_hook(hook: Callable[..., object], *args: object) -> None:
    """A user's callback. A coroutine function cannot be awaited here: refused (before the
    POST), since a journal hook that silently never runs is how a task gets paid twice."""
    result = hook(*args)
    if inspect.isawaitable(result):
        if inspect.iscoroutine(result):
            result.close()  # never awaited: no "was never awaited" warning
        raise TypeError(
            "a coroutine function was given as a callback of the sync Client: use AsyncClient"
        )
