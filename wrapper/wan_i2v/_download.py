"""Where a video goes and how it gets there whole. No network here.

The body is streamed into a temporary file beside the target and renamed over it only once
it is complete, so a failure never leaves a half-written file that looks like a video.
"""

from __future__ import annotations

import contextlib
import os
import re
import secrets
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import IO, Self
from urllib.parse import urlsplit

import httpx

from ._errors import DownloadError, OutputExistsError, ValidationError
from ._task import Task

_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


@dataclass(frozen=True, slots=True)
class DownloadPlan:
    url: str
    target: Path
    overwrite: bool


def plan_download(
    task_or_url: Task | str, path: str | os.PathLike[str] | None, *, overwrite: bool
) -> DownloadPlan:
    """Resolve the video URL and the target file; refuse an existing one unless overwrite.

    Args:
        task_or_url: a succeeded ``Task`` (its first video) or a video URL.
        path: a file, an existing folder (the default name goes inside), or None (the
            default name in the working directory). The default name is ``<task id>.mp4``.
    """
    if isinstance(task_or_url, Task):
        if not task_or_url.videos:
            raise ValidationError(
                field="task",
                problem=f"task {task_or_url.id} has no video yet (status {task_or_url.status!r}); "
                "wait() for it first",
            )
        url, name = task_or_url.videos[0], f"{task_or_url.id}.mp4"
    elif isinstance(task_or_url, str) and task_or_url.lower().startswith(("http://", "https://")):
        url = task_or_url
        name = Path(urlsplit(url).path).name or "video.mp4"
    else:
        raise ValidationError(
            field="task_or_url", problem=f"must be a Task or an http(s) URL, got {task_or_url!r}"
        )
    return DownloadPlan(
        url=url, target=check_target(path, name, overwrite=overwrite), overwrite=overwrite
    )


def check_target(path: str | os.PathLike[str] | None, name: str, *, overwrite: bool) -> Path:
    """The file to write: ``path``, or ``name`` (made safe) inside ``path`` when it is a
    folder or in the working directory when it is None.

    Raises:
        ValidationError: the folder does not exist.
        OutputExistsError: the file exists and ``overwrite`` is False.
    """
    target = Path.cwd() if path is None else Path(path)
    # "videos/" names a folder even before it exists: never write a file called "videos".
    if target.is_dir() or str(path).endswith(("/", os.sep)):
        target = target / safe_filename(name)
    if not target.parent.is_dir():
        raise ValidationError(field="path", problem=f"folder {str(target.parent)!r} does not exist")
    if target.exists() and not overwrite:
        raise OutputExistsError(path=str(target))
    return target


def safe_filename(name: str) -> str:
    """A file name that cannot climb out of its folder or hide: [A-Za-z0-9._-] only."""
    cleaned = _UNSAFE.sub("_", name).lstrip(".") or "video.mp4"
    return cleaned if cleaned.lower().endswith(".mp4") else f"{cleaned}.mp4"


def video_request(http: httpx.Client | httpx.AsyncClient, url: str) -> httpx.Request:
    """The GET of a video: the API key stays with the API, never sent to the video host."""
    request = http.build_request("GET", url)
    request.headers.pop("Authorization", None)
    return request


class PartialFile:
    """A temporary file beside the target, renamed onto it by ``commit()`` only.

    Leaving the ``with`` block without a commit removes it.
    """

    def __init__(self, plan: DownloadPlan) -> None:
        self._plan = plan
        self._file: IO[bytes] | None = None
        self._tmp: Path | None = None
        self.written = 0

    def __enter__(self) -> Self:
        target = self._plan.target
        self._tmp = target.with_name(f".{target.name}.{secrets.token_hex(6)}.part")
        # O_EXCL: never reuse a file; mode 0o666 lets the umask decide, as for any new file
        # (mkstemp's 0o600 would leave the video unreadable to others).
        fd = os.open(self._tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
        self._file = os.fdopen(fd, "wb")
        return self

    def write(self, chunk: bytes) -> None:
        assert self._file is not None
        self._file.write(chunk)
        self.written += len(chunk)

    def commit(self, response: httpx.Response) -> Path:
        """Check the body is whole, then move it into place."""
        assert self._file is not None
        assert self._tmp is not None
        expected = _declared_length(response)
        received = response.num_bytes_downloaded
        if expected is not None and received != expected:
            raise DownloadError(
                f"The video from {self._plan.url} ended after {received} of {expected} bytes; "
                "nothing was written. Try again."
            )
        if self.written == 0:
            raise DownloadError(f"The video from {self._plan.url} is empty; nothing was written.")
        self._file.flush()
        os.fsync(self._file.fileno())
        self._file.close()
        target = self._plan.target
        if self._plan.overwrite:
            os.replace(self._tmp, target)
        else:
            # link() fails if the target appeared meanwhile, where rename would replace it.
            try:
                os.link(self._tmp, target)
            except FileExistsError:
                raise OutputExistsError(path=str(target)) from None
            self._tmp.unlink()
        self._tmp = None
        return target

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._file is not None and not self._file.closed:
            self._file.close()
        if self._tmp is not None:
            with contextlib.suppress(FileNotFoundError):
                self._tmp.unlink()


def _declared_length(response: httpx.Response) -> int | None:
    value = response.headers.get("content-length")
    try:
        return int(value) if value is not None else None
    except ValueError:
        return None
