"""One deadline for a whole operation (a wait, a download): every request inside it gets
what is left, its timeout and any sleep before a retry included."""

from __future__ import annotations

import math
import time
from collections.abc import Callable

import httpx

# Below this, a request cannot even connect: give up instead of sending it.
MIN_REQUEST_SECONDS = 0.05


class Deadline:
    """``seconds`` from now on the monotonic clock; ``None`` means no deadline."""

    __slots__ = ("_clock", "_end", "started")

    def __init__(
        self, seconds: float | None, *, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._clock = clock
        self.started = clock()
        self._end = math.inf if seconds is None else self.started + seconds

    def remaining(self) -> float:
        """Seconds left (``inf`` without a deadline); never negative."""
        return max(0.0, self._end - self._clock())

    def elapsed(self) -> float:
        return self._clock() - self.started

    @property
    def expired(self) -> bool:
        return self.remaining() <= 0

    def request_timeout(self, per_request: float) -> httpx.Timeout:
        """The timeout of one request: its own, shortened to what is left."""
        return httpx.Timeout(max(MIN_REQUEST_SECONDS, min(per_request, self.remaining())))

    def cap_sleep(self, seconds: float) -> float:
        """A sleep that ends at the deadline at the latest."""
        return max(0.0, min(seconds, self.remaining()))
