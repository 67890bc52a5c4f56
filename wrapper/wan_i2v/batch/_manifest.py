"""The manifest: one row per video, read from JSON Lines or CSV, every row checked before any
task is created.

A row holds the create fields by their names (whatever ``wan_i2v._request.FIELDS`` declares,
new fields included: there is no batch list of its own), plus ``output`` (a file name under
the output folder; default ``<key>.mp4``) and ``key`` (the row's own id; default its line
number). CSV cells are text: each is converted by its field's declared type (bool, int,
choices, mappings as JSON); an empty cell is a field not given. Relative image paths are
relative to the manifest's folder. Every row is built with ``build_create_request``, the same
checks as ``create``; a manifest with bad rows is refused whole, each bad row named with its
line, key, field and problem (``skip_invalid`` keeps the good ones).
"""

from __future__ import annotations

import base64
import collections.abc
import csv
import hashlib
import json
import os
import typing
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path, PurePath
from typing import Any

from .._body import StreamedImage
from .._errors import ValidationError, WanI2VError
from .._output import safe_filename
from .._request import FIELDS, IMAGE_FIELDS, FieldInfo, build_create_request

ROW_COLUMNS = ("key", "output")  # the batch's own columns, beside the create fields
_TRUE = frozenset({"true", "yes", "1", "on"})
_FALSE = frozenset({"false", "no", "0", "off"})


@dataclass(frozen=True, slots=True)
class BatchRow:
    """One checked row: its key, its create fields, its output name under the batch folder.

    ``fingerprint`` is a hash of the request that will be sent (images by the hash of their
    data), so that a row changed under the same key is noticed before it is paid for again.
    """

    key: str
    fields: Mapping[str, Any]
    output: str
    line: int | None = None
    fingerprint: str = ""


@dataclass(frozen=True, slots=True)
class RowProblem:
    """Why one row cannot be sent."""

    line: int | None
    key: str | None
    field: str
    problem: str

    def __str__(self) -> str:
        where = [f"line {self.line}"] if self.line is not None else []
        if self.key is not None and self.key != str(self.line):
            where.append(f"key {self.key!r}")
        return f"{', '.join(where) or 'row'}: {self.field}: {self.problem}"

    def to_dict(self) -> dict[str, Any]:
        return {"line": self.line, "key": self.key, "field": self.field, "problem": self.problem}


class ManifestError(WanI2VError, ValueError):
    """The manifest has bad rows; nothing was sent.

    Attributes:
        problems: every bad row's line, key, field and problem.
    """

    def __init__(self, problems: list[RowProblem], *, source: str = "the manifest") -> None:
        self.problems = problems
        rows = len({(p.line, p.key) for p in problems})
        listing = "\n".join(f"  {p}" for p in problems)
        super().__init__(
            f"{source} was refused: {rows} row{'s' if rows != 1 else ''} cannot be sent, and "
            f"nothing was sent. Fix them, or pass --skip-invalid (skip_invalid=True) to go on "
            f"with the valid rows.\n{listing}"
        )


@dataclass
class Manifest:
    """The rows of a manifest that can be sent, and the problems of those that cannot."""

    rows: list[BatchRow]
    problems: list[RowProblem] = field(default_factory=list)
    source: str = "the manifest"


def read_manifest(path: str | os.PathLike[str], *, skip_invalid: bool = False) -> Manifest:
    """Read and check every row of a JSON Lines or CSV manifest (nothing is sent).

    The format is told by the extension (``.jsonl``/``.ndjson``/``.json``, ``.csv``), else by
    the first character (``{``: JSON Lines).

    Raises:
        ManifestError: a row is bad (and ``skip_invalid`` is False), or no row is good.
        OSError: the file cannot be read.
    """
    source = Path(path)
    text = source.read_text(encoding="utf-8-sig")
    suffix = source.suffix.lower()
    is_json = suffix in (".jsonl", ".ndjson", ".json") or (
        suffix != ".csv" and text.lstrip().startswith("{")
    )
    raw = _json_lines(text) if is_json else _csv_rows(text)
    manifest = check_rows(raw, base=source.parent, source=str(source))
    if manifest.problems and not skip_invalid:
        raise ManifestError(manifest.problems, source=manifest.source)
    return manifest


