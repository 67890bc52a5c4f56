"""Which video to fetch, from where, and how it gets to disk whole. No network here.

The body is streamed into a temporary file beside the target and moved onto it only once it
is complete, so a failure (a network error, a full disk, Ctrl-C) never leaves a half-written
file that looks like a video, nor a temporary one.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import IO, Self
from urllib.parse import urlsplit

import httpx

from ._deadline import Deadline
from ._errors import DownloadError, OutputExistsError, ValidationError, is_transient_status
from ._http import display_url
from ._output import temp_name
from ._task import Task, parse_task_id
from ._urls import is_http_url


@dataclass(frozen=True, slots=True)
class VideoSource:
    """A video to fetch: its URL, the file name it gets by default, and its task (if known)."""

    url: str
    default_name: str
    task_id: str | None


def task_id_of(value: object) -> str | None:
    """The task id when ``value`` is a Task or a task id (a UUID string), else None."""
    if isinstance(value, Task):
        return value.id
    return parse_task_id(value)


def video_source(task_or_url: Task | str) -> VideoSource:
    """The video of a succeeded ``Task`` (its first), or a video URL given by the caller.

    Raises:
        ValidationError: the task has no video yet, or the value is neither.
        DownloadError: the URL is not an absolute http(s) URL.
    """
    if isinstance(task_or_url, Task):
        if not task_or_url.videos:
            raise ValidationError(
                field="task",
                problem=f"task {task_or_url.id} has no video yet (status {task_or_url.status!r}); "
                "wait() for it first",
            )
        url = check_video_url(task_or_url.videos[0], task_id=task_or_url.id)
        return VideoSource(url=url, default_name=f"{task_or_url.id}.mp4", task_id=task_or_url.id)
    if isinstance(task_or_url, str):
        url = check_video_url(task_or_url, task_id=None)
        return VideoSource(
            url=url, default_name=Path(urlsplit(url).path).name or "video.mp4", task_id=None
        )
    raise ValidationError(
        field="task_or_url",
        problem=f"must be a Task, a task id or an http(s) URL, got {type(task_or_url).__name__}",
    )


def check_video_url(url: str, *, task_id: str | None) -> str:
    """A video URL must be absolute http(s) with a host: it comes from the server, and a
    relative URL, ``file:``, ``data:`` or ``//host/x`` must never be resolved against the API
    or read from this machine.

    Raises:
        DownloadError: before any request.
    """
    try:
        parsed = httpx.URL(url)
        ok = parsed.scheme in ("http", "https") and bool(parsed.host) and is_http_url(url)
    except (httpx.InvalidURL, TypeError):
        ok = False
    if not ok:
        shown = display_url(url) if isinstance(url, str) and "://" in url else repr(url)[:200]
        raise DownloadError(
            f"The video link {shown} is not an absolute http(s) URL; nothing was fetched.",
            task_id=task_id,
        )
    return url


def video_error(response: httpx.Response, *, task_id: str | None) -> DownloadError:
    """What an error status from the video host means. The key was never sent there, so an
    expired or revoked link is not a key problem."""
    status = response.status_code
    if status in (403, 404, 410):
        again = (
            f" `download({task_id!r})` fetches a fresh link." if task_id else " Get a fresh link."
        )
        advice = f"The link may have expired (links last about 24 hours).{again}"
    else:
        advice = "Try again later."
    return DownloadError(
        f"The video host answered {status} for {display_url(response.request.url)}. {advice}",
        status_code=status,
        task_id=task_id,
        transient=is_transient_status(status),
    )


class PartialFile:
    """A temporary file beside the target, moved onto it by ``commit()`` only.

    Leaving the ``with`` block without a commit (any exception, KeyboardInterrupt included)
    removes it. Every OSError becomes a ``DownloadError`` naming the task.
    """

    def __init__(self, target: Path, *, overwrite: bool, task_id: str | None) -> None:
        self._target = target
        self._overwrite = overwrite
        self._task_id = task_id
        self._file: IO[bytes] | None = None
        self._tmp: Path | None = None
        self.written = 0

    def __enter__(self) -> Self:
        tmp = self._target.with_name(temp_name())
        with self._writing():
            # O_EXCL: never reuse a file; mode 0o666 lets the umask decide, as for any new file.
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
            self._tmp = tmp
            self._file = os.fdopen(fd, "wb")
        return self

    def write(self, chunk: bytes) -> None:
        assert self._file is not None
        with self._writing():
            self._file.write(chunk)
        self.written += len(chunk)

    def commit(self, response: httpx.Response) -> Path:
        """Check the body is whole, then move it into place."""
        assert self._file is not None
        assert self._tmp is not None
        expected = _declared_length(response)
        received = response.num_bytes_downloaded
        if received == 0 and self.written:  # read whole by its transport (a MockTransport)
            received = self.written
        where = display_url(response.request.url)
        if expected is not None and received != expected:
            raise DownloadError(
                f"The video from {where} ended after {received} of {expected} bytes; "
                "nothing was written.",
                task_id=self._task_id,
                transient=True,
            )
        if self.written == 0:
            raise DownloadError(
                f"The video from {where} is empty; nothing was written.", task_id=self._task_id
            )
        with self._writing():
            self._file.flush()
            os.fsync(self._file.fileno())
            self._file.close()
            if self._overwrite:
                os.replace(self._tmp, self._target)
            else:
                # link() fails if the target appeared meanwhile, where rename would replace it.
                try:
                    os.link(self._tmp, self._target)
                except FileExistsError:
                    raise OutputExistsError(path=str(self._target)) from None
                self._tmp.unlink()
        self._tmp = None
        return self._target

    @contextlib.contextmanager
    def _writing(self) -> Iterator[None]:
        try:
            yield
        except OutputExistsError:
            raise
        except OSError as exc:
            raise DownloadError(
                f"Could not write the video to {self._target}: "
                f"{exc.strerror or type(exc).__name__}; nothing was left there.",
                task_id=self._task_id,
            ) from exc

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._file is not None and not self._file.closed:
            with contextlib.suppress(OSError):
                self._file.close()
        if self._tmp is not None:
            with contextlib.suppress(OSError):
                self._tmp.unlink()


def check_deadline(
    deadline: Deadline, *, url: str, task_id: str | None, slack: float = 0.0
) -> None:
    """Between chunks: a download has one overall deadline, however slowly bytes arrive."""
    if deadline.remaining() <= slack:
        raise DownloadError(
            f"The video from {display_url(url)} did not finish within "
            f"{deadline.elapsed():.0f} s; nothing was written.",
            task_id=task_id,
        )


@contextlib.contextmanager
def deadline_reported(deadline: Deadline, *, url: str, task_id: str | None) -> Iterator[None]:
    """A read timeout that ends at the download's deadline is the deadline, not the network."""
    try:
        yield
    except httpx.TimeoutException:
        if deadline.remaining() < 0.1:
            check_deadline(deadline, url=url, task_id=task_id, slack=0.1)
        raise


def _declared_length(response: httpx.Response) -> int | None:
    value = response.headers.get("content-length")
    try:
        return int(value) if value is not None else None
    except ValueError:
        return None
