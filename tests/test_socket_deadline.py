"""A deadline is a wall clock, held at every read and write of the socket (D15, issue 20).

Servers on 127.0.0.1 trickle their status line, their headers or their body one byte every
0.25 s, so no single read ever waits long enough for a per-read timeout. Each test measures
the seconds past the deadline, sync and async, for create, wait and download."""

from __future__ import annotations

import asyncio
import contextlib
import socket
import threading
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any

import httpcore
import httpx
import pytest
from conftest import BASE, KEY, TASK_ID
from servers import Requests, handler_server

import wan_i2v
from wan_i2v._deadline import Deadline, capped, current_deadline, deadline_scope
from wan_i2v._http import ApiKeyAuth, ClientSettings, async_clients, sync_clients
from wan_i2v._socket_deadline import (
    AsyncDeadlineStream,
    DeadlineStream,
    has_held_deadlines,
    hold_deadlines,
)

URL_IMAGE = "https://example.com/flower.jpg"
EVERY = 0.25  # one byte this often: no read ever waits long
# The server gives up after this: a broken cap fails the test in seconds, not minutes.
TRICKLE_FOR = 15.0
# Allowed past the deadline: one trickle interval, one loopback connect, a loaded CI machine.
SLACK = 1.0
KINDS = ["status-line", "headers", "body"]


def _trickle(kind: str, content_type: str = "application/json") -> Any:
    """A handler that answers 200 with the part named by ``kind`` sent one byte at a time."""
    status = b"HTTP/1.1 200 OK\r\n"
    headers = f"content-type: {content_type}\r\ncontent-length: 100000\r\n".encode()
    fast, slow = {
        "status-line": (b"", b"HTTP/1.1 200 " + b"O" * 400 + b"\r\n"),
        "headers": (status, b"x-slow: " + b"a" * 400 + b"\r\n"),
        "body": (status + headers + b"\r\n", b" " * 400),
    }[kind]

    def handle(h: BaseHTTPRequestHandler, seen: Requests) -> None:
        h.wfile.write(fast)
        h.wfile.flush()
        stop = time.monotonic() + TRICKLE_FOR
        for byte in slow:
            if time.monotonic() > stop:
                break
            h.wfile.write(bytes([byte]))
            h.wfile.flush()
            time.sleep(EVERY)
        h.close_connection = True

    return handle


def _past(deadline: float, call: Callable[[], object], error: type[Exception]) -> float:
    """Run ``call``, expecting ``error``; the seconds it ran past ``deadline``."""
    started = time.monotonic()
    with pytest.raises(error):
        call()
    return time.monotonic() - started - deadline


@pytest.fixture(params=["sync", "async"])
def overrun(request: pytest.FixtureRequest) -> Any:
    """``overrun(deadline, call, error, **client_args)``: the seconds ``call(client)`` ran past
    ``deadline`` on a fresh client of each kind, expecting ``error``. Only the call is timed
    (building a client reads TLS certificates, slow on a loaded machine); the async one runs
    in one event loop."""

    def run(deadline: float, call: Any, error: type[Exception], **kwargs: Any) -> float:
        kwargs.setdefault("api_key", KEY)
        if request.param == "sync":
            with wan_i2v.Client(**kwargs) as client:
                return _past(deadline, lambda: call(client), error)

        async def main() -> float:
            async with wan_i2v.AsyncClient(**kwargs) as client:
                started = time.monotonic()
                with pytest.raises(error):
                    await call(client)
                return time.monotonic() - started - deadline

        return asyncio.run(main())

    return run


# --- The matrix: every trickle kind, sync and async, create / wait / download ---------------


@pytest.mark.slow
@pytest.mark.parametrize("kind", KINDS)
def test_create_ends_at_its_request_timeout(overrun: Any, kind: str) -> None:
    """create with timeout=3 ends within 3 s (plus slack) whatever part the server trickles:
    the request's timeout is a wall clock, and the POST was sent, so its outcome is unknown."""
    with handler_server(_trickle(kind)) as (url, seen):
        past = overrun(
            3.0,
            lambda c: c.create(image=URL_IMAGE, prompt="p"),
            wan_i2v.CreateOutcomeUnknownError,
            base_url=url,
            timeout=3,
        )
    assert past < SLACK, f"{past:.2f} s past the deadline"
    assert seen.count("POST") == 1  # never POSTed again


