"""The one error-body shape of the sandbox, for every status it refuses with.

``{"detail": "<field>: <problem>; ...", "errors": [{"field": ..., "message": ...}, ...]}``
(shared/ACROSS-ISSUES.md): every violation is named, and the body is valid under the spec's
``ErrorBody`` (whose ``detail`` a client shows as the message).
"""

from __future__ import annotations

import math
import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from starlette.responses import JSONResponse


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a request: the field or header it is in, and what is wrong."""

    field: str
    message: str


def refusal(
    status: int,
    problems: Sequence[Problem] = (),
    *,
    detail: str | None = None,
    retry_after: float | None = None,
    close: bool = False,
    headers: Mapping[str, str] | None = None,
) -> JSONResponse:
    """An error response: ``detail`` defaults to every problem, joined.

    Args:
        retry_after: seconds; sent as an integer (RFC 9110 delay-seconds), rounded up.
        close: end the connection after the answer (the request body was left unread).
        headers: more headers (a 405's ``Allow``).
    """
    if detail is None:
        detail = "; ".join(f"{p.field}: {p.message}" for p in problems)
    body = {
        "detail": detail,
        "errors": [{"field": p.field, "message": p.message} for p in problems],
    }
    sent = {**(headers or {}), **trace_header()}
    if retry_after is not None:
        sent["Retry-After"] = str(retry_after_seconds(retry_after))
    if close:
        sent["Connection"] = "close"
    return JSONResponse(body, status_code=status, headers=sent)


def trace_header() -> dict[str, str]:
    """A fresh W3C ``traceparent``: the API sends one on every answer, successes included."""
    return {"traceparent": f"00-{secrets.token_hex(16)}-{secrets.token_hex(8)}-01"}


def retry_after_seconds(seconds: float) -> int:
    """Whole seconds, never less than asked (0.5 -> 1) and never negative."""
    return max(0, math.ceil(seconds)) if math.isfinite(seconds) else 0
