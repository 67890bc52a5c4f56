"""The sandbox's configuration and its memory: tasks, their lifecycle, and faults to play.

What it stores is bounded (a cap on tasks and on the request log, and an expiry on tasks), so
a sandbox left running under a long CI job does not grow without end; what it counts
(``tasks_created``, ``requests_received``) are plain integers that never drop.
"""

from __future__ import annotations

import datetime as dt
import math
import random
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

from ._from_spec import vocabularies

Operation = Literal["create", "get", "any"]
Vocabulary = Literal["classic", "new"]
PENDING_SHARE = 0.2  # of task_seconds spent pending before running
DAY = 86_400.0  # the API's task ids and result URLs are valid for 24 hours


@dataclass
class SandboxConfig:
    """How the sandbox behaves.

    Attributes:
        api_key: the bearer token to require; None accepts any non-empty one.
        task_seconds: how long a task takes from creation to its end (0: done at once).
        fail_rate: share of tasks that end failed, with error code 3001.
        error_rate: share of API requests answered with a 500, 502 or 503.
        rate_limit: API requests per second above which the answer is 429; None: no limit.
        vocabulary: "classic" (pending/processing/completed) or "new" (queued/running/succeeded).
        seed: seeds the randomness of failures and errors, for reproducible runs.
        max_tasks: tasks kept; the oldest is forgotten (its id then answers 404) beyond it.
        task_ttl: seconds a task is kept after its creation (the API keeps them a day).
        max_logged_requests: entries kept in ``SandboxState.requests`` (the newest).
    """

    api_key: str | None = None
    task_seconds: float = 3.0
    fail_rate: float = 0.0
    error_rate: float = 0.0
    rate_limit: float | None = None
    vocabulary: Vocabulary = "classic"
    seed: int | None = None
    max_tasks: int = 100_000
    task_ttl: float = DAY
    max_logged_requests: int = 100_000

    def __post_init__(self) -> None:
        # Written as `not (ok)` so that NaN, which fails every comparison, is refused too.
        for name in ("fail_rate", "error_rate"):
            if not 0.0 <= getattr(self, name) <= 1.0:
                raise ValueError(f"{name} must be within [0, 1], got {getattr(self, name)!r}")
        if not (self.task_seconds >= 0 and math.isfinite(self.task_seconds)):
            raise ValueError(f"task_seconds must be >= 0, got {self.task_seconds!r}")
        if self.rate_limit is not None and not (
            self.rate_limit > 0 and math.isfinite(self.rate_limit)
        ):
            raise ValueError(f"rate_limit must be > 0, got {self.rate_limit!r}")
        if self.vocabulary not in ("classic", "new"):
            raise ValueError(f"vocabulary must be 'classic' or 'new', got {self.vocabulary!r}")
        if self.api_key is not None and not self.api_key.strip():
            # An empty key could never match (an empty token is refused): say so now.
            raise ValueError("api_key must be None (accept any token) or a non-empty string")
        if not self.max_tasks >= 1:
            raise ValueError(f"max_tasks must be >= 1, got {self.max_tasks!r}")
        if not self.task_ttl > 0:
            raise ValueError(f"task_ttl must be > 0 seconds, got {self.task_ttl!r}")
        if not self.max_logged_requests >= 0:
            raise ValueError(f"max_logged_requests must be >= 0, got {self.max_logged_requests!r}")


@dataclass
class Fault:
    """A scripted answer for the next matching requests (see SandboxState.inject)."""

    status: int
    count: int
    operation: Operation
    after_create: bool
    retry_after: float | None


@dataclass(slots=True)
class SandboxTask:
    id: str
    created: float  # on the sandbox's monotonic clock
    created_at: dt.datetime
    failure: str | None  # why it will fail, or None
    video: str  # the bundled video's name, chosen from the input's aspect ratio


def normal_task_id(text: str) -> str | None:
    """The canonical spelling of a UUID (lower case, hyphenated), or None if it is not one:
    ``3C90C3CC-...`` and ``3c90c3cc-...`` are the same task."""
    try:
        return str(uuid.UUID(text))
    except ValueError:
        return None


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
    _recent: deque[float] = field(default_factory=deque)
    _order: deque[str] = field(default_factory=deque)  # task ids, oldest first
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def __post_init__(self) -> None:
        self.random = random.Random(self.config.seed)  # noqa: S311  # faults, not secrets
        self.requests = deque(maxlen=self.config.max_logged_requests)

    def record(self, method: str, path: str) -> None:
        """Count a request and log it (the log keeps the newest ``max_logged_requests``)."""
        with self._lock:
            self.requests_received += 1
            self.requests.append((method, path))

    def inject(
        self,
        status: int,
        *,
        count: int = 1,
        operation: Operation = "any",
        after_create: bool = False,
        retry_after: float | None = None,
    ) -> None:
        """Answer the next ``count`` matching API requests with ``status``.

        With ``after_create=True`` a create still makes (and counts) its task before the
        error is returned: the worst case for a client, "a task exists but you got a 5xx".
        ``retry_after`` (seconds) is sent rounded up to a whole number.
        """
        if retry_after is not None and not (retry_after >= 0 and math.isfinite(retry_after)):
            raise ValueError(f"retry_after must be a number of seconds >= 0, got {retry_after!r}")
        with self._lock:
            self.faults.append(Fault(status, count, operation, after_create, retry_after))

    def take_fault(
        self, operation: Literal["create", "get"], *, after_create: bool = False
    ) -> Fault | None:
        """The next scripted fault for this operation and moment, used up by one."""
        with self._lock:
            for fault in self.faults:
                if fault.operation in (operation, "any") and fault.after_create == after_create:
                    fault.count -= 1
                    if fault.count <= 0:
                        self.faults.remove(fault)
                    return fault
        return None

    def over_rate_limit(self) -> bool:
        """Record an API request; True when the last second held more than the limit."""
        if self.config.rate_limit is None:
            return False
        now = self.clock()
        with self._lock:
            while self._recent and now - self._recent[0] >= 1.0:
                self._recent.popleft()
            self._recent.append(now)
            return len(self._recent) > self.config.rate_limit

    def random_error(self) -> int | None:
        if self.config.error_rate and self.random.random() < self.config.error_rate:
            return self.random.choice((500, 502, 503))
        return None

    def create_task(self, video: str, *, failure: str | None = None) -> SandboxTask:
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
