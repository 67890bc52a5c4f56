"""One deadline for a whole operation (a wait, a download): every request inside it gets
what is left, its timeout and any sleep before a retry included.

The *current* deadline (``deadline_scope``) is what every socket operation of our pools, and
every request sent through a user's client, is held to (spec/DECISIONS.md, D15; the streams
that apply it are in _socket_deadline.py). It is a ``ContextVar``: per thread in sync code,
per task in async code, so concurrent calls never see each other's deadline.
"""

from __future__ import annotations

import contextlib
import contextvars
import math
import time
from collections.abc import Callable, Iterator

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


_current: contextvars.ContextVar[Deadline | None] = contextvars.ContextVar(
    "wan_i2v_deadline", default=None
)


@contextlib.contextmanager
def deadline_scope(deadline: Deadline) -> Iterator[None]:
    """Every socket operation inside the block ends by ``deadline`` (or by an enclosing
    scope's deadline, if that one ends first). Around a request *and* the reading of its
    body: a body is read from the socket long after ``send`` returned."""
    outer = _current.get()
    if outer is not None and outer.remaining() < deadline.remaining():
        deadline = outer
    token = _current.set(deadline)
    try:
        yield
    finally:
        _current.reset(token)


def current_deadline() -> Deadline | None:
    """The deadline of the enclosing ``deadline_scope``, if any."""
    return _current.get()


def capped(
    deadline: Deadline | None, timeout: float | None, expired: type[Exception]
) -> float | None:
    """The one rule, sync and async: the timeout for one operation is its own, capped at what
    is left of ``deadline`` (unchanged without one).

    Capping alone is not enough: a server that trickles a byte every 0.25 s never makes one
    read wait long. So this is asked *before* every read, write and connect, and raises once
    nothing is left; a read already waiting ends at the deadline because its timeout was
    capped. Together: a request ends within one read of its deadline.

    Raises:
        expired: the deadline has passed.
    """
    if deadline is None:
        return timeout
    remaining = deadline.remaining()
    if remaining <= 0:
        raise expired(f"the deadline passed ({deadline.elapsed():.1f} s after it was set)")
    return remaining if timeout is None else min(timeout, remaining)


def time_left(timeout: float | None, expired: type[Exception]) -> float | None:
    """``capped`` against the current deadline."""
    return capped(_current.get(), timeout, expired)


def checked_seconds(name: str, value: object, *, negative_ok: bool = False) -> float:
    """A caller's number of seconds (>= 0 unless ``negative_ok``), else ``ValidationError``
    naming it, before anything is sent: ``download(timeout="x")`` must not reach the network."""
    from ._errors import ValidationError  # _errors imports nothing of ours; keep it that way

    if isinstance(value, bool) or not isinstance(value, int | float) or value != value:
        raise ValidationError(field=name, problem=f"must be a number of seconds, got {value!r}")
    if value < 0 and not negative_ok:
        raise ValidationError(field=name, problem=f"must be seconds >= 0, got {value!r}")
    return float(value)
