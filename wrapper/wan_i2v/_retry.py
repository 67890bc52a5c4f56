"""Which failures are transient, how one request is retried, and how errors from below
become ours. No I/O here.

Two schedules exist by design, each in one place: the retry of one request (this module:
stamina drives the attempts, ``Policy.hook`` decides each delay) and the poll schedule of
``wait()`` (_polling.py), which makes one attempt per poll and owns its own backoff. Both ask
``is_transient`` and both end at the same ``Deadline``.

Why create is special: every accepted POST is a billed task. A retry is safe only where no
task can exist: the connection was never established, or the server said 429 (rate limited,
nothing done). After a 5xx, a read timeout or a connection lost once the body was sent, the
task may exist; the client raises ``CreateOutcomeUnknownError`` and never POSTs again itself.
"""

from __future__ import annotations

import logging
import random
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

import httpx

from ._constants import (
    RETRY_AFTER_CAP,
    RETRY_WAIT_INITIAL,
    RETRY_WAIT_JITTER,
    RETRY_WAIT_MAX,
)
from ._deadline import Deadline
from ._errors import (
    APIConnectionError,
    APIResponseValidationError,
    APIStatusError,
    APITimeoutError,
    CreateOutcomeUnknownError,
    DownloadError,
    InternalServerError,
    RateLimitError,
    WanI2VError,
    is_transient_status,
    parse_retry_after,
)
from ._translate import UnreadableAnswer, describe

if TYPE_CHECKING:
    from stamina._core import _RetryContextIterator

logger = logging.getLogger("wan_i2v")

# The request never left this machine: no connection, or none free in the pool.
NOT_SENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)
# Everything one request can raise that a policy translates.
CALL_ERRORS = (httpx.TransportError, httpx.InvalidURL, WanI2VError, UnreadableAnswer)


def is_transient(exc: BaseException) -> bool:
    """No news, try again later: a network failure, 408, 429 or 5xx (API or video host)."""
    if isinstance(exc, APIConnectionError):
        return True
    if isinstance(exc, APIStatusError):
        return is_transient_status(exc.status_code)
    return isinstance(exc, DownloadError) and exc.transient


def server_delay(exc: BaseException) -> float | None:
    """The ``Retry-After`` of a failure, in seconds, or None."""
    if isinstance(exc, RateLimitError):
        return exc.retry_after
    if isinstance(exc, APIStatusError):
        return parse_retry_after(exc.response.headers.get("retry-after"))
    return None


def backoff(retry_number: int, rng: Callable[[], float] = random.random) -> float:
    """Our own delay before retry ``retry_number`` (1, 2, ...): doubling, capped, jittered."""
    base = min(RETRY_WAIT_INITIAL * 2.0 ** (retry_number - 1), RETRY_WAIT_MAX)
    return base + RETRY_WAIT_JITTER * rng()


@dataclass(frozen=True, slots=True)
class Policy:
    """How one kind of request retries and how its failures from below become ours.

    Attributes:
        retryable: may this failure (already ours) be retried?
        translate: the error to raise for a failure from below (``exc`` itself when it is
            already ours).
    """

    retryable: Callable[[WanI2VError], bool]
    translate: Callable[[Exception, str], WanI2VError]

    def delay(self, exc: BaseException, retry_number: int, deadline: Deadline) -> float | None:
        """Seconds to wait before retry ``retry_number`` (1, 2, ...) after ``exc``, or None
        to give up: not retryable, a ``Retry-After`` above the cap (the caller decides; the
        error carries ``retry_after``), or a wait that would end past the deadline."""
        if not isinstance(exc, WanI2VError) or not self.retryable(exc):
            return None
        asked = server_delay(exc)
        if asked is not None and asked > RETRY_AFTER_CAP:
            return None
        delay = backoff(retry_number) if asked is None else asked
        return None if delay >= deadline.remaining() else delay

    def ours(self, exc: Exception, url: str) -> WanI2VError:
        """The error to raise for ``exc``, chained to it (as ``raise ours from exc`` would)
        unless it is ``exc`` itself, so that it can be raised later, outside the ``except``."""
        error = self.translate(exc, url)
        if error is not exc:
            error.__cause__ = exc  # also sets __suppress_context__, as `from` does
        return error

    def attempts(self, max_retries: int, deadline: Deadline) -> _RetryContextIterator:
        """The attempts of one call: ``for`` them in sync code, ``async for`` in async code
        (stamina serves both from one object; ``stamina.set_testing`` makes them instant)."""
        # Imported here: stamina pulls in asyncio, which would add ~50 ms to `import wan_i2v`.
        import stamina

        retries = 0

        def hook(exc: Exception) -> bool | float:
            nonlocal retries
            delay = self.delay(exc, retries + 1, deadline)
            if delay is None:
                return False
            retries += 1
            logger.debug("retry %d in %.1f s after: %s", retries, delay, exc)
            return delay

        _quiet_stamina()
        return stamina.retry_context(on=hook, attempts=max_retries + 1, timeout=None)


