"""Files the user names, opened so that none can hang us, fill memory or be replaced by mistake.

- What kind a path is (``file_kind``): only a regular file is ever read as input or replaced
  as output; a FIFO, a socket or a device is named and refused.
- Reading an input file (``read_input_file``): opened non-blocking (opening a FIFO would wait
  for a writer), checked with fstat on the open descriptor (nothing can swap the file between
  the check and the read), and read with a bound (one byte past the limit proves it too big).
  A FIFO is read only where the caller allows it, within a deadline: some secret managers
  serve a ``.env`` through a named pipe.
"""

from __future__ import annotations

import os
import select
import stat
import time
from pathlib import Path

_KINDS = (
    (stat.S_ISDIR, "a folder"),
    (stat.S_ISFIFO, "a FIFO (named pipe)"),
    (stat.S_ISSOCK, "a socket"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
)

_READ_FLAGS = (
    os.O_RDONLY
    | getattr(os, "O_NONBLOCK", 0)  # opening a FIFO would otherwise wait for a writer
    | getattr(os, "O_NOCTTY", 0)  # a terminal must not become our controlling one
    | getattr(os, "O_BINARY", 0)  # Windows would translate newlines
)


class InputFileError(Exception):
    """The file cannot be read as input; the message names it and says why."""


def file_kind(mode: int) -> str:
    """``"a regular file"``, ``"a FIFO (named pipe)"``, ... for an ``st_mode``."""
    if stat.S_ISREG(mode):
        return "a regular file"
    return next((kind for test, kind in _KINDS if test(mode)), "not a regular file")


def special_kind(path: Path) -> str | None:
    """What ``path`` is when it exists and is neither a regular file, a folder nor a symlink
    (a symlink is replaced as a name, never followed): a FIFO, a socket or a device. None
    otherwise (missing included)."""
    try:
        mode = os.lstat(path).st_mode
    except (FileNotFoundError, NotADirectoryError):
        return None
    except OSError:  # a name too long to look up, say: the caller's other checks say so
        return None
    if stat.S_ISREG(mode) or stat.S_ISDIR(mode) or stat.S_ISLNK(mode):
        return None
    return file_kind(mode)


def read_input_file(path: Path, *, limit: int, fifo_seconds: float = 0.0) -> bytes:
    """The bytes of a regular file (or, with ``fifo_seconds`` > 0, of a FIFO whose writer
    finishes within that many seconds), never more than ``limit`` bytes.

    Raises:
        FileNotFoundError, NotADirectoryError: there is no such file.
        IsADirectoryError: it is a folder.
        InputFileError: any other kind, too big, a FIFO too slow, or a read error.
    """
    name = str(path)
    try:
        fd = os.open(path, _READ_FLAGS)
    except (FileNotFoundError, NotADirectoryError, IsADirectoryError):
        raise
    except OSError as exc:
        if os.path.isdir(path):  # Windows refuses to open a folder
            raise IsADirectoryError(name) from None
        raise InputFileError(f"cannot open {name}: {exc.strerror or exc}") from None
    try:
        info = os.fstat(fd)
        if stat.S_ISDIR(info.st_mode):
            raise IsADirectoryError(name)
        if stat.S_ISREG(info.st_mode):
            if info.st_size > limit:  # known too big: refuse without reading a byte
                raise InputFileError(_too_big(name, limit))
            return _read_bounded(fd, name, limit, fifo_seconds=None)
        if stat.S_ISFIFO(info.st_mode) and fifo_seconds > 0:
            return _read_bounded(fd, name, limit, fifo_seconds=fifo_seconds)
        raise InputFileError(f"{name} is {file_kind(info.st_mode)}, not a regular file")
    except OSError as exc:
        if isinstance(exc, IsADirectoryError):
            raise
        raise InputFileError(f"cannot read {name}: {exc.strerror or exc}") from None
    finally:
        os.close(fd)


def _read_bounded(fd: int, name: str, limit: int, *, fifo_seconds: float | None) -> bytes:
    """Read to the end of the file, at most ``limit + 1`` bytes; a FIFO within its seconds."""
    deadline = None if fifo_seconds is None else time.monotonic() + fifo_seconds
    chunks: list[bytes] = []
    total = 0
    while total <= limit:
        # A FIFO: wait for data or for its writer to finish, never past the deadline.
        # (Read at once and a FIFO no one has opened yet looks empty.)
        if deadline is not None and not _readable(fd, deadline - time.monotonic()):
            raise InputFileError(
                f"{name} is a FIFO (named pipe) whose writer did not finish within "
                f"{fifo_seconds:g} s"
            )
        try:
            chunk = os.read(fd, min(limit + 1 - total, 1 << 16))
        except BlockingIOError:  # a FIFO whose writer is still there, with nothing new yet
            continue
        if not chunk:
            break
        chunks.append(chunk)
        total += len(chunk)
    if total > limit:
        raise InputFileError(_too_big(name, limit))
    return b"".join(chunks)


def _readable(fd: int, seconds: float) -> bool:
    """Data (or the writer's end) is there within ``seconds``; poll() has no fd limit."""
    if seconds <= 0:
        return False
    if hasattr(select, "poll"):
        poller = select.poll()
        poller.register(fd, select.POLLIN)
        return bool(poller.poll(seconds * 1000))
    return bool(select.select([fd], [], [], seconds)[0])


def _too_big(name: str, limit: int) -> str:
    return f"{name} is larger than {limit:,} bytes"
