"""The two httpx clients and the one object that holds the key.

- The **API client** carries the base URL, the ``ApiKeyAuth`` and the User-Agent. Nothing else
  has the key: the generated client is used only for its request builders and parsers
  (spec/DECISIONS.md, D14), so its ``AuthenticatedClient`` (an attrs class whose repr shows
  ``token=``) is never made.
- The **video client** carries no credentials at all: the key stays off the video host because
  that client never had it, not because a header is removed afterwards.

A user's own ``http_client`` (proxies, custom transports) is *used, never modified*: both of
our clients send through it (``SendThrough``), so its transport carries every request while its
base URL, headers, hooks and auth stay exactly as they were.

Deadlines (spec/DECISIONS.md, D15): our own clients' pools hold the current deadline at every
socket read and write (_socket_deadline.py). Through a user's client we cannot reach its
sockets: the async ``AsyncSendThrough`` cancels the request (and each wait for a body chunk) at
the deadline; the sync ``SendThrough`` refuses to start once the deadline has passed, and the
callers check it between chunks and close the response.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import httpx

from ._deadline import Deadline, capped, current_deadline
from ._errors import ConfigurationError
from ._logging import log_request, log_response
from ._scrub import Scrubber
from ._translate import ACCEPT_ENCODING
from ._urls import display_url
from ._version import __version__

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Generator, Iterator

USER_AGENT = f"wan-i2v/{__version__} (python-httpx/{httpx.__version__})"


class ApiKeyAuth(httpx.Auth):
    """``Authorization: Bearer <key>`` on requests to the API's origin, and on nothing else.

    The one object that holds the key; its repr masks it, so no repr of anything the client
    holds (and no traceback formatted with locals) can show it.
    """

    __slots__ = ("_header", "_origin", "_scrubber")

    def __init__(self, key: str, *, base_url: str) -> None:
        self._header = f"Bearer {check_api_key(key)}"
        self._origin = _origin(httpx.URL(base_url))
        self._scrubber = Scrubber(self.reveal())

    @property
    def scrubber(self) -> Scrubber:
        """What removes this key from server text (it masks its repr and refuses pickling);
        the translate layer applies it to every answer before an error or a task is made."""
        return self._scrubber

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        # Only the API's own origin: a redirect or an absolute URL elsewhere goes without it.
        if _origin(request.url) == self._origin:
            request.headers["Authorization"] = self._header
        yield request

    def reveal(self) -> str:
        """The key itself, for code that must send it another way (the contract check)."""
        return self._header.removeprefix("Bearer ")

    def __repr__(self) -> str:
        return "ApiKeyAuth(key='***')"

    def __reduce__(self) -> Any:
        raise TypeError("ApiKeyAuth holds an API key and cannot be pickled")


def check_api_key(raw: str) -> str:
    """The key as it goes on the wire: surrounding whitespace stripped (keys read from files end
    in a newline); anything else outside visible ASCII refused, never echoed.

    Raises:
        ConfigurationError: the key is empty or holds a character that cannot be in a key.
    """
    key = raw.strip()
    if not key:
        raise ConfigurationError("The API key is empty: set MULEROUTER_API_KEY to your key.")
    for position, char in enumerate(key):
        if not "!" <= char <= "~":
            # Name the character's kind and place, never the key: it would land in logs.
            raise ConfigurationError(
                f"The API key holds {_describe_char(char)} at position {position + 1} of "
                f"{len(key)}; a key is visible ASCII only. Copy it again (two keys pasted "
                "together, or a quote or space picked up on the way?)."
            )
    return key


def _describe_char(char: str) -> str:
    names = {"\n": "a line break", "\r": "a carriage return", "\t": "a tab", " ": "a space"}
    if char in names:
        return names[char]
    if char == "\0":
        return "a NUL byte"
    return f"the non-ASCII or control character U+{ord(char):04X}"


def _origin(url: httpx.URL) -> tuple[str, str, int | None]:
    return (url.scheme, url.host, url.port)


# --- Sending through a user's client -------------------------------------------------------


class SendThrough(httpx.BaseTransport):
    """A transport that hands each request to a user's ``httpx.Client`` as it is.

    ``send`` applies neither its base URL nor its headers (those are merged by
    ``build_request``, which we never call on it); redirects and auth stay with our client.
    Closing this transport leaves the user's client open: it stays theirs.
    """

    def __init__(self, client: httpx.Client) -> None:
        self._client = client

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        # A blocking read in their transport cannot be interrupted from here: refuse to start
        # after the deadline, and check it before each chunk of the body (our client closes
        # the response when that raises).
        deadline = current_deadline()
        capped(deadline, None, httpx.ConnectTimeout)
        response = self._client.send(request, stream=True, follow_redirects=False, auth=None)
        if deadline is not None and isinstance(response.stream, httpx.SyncByteStream):
            response.stream = _DeadlineBody(response.stream, deadline, request)
        return response


class _DeadlineBody(httpx.SyncByteStream):
    """A body from a user's client, checked against the deadline before each chunk their
    transport reads (a chunk is what one socket read gave: a trickle is caught byte by byte,
    where our ``iter_raw(CHUNK)`` would wait for 64 KiB)."""

    def __init__(
        self, inner: httpx.SyncByteStream, deadline: Deadline, request: httpx.Request
    ) -> None:
        self._inner = inner
        self._deadline = deadline
        self._request = request

    def __iter__(self) -> Iterator[bytes]:
        for chunk in self._inner:
            yield chunk
            if self._deadline.expired:  # before the next read
                raise httpx.ReadTimeout("the deadline passed while reading", request=self._request)

    def close(self) -> None:
        self._inner.close()


class AsyncSendThrough(httpx.AsyncBaseTransport):
    """``SendThrough`` for a user's ``httpx.AsyncClient``."""

    def __init__(self, client: httpx.AsyncClient) -> None:
        self._client = client

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        deadline = current_deadline()
        if deadline is None:
            return await self._client.send(request, stream=True, follow_redirects=False, auth=None)
        # Their sockets are out of reach; the task is not: cancel it at the deadline.
        # A cancelled send may have reached the server: a read timeout, as for our sockets.
        async with _held_to(deadline, request, httpx.ReadTimeout):
            response = await self._client.send(
                request, stream=True, follow_redirects=False, auth=None
            )
        if isinstance(response.stream, httpx.AsyncByteStream):  # always, for an AsyncClient
            response.stream = _AsyncDeadlineBody(response.stream, deadline, request)
        return response


