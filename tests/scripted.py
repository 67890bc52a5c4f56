"""A scripted HTTP server on 127.0.0.1 for tests that need real sockets and real time:
each request is answered by a function of the test's, in a thread of its own."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class Seen:
    """What reached the server: (method, path, headers) of every request, in order."""

    requests: list[tuple[str, str, dict[str, str]]] = field(default_factory=list)

    def count(self, method: str, prefix: str = "") -> int:
        return sum(1 for m, p, _ in self.requests if m == method and p.startswith(prefix))


Handler = Callable[[BaseHTTPRequestHandler, Seen], None]


@contextlib.contextmanager
def scripted_server(handle: Handler) -> Iterator[tuple[str, Seen]]:
    """Serve ``handle`` until the block ends; yields the base URL and what was seen."""
    seen = Seen()
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
