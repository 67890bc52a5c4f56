"""The sandbox's connections: how many, how slow, and what malformed HTTP gets.

uvicorn's HTTP/1.1 protocol (h11), with four changes that a server meant to stay up under a
user's worst test needs:

- at most ``max_connections`` open: one more is answered 503 (Retry-After) and closed before
  its request is read (uvicorn's ``limit_concurrency`` counts too, but answers in plain text
  only once the headers are in, so a thousand connections dribbling headers stay open);
- a request's headers must arrive within ``header_timeout`` seconds of the connection
  opening (or of the previous answer): else 408 and closed;
- malformed HTTP is answered 400 in the one error shape, not uvicorn's plain text;
- a ``"drop"`` fault can close the connection of the request it plays on (``DROP_HOOK``).

These answers are written by the protocol, outside the app: they are not counted in
``/_sandbox/stats``.
"""

from __future__ import annotations

import asyncio
import http
from typing import Any

import h11
from uvicorn.protocols.http.h11_impl import H11Protocol

from ._config import SandboxConfig
from ._http import DROP_HOOK
from ._refusal import Problem, refusal


def raw_refusal(status: int, problem: Problem, *, retry_after: float | None = None) -> bytes:
    """A whole HTTP/1.1 answer in the one error shape, ending the connection."""
    response = refusal(status, [problem], retry_after=retry_after, close=True)
    head = [f"HTTP/1.1 {status} {http.HTTPStatus(status).phrase}".encode()]
    head += [name + b": " + value for name, value in response.raw_headers]
    return b"\r\n".join(head) + b"\r\n\r\n" + bytes(response.body)


class SandboxProtocol(H11Protocol):
    """H11Protocol bounded as the module says; ``protocol_for`` sets the two limits."""

    max_connections: int = 500
    header_timeout: float = 10.0
    _header_timer: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        # Per connection: the scope of each request of it carries the hook that drops it.
        self.app_state = {**self.app_state, DROP_HOOK: self.transport.abort}
        if len(self.connections) > self.max_connections:
            problem = Problem("connection", f"more than {self.max_connections} are open")
            self._end(raw_refusal(503, problem, retry_after=1))
            return
        self._arm_header_timer()

    def handle_events(self) -> None:
        super().handle_events()
        if self.conn.their_state is not h11.IDLE:  # a request's headers are in
            self._disarm_header_timer()

    def on_response_complete(self) -> None:
        self._arm_header_timer()  # before super(): it may start a pipelined request at once
        super().on_response_complete()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm_header_timer()
        super().connection_lost(exc)

    def send_400_response(self, msg: str) -> None:
        problem = Problem("request", "not valid HTTP/1.1 (malformed request line or headers)")
        self._end(raw_refusal(400, problem))

    def _arm_header_timer(self) -> None:
        self._disarm_header_timer()
        self._header_timer = self.loop.call_later(self.header_timeout, self._headers_too_slow)

    def _disarm_header_timer(self) -> None:
        if self._header_timer is not None:
            self._header_timer.cancel()
            self._header_timer = None

    def _headers_too_slow(self) -> None:
        self._header_timer = None
        busy = self.cycle is not None and not self.cycle.response_complete
        if busy or self.transport.is_closing() or self.conn.their_state is not h11.IDLE:
            return
        seconds = f"{self.header_timeout:g}"
        problem = Problem("request", f"the request's headers did not arrive within {seconds} s")
        self._end(raw_refusal(408, problem))

    def _end(self, answer: bytes) -> None:
        self._disarm_header_timer()
        self.transport.write(answer)
        self.transport.close()


def protocol_for(config: SandboxConfig) -> type[SandboxProtocol]:
    """The protocol class uvicorn runs the sandbox with (``uvicorn.Config(http=...)``)."""
    limits: dict[str, Any] = {
        "max_connections": config.max_connections,
        "header_timeout": config.header_timeout,
    }
    return type("BoundedSandboxProtocol", (SandboxProtocol,), limits)
