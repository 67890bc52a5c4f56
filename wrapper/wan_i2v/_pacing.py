"""The create gate: one per client, so that a 429 on any create pauses every create.

Upstream allows about two submissions per second per account. N workers that each meet a 429
and each back off on their own keep hammering the API in turn; a gate shared by every create
of one client turns the server's ``Retry-After`` into one cool-down for all of them. The rule
(``Cooldown``) is written once; ``CreateGate`` and ``AsyncCreateGate`` are its two faces, so
the sync client's text is the async one without ``await`` (unasync drops the ``Async``).

A ``Retry-After`` above ``RETRY_AFTER_CAP`` is held only up to the cap: the request that got
it raises ``RateLimitError`` (the caller decides), and the others try again after the cap.
In stamina's testing mode the gate does not sleep, as retries do not.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable, Iterator

from ._constants import RETRY_AFTER_CAP, RETRY_WAIT_INITIAL
from ._errors import RateLimitError


class Cooldown:
    """When creates may be sent again (on the monotonic clock); shared by threads and loops."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._until = 0.0
        self._lock = threading.Lock()
        self.pauses = 0  # how many 429s started or extended a cool-down (for tests, stats)

    def remaining(self) -> float:
        """Seconds until creates may be sent; 0 when they may go now."""
        if _testing():
            return 0.0
        with self._lock:
            return max(0.0, self._until - self._clock())

    def note(self, exc: BaseException) -> None:
        """A create failed with ``exc``: a 429 holds every create for its ``Retry-After``
        (capped), or for the first backoff step when the server gave none."""
        if not isinstance(exc, RateLimitError):
            return
        asked = exc.retry_after if exc.retry_after is not None else RETRY_WAIT_INITIAL
        until = self._clock() + min(asked, RETRY_AFTER_CAP)
        with self._lock:
            if until > self._until:
                self._until = until
                self.pauses += 1

    @contextlib.contextmanager
    def watch(self) -> Iterator[None]:
        """Around one create request: its 429 (if any) is noted, and raised on as it was."""
        try:
            yield
        except RateLimitError as exc:
            self.note(exc)
            raise


class CreateGate:
    """The sync face: ``wait()`` blocks until creates may be sent."""

    def __init__(self, cooldown: Cooldown | None = None) -> None:
        self.cooldown = cooldown or Cooldown()

    def wait(self) -> None:
        while (delay := self.cooldown.remaining()) > 0:
            time.sleep(delay)

    def watch(self) -> contextlib.AbstractContextManager[None]:
        return self.cooldown.watch()


class AsyncCreateGate:
    """The async face: ``await wait()`` until creates may be sent (other tasks run meanwhile)."""

    def __init__(self, cooldown: Cooldown | None = None) -> None:
        self.cooldown = cooldown or Cooldown()

    async def wait(self) -> None:
        import asyncio  # here: `import wan_i2v` stays free of asyncio (the sync client's import)

        while (delay := self.cooldown.remaining()) > 0:
            await asyncio.sleep(delay)

    def watch(self) -> contextlib.AbstractContextManager[None]:
        return self.cooldown.watch()


def _testing() -> bool:
    # Imported here, as _retry does: stamina pulls in asyncio at import.
    import stamina

    return stamina.is_testing()
