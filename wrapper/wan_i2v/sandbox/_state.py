"""The sandbox's configuration and its memory: tasks, their lifecycle, and faults to play."""

from __future__ import annotations

import datetime as dt
import random
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

Operation = Literal["create", "get", "any"]

# Status words per phase, in the two vocabularies the API uses (spec: x-known-values).
VOCABULARIES: dict[str, dict[str, str]] = {
    "classic": {"pending": "pending", "running": "processing", "succeeded": "completed",
                "failed": "failed"},
    "new": {"pending": "queued", "running": "running", "succeeded": "succeeded",
            "failed": "failed"},
}  # fmt: skip
PENDING_SHARE = 0.2  # of task_seconds spent pending before running


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
    """

    api_key: str | None = None
    task_seconds: float = 3.0
    fail_rate: float = 0.0
    error_rate: float = 0.0
    rate_limit: float | None = None
    vocabulary: Literal["classic", "new"] = "classic"
    seed: int | None = None

    def __post_init__(self) -> None:
        for name in ("fail_rate", "error_rate"):
            if not 0.0 <= getattr(self, name) <= 1.0:
                raise ValueError(f"{name} must be within [0, 1], got {getattr(self, name)!r}")
        if self.task_seconds < 0:
            raise ValueError(f"task_seconds must be >= 0, got {self.task_seconds!r}")
        if self.rate_limit is not None and self.rate_limit <= 0:
            raise ValueError(f"rate_limit must be > 0, got {self.rate_limit!r}")
        if self.vocabulary not in VOCABULARIES:
            raise ValueError(f"vocabulary must be 'classic' or 'new', got {self.vocabulary!r}")


@dataclass
class Fault:
    """A scripted answer for the next matching requests (see SandboxState.inject)."""

    status: int
    count: int
    operation: Operation
    after_create: bool
    retry_after: float | None


@dataclass
class SandboxTask:
    id: str
    created: float  # on the sandbox's monotonic clock
    created_at: dt.datetime
    failure: str | None  # why it will fail, or None
    video: str  # the bundled video's name, chosen from the input's aspect ratio


@dataclass
class SandboxState:
    """What the sandbox has seen and holds; tests read it to prove what happened."""

    config: SandboxConfig
    clock: Callable[[], float] = time.monotonic
    tasks: dict[str, SandboxTask] = field(default_factory=dict)
    tasks_created: int = 0
    requests: list[tuple[str, str]] = field(default_factory=list)
    file_requests_with_auth: int = 0
    faults: deque[Fault] = field(default_factory=deque)
    _recent: deque[float] = field(default_factory=deque)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def __post_init__(self) -> None:
        self.random = random.Random(self.config.seed)  # noqa: S311  # faults, not secrets

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
        """
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
        """Make a task; it fails with ``failure`` if given, else at the configured rate."""
        with self._lock:
            if failure is None and self.random.random() < self.config.fail_rate:
                failure = "the sandbox was configured to fail this task"
            task = SandboxTask(
                id=str(uuid.uuid4()),
                created=self.clock(),
                created_at=dt.datetime.now(dt.UTC).replace(microsecond=0),
                failure=failure,
                video=video,
            )
            self.tasks[task.id] = task
            self.tasks_created += 1
            return task

    def describe(self, task: SandboxTask, base_url: str) -> dict[str, Any]:
        """The task envelope as the API would send it now."""
        words = VOCABULARIES[self.config.vocabulary]
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