def check_rows(
    raw: Iterable[tuple[int | None, Mapping[str, Any] | RowProblem]],
    *,
    base: str | os.PathLike[str] = ".",
    source: str = "the manifest",
) -> Manifest:
    """Check rows given as (line, mapping) pairs: the library's way in (``generate_many``
    takes mappings too). Values are taken as they are typed (no text conversion)."""
    folder = Path(base)
    rows: list[BatchRow] = []
    problems: list[RowProblem] = []
    keys: dict[str, int] = {}
    outputs: dict[str, str] = {}
    for number, (line, item) in enumerate(raw, start=1):
        if isinstance(item, RowProblem):
            problems.append(item)
            continue
        line = line if line is not None else number
        row, found = _check_row(item, line, folder)
        key = _key(item, line)
        if key in keys:
            found.append(RowProblem(line, key, "key", f"duplicate key (first on line {keys[key]})"))
        keys.setdefault(key, line)
        if row is not None:
            # Folded: on a case-insensitive file system "A.mp4" and "a.mp4" are one file.
            name = os.path.normcase(row.output).casefold()
            if name in outputs:
                found.append(
                    _problem(
                        row,
                        "output",
                        f"{row.output!r} is also the output of key {outputs[name]!r}: each "
                        "row needs its own file",
                    )
                )
            outputs.setdefault(name, row.key)
        if found:
            problems.extend(found)
        elif row is not None:
            rows.append(row)
    if not rows and not problems:
        problems.append(RowProblem(None, None, "manifest", "holds no rows"))
    return Manifest(rows=rows, problems=problems, source=source)


def _key(item: Mapping[str, Any], line: int) -> str:
    value = item.get("key")
    return str(line) if value is None or value == "" else str(value)


def _problem(row: BatchRow, field: str, problem: str) -> RowProblem:
    return RowProblem(row.line, row.key, field, problem)


def _check_row(
    item: Mapping[str, Any], line: int, folder: Path
) -> tuple[BatchRow | None, list[RowProblem]]:
    key = _key(item, line)
    found: list[RowProblem] = []

    def bad(field: str, problem: str) -> None:
        found.append(RowProblem(line, key, field, problem))

    if not key.strip():
        bad("key", "must not be blank")
    for name, value in item.items():
        if isinstance(value, Unconverted):
            bad(name, value.problem)
    unknown = sorted(set(item) - set(FIELDS) - set(ROW_COLUMNS))
    for name in unknown:
        bad(name, f"unknown column (known: {', '.join([*ROW_COLUMNS, *FIELDS])})")
    output = _output_name(item.get("output"), key, bad)
    fields = {name: item[name] for name in FIELDS if item.get(name) is not None}
    for name in FIELDS:
        if FIELDS[name].required and name not in fields:
            bad(name, "is required")
    for name in IMAGE_FIELDS:
        if isinstance(fields.get(name), str):
            fields[name] = _image_path(fields[name], folder)
    if found:
        return None, found
    try:
        body = build_create_request(fields).to_dict()
    except ValidationError as exc:
        bad(exc.field, exc.problem)
        return None, found
    except TypeError as exc:  # the request's own refusal of a field (kept, not restated)
        bad("fields", str(exc))
        return None, found
    row = BatchRow(key=key, fields=fields, output=output or "", line=line)
    return BatchRow(row.key, row.fields, row.output, row.line, fingerprint(body)), found


def _output_name(value: Any, key: str, bad: typing.Callable[[str, str], None]) -> str | None:
    if value is None or value == "":
        return safe_filename(key)
    if not isinstance(value, str):
        bad("output", f"must be a file name, got {type(value).__name__}")
        return None
    pure = PurePath(value)
    if pure.is_absolute() or ".." in pure.parts or value.endswith(("/", os.sep)):
        bad("output", f"{value!r} must be a file name inside the output folder")
        return None
    return value


