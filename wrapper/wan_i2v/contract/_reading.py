"""Reading an answer: is it the documented refusal, and which fields does it name.

Servers name the field they refused in different places: a ``field`` key (this project's
sandbox), ``errors[].field`` (the sandbox that names every violation), a ``loc`` list
(FastAPI/pydantic: ``{"detail": [{"loc": ["body", "seed"], ...}]}``), or only in the message
text. Structured names win; the text is read only when there are none, whole words only (so
``prompt`` is not found inside ``negative_prompt``).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import jsonschema

from .._errors import is_transient_status

STRUCTURED_KEYS = ("field", "loc", "path", "param", "parameter")
MAX_SHOWN = 160  # characters of a body quoted in a report


@dataclass(frozen=True)
class Answer:
    """What came back for one request, reduced to what a check reads."""

    status: int
    content_type: str  # the media type, lower case, without parameters
    body: Any  # the parsed JSON, or None
    text: str  # the raw text, for messages and for bodies that are not JSON
    is_json: bool
    cut: int = 0  # the body went on past this many bytes, which are all that was read

    @classmethod
    def of(
        cls, response: httpx.Response, content: bytes | None = None, *, cut: bool = False
    ) -> Answer:
        """The answer to ``response``, from ``content`` (its body as read, capped) or, without
        it, from the body httpx read. ``cut``: the body went on past the cap."""
        media = response.headers.get("content-type", "").split(";")[0].strip().lower()
        raw = response.content if content is None else content
        try:
            text = raw.decode(response.charset_encoding or "utf-8", errors="replace")
        except LookupError:  # a charset Python does not know
            text = raw.decode("utf-8", errors="replace")
        try:
            body = json.loads(text) if text and not cut else None
            parsed = bool(text) and not cut
        except ValueError:
            body, parsed = None, False
        is_json = parsed and _json_media(media)
        return cls(response.status_code, media, body, text, is_json, len(raw) if cut else 0)

    @property
    def transient(self) -> bool:
        """No news about the rule: no answer at all (a refused connection, a timeout), a 408,
        a 429 or a 5xx. Asked again; never evidence of drift."""
        return self.status == 0 or is_transient_status(self.status)

    def summary(self) -> str:
        """One line: status, content type and the start of the body."""
        shown = self.text.replace("\n", " ")
        if len(shown) > MAX_SHOWN:
            shown = shown[:MAX_SHOWN] + "..."
        if self.cut:
            shown += f" (cut: longer than {self.cut} bytes)"
        return f"{self.status} {self.content_type or '(no content type)'} {shown}".rstrip()


def _json_media(media: str) -> bool:
    return media == "application/json" or media.endswith("+json")


def named_fields(answer: Answer, fields: Iterable[str]) -> frozenset[str]:
    """The known fields the answer says it refused."""
    known = set(fields)
    structured = {name for name in _structured(answer.body) if name in known}
    if structured:
        return frozenset(structured)
    text = " ".join(_strings(answer.body)) if answer.body is not None else answer.text
    return frozenset(
        name for name in known if re.search(rf"(?<![\w-]){re.escape(name)}(?![\w-])", text)
    )


def _structured(body: Any) -> Iterator[str]:
    if isinstance(body, list):
        for item in body:
            yield from _structured(item)
    elif isinstance(body, dict):
        for key, value in body.items():
            if key in STRUCTURED_KEYS:
                if isinstance(value, str):
                    yield from (part for part in re.split(r"[./\[\]]", value) if part)
                elif isinstance(value, list):
                    yield from (str(part) for part in value)
            elif isinstance(value, dict | list):
                yield from _structured(value)


def _strings(body: Any) -> Iterator[str]:
    if isinstance(body, str):
        yield body
    elif isinstance(body, list):
        for item in body:
            yield from _strings(item)
    elif isinstance(body, dict):
        for value in body.values():
            yield from _strings(value)


def error_problems(
    answer: Answer,
    *,
    expected: Iterable[int],
    documented: dict[int, jsonschema.Validator],
) -> list[str]:
    """What makes ``answer`` something other than the documented error answer: a status
    outside ``expected``, a content type that is not JSON, a body the spec does not allow
    for that status (``documented``: status -> validator of its body). Empty when it is."""
    wanted = sorted(set(expected))
    problems: list[str] = []
    if answer.status not in wanted:
        problems.append(f"status {answer.status} (expected {' or '.join(map(str, wanted))})")
    if not _json_media(answer.content_type):
        problems.append(f"content type {answer.content_type or 'missing'} (expected JSON)")
    if not answer.is_json:
        problems.append("body is not JSON")
    elif answer.status in documented:
        errors = list(documented[answer.status].iter_errors(answer.body))
        if errors:
            problems.append(f"error body not allowed by the spec: {_first_error(errors)}")
    return problems


def _first_error(errors: list[jsonschema.ValidationError]) -> str:
    error = min(errors, key=lambda e: len(e.absolute_path))
    if error.validator == "not" and not error.absolute_path:
        return "no message in detail, error, message or task_info.error"
    where = "/".join(str(p) for p in error.absolute_path) or "body"
    return f"{where}: {error.message[:MAX_SHOWN]}"
