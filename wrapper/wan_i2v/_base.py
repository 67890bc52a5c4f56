"""What the sync and async clients share: everything but the I/O.

``Client`` and ``AsyncClient`` add only the methods that send requests, sleep or write files,
with paired names (``close``/``aclose``); every rule they apply comes from here or from the
modules named for it (_validation, _retry, _polling, _download).
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable
from typing import Any

import httpx

from wan_i2v._generated.models.task_response import TaskResponse
from wan_i2v._generated.types import Response

from ._config import Settings, resolve_settings
from ._errors import ValidationError, make_status_error
from ._images import ImageInput
from ._logging import log_request, log_response
from ._retry import parse_fallback
from ._task import Task
from ._version import __version__

USER_AGENT = f"wan-i2v/{__version__} (python-httpx/{httpx.__version__})"
CreatedCallback = Callable[[Task], object]
PathArg = str | os.PathLike[str]


class BaseClient:
    """Configuration, request building and response reading shared by both clients."""

    _settings: Settings

    def __init__(
        self,
        *,
        api_key: str | None,
        base_url: str | None,
        site: str | None,
        timeout: float | None,
        max_retries: int | None,
    ) -> None:
        self._settings = resolve_settings(
            api_key=api_key,
            base_url=base_url,
            site=site,
            timeout=timeout,
            max_retries=max_retries,
        )

    def __repr__(self) -> str:
        s = self._settings
        return (
            f"{type(self).__name__}(base_url={s.base_url!r}, timeout={s.timeout!r}, "
            f"max_retries={s.max_retries!r})"
        )

    @property
    def base_url(self) -> str:
        return self._settings.base_url

    @property
    def max_retries(self) -> int:
        return self._settings.max_retries

    def _configure_http(
        self, http: httpx.Client | httpx.AsyncClient, *, hooks: dict[str, list[Any]]
    ) -> None:
        """Point a user's own httpx client at the API (the generated client's
        ``set_httpx_client`` takes it as it is: base URL, key and timeout not applied)."""
        http.base_url = httpx.URL(self._settings.base_url)
        http.headers["Authorization"] = f"Bearer {self._settings.api_key}"
        merged: dict[str, list[Callable[..., Any]]] = {}
        for name in ("request", "response"):
            merged[name] = [*http.event_hooks.get(name, []), *hooks.get(name, [])]
        http.event_hooks = merged

    def _api_url(self, path: str = "") -> str:
        return f"{self._settings.base_url}{path}"


def task_uuid(task_or_id: Task | str) -> uuid.UUID:
    """The task id as the generated client wants it; a malformed id is refused unsent."""
    raw = task_or_id.id if isinstance(task_or_id, Task) else task_or_id
    try:
        return uuid.UUID(str(raw))
    except ValueError:
        raise ValidationError(
            field="task_id",
            problem=f"{raw!r} is not a task id (a UUID such as "
            "'3c90c3cc-0d44-4b50-8888-8dd25736052a')",
        ) from None


def task_from_response(response: Response[Any]) -> Task:
    """Our Task from a success response of the generated client.

    The generated parser knows 202 (create) and 200 (get); another 2xx (201 on create, D8)
    is parsed here with the same generated model.
    """
    parsed = response.parsed
    if not isinstance(parsed, TaskResponse):
        parsed = TaskResponse.from_dict(parse_fallback(response.status_code, response.content))
    return Task.from_generated(parsed)


def is_url(value: ImageInput | None) -> bool:
    """An image given as an http(s) URL needs no file reading."""
    return isinstance(value, str) and value.lower().startswith(("http://", "https://"))


def raise_for_status(response: httpx.Response) -> None:
    """Response hook rule: an error status becomes our typed error before the generated
    parser sees it (it would crash on an HTML 502 or a status outside HTTPStatus).
    The body must have been read."""
    log_response(response)
    if response.status_code >= 400:
        raise make_status_error(response)


def sync_hooks() -> dict[str, list[Callable[..., Any]]]:
    def on_response(response: httpx.Response) -> None:
        if response.status_code >= 400:
            response.read()
        raise_for_status(response)

    return {"request": [log_request], "response": [on_response]}


def async_hooks() -> dict[str, list[Callable[..., Any]]]:
    async def on_request(request: httpx.Request) -> None:
        log_request(request)

    async def on_response(response: httpx.Response) -> None:
        if response.status_code >= 400:
            await response.aread()
        raise_for_status(response)

    return {"request": [on_request], "response": [on_response]}