@pytest.mark.slow
@pytest.mark.parametrize("kind", KINDS)
def test_wait_ends_at_its_timeout(overrun: Any, kind: str) -> None:
    """wait(timeout=4) raises WaitTimeoutError within 4 s (plus slack) against a trickle."""
    with handler_server(_trickle(kind)) as (url, _):
        past = overrun(
            4.0, lambda c: c.wait(TASK_ID, timeout=4), wan_i2v.WaitTimeoutError, base_url=url
        )
    assert past < SLACK, f"{past:.2f} s past the deadline"


@pytest.mark.slow
@pytest.mark.parametrize("kind", KINDS)
def test_download_ends_at_its_timeout(overrun: Any, kind: str, tmp_path: Path) -> None:
    """download(timeout=5) raises DownloadError within 5 s (plus slack) and leaves no file."""
    with handler_server(_trickle(kind, "video/mp4")) as (url, _):
        past = overrun(
            5.0,
            lambda c: c.download(f"{url}/v.mp4", tmp_path / "v.mp4", timeout=5),
            wan_i2v.DownloadError,
        )
    assert past < SLACK, f"{past:.2f} s past the deadline"
    assert list(tmp_path.iterdir()) == []


def test_wait_against_a_trickled_status_line_is_on_time(overrun: Any) -> None:
    """The fast representative of the matrix: wait(timeout=1) against a status line trickled
    a byte every 0.25 s ends on time, sync and async (it ran for 60 s before)."""
    with handler_server(_trickle("status-line")) as (url, _):
        past = overrun(
            1.0, lambda c: c.wait(TASK_ID, timeout=1), wan_i2v.WaitTimeoutError, base_url=url
        )
    assert past < SLACK, f"{past:.2f} s past the deadline"


# --- Proxies from the environment ----------------------------------------------------------


@pytest.fixture
def proxy_env(monkeypatch: pytest.MonkeyPatch) -> Callable[[str], None]:
    """Set HTTP(S)_PROXY to a URL, with no NO_PROXY exception in the way."""
    for name in ("NO_PROXY", "no_proxy", "ALL_PROXY", "all_proxy", "HTTP_PROXY", "http_proxy"):
        monkeypatch.delenv(name, raising=False)

    def use(url: str) -> None:
        monkeypatch.setenv("HTTP_PROXY", url)
        monkeypatch.setenv("HTTPS_PROXY", url)

    return use


def test_every_pool_holds_the_deadline_proxies_included(proxy_env: Callable[[str], None]) -> None:
    """Our API and video clients, sync and async, hold deadlines in every pool, the proxy
    transports httpx mounts from HTTP(S)_PROXY included (they would be lost if we passed a
    transport of our own)."""
    proxy_env("http://127.0.0.1:9")
    settings = ClientSettings(base_url=BASE, auth=ApiKeyAuth(KEY, base_url=BASE), timeout=5)
    clients: list[httpx.Client | httpx.AsyncClient] = [
        *sync_clients(settings, None),
        *async_clients(settings, None),
    ]
    for client in clients:
        assert client._mounts, "the proxy from the environment was not mounted"
        assert has_held_deadlines(client)


def test_a_pool_it_cannot_reach_is_refused_loudly() -> None:
    """hold_deadlines raises at construction when httpx's transport is not the shape it
    knows (an httpx or httpcore upgrade), instead of silently losing every deadline."""
    mock = httpx.MockTransport(lambda request: httpx.Response(200))
    with (
        httpx.Client(transport=mock) as client,
        pytest.raises(RuntimeError, match="cannot hold deadlines"),
    ):
        hold_deadlines(client)


