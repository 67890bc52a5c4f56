"""The rules of ``wait()`` without the I/O: when to poll, what a status means, when to stop.

Both clients drive one ``Waiter``; they differ only in ``time.sleep`` against
``asyncio.sleep`` and in awaiting the status check.

One deadline: every status check gets what is left of it as its timeout, makes one attempt
(no retry loop of its own: the waiter owns the backoff), and every sleep ends at the deadline
at the latest. So ``wait(timeout=T)`` returns or raises within T plus one request's connect
time, whatever the server does. ``timeout=0`` still looks once.

Schedule: the first check comes about 2 s after a create (at once when resuming by id), then
the interval grows by half each time up to about 12 s, with +-10 % jitter so that many
waiting clients do not poll in step. After a failed check the next one waits at least the
server's ``Retry-After``. The vendor's tools poll every 20 s, fixed: a 30 s job is noticed up
to 20 s late there, a few seconds late here, for a handful of extra GETs.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable

from ._constants import POLL_FIRST_DELAY, POLL_GROWTH, POLL_JITTER, POLL_MAX_DELAY, POLL_MIN_DELAY
from ._deadline import MIN_REQUEST_SECONDS, Deadline, checked_seconds
from ._errors import (
    APIResponseValidationError,
    APIStatusError,
    TaskFailedError,
    WaitTimeoutError,
    WanI2VError,
)
from ._retry import is_transient, server_delay
from ._task import Phase, Task, answer_for

logger = logging.getLogger("wan_i2v")
StatusCallback = Callable[[Task], object]


class Waiter:
    """One wait for one task.

    Args:
        task_or_id: a ``Task`` (just created: the first check waits a little) or a task id
            (resuming: the first check is immediate).
        timeout: seconds until ``WaitTimeoutError``; 0 looks once.
        poll_interval: a fixed interval in seconds instead of the growing schedule; below
            ``POLL_MIN_DELAY`` it is raised to it.
        on_status: called with the task on every change of status (the first one included).
        clock: monotonic seconds; tests and benchmarks pass a simulated clock.
    """

    def __init__(
        self,
        task_or_id: Task | str,
        *,
        timeout: float,
        poll_interval: float | None = None,
        on_status: StatusCallback | None = None,
        clock: Callable[[], float] = time.monotonic,
        rng: Callable[[], float] = random.random,
    ) -> None:
        seconds = checked_seconds("timeout", timeout)
        fixed = (  # below the floor (negative included) is raised to it, below
            None
            if poll_interval is None
            else checked_seconds("poll_interval", poll_interval, negative_ok=True)
        )
        if fixed is not None and fixed < POLL_MIN_DELAY:
            # A floor, not a refusal: 0 would hammer the API (thousands of GETs a second).
            logger.info("poll_interval %.3g s raised to the floor of %s s", fixed, POLL_MIN_DELAY)
            fixed = POLL_MIN_DELAY
        self.deadline = Deadline(seconds, clock=clock)
        self._rng = rng
        self._fixed = fixed
        self._on_status = on_status
        self._last_status: str | None = None
        self._last_failure: str | None = None
        self._server_delay = 0.0
        self._looked = False
        self.result: Task | None = None
        if isinstance(task_or_id, Task):
            self.task_id = task_or_id.id
            self._delay = POLL_FIRST_DELAY if fixed is None else fixed
            self.observe(task_or_id)
            self._looked = False  # the create's answer is not a status check
        else:
            self.task_id = task_or_id
            self._delay = 0.0

    def next_delay(self) -> float:
        """Seconds to sleep before the next status check.

        The first check always happens (``timeout=0`` looks once). After it, a check is made
        only if it can be given ``MIN_REQUEST_SECONDS`` before the deadline: the last one is
        moved earlier to fit, unless the server asked for the wait (``Retry-After``).

        Raises:
            WaitTimeoutError: no further check fits before the deadline.
        """
        delay, asked_by_server = self._scheduled()
        remaining = self.deadline.remaining()
        if not self._looked:
            self._looked = True
            return min(delay, max(0.0, remaining - MIN_REQUEST_SECONDS))
        if remaining - delay < MIN_REQUEST_SECONDS:
            if asked_by_server or remaining <= MIN_REQUEST_SECONDS:
                raise WaitTimeoutError(
                    task_id=self.task_id,
                    last_status=self._last_status,
                    waited=self.deadline.elapsed(),
                    last_failure=self._last_failure,
                )
            delay = remaining - MIN_REQUEST_SECONDS
        return delay

    def _scheduled(self) -> tuple[float, bool]:
        """The schedule's next delay (jittered, then grown for next time), or the server's
        ``Retry-After`` when that is longer; and whether it was the server's."""
        delay = self._delay
        if self._fixed is None and delay > 0:
            delay *= 1 + POLL_JITTER * (2 * self._rng() - 1)
        self._delay = (
            self._fixed
            if self._fixed is not None
            else min(max(self._delay, POLL_FIRST_DELAY / POLL_GROWTH) * POLL_GROWTH, POLL_MAX_DELAY)
        )
        asked, self._server_delay = self._server_delay, 0.0
        return (asked, True) if asked > delay else (delay, False)

    def observe(self, task: Task) -> None:
        """Take in a status check.

        Raises:
            TaskFailedError: the task failed.
            APIResponseValidationError: it succeeded without a video, or it is about another
                task than the one waited for.
        """
        task = answer_for(task, self.task_id)
        self._last_failure = None
        if task.status != self._last_status:
            self._last_status = task.status
            if self._on_status is not None:
                self._on_status(task)
        phase = task.phase
        if phase is Phase.FAILED:
            raise TaskFailedError(task=task)
        if phase is Phase.SUCCEEDED:
            if not task.videos:
                raise APIResponseValidationError(
                    reason="it has succeeded but lists no video", task_id=task.id
                )
            self.result = task

    def poll_failed(self, exc: WanI2VError) -> None:
        """Take in a status check that failed.

        A transient failure (network, 408, 429, 5xx) is no news about the task: keep waiting
        until the deadline, at least ``Retry-After`` before the next check. Anything else (a
        wrong key, an unknown id, an answer that cannot be read) is raised at once, with the
        task id.
        """
        if isinstance(exc, APIResponseValidationError) and exc.task_id is None:
            raise APIResponseValidationError(reason=exc.reason, task_id=self.task_id) from exc
        if not is_transient(exc):
            if exc.task_id is None:
                exc.task_id = self.task_id
            raise exc
        self._last_failure = _short(exc)
        self._server_delay = server_delay(exc) or 0.0


def _short(exc: WanI2VError) -> str:
    if isinstance(exc, APIStatusError):
        return f"HTTP {exc.status_code}"
    text = str(exc)
    return text if len(text) <= 200 else text[:200] + "..."