def _quiet_stamina() -> None:
    """Our retries are logged on ``wan_i2v`` at DEBUG (the hook above). stamina also logs each
    one as a WARNING on its ``stamina`` logger, which Python prints to stderr when the program
    configured no logging. Its instrumentation hooks are process-global and may be the
    application's own, so they are left alone; a NullHandler only stops that last-resort print
    (an application that configured logging still receives stamina's records)."""
    stamina_logger = logging.getLogger("stamina")
    if not any(isinstance(h, logging.NullHandler) for h in stamina_logger.handlers):
        stamina_logger.addHandler(logging.NullHandler())


def translate_get_error(exc: Exception, url: str) -> WanI2VError:
    """Ours for a failure of a GET (a status check or a video)."""
    if isinstance(exc, WanI2VError):
        return exc
    if isinstance(exc, httpx.TimeoutException):
        return APITimeoutError(url=url)
    if isinstance(exc, httpx.TransportError | httpx.InvalidURL):
        return APIConnectionError(f"{describe(exc)} talking to {url}. Try again.", url=url)
    if isinstance(exc, UnreadableAnswer):
        return APIResponseValidationError(reason=exc.reason)
    return APIResponseValidationError(reason=describe(exc))


def translate_create_error(exc: Exception, url: str) -> WanI2VError:
    """Ours for a failure of the create POST: anything after sending is 'outcome unknown'."""
    if isinstance(exc, NOT_SENT):
        return translate_get_error(exc, url)
    if isinstance(exc, httpx.TransportError):
        return CreateOutcomeUnknownError(
            reason=f"the connection failed after the request was sent ({describe(exc)})"
        )
    if isinstance(exc, InternalServerError):
        return CreateOutcomeUnknownError(
            reason=f"the server answered {exc.status_code}",
            status_code=exc.status_code,
            request_id=exc.request_id,
        )
    if isinstance(exc, UnreadableAnswer):
        return CreateOutcomeUnknownError(
            reason=f"the server answered {exc.status_code} but its answer could not be read "
            f"({exc.reason})",
            status_code=exc.status_code,
        )
    if isinstance(exc, WanI2VError):
        return exc
    return CreateOutcomeUnknownError(reason=describe(exc))


def translate_video_error(exc: Exception, url: str) -> WanI2VError:
    """Ours for a failure of a video download: always a ``DownloadError`` (the video host is
    not the API, and its failures say nothing about the key)."""
    if isinstance(exc, WanI2VError):
        return exc
    transient = isinstance(exc, httpx.TransportError)
    return DownloadError(
        f"Could not fetch the video from {url} ({describe(exc)}); nothing was written.",
        transient=transient,
    )


def _create_retryable(exc: WanI2VError) -> bool:
    # translate_create_error makes every failure after sending CreateOutcomeUnknownError, so
    # an APIConnectionError here was never sent.
    return isinstance(exc, APIConnectionError | RateLimitError)


GET = Policy(retryable=is_transient, translate=translate_get_error)
VIDEO = Policy(retryable=is_transient, translate=translate_video_error)
CREATE = Policy(retryable=_create_retryable, translate=translate_create_error)
