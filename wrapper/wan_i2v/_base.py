"""What the sync and async clients share: everything but the I/O.

``Client`` and ``AsyncClient`` add only the methods that send requests, sleep or write files,
with paired names (``close``/``aclose``); every rule they apply comes from here or from the
modules named for it (_request, _translate, _retry, _polling, _output, _download).
"""

from __future__ import annotations

import contextlib
import logging
import os
import sys
from collections.abc import Callable, Iterator, Mapping
from typing import TYPE_CHECKING, Any

from ._config import Settings, resolve_settings
from ._download import VideoSource
from ._errors import ConfigurationError, TaskIncompleteError, ValidationError, WanI2VError
from ._http import display_url
from ._output import OutputPlan, plan_output
from ._request import IMAGE_FIELDS, build_create_request
from ._retry import Policy
from ._task import Task, parse_task_id
from ._translate import describe, scrubbed
from ._urls import is_http_url

CreatedCallback = Callable[[Task], object]
BeforeCreateCallback = Callable[[Mapping[str, Any]], object]
PathArg = str | os.PathLike[str]
logger = logging.getLogger("wan_i2v")

if TYPE_CHECKING:  # loaded on the first request (_request)
    import uuid

    from wan_i2v._generated.models.create_generation_task_request import CreateGenerationTaskRequest


class BaseClient:
    """Configuration and the rules of every call, shared by both clients."""

    _settings: Settings

    def __init__(
        self,
        *,
        api_key: str | None,
        base_url: str | None,
        site: str | None,
        timeout: float | None,
        max_retries: int | None,
        max_concurrent_creates: int,
        max_video_bytes: int | None,
    ) -> None:
        if (
            isinstance(max_concurrent_creates, bool)
            or not isinstance(max_concurrent_creates, int)
            or max_concurrent_creates < 1
        ):
            raise ConfigurationError(
                "max_concurrent_creates must be a whole number >= 1, "
                f"got {max_concurrent_creates!r}"
            )
        self._max_concurrent_creates = max_concurrent_creates
        self._settings = resolve_settings(
            api_key=api_key,
            base_url=base_url,
            site=site,
            timeout=timeout,
            max_retries=max_retries,
            max_video_bytes=max_video_bytes,
        )
        self._shown_url = display_url(self._settings.base_url)

    def __repr__(self) -> str:
        s = getattr(self, "_settings", None)
        if s is None:
            # A construction that failed: a traceback formatted with locals still reprs `self`,
            # and a repr that raises there would hide the ConfigurationError behind its own.
            return f"{type(self).__name__}(<not configured>)"
        return (
            f"{type(self).__name__}(base_url={display_url(s.base_url)!r}, "
            f"timeout={s.timeout!r}, max_retries={s.max_retries!r})"
        )

    @property
    def base_url(self) -> str:
        return self._settings.base_url

    @property
    def max_retries(self) -> int:
        return self._settings.max_retries

    def _translated(self, policy: Policy, exc: Exception, url: str | None = None) -> WanI2VError:
        """Ours for a failure of one request, chained to it (so that it can be raised later),
        without the key (whatever the server echoed)."""
        error = policy.ours(exc, url or self._shown_url)
        return scrubbed(error, self._settings.auth.scrubber, exc)

    def _video_rules(self, plan: OutputPlan, source: VideoSource) -> dict[str, Any]:
        """How ``PartialFile`` writes a video: replace or not, for which task, how big."""
        return {
            "overwrite": plan.overwrite,
            "task_id": source.task_id,
            "max_bytes": self._settings.max_video_bytes,
        }

    def _plan_generation(
        self, fields: Mapping[str, Any], output: PathArg | None, overwrite: bool
    ) -> tuple[CreateGenerationTaskRequest, OutputPlan]:
        """Everything ``generate`` checks before paying: the request, then the output."""
        request = build_create_request(fields, stream_images=True)  # local images: D19
        return request, plan_output(output, overwrite=overwrite)


def has_local_image(fields: Mapping[str, Any]) -> bool:
    """Reading a local image is file I/O: the async client does it in a thread."""
    return any(not is_http_url(fields.get(name)) for name in IMAGE_FIELDS if fields.get(name))


def task_uuid(task_or_id: Task | str) -> uuid.UUID:
    """The task id as the generated client wants it; a malformed id is refused unsent."""
    raw = task_or_id.id if isinstance(task_or_id, Task) else task_or_id
    parsed = parse_task_id(raw)
    if parsed is None:
        raise ValidationError(
            field="task_id",
            problem=f"{raw!r} is not a task id (a UUID such as "
            "'3c90c3cc-0d44-4b50-8888-8dd25736052a')",
        )
    import uuid  # loaded by parse_task_id already

    return uuid.UUID(parsed)


@contextlib.contextmanager
def after_paying(task_id: str) -> Iterator[None]:
    """Around everything after an accepted create: the task may be billed, so its id is never
    lost. Our errors get ``task_id``; anything else becomes ``TaskIncompleteError``; an
    interruption stays what it is (see ``interruptions_noted``)."""
    try:
        with interruptions_noted(task_id):
            yield
    except WanI2VError as exc:
        if exc.task_id is None:
            exc.task_id = task_id
        raise
    except Exception as exc:
        raise TaskIncompleteError(task_id=task_id, reason=describe(exc)) from exc


@contextlib.contextmanager
def interruptions_noted(task_id: str) -> Iterator[None]:
    """Ctrl-C and asyncio cancellation leaving a call about an existing task: the exception
    stays what it is (a library must not swallow either; structured concurrency needs the
    ``CancelledError``), with a note naming the task and how to finish it, logged once at
    WARNING on ``wan_i2v``. ``asyncio.wait_for``/``asyncio.timeout`` raise their
    ``TimeoutError`` outside our frame: the note is then on its ``__cause__``."""
    try:
        yield
    except BaseException as exc:
        if _is_interruption(exc):
            note = (
                f"wan_i2v: task {task_id} was created and may still be running (and billed): "
                f"finish it with wait({task_id!r}) and download({task_id!r})."
            )
            if note not in getattr(exc, "__notes__", ()):  # nested calls note it once
                exc.add_note(note)
                logger.warning("%s: %s", type(exc).__name__, note.removeprefix("wan_i2v: "))
        raise


def _is_interruption(exc: BaseException) -> bool:
    if isinstance(exc, KeyboardInterrupt):
        return True
    # Only asyncio can have raised a CancelledError, and then it is imported: no import here
    # (sync users do not pay asyncio's start-up).
    asyncio = sys.modules.get("asyncio")
    return asyncio is not None and isinstance(exc, asyncio.CancelledError)
