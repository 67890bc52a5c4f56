"""Which video to fetch, from where, and how it gets to disk whole. No network here.

The body is streamed into a temporary file beside the target and moved onto it only once it
is complete, so a failure (a network error, a full disk, Ctrl-C) never leaves a half-written
file that looks like a video, nor a temporary one. A body is a video or an error: it must open
like an MP4, stay within ``max_video_bytes``, and match the length its server announced.
"""

from __future__ import annotations

import contextlib
import errno
import functools
import os
import stat
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import IO, Any, Self
from urllib.parse import urlsplit

import httpx

from ._deadline import Deadline
from ._errors import DownloadError, OutputExistsError, ValidationError, is_transient_status
from ._files import file_kind, special_kind
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

    What arrives is checked as it is written: a video host's error page (HTML, JSON) or any
    body that does not open like an MP4 is refused at its first bytes, and no more than
    ``max_bytes`` are ever written (a gzip body that inflates past it is cut off there).
    Leaving the ``with`` block without a commit (any exception, KeyboardInterrupt included)
    removes it. Every OSError becomes a ``DownloadError`` naming the task.
    """

    def __init__(
        self,
        target: Path,
        response: httpx.Response,
        *,
        overwrite: bool,
        task_id: str | None,
        max_bytes: int,
    ) -> None:
        self._target = target
        self._response = response
        self._overwrite = overwrite
        self._task_id = task_id
        self._max_bytes = max_bytes
        self._where = display_url(response.request.url)
        self._file: IO[bytes] | None = None
        self._tmp: Path | None = None
        self._head: bytes | None = b""  # the first bytes, until they are checked (then None)
        self.written = 0

    def __enter__(self) -> Self:
        declared = _declared_length(self._response)
        identity = self._response.headers.get("content-encoding", "identity") == "identity"
        if identity and declared is not None and declared > self._max_bytes:
            raise self._too_big(f"announces {declared:,} bytes")  # before writing a byte
        tmp = self._target.with_name(temp_name())
        with self._writing():
            # O_EXCL: never reuse a file; mode 0o666 lets the umask decide, as for any new file.
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
            self._tmp = tmp
            self._file = os.fdopen(fd, "wb")
        return self

    def write(self, chunk: bytes) -> None:
        assert self._file is not None
        if self.written + len(chunk) > self._max_bytes:
            raise self._too_big("is larger")
        if self._head is not None:
            self._head += chunk[: _HEAD_KEPT - len(self._head)]
            if len(self._head) >= _BOX_HEADER:
                self._check_head()
        with self._writing():
            self._file.write(chunk)
        self.written += len(chunk)

    def commit(self) -> Path:
        """Check the body is whole and a video, then move it into place."""
        assert self._file is not None
        assert self._tmp is not None
        response = self._response
        expected = _declared_length(response)
        received = response.num_bytes_downloaded
        if received == 0 and self.written:  # read whole by its transport (a MockTransport)
            received = self.written
        if expected is not None and received != expected:
            raise DownloadError(
                f"The video from {self._where} ended after {received} of {expected} bytes; "
                "nothing was written.",
                task_id=self._task_id,
                transient=True,
            )
        if self.written == 0:
            raise DownloadError(
                f"The video from {self._where} is empty; nothing was written.",
                task_id=self._task_id,
            )
        if self._head is not None:  # fewer bytes than a box header
            self._check_head()
        with self._writing():
            self._file.flush()
            os.fsync(self._file.fileno())
            self._file.close()
            if self._overwrite:
                self._replace_regular(self._tmp)
            else:
                # link() fails if the target appeared meanwhile, where rename would replace it.
                try:
                    os.link(self._tmp, self._target)
                except FileExistsError:
                    raise OutputExistsError(path=str(self._target)) from None
                self._tmp.unlink()
        self._tmp = None
        return self._target

    def _check_head(self) -> None:
        """The body must open like an MP4 (an ISO-BMFF box), and not be labelled as a page."""
        head, self._head = self._head or b"", None
        media = self._response.headers.get("content-type", "").split(";")[0].strip().lower()
        if _is_page_type(media) or not _is_mp4_start(head):
            labelled = f" ({_shown(media)})" if media else ""
            raise DownloadError(
                f"The video host sent {_describe(head)}{labelled} instead of an MP4 video for "
                f"{self._where}; nothing was written.",
                task_id=self._task_id,
            )

    def _too_big(self, what: str) -> DownloadError:
        return DownloadError(
            f"The video from {self._where} {what}, more than max_video_bytes "
            f"({self._max_bytes:,}); nothing was written.",
            task_id=self._task_id,
        )

    def _replace_regular(self, tmp: Path) -> None:
        """``os.replace``, except that a FIFO, a socket, a device or a folder at the target is
        never replaced, not even one that appeared after the plan was checked.

        Where Linux swaps two names atomically (``renameat2(RENAME_EXCHANGE)``), the swap is
        undone when what came out is not a regular file or a symlink; with nothing at the
        target, ``link()`` never replaces. Elsewhere, the check just before the rename leaves
        a window of one system call.
        """
        for _ in range(3):  # the target changing under us twice in a row: give up
            self._refuse_special(self._target)
            swapped = _exchange(tmp, self._target)
            if swapped is None:  # no atomic swap here
                os.replace(tmp, self._target)
                return
            if swapped:
                if not _replaceable(tmp):  # what was at the target: put it back
                    _exchange(tmp, self._target)
                    raise self._not_replaced(self._target, _kind_of(self._target))
                os.unlink(tmp)  # the file (or symlink) that was replaced
                return
            try:  # nothing at the target
                os.link(tmp, self._target)
            except FileExistsError:
                continue
            os.unlink(tmp)
            return
        raise DownloadError(
            f"{self._target} kept changing while the video was moved there; nothing was written.",
            task_id=self._task_id,
        )

    def _refuse_special(self, path: Path) -> None:
        kind = special_kind(path)
        if kind is None and path.is_dir() and not path.is_symlink():
            kind = "a folder"
        if kind is not None:
            raise self._not_replaced(path, kind)

    def _not_replaced(self, path: Path, kind: str) -> DownloadError:
        again = f" `download({self._task_id!r})` fetches it again." if self._task_id else ""
        return DownloadError(
            f"{path} is {kind}, not a regular file: it was not replaced, and the video was "
            f"not written.{again}",
            task_id=self._task_id,
        )

    @contextlib.contextmanager
    def _writing(self) -> Iterator[None]:
        try:
            yield
        except (OutputExistsError, DownloadError):
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


# --- What a video looks like ---------------------------------------------------------------

_BOX_HEADER = 8  # an ISO-BMFF box opens with a 4-byte size and a 4-byte type
_HEAD_KEPT = 48  # bytes kept to say what arrived instead
# The boxes an MP4 (or a fragment of one) may open with.
_FIRST_BOXES = frozenset({b"ftyp", b"styp", b"moov", b"mdat", b"free", b"skip", b"wide"})
# Media types that are a page or a message, never a video, whatever the bytes.
_PAGE_TYPES = frozenset({"application/json", "application/xml", "application/xhtml+xml"})


def _is_mp4_start(head: bytes) -> bool:
    if len(head) < _BOX_HEADER or head[4:8] not in _FIRST_BOXES:
        return False
    size = int.from_bytes(head[:4], "big")
    return size in (0, 1) or size >= _BOX_HEADER  # 0: to the end; 1: a 64-bit size follows


def _is_page_type(media: str) -> bool:
    return media.startswith("text/") or media in _PAGE_TYPES or media.endswith(("+json", "+xml"))


def _describe(head: bytes) -> str:
    """What arrived, short and terminal-safe: quoted text, or the first bytes in hex."""
    text = head.lstrip()
    if text[:1] == b"<":
        kind = "an HTML page"
    elif text[:1] in (b"{", b"["):
        kind = "JSON"
    elif len(head) < _BOX_HEADER:
        return f"{len(head)} bytes ({head.hex(' ')})"
    else:
        printable = sum(32 <= b < 127 or b in b"\t\r\n" for b in head)
        if printable < len(head) * 0.9:
            return f"bytes {head[:_BOX_HEADER].hex(' ')}"
        kind = "text"
    return f"{kind} starting {_shown(text.decode('latin-1'))!r}"


def _shown(text: str, limit: int = 40) -> str:
    """Server text made short and harmless: control and non-ASCII characters become '?'."""
    cleaned = "".join(ch if " " <= ch <= "~" else "?" for ch in text[:limit])
    return cleaned + ("..." if len(text) > limit else "")


def _kind_of(path: Path) -> str:
    try:
        return file_kind(os.lstat(path).st_mode)
    except OSError:
        return "gone"


def _replaceable(path: Path) -> bool:
    try:
        mode = os.lstat(path).st_mode
    except OSError:
        return False
    return stat.S_ISREG(mode) or stat.S_ISLNK(mode)


_AT_FDCWD = -100
_RENAME_EXCHANGE = 2


@functools.cache
def _renameat2() -> Any:
    """libc's renameat2 (Linux, glibc 2.28+ or musl), or None."""
    if not sys.platform.startswith("linux"):
        return None
    import ctypes  # here: ~2 ms of start-up, needed only once a video is saved

    try:
        function = ctypes.CDLL(None, use_errno=True).renameat2
    except (OSError, AttributeError):
        return None
    at, name = ctypes.c_int, ctypes.c_char_p
    function.argtypes = [at, name, at, name, ctypes.c_uint]
    function.restype = ctypes.c_int
    return function


def _exchange(a: Path, b: Path) -> bool | None:
    """Swap two names atomically: True when swapped, False when ``b`` does not exist, None
    where the system cannot (another OS, an old kernel, a file system without it)."""
    function = _renameat2()
    if function is None:
        return None
    if function(_AT_FDCWD, os.fsencode(a), _AT_FDCWD, os.fsencode(b), _RENAME_EXCHANGE) == 0:
        return True
    import ctypes  # loaded by _renameat2 already

    code = ctypes.get_errno()
    if code == errno.ENOENT and os.path.lexists(a):
        return False
    if code in (errno.ENOSYS, errno.EINVAL, errno.ENOTSUP, errno.EPERM, errno.EXDEV):
        return None
    raise OSError(code, os.strerror(code), str(b))


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