def _image_path(value: str, folder: Path) -> str:
    """A relative path is relative to the manifest's folder; URLs and data URIs stay."""
    lowered = value.lower()
    if lowered.startswith(("http://", "https://", "data:")) or "://" in value:
        return value
    path = Path(value).expanduser()
    return str(path if path.is_absolute() else folder / path)


def _image_hash(mime: str, data: bytes) -> str:
    """An image by its content, the same whether it is held as a data URI or streamed."""
    return f"{mime}:sha256:{hashlib.sha256(data).hexdigest()}"


def fingerprint(body: Mapping[str, Any]) -> str:
    """A hash of a request body as sent: images by the hash of their data (a data URI holds
    the image's bytes; a URL is itself), every other field by its value."""
    shown = dict(body)
    for name in IMAGE_FIELDS:
        value = shown.get(name)
        if isinstance(value, StreamedImage):  # what the clients send: the checked bytes
            shown[name] = _image_hash(value.mime, value.data)
        elif isinstance(value, str) and value.startswith("data:"):
            head, _, payload = value.partition(",")
            mime = head.removeprefix("data:").removesuffix(";base64")
            shown[name] = _image_hash(mime, base64.b64decode(payload))
    canonical = json.dumps(shown, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return "sha256:" + hashlib.sha256(canonical.encode()).hexdigest()


# --- The two formats -------------------------------------------------------------------------


def _json_lines(text: str) -> Iterator[tuple[int | None, Mapping[str, Any] | RowProblem]]:
    for line, raw in enumerate(text.splitlines(), start=1):
        if not raw.strip():
            continue
        try:
            item = json.loads(raw)
        except json.JSONDecodeError as exc:
            yield line, RowProblem(line, None, "line", f"is not JSON ({exc.msg})")
            continue
        if not isinstance(item, dict):
            yield line, RowProblem(line, None, "line", "must be one JSON object")
            continue
        yield line, item


def _csv_rows(text: str) -> Iterator[tuple[int | None, Mapping[str, Any] | RowProblem]]:
    reader = csv.reader(text.splitlines(keepends=True))
    header = next(reader, None)
    if header is None:
        return
    names = [name.strip() for name in header]
    for record in reader:
        line = reader.line_num
        if not any(cell.strip() for cell in record):
            continue
        if len(record) != len(names):
            yield (
                line,
                RowProblem(
                    line, None, "line", f"has {len(record)} cells; the header has {len(names)}"
                ),
            )
            continue
        item: dict[str, Any] = {}
        for name, cell in zip(names, record, strict=True):
            if cell == "":
                continue  # an empty cell: the field is not given
            info = FIELDS.get(name)
            try:
                item[name] = _from_text(info, cell) if info is not None else cell
            except ValueError as exc:
                item[name] = Unconverted(str(exc))
        yield line, item


@dataclass(frozen=True, slots=True)
class Unconverted:
    """A CSV cell that its field's type cannot read: reported with the row's key."""

    problem: str


def _from_text(info: FieldInfo, text: str) -> Any:
    """A CSV cell as its field's declared type (one reader of the declaration)."""
    for choice in info.choices:
        if str(choice) == text.strip():
            return choice
    if info.choices:
        return text  # the request's check names the allowed values
    if info.type is bool:
        word = text.strip().lower()
        if word in _TRUE | _FALSE:
            return word in _TRUE
        raise ValueError(f"{text!r} is not true or false")
    if info.type is int:
        try:
            return int(text.strip())
        except ValueError:
            raise ValueError(f"{text!r} is not a whole number") from None
    if typing.get_origin(info.type) in (collections.abc.Mapping, dict):
        try:
            return json.loads(text)
        except ValueError as exc:
            raise ValueError(f"is not a JSON object ({exc})") from None
    return text
