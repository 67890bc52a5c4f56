"""A deadline is a wall clock, held at every read and write of the socket (spec/DECISIONS.md,
D15).

httpx's timeouts are per read: a server that sends one byte every 0.25 s never lets a read
time out, so a request with ``timeout=3`` lasts as long as the server likes. Here the
*current deadline* (a ``ContextVar``: per thread in sync code, per task in async code) is
set by ``deadline_scope`` (_deadline.py) around a request and the reading of its body, and
every socket operation of our connection pools asks ``time_left`` for its timeout: its own
timeout, capped at what is left of the deadline, and an error once nothing is left. A read
that is waiting when the deadline comes ends then (its timeout was capped); a trickle that
keeps every read short meets the check before the next one. So a request ends within one
read of its deadline, whatever the server does.

The sync and async streams share that one rule (``_deadline.capped``); they differ only by
``await``. httpcore is imported here, not in _deadline.py, so ``import wan_i2v`` stays light
(this module is imported when the first client is built). They are put
into httpx's own pools (``hold_deadlines``), so every setting httpx derives (TLS context,
limits, proxies from the environment) stays exactly httpx's.
"""

from __future__ import annotations

import ssl
from collections.abc import Iterable
from typing import Any

import httpcore
import httpx

from ._deadline import time_left

# Writes are cut into pieces this size, each checked against the deadline: a 10 MB upload
# is one write call, and httpcore's sync write loops over partial sends with the same
# timeout each time, so a peer that accepts slowly but steadily would stretch it unbounded.
WRITE_PIECE = 64 * 1024


def _pieces(buffer: bytes) -> Iterable[bytes]:
    view = memoryview(buffer)
    for start in range(0, len(view), WRITE_PIECE):
        yield bytes(view[start : start + WRITE_PIECE])


# --- Sync ----------------------------------------------------------------------------------


class DeadlineStream(httpcore.NetworkStream):
    """A stream whose every read and write ends by the current deadline."""

    def __init__(self, inner: httpcore.NetworkStream) -> None:
        self._inner = inner

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return self._inner.read(max_bytes, time_left(timeout, httpcore.ReadTimeout))

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        for piece in _pieces(buffer):
            self._inner.write(piece, time_left(timeout, httpcore.WriteTimeout))

    def close(self) -> None:
        self._inner.close()

    def start_tls(
        self,
        ssl_context: ssl.SSLContext,
        server_hostname: str | None = None,
        timeout: float | None = None,
    ) -> httpcore.NetworkStream:
        capped = time_left(timeout, httpcore.ConnectTimeout)
        return DeadlineStream(self._inner.start_tls(ssl_context, server_hostname, capped))

    def get_extra_info(self, info: str) -> Any:
        return self._inner.get_extra_info(info)


class DeadlineBackend(httpcore.NetworkBackend):
    """httpcore's network backend, its connections and streams held to the current deadline."""

    def __init__(self, inner: httpcore.NetworkBackend) -> None:
        self._inner = inner

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.NetworkStream:
        capped = time_left(timeout, httpcore.ConnectTimeout)
        return DeadlineStream(
            self._inner.connect_tcp(host, port, capped, local_address, socket_options)
        )

    def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.NetworkStream:
        capped = time_left(timeout, httpcore.ConnectTimeout)
        return DeadlineStream(self._inner.connect_unix_socket(path, capped, socket_options))

    def sleep(self, seconds: float) -> None:
        self._inner.sleep(seconds)


# --- Async: the same, awaited --------------------------------------------------------------


