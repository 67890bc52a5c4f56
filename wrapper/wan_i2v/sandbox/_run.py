"""Running the sandbox: in a background thread for tests and --sandbox, or in the foreground.

The listening socket is bound here, before anything is printed or started, so that a port in
use is one clear error (not a banner followed by uvicorn's exit 3), and the URL printed is the
one bound (IPv6 in brackets, port 0 resolved).
"""

from __future__ import annotations

import errno
import ipaddress
import socket
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import uvicorn
from starlette.applications import Starlette

from ._connections import protocol_for
from ._faults import Fault, Operation, Status
from ._http import create_app
from ._state import SandboxConfig, SandboxState

LOOPBACK = "127.0.0.1"
USAGE_ERROR = 2  # the command line's exit code for what the user asked that cannot be done
MAX_PORT = 65_535


@dataclass(frozen=True)
class RunningSandbox:
    """A sandbox serving in this process: its URL, app and state, and the control surface's
    two verbs without HTTP (``stats()`` is what ``GET /_sandbox/stats`` answers)."""

    url: str  # e.g. "http://127.0.0.1:40123" or "http://[::1]:40123"
    app: Starlette
    state: SandboxState

    def stats(self) -> dict[str, Any]:
        """Counters since start (``tasks_created``, ``requests`` by operation and status)."""
        return self.state.stats()

    def inject(
        self,
        status: Status,
        *,
        count: int = 1,
        operation: Operation = "any",
        after_create: bool = False,
        retry_after: float | None = None,
    ) -> Fault:
        """Script a fault (see ``SandboxState.inject``); the fault as stored."""
        return self.state.inject(
            status,
            count=count,
            operation=operation,
            after_create=after_create,
            retry_after=retry_after,
        )


def _check_host(host: str) -> str:
    """The address to bind: loopback only, since the sandbox accepts any token and serves no
    real data. ``localhost`` is 127.0.0.1; ``[::1]`` may be written with its brackets."""
    if host == "localhost":
        return LOOPBACK
    try:
        address = ipaddress.ip_address(host.removeprefix("[").removesuffix("]"))
    except ValueError:
        address = None
    if address is None or not address.is_loopback:
        raise ValueError(f"the sandbox binds to loopback only, not {host!r}")
    return str(address)


def url_for(host: str, port: int) -> str:
    """``http://host:port``, with an IPv6 host in brackets (RFC 3986) so clients can use it."""
    return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"


def bind(host: str, port: int) -> socket.socket:
    """A listening-ready socket on loopback ``host:port``; port 0 picks a free one.

    Raises OSError(EADDRINUSE) with a one-line message when the port is taken, and
    ValueError when the host is not loopback or the port not one.
    """
    address = _check_host(host)
    if not (isinstance(port, int) and not isinstance(port, bool) and 0 <= port <= MAX_PORT):
        raise ValueError(f"port must be within [0, {MAX_PORT}] (0: any free one), got {port!r}")
    family = socket.AF_INET6 if ":" in address else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    # As uvicorn does: a restart may reuse a port whose old connections are in TIME_WAIT.
    # On Linux this does not allow two listeners on one port.
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((address, port))
    except OSError as exc:
        sock.close()
        if exc.errno == errno.EADDRINUSE:
            raise OSError(
                errno.EADDRINUSE, f"port {port} on {address} is in use by another program"
            ) from None
        raise
    sock.set_inheritable(True)
    return sock


def _server(app: Starlette, *, log_level: str) -> uvicorn.Server:
    # Host and port are not used: uvicorn is given the bound socket.
    protocol = protocol_for(app.state.sandbox.config)
    return uvicorn.Server(uvicorn.Config(app, log_level=log_level, lifespan="off", http=protocol))


@contextmanager
def serve(
    config: SandboxConfig | None = None, *, host: str = LOOPBACK, port: int = 0
) -> Iterator[RunningSandbox]:
    """Run the sandbox on ``host:port`` (port 0: a free one) in a background thread.

    Yields once it accepts connections; stops it on exit.
    """
    sock = bind(host, port)
    app = create_app(config)
    server = _server(app, log_level="warning")
    thread = threading.Thread(
        target=server.run, kwargs={"sockets": [sock]}, name="wan-i2v-sandbox", daemon=True
    )
    try:
        thread.start()
        deadline = time.monotonic() + 10
        while not server.started:
            if not thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError(f"the sandbox did not start on {host}:{port}")
            time.sleep(0.01)
        bound_host, bound_port = sock.getsockname()[:2]
        yield RunningSandbox(url=url_for(bound_host, bound_port), app=app, state=app.state.sandbox)
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()


def run(config: SandboxConfig, *, host: str = LOOPBACK, port: int = 8787) -> None:
    """Run the sandbox in the foreground until interrupted (``wan-i2v sandbox``).

    Raises OSError (EADDRINUSE) before printing anything when the port is taken.
    """
    sock = bind(host, port)
    try:
        url = url_for(*sock.getsockname()[:2])
        print(  # the command's whole output
            f"wan-i2v sandbox on {url}\n"
            f"  MULEROUTER_BASE_URL={url} MULEROUTER_API_KEY="
            f"{'<the configured key>' if config.api_key else 'anything'}\n"
            f"  control (no key): GET {url}/_sandbox/stats, "
            f"POST|GET|DELETE {url}/_sandbox/faults",
            flush=True,
        )
        _server(create_app(config), log_level="info").run(sockets=[sock])
    finally:
        sock.close()


def command(*, host: str, port: int, **knobs: Any) -> int:
    """``wan-i2v sandbox``: run until interrupted; the exit code. ``knobs`` are
    SandboxConfig's fields, as the command line parsed them. A setting that cannot work (a
    bad value, a port in use) is one line on stderr and exit 2, never a traceback."""
    try:
        run(SandboxConfig(**knobs), host=host, port=port)
    except (ValueError, OSError) as exc:
        message = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        print(f"error: {message}", file=sys.stderr, flush=True)
        return USAGE_ERROR
    return 0
