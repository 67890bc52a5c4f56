"""Reading a create body the way a server that must stay up reads it.

JSON only (415 otherwise), never more than MAX_BODY_BYTES held (413, checked on the
Content-Length before reading and counted while streaming a chunked body), and a client that
hangs up mid-upload ends the request quietly instead of raising into the server's log.

Across uploads, ``BodyBudget`` bounds the body bytes being read and judged at once
(``max_body_bytes_in_flight``): an upload waits, unread, for room (the connection's flow
control keeps its bytes in the kernel), and after ``max_upload_wait`` seconds is answered
503 with Retry-After. One upload alone always fits, whatever its size under the cap.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response

from ._from_spec import MAX_BODY_BYTES
from ._refusal import Problem, refusal

MEDIA_TYPE = "application/json"
SMALL_BODY_BYTES = 1 << 16  # bodies up to this (a URL image) pass the budget untouched
BUDGET_POLL_SECONDS = 0.02  # how often a waiting upload looks for room


class BodyBudget:
    """Body bytes held at once across uploads: at most ``limit``, or one upload alone.

    Thread-safe and bound to no event loop (a waiting upload polls): one app may be served by
    several loops in turn (ASGI transports in tests).
    """

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.held = 0
        self._lock = threading.Lock()

    def try_take(self, size: int) -> bool:
        with self._lock:
            if self.held and self.held + size > self.limit:
                return False
            self.held += size
            return True

    def give_back(self, size: int) -> None:
        with self._lock:
            self.held -= size

    @asynccontextmanager
    async def room(self, size: int | None, wait: float) -> AsyncIterator[None]:
        """Hold room for a body of ``size`` bytes (None: unknown, the cap) while reading and
        judging it; raises BodyRefused (503, Retry-After) when none frees in ``wait`` s."""
        size = MAX_BODY_BYTES if size is None else size
        if size <= SMALL_BODY_BYTES:
            yield
            return
        deadline = time.monotonic() + wait
        while not self.try_take(size):
            if time.monotonic() >= deadline:
                message = f"{self.held} body bytes are being read; try again shortly"
                raise BodyRefused(
                    refusal(503, [Problem("body", message)], retry_after=1, close=True)
                )
            await asyncio.sleep(BUDGET_POLL_SECONDS)
        try:
            yield
        finally:
            self.give_back(size)


class BodyRefused(Exception):  # a refusal to send, not a fault
    """The body is not read; ``response`` is the answer to send instead."""

    def __init__(self, response: Response) -> None:
        super().__init__(response.status_code)
        self.response = response


def check_head(request: Request, limit: int = MAX_BODY_BYTES) -> int | None:
    """What the headers say before a byte of the body is read: its declared length (None:
    chunked); raises BodyRefused (400 no body, 415 not JSON, 413 declared too long)."""
    content_type = request.headers.get("content-type")
    if content_type is None and not _has_body(request):
        # No body at all is a missing required body (400), not a body of the wrong type.
        raise BodyRefused(refusal(400, [Problem("body", "is required")]))
    if (content_type or "").partition(";")[0].strip().lower() != MEDIA_TYPE:
        problem = Problem("Content-Type", f"{content_type or 'none'!r} is not {MEDIA_TYPE}")
        raise BodyRefused(refusal(415, [problem]))
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise BodyRefused(_too_large(limit, f"Content-Length {declared}"))
    return int(declared) if declared is not None and declared.isdigit() else None


async def read_body(request: Request, limit: int = MAX_BODY_BYTES) -> bytes:
    """The whole body (after ``check_head``), at most ``limit`` bytes of it; raises
    BodyRefused (413) past it, and ClientDisconnect when the client hangs up before the end.
    """
    chunks: list[bytes] = []
    received = 0
    async for chunk in request.stream():
        received += len(chunk)
        if received > limit:
            raise BodyRefused(_too_large(limit, f"more than {received} bytes so far"))
        chunks.append(chunk)
    return b"".join(chunks)


def _has_body(request: Request) -> bool:
    length = request.headers.get("content-length")
    return "transfer-encoding" in request.headers or (length is not None and length != "0")


def _too_large(limit: int, seen: str) -> Response:
    # Connection: close, since the rest of the body is never read.
    message = f"the body is longer than {limit} bytes ({seen})"
    return refusal(413, [Problem("body", message)], close=True)


__all__ = [
    "MAX_BODY_BYTES",
    "BodyBudget",
    "BodyRefused",
    "ClientDisconnect",
    "check_head",
    "read_body",
]
