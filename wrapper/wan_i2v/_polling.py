"""The rules of ``wait()`` without the I/O: when to poll, what a status means, when to stop.

Both clients drive one ``Waiter``; they differ only in ``time.sleep`` against
``asyncio.sleep`` and in awaiting ``get``.

Schedule: the first check comes about 2 s after a create (at once when resuming by id), then
the interval grows by half each time up to about 12 s, with +-10 % jitter so that many
waiting clients do not poll in step. The vendor's tools poll every 20 s, fixed: a 30 s job is
noticed up to 20 s late there, a few seconds late here, for a handful of extra GETs.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable

from ._constants import (
    POLL_FIRST_DELAY,
    POLL_GROWTH,
    POLL_JITTER,
    POLL_MAX_DELAY,
    RETRYABLE_GET_STATUSES,
)
from ._errors import (
    APIConnectionError,
    APIError,
    APIResponseValidationError,
    APIStatusError,
    RateLimitError,
    TaskFailedError,
    ValidationError,
    WaitTimeoutError,
)
from ._task import Phase, Task

StatusCallback = Callable[[Task], object]


class Waiter:
    """One wait for one task.

    Args:
        task_or_id: a ``Task`` (just created: the first check waits a little) or a task id
            (resuming: the first check is immediate).
        timeout: seconds until ``WaitTimeoutError``.
        poll_interval: a fixed interval in seconds instead of the growing schedule.
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
        if isinstance(timeout, bool) or not isinstance(timeout, int | float) or timeout < 0:
            raise ValidationError(field="timeout", problem=f"must be seconds >= 0, got {timeout!r}")
        if poll_interval is not None and (
            isinstance(poll_interval, bool)
            or not isinstance(poll_interval, int | float)
            or poll_interval < 0
        ):
            raise ValidationError(
                field="poll_interval", problem=f"must be seconds >= 0, got {poll_interval!r}"
            )
        self._clock = clock
        self._rng = rng
        self._started = clock()
        self._deadline = self._started + timeout
        self._fixed = poll_interval
        self._on_status = on_status
        self._last_status: str | None = None
        self._server_delay = 0.0
        self.result: Task | None = None
        if isinstance(task_or_id, Task):
            self.task_id = task_or_id.id
            self._delay = POLL_FIRST_DELAY if poll_interval is None else poll_interval
            self.observe(task_or_id)
        else:
            self.task_id = task_or_id
            self._delay = 0.0

    @property
    def finished(self) -> bool:
        return self.result is not None

    def next_delay(self) -> float:
        """Seconds to sleep before the next status check.

        Raises:
            WaitTimeoutError: the deadline has passed.
        """
        now = self._clock()
        remaining = self._deadline - now
        if remaining <= 0:
            raise WaitTimeoutError(
                task_id=self.task_id, last_status=self._last_status, waited=now - self._started
            )
        delay = self._delay
        if self._fixed is None and delay > 0:
            delay *= 1 + POLL_JITTER * (2 * self._rng() - 1)
        delay = max(delay, self._server_delay)
        self._server_delay = 0.0
        # Grow for next time; the last check lands on the deadline, not past it.
        self._delay = (
            self._fixed
            if self._fixed is not None
            else min(max(self._delay, POLL_FIRST_DELAY / POLL_GROWTH) * POLL_GROWTH, POLL_MAX_DELAY)
        )
        return min(delay, remaining)

    def observe(self, task: Task) -> None:
        """Take in a status check.

        Raises:
            TaskFailedError: the task failed.
            APIResponseValidationError: it succeeded without a video.
        """
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
                    reason=f"task {task.id} has succeeded but lists no video"
                )
            self.result = task

    def poll_failed(self, exc: APIError) -> None:
        """Take in a status check that failed after its own retries.

        A transient failure is no news about the task: keep waiting (the deadline still
        holds). Anything else (a wrong key, an unknown id) is re-raised.
        """
        transient = isinstance(exc, APIConnectionError | APIResponseValidationError) or (
            isinstance(exc, APIStatusError) and exc.status_code in RETRYABLE_GET_STATUSES
        )
        if not transient:
            raise exc
        if isinstance(exc, RateLimitError) and exc.retry_after is not None:
            self._server_delay = exc.retry_after