class _AsyncDeadlineBody(httpx.AsyncByteStream):
    """A body from a user's client whose every wait for a chunk ends by the deadline (the
    deadline is the one of the request, kept: the body is read after ``send`` returned)."""

    def __init__(
        self, inner: httpx.AsyncByteStream, deadline: Deadline, request: httpx.Request
    ) -> None:
        self._inner = inner
        self._deadline = deadline
        self._request = request

    async def __aiter__(self) -> AsyncIterator[bytes]:
        chunks = aiter(self._inner)
        while True:
            async with _held_to(self._deadline, self._request, httpx.ReadTimeout):
                try:
                    chunk = await anext(chunks)
                except StopAsyncIteration:
                    return
            yield chunk

    async def aclose(self) -> None:
        await self._inner.aclose()


@contextlib.asynccontextmanager
async def _held_to(
    deadline: Deadline, request: httpx.Request, expired: type[httpx.TimeoutException]
) -> AsyncIterator[None]:
    """Cancel the block at the deadline and raise that as httpx's ``expired`` (translated
    like any timeout); a deadline already passed raises before any I/O."""
    import asyncio  # here: the sync client must not pull in asyncio (start-up time)

    scope = asyncio.timeout(capped(deadline, None, expired))
    try:
        async with scope:
            yield
    except TimeoutError as exc:
        if not scope.expired():
            raise
        raise expired("the deadline passed; the request was cancelled", request=request) from exc


# --- Building the two clients --------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ClientSettings:
    """What the two httpx clients are built from."""

    base_url: str = field(repr=False)  # may hold a password
    auth: ApiKeyAuth
    timeout: float


