"""The one scrubber for text that comes from a server.

Two rules, for every message, error attribute, log line, ``--json`` string and contract report:

- **The key is removed** (``***``), wherever a server or proxy echoed it: the key itself, and
  the forms an echo plausibly takes (``Bearer <key>``, URL-encoded, JSON-escaped, base64 of the
  key or of the whole header value). Only a ``Scrubber`` built from the key can do this: it is
  made by ``ApiKeyAuth`` (the one holder of the key) or by the contract check from the key it
  was given; its repr masks it and it refuses to be pickled.
- **Control characters are escaped** (``\\x1b``, ``\\n``, ``\\u202e``): C0, DEL, C1, and the
  Unicode bidirectional overrides, isolates and line separators. An ANSI or OSC sequence in a
  status word must not clear the user's screen or retitle their terminal; a line break must
  not forge a line of our output; a bidi override must not reorder what is read. This needs no
  key: ``escape_controls`` is what the command line's display applies to everything it prints.
"""

from __future__ import annotations

import base64
import json
import re
from typing import Any
from urllib.parse import quote

__all__ = ["MASK", "MIN_SECRET", "NO_SECRET", "SECRET_HEADERS", "Scrubber", "escape_controls"]

MASK = "***"
# Request headers that carry credentials: never logged, never kept by an error.
SECRET_HEADERS = frozenset({"authorization", "proxy-authorization", "cookie", "x-api-key"})
# A key shorter than this is not masked on its own: it would mangle ordinary words (tests use
# short keys). Its "Bearer <key>" form is masked whatever its length.
MIN_SECRET = 8

_BIDI_AND_SEPARATORS = "\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069"
_CONTROLS = re.compile(f"[\x00-\x1f\x7f-\x9f{_BIDI_AND_SEPARATORS}]")
_NAMED = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}


def _escaped(match: re.Match[str]) -> str:
    char = match.group()
    if char in _NAMED:
        return _NAMED[char]
    code = ord(char)
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def escape_controls(text: str) -> str:
    """``text`` with every control character written as a visible escape (ESC as ``\\x1b``)."""
    return _CONTROLS.sub(_escaped, text)


def _forms(key: str) -> list[str]:
    """The ways an echo may spell the key, longest first (so a longer form is masked whole)."""
    values = [f"Bearer {key}", key] if len(key) >= MIN_SECRET else [f"Bearer {key}"]
    forms = set(values)
    for value in values:
        encoded = base64.b64encode(value.encode()).decode()
        forms |= {encoded, encoded.rstrip("=")}  # an echo may drop the padding
    if len(key) >= MIN_SECRET:
        json_form = json.dumps(key)[1:-1]  # a quote or a backslash in the key, escaped
        forms |= {quote(key, safe=""), json_form, json_form.replace("/", "\\/")}
    return sorted(forms, key=len, reverse=True)


class Scrubber:
    """Removes one API key from server text and escapes its control characters.

    ``Scrubber(key)`` knows the key; ``NO_SECRET`` knows none (it only escapes). Call it on a
    string for display; ``redact`` removes the key only (data); ``bytes`` serves a body as read,
    before anything is parsed from it.
    """

    __slots__ = ("_byte_forms", "_pattern")

    def __init__(self, key: str | None = None) -> None:
        forms = _forms(key) if key else []
        self._pattern = re.compile("|".join(map(re.escape, forms))) if forms else None
        self._byte_forms = [form.encode() for form in forms]

    def redact(self, text: str) -> str:
        """``text`` without the key (control characters left as they are)."""
        return text if self._pattern is None else self._pattern.sub(MASK, text)

    def __call__(self, text: str) -> str:
        """``text`` without the key, its control characters escaped: fit for any output."""
        # Redacted again after escaping: an escape could spell a key that holds a backslash.
        return self.redact(escape_controls(self.redact(text)))

    def bytes(self, content: bytes) -> bytes:
        """A raw body without the key (its bytes are otherwise kept as they were)."""
        for form in self._byte_forms:
            content = content.replace(form, MASK.encode())
        return content

    def __repr__(self) -> str:
        return "Scrubber(***)" if self._pattern is not None else "Scrubber()"

    def __reduce__(self) -> Any:
        raise TypeError("a Scrubber knows an API key and cannot be pickled")


NO_SECRET = Scrubber()
