"""The asynchronous client, and the source of the synchronous one.

This file is written by hand; ``_client.py`` is generated from it by scripts/unasync.py (``nox -s
generate``; ``nox -s regen_check`` fails when the two disagree). Write every change here, with
the primitives of _async_io (paired with _sync_io) so the rewrite stays mechanical.

Only I/O lives here; the rules are in _base and the modules it uses."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any, Self, TypeVar, Unpack

import httpx

from ._async_io import Semaphore, call_hook, run_blocking, sleep, upload
from ._base import (
    BaseClient,
    BeforeCreateCallback,
    CreatedCallback,
    PathArg,
    after_paying,
    has_local_image,
    interruptions_noted,
    task_uuid,
)
from ._constants import DEFAULT_CONCURRENT_CREATES, DEFAULT_DOWNLOAD_TIMEOUT, DEFAULT_WAIT_TIMEOUT
from ._deadline import Deadline, checked_seconds, deadline_scope
from ._download import (
    PartialFile,
    VideoSource,
    check_deadline,
    deadline_reported,
    task_id_of,
    video_error,
    video_source,
)
from ._errors import ConfigurationError, WanI2VError
from ._http import async_clients
from ._output import OutputPlan, plan_output
from ._pacing import AsyncCreateGate
from ._polling import StatusCallback, Waiter
from ._request import CreateFields, build_create_request
from ._retry import CALL_ERRORS, CREATE, GET, VIDEO, Policy
from ._task import Task, answer_for
from ._translate import CHUNK, BodyReader, create_request, get_request, task_or_error

if TYPE_CHECKING:  # the generated package (and attrs) load on the first request
    from collections.abc import Iterable, Mapping

    from wan_i2v._generated.models.create_generation_task_request import CreateGenerationTaskRequest

    from .batch import BatchRow, Journal, Manifest, RowResult

T = TypeVar("T")


class AsyncClient(BaseClient):
    """Asynchronous client for wan2.2-i2v-plus.

    Args:
        api_key: defaults to ``MULEROUTER_API_KEY`` (environment, then ``./.env``).
        base_url: defaults to ``MULEROUTER_BASE_URL``, else the site's URL.
        site: ``"mulerouter"`` (default) or ``"mulerun"``; also ``MULEROUTER_SITE``.
        timeout: seconds for each HTTP request, connect to last byte (default 60).
        max_retries: retries of a failed request where retrying is safe (default 3; 0: off).
        max_video_bytes: the most bytes a downloaded video may have (default 500 MB); a
            bigger one is a ``DownloadError`` and leaves nothing behind.
        http_client: your own ``httpx.AsyncClient`` (proxies, transports). Requests are sent
            through it; it is never modified, and it stays yours to close.
        max_concurrent_creates: creates (uploads) this client has in flight at once (default
            8); the others wait their turn unsent, so that status checks and downloads always
            find a free connection in the pool (100 connections, or your ``http_client``'s).
    """

    def __init__(
        self,
        *,
        api_key: str | None = None,
        base_url: str | None = None,
        site: str | None = None,
        timeout: float | None = None,
        max_retries: int | None = None,
        max_video_bytes: int | None = None,
        http_client: httpx.AsyncClient | None = None,
        max_concurrent_creates: int = DEFAULT_CONCURRENT_CREATES,
    ) -> None:
        try:
            super().__init__(
                api_key=api_key,
                base_url=base_url,
                site=site,
                timeout=timeout,
                max_retries=max_retries,
                max_concurrent_creates=max_concurrent_creates,
                max_video_bytes=max_video_bytes,
            )
        except ConfigurationError as exc:
            # A traceback keeps this frame and prints its locals when formatted with them:
            # drop the key from it, and the frames below (which hold it too) from the error.
            del api_key
            raise exc.with_traceback(None)  # noqa: B904  # the same error, not a new one
        self._api, self._video = async_clients(self._settings.http, http_client)
        self._creates = Semaphore(self._max_concurrent_creates)
        self._gate = AsyncCreateGate()  # one create cool-down for every create of this client
        self._sends_through = http_client is not None

    async def create(self, **fields: Unpack[CreateFields]) -> Task:
        """Check every field, then create a task (one billed task per successful call).

        Raises:
            ValidationError: a field breaks a documented constraint; nothing was sent.
            CreateOutcomeUnknownError: the request was sent but its outcome is unknown; it is
                not retried, since a task may exist.
        """
        return await self._post(await self._build(fields))

    async def get(self, task_id: Task | str) -> Task:
        """The task's current state (retried on network errors, 408, 429 and 5xx)."""
        wanted = task_uuid(task_id)
        request = get_request(wanted)
        task = await self._call(GET, Deadline(None), lambda deadline: self._send(request, deadline))
        return answer_for(task, str(wanted))

    async def wait(
        self,
        task_or_id: Task | str,
        *,
        timeout: float = DEFAULT_WAIT_TIMEOUT,
        poll_interval: float | None = None,
        on_status: StatusCallback | None = None,
    ) -> Task:
        """Poll until the task has succeeded, and return it, within ``timeout`` seconds.

        Raises:
            TaskFailedError: the task failed (with the API's code, title and detail).
            WaitTimeoutError: ``timeout`` seconds passed; the task may still be running.
        """
        waiter = Waiter(
            task_or_id, timeout=timeout, poll_interval=poll_interval, on_status=on_status
        )
        request = get_request(task_uuid(waiter.task_id))
        with interruptions_noted(waiter.task_id):
            while waiter.result is None:
                await sleep(waiter.next_delay())
                try:
                    task = await self._send(request, waiter.deadline)
                except CALL_ERRORS as exc:
                    waiter.poll_failed(self._translated(GET, exc))
                    continue
                waiter.observe(task)
        return waiter.result

    async def download(
        self,
        task_or_url: Task | str,
        path: PathArg | None = None,
        *,
        overwrite: bool = False,
        timeout: float = DEFAULT_DOWNLOAD_TIMEOUT,
    ) -> Path:
        """Stream the video to ``path`` and return the path, within ``timeout`` seconds.

        ``task_or_url`` is a succeeded ``Task``, a task id (a fresh link is fetched: links
        expire) or a video URL. ``path`` is a file, a folder (``"videos/"`` is created), or
        None: ``./<task id>.mp4``. The file appears only once complete; the API key is never
        sent to the video host.
        """
        deadline = Deadline(checked_seconds("timeout", timeout))
        plan = plan_output(path, overwrite=overwrite)
        if isinstance(task_or_url, str) and (task_id := task_id_of(task_or_url)):
            task_or_url = await self.get(task_id)
        return await self._fetch(video_source(task_or_url), plan, deadline)

    async def generate(
        self,
        *,
        output: PathArg | None = None,
        overwrite: bool = False,
        timeout: float = DEFAULT_WAIT_TIMEOUT,
        poll_interval: float | None = None,
        before_create: BeforeCreateCallback | None = None,
        on_created: CreatedCallback | None = None,
        on_status: StatusCallback | None = None,
        **fields: Unpack[CreateFields],
    ) -> Path:
        """Create, wait and download in one call; returns the video's path.

        The request and the output are both checked before anything is paid for.
        ``before_create(body)`` runs after those checks, just before the POST (a batch can
        journal the row there); ``on_created(task)`` as soon as the task exists: save its
        id. Every failure after that carries ``task_id``: finish with ``wait``/``download``.
        """
        body, plan = await run_blocking(self._plan_generation, fields, output, overwrite)
        if before_create is not None:
            await call_hook(before_create, body.to_dict())
        task = await self._post(body)
        with after_paying(task.id):
            if on_created is not None:
                on_created(task)
            done = await self.wait(
                task, timeout=timeout, poll_interval=poll_interval, on_status=on_status
            )
            return await self._fetch(video_source(done), plan, Deadline(DEFAULT_DOWNLOAD_TIMEOUT))

    def generate_many(
        self,
        rows: Manifest | Iterable[BatchRow | Mapping[str, Any]],
        out_dir: PathArg,
        *,
        concurrency: int = 2,  # the upstream limit of concurrent Wan i2v tasks per account
        journal: Journal | PathArg | None = None,
        max_new_tasks: int | None = None,
        retry_unknown: bool = False,
        retry_failed: bool = False,
        skip_invalid: bool = False,
        timeout: float = DEFAULT_WAIT_TIMEOUT,
        poll_interval: float | None = None,
        on_start: Callable[[str], object] | None = None,
    ) -> AsyncIterator[RowResult]:
        """Make one video per row, ``concurrency`` rows at a time, yielding each row's
        ``RowResult`` as it finishes; crash-safe and resumable (``wan_i2v.batch``).

        Every row is checked before the first task is created. Each paid step is journaled
        first (``journal``: a path or a ``Journal``; default ``out_dir/.wan-i2v-journal.sqlite``),
        so a rerun after any interruption resumes: done rows are skipped, rows with a task id
        are waited for and downloaded, rows whose create had an unknown outcome are reported
        and paid again only with ``retry_unknown``; failed rows only with ``retry_failed``.
        ``max_new_tasks`` caps the tasks this run creates. The engine is async on both clients
        (``run_batch_sync``, the sync face, runs it in an event loop of its own).
        """
        from .batch._engine import BatchOptions, run_batch

        options = BatchOptions(
            concurrency=concurrency,
            journal=journal,
            max_new_tasks=max_new_tasks,
            retry_unknown=retry_unknown,
            retry_failed=retry_failed,
            skip_invalid=skip_invalid,
            timeout=timeout,
            poll_interval=poll_interval,
            on_start=on_start,
        )
        return run_batch(self, rows, out_dir, options)

    # --- I/O -----------------------------------------------------------------------------

    async def _build(self, fields: CreateFields) -> CreateGenerationTaskRequest:
        # Reading a local image is file I/O: kept off the event loop (run_blocking).
        if has_local_image(fields):
            return await run_blocking(build_create_request, fields, stream_images=True)
        return build_create_request(fields, stream_images=True)

    async def _post(self, body: CreateGenerationTaskRequest) -> Task:
        request = create_request(body, base_url=self._api.base_url, upload=upload)
        # Waiting for a turn sends nothing, and the request's time starts once it has one.

        async def once(deadline: Deadline) -> Task:
            await self._gate.wait()  # a 429 on any create of this client pauses them all
            with self._gate.watch():
                return await self._send(request, deadline)

        async with self._creates:
            return await self._call(CREATE, Deadline(None), once)

    async def _send(self, kwargs: dict[str, Any], deadline: Deadline) -> Task:
        """One API request, its body read up to the cap, within the deadline."""
        budget = deadline.for_request(self._settings.timeout)
        request = self._api.build_request(**kwargs, timeout=budget.timeout)
        with deadline_scope(budget):  # every socket read and write ends by it
            response = await self._api.send(request, stream=True)
            try:
                reader = BodyReader(response)
                # A body its transport read already (a MockTransport on a user's client).
                chunks = _no_chunks() if response.is_stream_consumed else response.aiter_raw(CHUNK)
                if response.is_stream_consumed:
                    reader.take_read(response)
                async for raw in chunks:
                    reader.feed(raw)
                    if reader.full:
                        break
                    if budget.expired:  # between chunks too: holds a transport of any kind
                        raise httpx.ReadTimeout(
                            "the deadline passed while reading", request=request
                        )
            finally:
                await response.aclose()
        return task_or_error(response, reader.content, self._settings.auth.scrubber)

    async def _fetch(self, source: VideoSource, plan: OutputPlan, deadline: Deadline) -> Path:
        """Stream one video into place, retried where safe, within the deadline."""
        target = plan.target(source.default_name)

        async def once(deadline: Deadline) -> Path:
            # The whole body may take longer than one request's timeout; each read may not.
            timeout = min(self._settings.timeout, max(deadline.remaining(), 0.5))
            request = self._video.build_request("GET", source.url, timeout=timeout)
            with deadline_scope(deadline):  # every socket read and write ends by it
                with deadline_reported(deadline, url=source.url, task_id=source.task_id):
                    response = await self._video.send(request, stream=True)
                try:
                    if response.status_code >= 400:
                        raise video_error(response, task_id=source.task_id)
                    with (
                        PartialFile(target, response, **self._video_rules(plan, source)) as part,
                        deadline_reported(deadline, url=source.url, task_id=source.task_id),
                    ):
                        async for chunk in response.aiter_bytes():
                            part.write(chunk)
                            check_deadline(deadline, url=source.url, task_id=source.task_id)
                        return part.commit()
                finally:
                    await response.aclose()

        return await self._call(VIDEO, deadline, once, url=source.url)

    async def _call(
        self,
        policy: Policy,
        deadline: Deadline,
        once: Callable[[Deadline], Awaitable[T]],
        *,
        url: str | None = None,
    ) -> T:
        """Run ``once`` under ``policy``: retried as it allows, failures translated to ours.

        The first attempt runs outside stamina: its retry context is most of a create's own
        cost, and almost every call succeeds at once. Only a failure enters it, and its first
        attempt re-raises that failure, so the hooks, the waits and the attempt count are
        those of a call stamina ran from the start (stamina stays the only backoff code)."""
        try:
            return await once(deadline)
        except CALL_ERRORS as exc:
            replay: WanI2VError | None = self._translated(policy, exc, url)
        async for attempt in policy.attempts(self.max_retries, deadline):
            with attempt:
                if replay is not None:
                    failure, replay = replay, None
                    raise failure  # attempt 1, made above: stamina decides what follows
                try:
                    return await once(deadline)
                except CALL_ERRORS as exc:
                    raise self._translated(policy, exc, url)  # noqa: B904  # chained
        raise AssertionError("unreachable: stamina re-raises the last failure")

    async def aclose(self) -> None:
        """Close our connections (an ``http_client`` you passed in stays open: it is yours)."""
        await self._api.aclose()
        await self._video.aclose()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()


async def _no_chunks() -> AsyncIterator[bytes]:
    return
    yield b""  # a generator that yields nothing
