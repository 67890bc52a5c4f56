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

import httpcore
import httpx

from ._async_deadline_streams import AsyncDeadlineBackend, AsyncDeadlineStream
from ._deadline_streams import DeadlineBackend, DeadlineStream

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
