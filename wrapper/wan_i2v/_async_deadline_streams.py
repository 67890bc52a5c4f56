"""The async network stream and backend that hold the current deadline (D15): the source of
_deadline_streams.py, which scripts/unasync.py writes from this file.

Every connect, TLS start, read and write asks ``time_left`` (_deadline.py) for its timeout:
its own, capped at what is left of the deadline, and an error once nothing is left.
"""

from __future__ import annotations

import ssl
from collections.abc import Iterable
from typing import Any

import httpcore

from ._deadline import time_left
from ._write_pieces import pieces


class AsyncDeadlineStream(httpcore.AsyncNetworkStream):
    """A stream whose every read and write ends by the current deadline."""

    def __init__(self, inner: httpcore.AsyncNetworkStream) -> None:
        self._inner = inner

    async def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return await self._inner.read(max_bytes, time_left(timeout, httpcore.ReadTimeout))

    async def write(self, buffer: bytes, timeout: float | None = None) -> None:
        for piece in pieces(buffer):
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
    """httpcore's network backend, its connections and streams held to the current deadline."""

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