class AsyncDeadlineStream(httpcore.AsyncNetworkStream):
    """``DeadlineStream`` for async code."""

    def __init__(self, inner: httpcore.AsyncNetworkStream) -> None:
        self._inner = inner

    async def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return await self._inner.read(max_bytes, time_left(timeout, httpcore.ReadTimeout))

    async def write(self, buffer: bytes, timeout: float | None = None) -> None:
        for piece in _pieces(buffer):
            await self._inner.write(piece, time_left(timeout, httpcore.WriteTimeout))

    async def aclose(self) -> None:
        await self._inner.aclose()

    async def start_tls(
        self,
        ssl_context: ssl.SSLContext,
        server_hostname: str | None = None,
        timeout: float | None = None,
    ) -> httpcore.AsyncNetworkStream:
        capped = time_left(timeout, httpcore.ConnectTimeout)
        inner = await self._inner.start_tls(ssl_context, server_hostname, capped)
        return AsyncDeadlineStream(inner)

    def get_extra_info(self, info: str) -> Any:
        return self._inner.get_extra_info(info)


class AsyncDeadlineBackend(httpcore.AsyncNetworkBackend):
    """``DeadlineBackend`` for async code."""

    def __init__(self, inner: httpcore.AsyncNetworkBackend) -> None:
        self._inner = inner

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        capped = time_left(timeout, httpcore.ConnectTimeout)
        inner = await self._inner.connect_tcp(host, port, capped, local_address, socket_options)
        return AsyncDeadlineStream(inner)

    async def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        capped = time_left(timeout, httpcore.ConnectTimeout)
        inner = await self._inner.connect_unix_socket(path, capped, socket_options)
        return AsyncDeadlineStream(inner)

    async def sleep(self, seconds: float) -> None:
        await self._inner.sleep(seconds)


# --- Into httpx's pools --------------------------------------------------------------------


def hold_deadlines(client: httpx.Client | httpx.AsyncClient) -> None:
    """Put the deadline streams under every pool of one of *our* httpx clients: its default
    transport and each proxy transport httpx mounted from the environment.

    httpx 0.28 takes no network backend, so this reaches one level down: each transport's
    httpcore pool (``ConnectionPool``, ``HTTPProxy`` or ``SOCKSProxy``) hands its
    ``_network_backend`` to every connection it makes. Wrapping it there, before any
    connection exists, keeps every other setting exactly httpx's. Never called on a user's
    client.

    Raises:
        RuntimeError: httpx or httpcore changed shape; failing here beats a silent loss of
            every deadline (tests/test_socket_deadline.py holds it).
    """
    transports = [client._transport, *client._mounts.values()]
    for transport in transports:
        if transport is None:  # a mount that means "no proxy for these URLs"
            continue
        pool = getattr(transport, "_pool", None)
        backend = getattr(pool, "_network_backend", None)
        if isinstance(backend, DeadlineBackend | AsyncDeadlineBackend):
            continue
        if isinstance(backend, httpcore.NetworkBackend) and isinstance(client, httpx.Client):
            pool._network_backend = DeadlineBackend(backend)  # type: ignore[union-attr]
        elif isinstance(backend, httpcore.AsyncNetworkBackend) and isinstance(
            client, httpx.AsyncClient
        ):
            pool._network_backend = AsyncDeadlineBackend(backend)  # type: ignore[union-attr]
        else:
            raise RuntimeError(
                f"wan_i2v cannot hold deadlines on {type(transport).__name__} "
                f"(pool {type(pool).__name__}): httpx/httpcore changed; please report it"
            )


def has_held_deadlines(client: httpx.Client | httpx.AsyncClient) -> bool:
    """Whether every pool of ``client`` enforces the deadline (for tests and diagnostics)."""
    for transport in [client._transport, *client._mounts.values()]:
        if transport is None:
            continue
        backend = getattr(getattr(transport, "_pool", None), "_network_backend", None)
        if not isinstance(backend, DeadlineBackend | AsyncDeadlineBackend):
            return False
    return True


__all__ = [
    "AsyncDeadlineBackend",
    "AsyncDeadlineStream",
    "DeadlineBackend",
    "DeadlineStream",
    "has_held_deadlines",
    "hold_deadlines",
]
