"""Scripted local HTTP servers for tests that must see real sockets: what arrived (method, path,
headers) and answers a mock cannot give (a reset, a hang, a body streamed lazily, a trickle).

Two levels, one module: ``scripted_server`` answers with declared ``Reply``/``Reset``/``Hang``
values; ``handler_server`` hands the raw request handler to the test (``reply`` writes one
whole answer), for answers written byte by byte.

One ``ScriptedServer`` runs in a background thread on 127.0.0.1; ``server.script`` (a function
of the request) says how to answer. Every request is recorded before it is answered, so tests
count what reached each host. Each answer closes its connection (HTTP/1.0), so no test depends
on connection reuse across event loops.
"""

from __future__ import annotations

import contextlib
import socket
import struct
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass(frozen=True)
class Seen:
    """One request as it reached the server (header names lower-cased)."""

    method: str
    path: str
    headers: dict[str, str]


@dataclass(frozen=True)
class Reply:
    """An HTTP answer. ``body`` may be an iterable of chunks, written lazily (a 300 MB body is
    never held); ``length`` then gives the Content-Length to declare."""

    status: int = 200
    body: bytes | Iterable[bytes] = b""
    headers: dict[str, str] = field(default_factory=dict)
    length: int | None = None


@dataclass(frozen=True)
class Reset:
    """Close the connection with a TCP RST before answering (a reset mid-request)."""


@dataclass(frozen=True)
class Hang:
    """Answer nothing until the server stops (the client's read times out)."""


Answer = Reply | Reset | Hang
Script = Callable[[Seen], Answer]


def _not_scripted(seen: Seen) -> Answer:
    return Reply(599, b"no script for " + seen.path.encode())


class ScriptedServer:
    """A local HTTP server answering by ``script``; records every request in ``requests``."""

    def __init__(self) -> None:
        self.script: Script = _not_scripted
        self.requests: list[Seen] = []
        self.bytes_sent = 0
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), _handler_for(self))
        self._httpd.daemon_threads = True
        self._httpd.block_on_close = False
        self.url = f"http://127.0.0.1:{self._httpd.server_address[1]}"

    def record(self, seen: Seen) -> None:
        with self._lock:
            self.requests.append(seen)

    def count(self, method: str | None = None) -> int:
        """Requests received (of one method, if given)."""
        return sum(1 for r in self.requests if method is None or r.method == method)

    def start(self) -> None:
        # A short poll interval: shutdown() waits up to one interval.
        threading.Thread(
            target=self._httpd.serve_forever,
            kwargs={"poll_interval": 0.02},
            name="scripted-server",
            daemon=True,
        ).start()

    def stop(self) -> None:
        self._stop.set()  # releases hanging handlers
        self._httpd.shutdown()
        self._httpd.server_close()

    def wait_for_stop(self, seconds: float) -> None:
        self._stop.wait(seconds)

    def add_sent(self, n: int) -> None:
        with self._lock:
            self.bytes_sent += n


def _handler_for(server: ScriptedServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.0"  # one request per connection

        def _any(self) -> None:
            length = int(self.headers.get("content-length") or 0)
            if length:
                self.rfile.read(length)
            seen = Seen(
                method=self.command,
                path=self.path,
                headers={k.lower(): v for k, v in self.headers.items()},
            )
            server.record(seen)
            # A client that stops reading (what a capped reader does) is not a failure.
            with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                self._answer(server.script(seen))

        do_GET = do_POST = do_PUT = do_DELETE = _any

        def _answer(self, answer: Answer) -> None:
            if isinstance(answer, Reset):
                # SO_LINGER with a zero timeout: close() sends RST instead of FIN.
                self.connection.setsockopt(
                    socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0)
                )
                self.close_connection = True
                return
            if isinstance(answer, Hang):
                server.wait_for_stop(30)
                return
            body = answer.body
            length = len(body) if isinstance(body, bytes) else answer.length
            self.send_response(answer.status)
            for name, value in answer.headers.items():
                self.send_header(name, value)
            if length is not None:
                self.send_header("Content-Length", str(length))
            self.end_headers()
            for chunk in [body] if isinstance(body, bytes) else body:
                self.wfile.write(chunk)
                server.add_sent(len(chunk))

        def log_message(self, format: str, *args: Any) -> None:
            pass  # quiet: tests read stderr

        def handle(self) -> None:
            with contextlib.suppress(OSError):  # a client gone mid-request
                super().handle()

    return Handler


@contextmanager
def scripted_server(script: Script | None = None) -> Iterator[ScriptedServer]:
    """A running ``ScriptedServer``, stopped on exit."""
    server = ScriptedServer()
    if script is not None:
        server.script = script
    server.start()
    try:
        yield server
    finally:
        server.stop()


def refused_url() -> str:
    """An http URL on a local port where nothing listens (connection refused)."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()
    return f"http://127.0.0.1:{port}"


def lazy_body(total: int, chunk: int = 1 << 16) -> Iterator[bytes]:
    """``total`` bytes of an HTML-ish error page, made chunk by chunk, never held whole."""
    piece = (b"<p>error</p>" * (chunk // 12 + 1))[:chunk]
    sent = 0
    while sent < total:
        n = min(chunk, total - sent)
        yield piece[:n]
        sent += n


def wait_until(predicate: Callable[[], bool], seconds: float = 5.0) -> bool:
    """Poll ``predicate`` until true or ``seconds`` pass; whether it became true."""
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        if predicate():
            return True
        time.sleep(0.01)
    return predicate()


# --- The lower level: the test writes each answer ------------------------------------------


@dataclass
class Requests:
    """What reached a ``handler_server``: (method, path, headers) of every request, in order."""

    requests: list[tuple[str, str, dict[str, str]]] = field(default_factory=list)

    def count(self, method: str, prefix: str = "") -> int:
        return sum(1 for m, p, _ in self.requests if m == method and p.startswith(prefix))


Handler = Callable[[BaseHTTPRequestHandler, "Requests"], None]


@contextmanager
def handler_server(handle: Handler) -> Iterator[tuple[str, Requests]]:
    """The lower level: ``handle(handler, requests)`` writes each answer itself, byte by byte
    if it likes (trickles, lies about lengths); yields the base URL and what was seen."""
    seen = Requests()
    lock = threading.Lock()

    class _Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def _any(self) -> None:
            length = int(self.headers.get("content-length") or 0)
            if length:
                self.rfile.read(length)
            with lock:
                seen.requests.append((self.command, self.path, dict(self.headers.items())))
            with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                handle(self, seen)

        do_GET = do_POST = _any

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", seen
    finally:
        server.shutdown()
        server.server_close()


def reply(
    handler: BaseHTTPRequestHandler,
    status: int,
    body: bytes = b"",
    *,
    content_type: str = "application/json",
    headers: dict[str, str] | None = None,
) -> None:
    """Send one whole answer."""
    handler.send_response(status)
    handler.send_header("content-type", content_type)
    handler.send_header("content-length", str(len(body)))
    for name, value in (headers or {}).items():
        handler.send_header(name, value)
    handler.end_headers()
    handler.wfile.write(body)
    handler.wfile.flush()
