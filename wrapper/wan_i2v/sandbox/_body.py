"""Reading a create body the way a server that must stay up reads it.

JSON only (415 otherwise), never more than MAX_BODY_BYTES held (413, checked on the
Content-Length before reading and counted while streaming a chunked body), and a client that
hangs up mid-upload ends the request quietly instead of raising into the server's log.
"""

from __future__ import annotations

from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response

from ._from_spec import MAX_BODY_BYTES
from ._refusal import Problem, refusal

MEDIA_TYPE = "application/json"


class BodyRefused(Exception):  # a refusal to send, not a fault
    """The body is not read; ``response`` is the answer to send instead."""

    def __init__(self, response: Response) -> None:
        super().__init__(response.status_code)
        self.response = response


async def read_body(request: Request, limit: int = MAX_BODY_BYTES) -> bytes:
    """The whole body, at most ``limit`` bytes of it; raises BodyRefused (415, 413).

    Raises ClientDisconnect when the client hangs up before the body ends.
    """
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


__all__ = ["MAX_BODY_BYTES", "BodyRefused", "ClientDisconnect", "read_body"]
