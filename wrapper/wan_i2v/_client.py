"""The synchronous client. Only I/O lives here; the rules are in _base and the modules it uses.
Its twin is _async_client.py: keep the two in step (tests/test_parity.py checks it)."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from types import TracebackType
from typing import Any, Self, TypeVar

import httpx

from wan_i2v._generated import AuthenticatedClient
from wan_i2v._generated.api.generation import create_generation_task, get_generation_task

from ._base import (
    USER_AGENT,
    BaseClient,
    CreatedCallback,
    PathArg,
    sync_hooks,
    task_from_response,
    task_uuid,
)
from ._constants import (
    DEFAULT_DURATION,
    DEFAULT_PROMPT_EXTEND,
    DEFAULT_RESOLUTION,
    DEFAULT_WAIT_TIMEOUT,
    DOWNLOAD_CHUNK_BYTES,
)
from ._download import PartialFile, check_target, plan_download, video_request
from ._errors import APIError
from ._images import ImageInput
from ._polling import StatusCallback, Waiter
from ._retry import CALL_ERRORS, CREATE, GET, Policy, attempts
from ._task import Task
from ._validation import build_create_request

T = TypeVar("T")


class Client(BaseClient):
    """Client for wan2.2-i2v-plus.

    Args:
        api_key: defaults to ``MULEROUTER_API_KEY`` (environment, then ``./.env``).
        base_url: defaults to ``MULEROUTER_BASE_URL``, else the site's URL.
        site: ``"mulerouter"`` (default) or ``"mulerun"``; also ``MULEROUTER_SITE``.
        timeout: seconds for each HTTP request (default 60).
        max_retries: retries of a failed request where retrying is safe (default 3; 0: off).
        http_client: your own ``httpx.Client`` (proxies, transports). It is pointed at the API
            (base URL, key, hooks) and stays yours to close.
    """

    def __init__(
        self,
        *,
        api_key: str | None = None,
        base_url: str | None = None,
        site: str | None = None,
        timeout: float | None = None,
        max_retries: int | None = None,
        http_client: httpx.Client | None = None,
    ) -> None:
        super().__init__(
            api_key=api_key,
            base_url=base_url,
            site=site,
            timeout=timeout,
            max_retries=max_retries,
        )
        self._api = AuthenticatedClient(
            base_url=self._settings.base_url,
            token=self._settings.api_key,
            headers={"User-Agent": USER_AGENT},
            timeout=httpx.Timeout(self._settings.timeout),
            httpx_args={"event_hooks": sync_hooks()},
        )
        self._owns_http = http_client is None
        if http_client is not None:
            self._configure_http(http_client, hooks=sync_hooks())
            self._api.set_httpx_client(http_client)
        self._http = self._api.get_httpx_client()

    def create(
        self,
        *,
        image: ImageInput,
        prompt: str,
        negative_prompt: str | None = None,
        resolution: str = DEFAULT_RESOLUTION,
        duration: int = DEFAULT_DURATION,
        prompt_extend: bool = DEFAULT_PROMPT_EXTEND,
        seed: int | None = None,
        last_frame: ImageInput | None = None,
        extra_body: Mapping[str, Any] | None = None,
    ) -> Task:
        """Check every field, then create a task (one billed task per successful call).

        Raises:
            ValidationError: a field breaks a documented constraint; nothing was sent.
            CreateOutcomeUnknownError: the request was sent but its outcome is unknown; it is
                not retried, since a task may exist.
        """
        body = build_create_request(
            image=image,
            prompt=prompt,
            negative_prompt=negative_prompt,
            resolution=resolution,
            duration=duration,
            prompt_extend=prompt_extend,
            seed=seed,
            last_frame=last_frame,
            extra_body=extra_body,
        )

        def once() -> Task:
            response = create_generation_task.sync_detailed(client=self._api, body=body)
            return task_from_response(response)

        return self._call(CREATE, self._api_url(), once)

    def get(self, task_id: Task | str) -> Task:
        """The task's current state (retried on network errors, 408, 429 and 5xx)."""
        task_uid = task_uuid(task_id)

        def once() -> Task:
            response = get_generation_task.sync_detailed(task_uid, client=self._api)
            return task_from_response(response)

        return self._call(GET, self._api_url(), once)

    def wait(
        self,
        task_or_id: Task | str,
        *,
        timeout: float = DEFAULT_WAIT_TIMEOUT,
        poll_interval: float | None = None,
        on_status: StatusCallback | None = None,
    ) -> Task:
        """Poll until the task has succeeded, and return it.

        Raises:
            TaskFailedError: the task failed (with the API's code, title and detail).
            WaitTimeoutError: ``timeout`` seconds passed; the task may still be running.
        """
        waiter = Waiter(
            task_or_id, timeout=timeout, poll_interval=poll_interval, on_status=on_status
        )
        while waiter.result is None:
            time.sleep(waiter.next_delay())
            try:
                task = self.get(waiter.task_id)
            except APIError as exc:
                waiter.poll_failed(exc)
                continue
            waiter.observe(task)
        return waiter.result

    def download(
        self, task_or_url: Task | str, path: PathArg | None = None, *, overwrite: bool = False
    ) -> Path:
        """Stream the video to ``path`` (default ``./<task id>.mp4``) and return the path.

        The file appears only once complete; the API key is never sent to the video host.
        """
        plan = plan_download(task_or_url, path, overwrite=overwrite)

        def once() -> Path:
            request = video_request(self._http, plan.url)
            response = self._http.send(request, stream=True, follow_redirects=True)
            with contextlib.closing(response), PartialFile(plan) as part:
                for chunk in response.iter_bytes(DOWNLOAD_CHUNK_BYTES):
                    part.write(chunk)
                return part.commit(response)

        return self._call(GET, plan.url, once)

    def generate(
        self,
        *,
        image: ImageInput,
        prompt: str,
        output: PathArg | None = None,
        negative_prompt: str | None = None,
        resolution: str = DEFAULT_RESOLUTION,
        duration: int = DEFAULT_DURATION,
        prompt_extend: bool = DEFAULT_PROMPT_EXTEND,
        seed: int | None = None,
        last_frame: ImageInput | None = None,
        extra_body: Mapping[str, Any] | None = None,
        overwrite: bool = False,
        timeout: float = DEFAULT_WAIT_TIMEOUT,
        poll_interval: float | None = None,
        on_created: CreatedCallback | None = None,
        on_status: StatusCallback | None = None,
    ) -> Path:
        """Create, wait and download in one call; returns the video's path.

        ``on_created(task)`` fires as soon as the task exists, before waiting: save its id,
        and resume with ``wait(id)`` if this process stops.
        """
        # Refuse a target that cannot be written before paying for a video.
        check_target(output, "video.mp4", overwrite=overwrite)
        task = self.create(
            image=image,
            prompt=prompt,
            negative_prompt=negative_prompt,
            resolution=resolution,
            duration=duration,
            prompt_extend=prompt_extend,
            seed=seed,
            last_frame=last_frame,
            extra_body=extra_body,
        )
        if on_created is not None:
            on_created(task)
        done = self.wait(task, timeout=timeout, poll_interval=poll_interval, on_status=on_status)
        return self.download(done, output, overwrite=overwrite)

    def _call(self, policy: Policy, url: str, once: Callable[[], T]) -> T:
        """Run ``once`` under ``policy``: retried as it allows, failures translated to ours."""
        for attempt in attempts(policy.retry, self.max_retries):
            with attempt:
                try:
                    return once()
                except CALL_ERRORS as exc:
                    if (error := policy.translate(exc, url=url)) is None:
                        raise
                    raise error from exc
        raise AssertionError("unreachable: stamina re-raises the last failure")

    def close(self) -> None:
        """Close the connections (not those of an ``http_client`` you passed in)."""
        if self._owns_http:
            self._http.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
