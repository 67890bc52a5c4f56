"""Where an agent may make the server read and write: nowhere but the folders it was given.

An agent's file names are untrusted input. An image path is read only inside the image root
(``--image-root``); a video is written only inside the output folder (``--output-dir``).
Both are checked on the fully resolved path (symlinks followed), so ``../x``, an absolute path
elsewhere and a symlink that leads out are all refused before anything is read or written.
"""

from __future__ import annotations

from pathlib import Path, PurePosixPath, PureWindowsPath

from .._errors import ValidationError
from .._output import safe_filename
from .._urls import is_http_url


def _inside(path: Path, root: Path) -> bool:
    return path == root or path.is_relative_to(root)


def image_source(value: str, root: Path, *, field: str) -> str:
    """What the library reads for an image field: a URL or a data URI unchanged (the library
    checks them), a path resolved under ``root``.

    Raises:
        ValidationError: the path resolves outside ``root``.
    """
    if is_http_url(value) or value[:5].lower() == "data:" or "://" in value:
        return value  # the library refuses other schemes with its own message
    given = Path(value)
    resolved = (given if given.is_absolute() else root / given).resolve()
    if not _inside(resolved, root.resolve()):
        raise ValidationError(
            field=field,
            problem=(
                f"{value!r} is outside the server's image root ({root}): give a path inside "
                "it, an http(s) URL or a data URI"
            ),
        )
    return str(resolved)


def video_target(output_dir: Path, file_name: str | None, task_id: str) -> Path:
    """The file a video goes to: ``file_name`` (default ``<task id>.mp4``) inside
    ``output_dir``, subfolders allowed.

    Raises:
        ValidationError: naming ``file_name``: absolute, climbing out (``..``), or leading out
            of the folder through a symlink.
    """
    if file_name is None or file_name == "":
        return output_dir / safe_filename(task_id)
    # Either separator, either convention: "C:\\x.mp4" and "\\\\host\\x" are absolute too.
    posix, windows = PurePosixPath(file_name), PureWindowsPath(file_name)
    if posix.is_absolute() or windows.is_absolute() or windows.drive or windows.root:
        raise ValidationError(
            field="file_name",
            problem=f"{file_name!r} is an absolute path: give a name inside the output folder",
        )
    if ".." in windows.parts or ".." in posix.parts:
        raise ValidationError(
            field="file_name",
            problem=f"{file_name!r} climbs out of the output folder: give a name inside it",
        )
    target = output_dir / file_name
    root = output_dir.resolve()
    resolved = target.resolve()
    if resolved == root or not _inside(resolved, root):
        raise ValidationError(
            field="file_name",
            problem=(
                f"{file_name!r} leads outside the output folder ({output_dir}), through a "
                "symlink: give another name"
            ),
        )
    return target
