"""``Task``: our own small immutable view of a generation task.

Users never see the generated attrs models: a generator release must not break their code.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ._spec_facts import STATUS_WORDS, Phase

if TYPE_CHECKING:
    from wan_i2v._generated.models.task_response import TaskResponse

logger = logging.getLogger("wan_i2v")

__all__ = ["Phase", "Task", "TaskError", "answer_for", "parse_task_id", "phase_of"]

# Every documented word, by the phase the spec files it under (x-known-values).
_PHASES: dict[str, Phase] = {
    word.lower(): Phase(phase) for phase, words in STATUS_WORDS.items() for word in words
}
_warned_unknown: set[str] = set()


def parse_task_id(value: object) -> str | None:
    """The canonical form of a task id (a UUID, as the spec says), or None when ``value`` is
    not one: the one test of "is this a task id" (arguments, links, the command line)."""
    if not isinstance(value, str):
        return None
    import uuid  # here: with the `platform` it imports, ~2 ms of start-up

    try:
        return str(uuid.UUID(value))
    except ValueError:
        return None


def answer_for(task: Task, task_id: str) -> Task:
    """``task`` when it is the task that was asked for; a server (or a cache in between) that
    answers about another task is not believed: its status and videos are not ours.

    Raises:
        APIResponseValidationError: naming both ids.
    """
    if parse_task_id(task.id) != parse_task_id(task_id):
        from ._errors import APIResponseValidationError

        raise APIResponseValidationError(
            reason=f"it answered about task {task.id!r}, not the task asked for", task_id=task_id
        )
    return task


def phase_of(status: str) -> Phase:
    """The phase of a status word; an unknown word is logged once per process."""
    phase = _PHASES.get(status.strip().lower())
    if phase is None:
        if status not in _warned_unknown:
            _warned_unknown.add(status)
            logger.warning("Unknown task status %r: treating it as not finished", status)
        return Phase.UNKNOWN
    return phase


@dataclass(frozen=True, slots=True)
class TaskError:
    """Why a task failed, as the API reported it."""

    code: int | None
    title: str | None
    detail: str | None


@dataclass(frozen=True, slots=True)
class Task:
    """A generation task.

    Attributes:
        id: the task id (a UUID string).
        status: the raw status word the API sent.
        created_at, updated_at: timezone-aware timestamps.
        videos: URLs of the result videos (empty until the task has succeeded).
        error: why the task failed, or None.
        request_id: the ``traceparent`` header of the answer this state came from, for
            MuleRouter's support (None when the server sent none).
    """

    id: str
    status: str
    created_at: dt.datetime
    updated_at: dt.datetime
    videos: tuple[str, ...] = ()
    error: TaskError | None = None
    request_id: str | None = None

    @property
    def phase(self) -> Phase:
        return phase_of(self.status)

    @property
    def is_success(self) -> bool:
        return self.phase is Phase.SUCCEEDED

    @property
    def is_failed(self) -> bool:
        return self.phase is Phase.FAILED

    @property
    def is_done(self) -> bool:
        return self.is_success or self.is_failed

    @classmethod
    def from_generated(cls, parsed: TaskResponse, *, request_id: str | None = None) -> Task:
        """Build a Task from the generated client's parsed response."""
        info = parsed.task_info
        videos = parsed.videos if isinstance(parsed.videos, list) else []
        return cls(
            id=str(info.id),
            status=str(info.status),
            created_at=_aware(info.created_at),
            updated_at=_aware(info.updated_at),
            videos=tuple(str(v) for v in videos),
            error=_task_error(info.error.to_dict()) if hasattr(info.error, "to_dict") else None,
            request_id=request_id,
        )


def _aware(value: dt.datetime) -> dt.datetime:
    # The API sends UTC with "Z"; a timestamp without an offset is taken as UTC too, so users
    # never compare naive and aware datetimes.
    return value if value.tzinfo is not None else value.replace(tzinfo=dt.UTC)


def _task_error(raw: dict[str, Any]) -> TaskError:
    # One page names the code `error_code`: accept both (spec/DECISIONS.md, D10).
    code = raw.get("code", raw.get("error_code"))
    return TaskError(
        code=code if isinstance(code, int) and not isinstance(code, bool) else None,
        title=_text(raw.get("title")),
        detail=_text(raw.get("detail")),
    )


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None
