"""One deadline for a whole operation (a wait, a download): every request inside it gets
what is left, its timeout and any sleep before a retry included."""

from __future__ import annotations

import math
import time
from collections.abc import Callable

import httpx

# The least time a request is given, even at the deadline: less would only turn a slow
# answer into a timeout that hides what the server said.
MIN_REQUEST_SECONDS = 0.5


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

    def for_request(self, per_request: float) -> Deadline:
        """The deadline of one request inside this one: its own timeout, shortened to what
        is left, but never below ``MIN_REQUEST_SECONDS``."""
        return Deadline(max(MIN_REQUEST_SECONDS, min(per_request, self.remaining())))

    @property
    def timeout(self) -> httpx.Timeout:
        """This deadline as httpx's per-request timeout (each of connect, read, write, pool)."""
        return httpx.Timeout(self.remaining())

    def cap_sleep(self, seconds: float) -> float:
        """A sleep that ends at the deadline at the latest."""
        return max(0.0, min(seconds, self.remaining()))


def checked_seconds(name: str, value: object, *, negative_ok: bool = False) -> float:
    """A caller's number of seconds (>= 0 unless ``negative_ok``), else ``ValidationError``
    naming it, before anything is sent: ``download(timeout="x")`` must not reach the network."""
    from ._errors import ValidationError  # _errors imports nothing of ours; keep it that way

    if isinstance(value, bool) or not isinstance(value, int | float) or value != value:
        raise ValidationError(field=name, problem=f"must be a number of seconds, got {value!r}")
    if value < 0 and not negative_ok:
        raise ValidationError(field=name, problem=f"must be seconds >= 0, got {value!r}")
    return float(value)