@pytest.mark.slow
def test_a_trickling_proxy_is_held_too(overrun: Any, proxy_env: Callable[[str], None]) -> None:
    """Through a proxy from HTTP_PROXY (the trickling server itself, the API host unresolvable
    so only the proxy can answer), wait(timeout=1) still ends on time."""
    with handler_server(_trickle("status-line")) as (url, seen):
        proxy_env(url)
        past = overrun(
            1.0,
            lambda c: c.wait(TASK_ID, timeout=1),
            wan_i2v.WaitTimeoutError,
            base_url="http://wan-api.invalid",
        )
    assert past < SLACK, f"{past:.2f} s past the deadline"
    assert seen.requests[0][1].startswith("http://wan-api.invalid/")  # it went by the proxy


# --- A user's own http_client --------------------------------------------------------------


@pytest.mark.parametrize(
    "kind", ["status-line", *(pytest.param(k, marks=pytest.mark.slow) for k in KINDS[1:])]
)
def test_a_users_async_client_is_cancelled_at_the_deadline(kind: str) -> None:
    """Through a user's httpx.AsyncClient (its sockets out of our reach) the request is
    cancelled at the deadline: wait(timeout=1) ends on time for every trickle kind, and the
    user's client stays open and usable."""

    async def main(url: str) -> float:
        async with httpx.AsyncClient() as theirs:
            client = wan_i2v.AsyncClient(api_key=KEY, base_url=url, http_client=theirs)
            started = time.monotonic()
            with pytest.raises(wan_i2v.WaitTimeoutError):
                await client.wait(TASK_ID, timeout=1)
            past = time.monotonic() - started - 1.0
            await client.aclose()
            assert not theirs.is_closed
            return past

    with handler_server(_trickle(kind)) as (url, _):
        past = asyncio.run(main(url))
    assert past < SLACK, f"{past:.2f} s past the deadline"


def test_a_users_sync_client_is_held_between_chunks() -> None:
    """Through a user's httpx.Client a trickled body is checked between chunks and closed:
    wait(timeout=1) ends on time. (A trickled status line or headers cannot be held there:
    D15 says so.)"""
    with handler_server(_trickle("body")) as (url, _), httpx.Client() as theirs:
        client = wan_i2v.Client(api_key=KEY, base_url=url, http_client=theirs)
        past = _past(1.0, lambda: client.wait(TASK_ID, timeout=1), wan_i2v.WaitTimeoutError)
        client.close()
    assert past < SLACK, f"{past:.2f} s past the deadline"


# --- The command line ------------------------------------------------------------------------


@pytest.mark.slow
def test_cli_wait_timeout_is_a_wall_clock() -> None:
    """`wan-i2v wait ID --timeout 3` against a trickling server exits 3 s after start-up (it
    took 100 s before), with the timeout reported."""
    from test_cli import wan

    env = {"MULEROUTER_BASE_URL": "", "MULEROUTER_API_KEY": KEY}
    started = time.monotonic()
    wan("--help")  # the interpreter's start-up, measured here: it is not the deadline's
    startup = time.monotonic() - started
    with handler_server(_trickle("headers")) as (url, _):
        started = time.monotonic()
        result = wan(
            "wait",
            TASK_ID,
            "--timeout",
            "3",
            "--no-download",
            env={**env, "MULEROUTER_BASE_URL": url},
        )
        past = time.monotonic() - started - startup - 3.0
    assert result.returncode != 0
    assert TASK_ID in result.stderr
    assert past < SLACK, f"{past:.2f} s past the deadline (start-up {startup:.2f} s)"


# --- The rule itself, on real sockets --------------------------------------------------------


def test_the_cap_raises_once_the_deadline_has_passed() -> None:
    """capped() shortens a timeout to what is left, and raises the given error once nothing
    is left: the check before each read that ends a trickle."""
    assert capped(None, 7.0, httpcore.ReadTimeout) == 7.0
    assert capped(Deadline(None), None, httpcore.ReadTimeout) == float("inf")
    left = capped(Deadline(2.0), 60.0, httpcore.ReadTimeout)
    assert left is not None
    assert 1.5 < left <= 2.0
    with pytest.raises(httpcore.WriteTimeout, match="deadline passed"):
        capped(Deadline(0), 60.0, httpcore.WriteTimeout)