def _api_args(settings: ClientSettings, hooks: dict[str, list[Any]]) -> dict[str, Any]:
    return {
        "event_hooks": hooks,  # logging only: they see the request as sent, key redacted
        "base_url": settings.base_url,
        "auth": settings.auth,
        "headers": {"User-Agent": USER_AGENT, "Accept-Encoding": ACCEPT_ENCODING},
        "timeout": httpx.Timeout(settings.timeout),
        "follow_redirects": False,  # an API redirect is an answer to report, not to chase
    }


def _video_args(settings: ClientSettings, hooks: dict[str, list[Any]]) -> dict[str, Any]:
    # No base URL, no auth: a video URL must be absolute, and nothing here knows the key.
    return {
        "event_hooks": hooks,
        "headers": {"User-Agent": USER_AGENT},
        "timeout": httpx.Timeout(settings.timeout),
        "follow_redirects": True,  # signed object-storage URLs redirect
    }


def sync_clients(
    settings: ClientSettings, user: httpx.Client | None
) -> tuple[httpx.Client, httpx.Client]:
    """The API client and the video client, sending through ``user`` when given."""
    if user is not None and not isinstance(user, httpx.Client):
        raise ConfigurationError(f"http_client must be an httpx.Client, got {type(user).__name__}")
    sending = _own_pools() if user is None else {"transport": SendThrough(user)}
    clients = (
        httpx.Client(**_api_args(settings, _sync_log_hooks()), **sending),
        httpx.Client(**_video_args(settings, _sync_log_hooks()), **sending),
    )
    if user is None:
        _hold_deadlines(clients)
    return clients


def async_clients(
    settings: ClientSettings, user: httpx.AsyncClient | None
) -> tuple[httpx.AsyncClient, httpx.AsyncClient]:
    """The async API client and video client, sending through ``user`` when given."""
    if user is not None and not isinstance(user, httpx.AsyncClient):
        raise ConfigurationError(
            f"http_client must be an httpx.AsyncClient, got {type(user).__name__}"
        )
    sending = _own_pools() if user is None else {"transport": AsyncSendThrough(user)}
    clients = (
        httpx.AsyncClient(**_api_args(settings, _async_log_hooks()), **sending),
        httpx.AsyncClient(**_video_args(settings, _async_log_hooks()), **sending),
    )
    if user is None:
        _hold_deadlines(clients)
    return clients


def _own_pools() -> dict[str, Any]:
    # One SSL context for both of our clients (and any proxy pool httpx mounts from the
    # environment): loading the CA bundle is most of what building an httpx client costs
    # (~20 ms), and each client would load its own. ``create_ssl_context()`` with its defaults
    # is what httpx builds for a client left at its defaults (certifi, SSL_CERT_FILE and
    # SSL_CERT_DIR honoured), so the settings are httpx's own. Never used for a user's
    # client: its transport, with its own TLS settings, carries everything.
    return {"verify": httpx.create_ssl_context()}


def _hold_deadlines(clients: tuple[httpx.Client, ...] | tuple[httpx.AsyncClient, ...]) -> None:
    # httpx builds its own transports (and proxy mounts from the environment: passing a
    # transport of ours would turn those off); the deadline goes under their pools.
    from ._socket_deadline import hold_deadlines  # imports httpcore: only once a client exists

    for client in clients:
        hold_deadlines(client)


def _sync_log_hooks() -> dict[str, list[Any]]:
    return {"request": [log_request], "response": [log_response]}


def _async_log_hooks() -> dict[str, list[Any]]:
    async def on_request(request: httpx.Request) -> None:
        log_request(request)

    async def on_response(response: httpx.Response) -> None:
        log_response(response)

    return {"request": [on_request], "response": [on_response]}


__all__ = [
    "USER_AGENT",
    "ApiKeyAuth",
    "AsyncSendThrough",
    "ClientSettings",
    "SendThrough",
    "async_clients",
    "check_api_key",
    "display_url",
    "sync_clients",
]
