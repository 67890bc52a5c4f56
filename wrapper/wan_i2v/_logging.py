"""The ``wan_i2v`` logger. DEBUG lines show each request, with the key redacted and image
data elided, so a log can be shared with support as it is."""

from __future__ import annotations

import logging
import re

import httpx

from ._body import SHOWN_BODY
from ._scrub import SECRET_HEADERS as _SECRET_HEADERS
from ._urls import display_url

logger = logging.getLogger("wan_i2v")
# As libraries should: with no logging configured, nothing reaches Python's last-resort
# handler (which prints WARNING and above to stderr); an application's own handlers still
# get every record (propagation is untouched).
logger.addHandler(logging.NullHandler())

# A data URI's payload is megabytes of noise in a log line: keep its kind and its size.
_DATA_URI = re.compile(rb"data:([\w.+/-]+);base64,([A-Za-z0-9+/=]+)")


def log_request(request: httpx.Request) -> None:
    """Log one outgoing request at DEBUG (nothing is formatted unless DEBUG is on)."""
    if not logger.isEnabledFor(logging.DEBUG):
        return
    headers = {
        name: ("<redacted>" if name.lower() in _SECRET_HEADERS else value)
        for name, value in request.headers.items()
    }
    logger.debug(
        "request %s %s headers=%s body=%s",
        request.method,
        display_url(request.url),
        headers,
        describe_body(_content(request)),
    )


def log_response(response: httpx.Response) -> None:
    """Log one response status at DEBUG."""
    if logger.isEnabledFor(logging.DEBUG):
        logger.debug(
            "response %s %s -> %s",
            response.request.method,
            display_url(response.request.url),
            response.status_code,
        )


def describe_body(content: bytes | None, *, limit: int = 2000) -> str:
    """A request body for a log line: base64 image data elided, long bodies shortened."""
    if not content:
        return "<none>"
    elided = _DATA_URI.sub(
        lambda m: b"data:" + m.group(1) + b";base64,<%d base64 chars>" % len(m.group(2)),
        content,
    )
    text = elided.decode("utf-8", errors="replace")
    return text if len(text) <= limit else f"{text[:limit]}... <{len(text)} chars>"


def _content(request: httpx.Request) -> bytes | None:
    try:
        return request.content
    except httpx.RequestNotRead:  # streamed: our create body says how to show it (_body)
        shown = request.extensions.get(SHOWN_BODY)
        return shown if isinstance(shown, bytes) else None
