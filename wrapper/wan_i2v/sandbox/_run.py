"""Running the sandbox: in a background thread for tests and --sandbox, or in the foreground."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import uvicorn
from starlette.applications import Starlette

from ._http import create_app
from ._state import SandboxConfig, SandboxState

logger = logging.getLogger("wan_i2v.sandbox")
LOOPBACK = "127.0.0.1"


@dataclass(frozen=True)
class RunningSandbox:
    url: str  # e.g. "http://127.0.0.1:40123"
    app: Starlette
    state: SandboxState


def _check_host(host: str) -> None:
    # The sandbox is for this machine only: it accepts any token and serves no real data.
    if host not in (LOOPBACK, "localhost", "::1"):
        raise ValueError(f"the sandbox binds to loopback only, not {host!r}")


@contextmanager
def serve(
    config: SandboxConfig | None = None, *, host: str = LOOPBACK, port: int = 0
) -> Iterator[RunningSandbox]:
    """Run the sandbox on ``host:port`` (port 0: a free one) in a background thread.

    Yields once it accepts connections; stops it on exit.
    """
    _check_host(host)
    app = create_app(config)
    server = uvicorn.Server(
        uvicorn.Config(app, host=host, port=port, log_level="warning", lifespan="off")
    )
    thread = threading.Thread(target=server.run, name="wan-i2v-sandbox", daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError(f"the sandbox did not start on {host}:{port}")
        time.sleep(0.01)
    bound = server.servers[0].sockets[0].getsockname()[1]
    try:
        yield RunningSandbox(url=f"http://{host}:{bound}", app=app, state=app.state.sandbox)
    finally:
        server.should_exit = True
        thread.join(timeout=10)


def run(config: SandboxConfig, *, host: str = LOOPBACK, port: int = 8787) -> None:
    """Run the sandbox in the foreground until interrupted (``wan-i2v sandbox``)."""
    _check_host(host)
    print(  # the command's whole output
        f"wan-i2v sandbox on http://{host}:{port}\n"
        f"  MULEROUTER_BASE_URL=http://{host}:{port} MULEROUTER_API_KEY="
        f"{'<the configured key>' if config.api_key else 'anything'}",
        flush=True,
    )
    uvicorn.run(create_app(config), host=host, port=port, log_level="info", lifespan="off")