def test_an_inner_scope_never_extends_an_outer_one() -> None:
    """A deadline scope inside another keeps whichever deadline ends first."""
    outer, inner = Deadline(1.0), Deadline(30.0)
    with deadline_scope(outer):
        with deadline_scope(inner):
            assert current_deadline() is outer
        shorter = Deadline(0.5)
        with deadline_scope(shorter):
            assert current_deadline() is shorter
    assert current_deadline() is None


@pytest.fixture
def slow_reader() -> Iterator[tuple[str, int]]:
    """A TCP peer that reads 64 KiB every 0.1 s: it accepts an upload slowly but steadily, so
    every single send makes progress and no per-send timeout ever fires."""
    server = socket.create_server(("127.0.0.1", 0))
    server.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 64 * 1024)
    stop = threading.Event()

    def serve() -> None:
        conn, _ = server.accept()
        with conn:
            while not stop.is_set() and conn.recv(64 * 1024):
                time.sleep(0.1)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield server.getsockname()
    stop.set()
    server.close()


UPLOAD = b"x" * (48 * 1024 * 1024)  # far more than loopback's socket buffers hold


@pytest.mark.parametrize("mode", ["sync", pytest.param("async", marks=pytest.mark.slow)])
def test_a_slow_steady_upload_ends_at_the_deadline(mode: str, slow_reader: tuple[str, int]) -> None:
    """One write of 48 MiB to a peer that keeps reading, slowly, ends with WriteTimeout at a
    1 s deadline (without the deadline it runs ~70 s: each partial send is quick)."""
    host, port = slow_reader

    def sync_write() -> None:
        stream = DeadlineStream(httpcore.SyncBackend().connect_tcp(host, port, timeout=5))
        try:
            with deadline_scope(Deadline(1.0)):
                stream.write(UPLOAD, timeout=30)
        finally:
            stream.close()

    async def async_write() -> None:
        inner = await httpcore.AnyIOBackend().connect_tcp(host, port, timeout=5)
        stream = AsyncDeadlineStream(inner)
        try:
            with deadline_scope(Deadline(1.0)):
                await stream.write(UPLOAD, timeout=30)
        finally:
            await stream.aclose()

    past = _past(
        1.0,
        sync_write if mode == "sync" else lambda: asyncio.run(async_write()),
        httpcore.WriteTimeout,
    )
    assert past < SLACK, f"{past:.2f} s past the deadline"


@pytest.fixture
def fast_sender() -> Iterator[tuple[str, int]]:
    """A TCP peer that sends as fast as it can for 10 s: no read ever waits at all."""
    server = socket.create_server(("127.0.0.1", 0))

    def serve() -> None:
        conn, _ = server.accept()
        stop = time.monotonic() + 10
        with conn, contextlib.suppress(OSError):
            while time.monotonic() < stop:
                conn.sendall(b"x" * 65536)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield server.getsockname()
    server.close()


@pytest.mark.parametrize("mode", ["sync", pytest.param("async", marks=pytest.mark.slow)])
def test_reads_that_never_wait_end_at_the_deadline(mode: str, fast_sender: tuple[str, int]) -> None:
    """Reading an endless fast stream, where no read ever waits (so no capped timeout can
    fire), ends with ReadTimeout at a 1 s deadline: the check before each read does it."""
    host, port = fast_sender

    def sync_read() -> None:
        stream = DeadlineStream(httpcore.SyncBackend().connect_tcp(host, port, timeout=5))
        try:
            with deadline_scope(Deadline(1.0)):
                while stream.read(65536, timeout=30):
                    pass
        finally:
            stream.close()

    async def async_read() -> None:
        inner = await httpcore.AnyIOBackend().connect_tcp(host, port, timeout=5)
        stream = AsyncDeadlineStream(inner)
        try:
            with deadline_scope(Deadline(1.0)):
                while await stream.read(65536, timeout=30):
                    pass
        finally:
            await stream.aclose()

    past = _past(
        1.0,
        sync_read if mode == "sync" else lambda: asyncio.run(async_read()),
        httpcore.ReadTimeout,
    )
    assert past < SLACK, f"{past:.2f} s past the deadline"
