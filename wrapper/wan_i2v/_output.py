"""Where a video will go, checked before anything is paid for.

Everything about the output that can fail is checked before the create POST: the target must
not exist (unless ``overwrite``), and is never anything but a regular file or a symlink (a FIFO,
a socket or a device is refused even with ``overwrite``: ``-o /dev/null --overwrite`` must not
replace /dev/null); its folder must exist or be creatable and writable, and the temporary and
final names must fit the file system. A path ending in ``/`` is a folder (created
if missing). With no name yet (``output=None`` or a folder), the name is ``<task id>.mp4``,
known once the task exists: the check is then about the folder.
"""

from __future__ import annotations

import contextlib
import os
import re
import secrets
from dataclasses import dataclass
from pathlib import Path

from ._errors import OutputExistsError, ValidationError
from ._files import special_kind

_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")
# The temporary file's name is short and fixed in length, so that any final name that fits the
# file system has a temporary name that fits too.
TEMP_PREFIX = ".wan-i2v-"
TEMP_SUFFIX = ".part"


def temp_name() -> str:
    return f"{TEMP_PREFIX}{secrets.token_hex(6)}{TEMP_SUFFIX}"


@dataclass(frozen=True, slots=True)
class OutputPlan:
    """A checked destination: a folder that exists and is writable, and a name (or None:
    the default name, once it is known)."""

    folder: Path
    name: str | None
    overwrite: bool

    def target(self, default_name: str) -> Path:
        """The file to write; ``default_name`` (made safe) when the plan has no name.

        Raises:
            OutputExistsError: it exists and ``overwrite`` is False.
            ValidationError: it is a FIFO, a socket or a device (whatever ``overwrite`` says).
        """
        name = self.name if self.name is not None else safe_filename(default_name)
        target = self.folder / name
        refuse_special(target)
        if not self.overwrite and (target.exists() or target.is_symlink()):
            raise OutputExistsError(path=str(target))
        return target


def plan_output(path: str | os.PathLike[str] | None, *, overwrite: bool) -> OutputPlan:
    """Check a destination before paying for what will be written there.

    Args:
        path: a file, a folder (an existing one, or any path ending in ``/``), or None (the
            working directory).

    Raises:
        ValidationError: the folder cannot be created or written, or the name cannot exist.
        OutputExistsError: the file exists and ``overwrite`` is False.
    """
    if path is None:
        folder, name = Path.cwd(), None
    else:
        given = Path(path)
        if os.fspath(path).endswith(("/", os.sep)) or _is_dir(given):
            folder, name = given, None
        else:
            folder, name = given.parent, given.name
    if name is not None:
        refuse_special(folder / name)  # before the folder's probe file: nothing made for it
    _ensure_folder(folder)
    if name is not None:
        _check_name(folder, name)
        target = folder / name
        if _is_dir(target):
            raise ValidationError(field="output", problem=f"{str(target)!r} is a folder")
    plan = OutputPlan(folder=folder, name=name, overwrite=overwrite)
    if name is not None:
        plan.target(name)  # exists?
    return plan


def refuse_special(target: Path) -> None:
    """Only a regular file (or a symlink, replaced as a name) is ever replaced.

    Raises:
        ValidationError: ``target`` is a FIFO, a socket or a device.
    """
    kind = special_kind(target)
    if kind is not None:
        raise ValidationError(
            field="output",
            problem=f"{str(target)!r} is {kind}, not a regular file; it is never replaced",
        )


def _is_dir(path: Path) -> bool:
    try:
        return path.is_dir()
    except OSError:  # a name too long to even look up: _check_name says so
        return False


def _ensure_folder(folder: Path) -> None:
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ValidationError(
            field="output", problem=f"cannot create the folder {str(folder)!r}: {_reason(exc)}"
        ) from None
    # Prove the folder takes our temporary file: permissions, read-only mounts, quotas.
    probe = folder / temp_name()
    try:
        fd = os.open(probe, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except OSError as exc:
        raise ValidationError(
            field="output", problem=f"cannot write in {str(folder)!r}: {_reason(exc)}"
        ) from None
    os.close(fd)
    with contextlib.suppress(OSError):
        probe.unlink()


def _check_name(folder: Path, name: str) -> None:
    limit = _name_max(folder)
    size = len(os.fsencode(name))
    if size > limit:
        raise ValidationError(
            field="output",
            problem=f"the file name is {size} bytes long; this file system allows {limit}",
        )


def _name_max(folder: Path) -> int:
    try:
        return os.pathconf(folder, "PC_NAME_MAX")
    except (OSError, ValueError, AttributeError):  # Windows has no pathconf
        return 255


def _reason(exc: OSError) -> str:
    return exc.strerror or type(exc).__name__


def safe_filename(name: str) -> str:
    """A file name that cannot climb out of its folder or hide: [A-Za-z0-9._-] only."""
    cleaned = _UNSAFE.sub("_", name).lstrip(".")[:200] or "video.mp4"
    return cleaned if cleaned.lower().endswith(".mp4") else f"{cleaned}.mp4"
