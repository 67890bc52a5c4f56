"""The sandbox's configuration and its memory: tasks, their lifecycle, and faults to play.

What it stores is bounded (a cap on tasks and on the request log, and an expiry on tasks), so
a sandbox left running under a long CI job does not grow without end; what it counts
(``tasks_created``, ``requests_received``) are plain integers that never drop.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import random
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

from .._task import parse_task_id
from ._config import DAY, SandboxConfig, Vocabulary
from ._faults import Fault, Operation, Status
from ._from_spec import vocabularies
from ._mp4 import VideoShape

__all__ = [
    "DAY",
    "Fault",
    "Operation",
    "SandboxConfig",
    "SandboxState",
    "SandboxTask",
    "Vocabulary",
    "normal_task_id",
]

PENDING_SHARE = 0.2  # of task_seconds spent pending before running
ERROR_STATUSES = (500, 502, 503)  # what error_rate and after_create_error_rate answer


class RateBucket:
    """A token bucket: ``rate`` requests per second on average, ``max(1, rate)`` at once.

    Any positive rate works: at 0.5 a request is allowed every 2 s (a window that counts
    requests per whole second would allow none). Refused requests take no token.
    """

    def __init__(self, rate: float, now: float) -> None:
        self.rate = rate
        self.capacity = max(1.0, rate)
        self.tokens = self.capacity
        self.last = now

    def take(self, now: float) -> float | None:
        """None when a request may pass (a token is taken), else the seconds until one may."""
        self.tokens = min(self.capacity, self.tokens + (now - self.last) * self.rate)
        self.last = now
        if self.tokens >= 1.0:
            self.tokens -= 1.0
            return None
        return (1.0 - self.tokens) / self.rate


@dataclass(slots=True)
class SandboxTask:
    id: str
    created: float  # on the sandbox's monotonic clock
    created_at: dt.datetime
    failure: str | None  # why it will fail, or None
    video: VideoShape  # from the input's aspect ratio and the tier asked for


# ``3C90C3CC-...`` and ``3c90c3cc-...`` are the same task: the client's one test of a task id.
normal_task_id = parse_task_id


Answered = Literal["create", "get", "file"]


@dataclass
class SandboxState:
    """What the sandbox has seen and holds; tests read it to prove what happened."""

    config: SandboxConfig
    clock: Callable[[], float] = time.monotonic
    tasks: dict[str, SandboxTask] = field(default_factory=dict)
    tasks_created: int = 0
    requests: deque[tuple[str, str]] = field(init=False)
    requests_received: int = 0
    file_requests_with_auth: int = 0
    faults: deque[Fault] = field(default_factory=deque)
    # Answers by operation and status ("202", "503", "dropped"): counters that never drop.
    answers: dict[str, dict[str, int]] = field(default_factory=dict)
    _bucket: RateBucket | None = field(init=False, default=None)
    _ends: deque[float] = field(default_factory=deque)  # when each unfinished task ends
    _order: deque[str] = field(default_factory=deque)  # task ids, oldest first
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def __post_init__(self) -> None:
        self.random = random.Random(self.config.seed)  # noqa: S311  # faults, not secrets
        self.requests = deque(maxlen=self.config.max_logged_requests)
        if self.config.rate_limit is not None:
            self._bucket = RateBucket(self.config.rate_limit, self.clock())
        # Copies: the config's faults are used up here, not in the config.
        self.faults.extend(dataclasses.replace(fault) for fault in self.config.faults)

    def record(self, method: str, path: str) -> None:
        """Count a request and log it (the log keeps the newest ``max_logged_requests``)."""
        with self._lock:
            self.requests_received += 1
            self.requests.append((method, path))

    def answered(self, operation: Answered, status: int | str) -> None:
        """Count one answer (``status`` a number, or "dropped") in ``stats()``."""
        with self._lock:
            by_status = self.answers.setdefault(operation, {})
            by_status[str(status)] = by_status.get(str(status), 0) + 1

    def stats(self) -> dict[str, Any]:
        """Counters since start, plain integers that never drop (``GET /_sandbox/stats``):
        compare a reading before and after what you test."""
        with self._lock:
            return {
                "tasks_created": self.tasks_created,
                "requests": {
                    op: dict(sorted(counts.items())) for op, counts in self.answers.items()
                },
                "requests_received": self.requests_received,
                "file_requests_with_auth": self.file_requests_with_auth,
            }

    def inject(
        self,
        status: Status,
        *,
        count: int = 1,
        operation: Operation = "any",
        after_create: bool = False,
        retry_after: float | None = None,
    ) -> Fault:
        """Answer the next ``count`` matching API requests with ``status`` (or ``"drop"``:
        close the connection unanswered); the fault as stored.

        With ``after_create=True`` a create still makes (and counts) its task before the
        error is returned: the worst case for a client, "a task exists but you got a 5xx".
        ``retry_after`` (seconds) is sent rounded up to a whole number. Over HTTP:
        ``POST /_sandbox/faults`` with these keys as JSON.
        """
        return self.add_fault(Fault(status, count, operation, after_create, retry_after))

    def add_fault(self, fault: Fault) -> Fault:
        with self._lock:
            self.faults.append(fault)
        return fault

    def clear_faults(self) -> None:
        with self._lock:
            self.faults.clear()

    def take_fault(
        self, operation: Literal["create", "get"], *, after_create: bool = False
    ) -> Fault | None:
        """The next fault for this operation and moment, used up by one: a scripted one
        first, else one of the configured rates (``error_rate`` before anything is done,
        ``after_create_error_rate`` once a create has made its task)."""
        with self._lock:
            for fault in self.faults:
                if fault.operation in (operation, "any") and fault.after_create == after_create:
                    fault.count -= 1
                    if fault.count <= 0:
                        self.faults.remove(fault)
                    return dataclasses.replace(fault, count=1)
            rate = self.config.after_create_error_rate if after_create else self.config.error_rate
            if rate and self.random.random() < rate:
                status = self.random.choice(ERROR_STATUSES)
                return Fault(status, operation=operation, after_create=after_create)
        return None

    def rate_limited(self) -> float | None:
        """Take a token for an API request: None when it may pass, else the seconds until
        one may (its ``Retry-After``)."""
        if self._bucket is None:
            return None
        with self._lock:
            return self._bucket.take(self.clock())

    def running_limited(self) -> float | None:
        """None when one more task may run (``max_running``), else the seconds until the
        earliest running task ends."""
        limit = self.config.max_running
        if limit is None:
            return None
        now = self.clock()
        with self._lock:
            while self._ends and self._ends[0] <= now:
                self._ends.popleft()
            if len(self._ends) < limit:
                return None
            return self._ends[0] - now

    def create_task(self, video: VideoShape, *, failure: str | None = None) -> SandboxTask:
        """Make a task; it fails with ``failure`` if given, else at the configured rate.

        The oldest tasks are forgotten first: past ``task_ttl`` or beyond ``max_tasks``.
        """
        with self._lock:
            if failure is None and self.random.random() < self.config.fail_rate:
                failure = "the sandbox was configured to fail this task"
            now = self.clock()
            task = SandboxTask(
                id=str(uuid.uuid4()),
                created=now,
                created_at=dt.datetime.now(dt.UTC).replace(microsecond=0),
                failure=failure,
                video=video,
            )
            self._forget(now, room_for=1)
            self.tasks[task.id] = task
            self._order.append(task.id)
            self.tasks_created += 1
            if self.config.max_running is not None and self.config.task_seconds > 0:
                self._ends.append(now + self.config.task_seconds)  # all take as long: sorted
            return task

    def task(self, task_id: str) -> SandboxTask | None:
        """The task with this id in any spelling of its UUID, unless unknown or expired."""
        key = normal_task_id(task_id)
        task = self.tasks.get(key) if key else None
        if task is None or self.clock() - task.created >= self.config.task_ttl:
            return None
        return task

    def _forget(self, now: float, *, room_for: int) -> None:
        """Drop expired tasks and, beyond the cap, the oldest (caller holds the lock)."""
        while self._order:
            oldest = self.tasks.get(self._order[0])
            if oldest is not None:
                expired = now - oldest.created >= self.config.task_ttl
                if not expired and len(self.tasks) + room_for <= self.config.max_tasks:
                    return
            self.tasks.pop(self._order.popleft(), None)

    def describe(self, task: SandboxTask, base_url: str) -> dict[str, Any]:
        """The task envelope as the API would send it now."""
        words = vocabularies()[self.config.vocabulary]
        total = self.config.task_seconds
        elapsed = self.clock() - task.created
        if elapsed >= total:
            phase, since = ("failed" if task.failure else "succeeded"), total
        elif elapsed >= total * PENDING_SHARE:
            phase, since = "running", total * PENDING_SHARE
        else:
            phase, since = "pending", 0.0
        info: dict[str, Any] = {
            "id": task.id,
            "status": words[phase],
            "created_at": _rfc3339(task.created_at),
            "updated_at": _rfc3339(task.created_at + dt.timedelta(seconds=since)),
        }
        body: dict[str, Any] = {"task_info": info}
        if phase == "failed":
            info["error"] = {
                "code": 3001,
                "title": "Task Execution Error",
                "detail": f"Video generation failed: {task.failure}",
            }
        elif phase == "succeeded":
            body["videos"] = [f"{base_url}/files/{task.id}.mp4"]
        return body


def _rfc3339(when: dt.datetime) -> str:
    return when.strftime("%Y-%m-%dT%H:%M:%SZ")
