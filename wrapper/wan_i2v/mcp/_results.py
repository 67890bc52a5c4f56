"""What the tools answer: the library's names (``task_id``, ``status``, ``phase``, ``videos``,
``error``, ``path``), errors as ``isError`` results with a message naming the field or the
task, and the API key in none of them.

The key is removed from everything that leaves the server (results, progress messages, log
lines): the library never puts it in a message, and this is the boundary that makes sure a
server that echoes it back cannot either.
"""

from __future__ import annotations

import base64
import hashlib
import logging
from collections.abc import Mapping
from typing import Any

from mcp_types import CallToolResult, TextContent

from .._images import inspect_image
from .._request import IMAGE_FIELDS
from .._task import Task, phase_of

MASK = "***"


class Redactor:
    """Removes one secret (the API key) from text and from JSON-like data."""

    def __init__(self, secret: str | None) -> None:
        self._secret = secret or None

    def text(self, value: str) -> str:
        return value.replace(self._secret, MASK) if self._secret else value

    def data(self, value: Any) -> Any:
        if isinstance(value, str):
            return self.text(value)
        if isinstance(value, Mapping):
            return {self.text(str(k)): self.data(v) for k, v in value.items()}
        if isinstance(value, list | tuple):
            return [self.data(v) for v in value]
        return value


class RedactingFilter(logging.Filter):
    """A log handler's filter: the record's final message, without the key."""

    def __init__(self, redactor: Redactor) -> None:
        super().__init__()
        self.redactor = redactor

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        cleaned = self.redactor.text(message)
        if cleaned != message or record.args:
            record.msg, record.args = cleaned, None
        if record.exc_info:  # a traceback's messages, formatted once here, without the key
            record.exc_text = self.redactor.text(_FORMATTER.formatException(record.exc_info))
            record.exc_info = None
        elif record.exc_text:
            record.exc_text = self.redactor.text(record.exc_text)
        return True


_FORMATTER = logging.Formatter()


class ToolFailure(Exception):
    """A tool's refusal or failure, answered as an ``isError`` result.

    Args:
        message: for the agent, naming the field or the task and what to do.
        data: the structured part (``task_id``, ``status``, ``error``, ...).
    """

    def __init__(self, message: str, data: Mapping[str, Any] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.data = dict(data or {})


def error_result(message: str, data: Mapping[str, Any], redactor: Redactor) -> CallToolResult:
    return CallToolResult(
        content=[TextContent(type="text", text=redactor.text(message))],
        structured_content=redactor.data(dict(data)),
        is_error=True,
    )


def error_data(code: str, detail: str, **extra: Any) -> dict[str, Any]:
    return {**extra, "error": {"code": code, "detail": detail}}


def task_result(task: Task, **extra: Any) -> dict[str, Any]:
    """A task as the library names it."""
    error = None
    if task.error is not None:
        error = {"code": task.error.code, "title": task.error.title, "detail": task.error.detail}
    return {
        "task_id": task.id,
        "status": task.status,
        "phase": str(task.phase),
        "videos": list(task.videos),
        "error": error,
        "created_at": task.created_at.isoformat(),
        "updated_at": task.updated_at.isoformat(),
        **extra,
    }


def status_phase(status: str | None) -> str | None:
    return None if status is None else str(phase_of(status))


def shown_request(body: Mapping[str, Any]) -> dict[str, Any]:
    """The request as it would be sent, each image described instead of included."""
    shown = dict(body)
    for name in IMAGE_FIELDS:
        value = shown.get(name)
        if isinstance(value, str):
            shown[name] = describe_image(value, field=name)
    return shown


def describe_image(value: str, *, field: str) -> dict[str, Any]:
    if not value.startswith("data:"):
        return {"url": value, "note": "sent as is; the API fetches it"}
    data = base64.b64decode(value.partition(",")[2])
    info = inspect_image(data, field=field)
    return {
        "format": info.format,
        "width": info.width,
        "height": info.height,
        "bytes": info.size,
        "sha256": hashlib.sha256(data).hexdigest(),
    }
