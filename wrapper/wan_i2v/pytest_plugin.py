"""pytest fixtures that run your code against the offline sandbox (extra ``testing``).

Installed with the ``testing`` extra, pytest loads this module by itself (entry point
``pytest11``), so a test only names the fixtures::

    def test_my_pipeline(wan_client, wan_sandbox):
        my_pipeline(wan_client, "in.png")
        assert wan_sandbox.stats()["tasks_created"] == 1

The test that matters most, since every accepted create is billed: a 5xx after the task was
created must not make your code create a second one::

    @pytest.mark.wan_client(max_retries=3)
    def test_a_5xx_after_create_is_never_paid_twice(wan_client, wan_sandbox):
        wan_sandbox.inject(503, operation="create", after_create=True)
        with pytest.raises(wan_i2v.CreateOutcomeUnknownError):
            my_pipeline(wan_client, "in.png")
        assert wan_sandbox.stats()["tasks_created"] == 1

Fixtures (each test gets its own sandbox, so counters start at zero):

- ``wan_sandbox``: a running sandbox (``url``, ``state``, ``app``). ``inject(503, ...)``
  scripts faults (``status="drop"`` closes the connection unanswered; ``after_create=True``
  plays it once the task exists), ``stats()`` counts tasks and answers by operation and
  status, the same as ``GET {url}/_sandbox/stats``: code under test that runs in another
  process (a CLI, another language) is pointed at ``url`` and checked the same way.
  ``state.requests`` logs what reached it.
- ``wan_sandbox_config``: the ``SandboxConfig`` it runs with. Tasks end at once
  (``task_seconds=0``); override the fixture, or mark a test
  ``@pytest.mark.wan_sandbox(fail_rate=1.0)`` to change fields for that test only (every
  knob of ``wan-i2v sandbox`` is a field: ``rate_limit=0.5``, ``max_running=2``,
  ``faults=[{"status": 503, "after_create": True}]``, ...).

A sandbox started elsewhere (``wan-i2v sandbox`` in CI) is driven the same way with
``wan_i2v.sandbox.SandboxControl(url)`` (``stats()``, ``inject()``, ``clear_faults()``).
- ``wan_client`` / ``wan_async_client``: a ``wan_i2v.Client`` / ``wan_i2v.AsyncClient``
  pointed at the sandbox with ``wan_api_key``; closed after the test.
- ``wan_client_options``: extra keyword arguments of both clients (``max_retries``,
  ``timeout``), empty by default; mark ``@pytest.mark.wan_client(max_retries=0)`` or override.

Why a fresh sandbox per test: a test's faults and counters must not leak into the next one,
and a sandbox starts in a few milliseconds.

pytest loads this module in every environment where wan-i2v is installed, with or without the
``testing`` extra, so it imports nothing at load time beyond pytest and ``wan_i2v`` itself: a
missing extra must not break test suites that never use these fixtures. The sandbox (uvicorn,
Starlette) is imported by the first fixture that needs it.
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    import wan_i2v
    from wan_i2v.sandbox import RunningSandbox, SandboxConfig

__all__ = [
    "wan_api_key",
    "wan_async_client",
    "wan_client",
    "wan_client_options",
    "wan_sandbox",
    "wan_sandbox_config",
]

DEFAULT_KEY = "sk-wan-i2v-sandbox"  # any non-empty token works unless the config names one
SANDBOX_MARKER = "wan_sandbox"
CLIENT_MARKER = "wan_client"


def pytest_configure(config: pytest.Config) -> None:
    """Declare the markers, so that ``--strict-markers`` accepts them."""
    config.addinivalue_line(
        "markers",
        f"{SANDBOX_MARKER}(**fields): SandboxConfig fields for this test's wan_sandbox "
        "(e.g. fail_rate=1.0, task_seconds=2, vocabulary='new')",
    )
    config.addinivalue_line(
        "markers",
        f"{CLIENT_MARKER}(**options): keyword arguments for wan_client and wan_async_client "
        "(e.g. max_retries=0, timeout=5)",
    )


MISSING_EXTRA = (
    "the wan_sandbox fixtures need the sandbox's dependencies: "
    'pip install "wan-i2v[testing]" ({error})'
)


def _sandbox_module() -> Any:
    """``wan_i2v.sandbox``, or a test failure that says which extra to install."""
    try:
        import wan_i2v.sandbox

        wan_i2v.sandbox.serve  # noqa: B018  # its names load on first use: load them now
    except ImportError as exc:
        missing = str(exc)
    else:
        return wan_i2v.sandbox
    pytest.fail(MISSING_EXTRA.format(error=missing), pytrace=False)  # outside the except:
    # one message, without the ImportError's traceback chained to it


def _marker_kwargs(request: pytest.FixtureRequest, name: str) -> dict[str, Any]:
    """The keyword arguments of every ``name`` marker on the test, the closest one winning."""
    merged: dict[str, Any] = {}
    # iter_markers yields the closest first (function, then class, then module).
    for marker in reversed(list(request.node.iter_markers(name))):
        if marker.args:
            raise pytest.UsageError(f"@pytest.mark.{name} takes keyword arguments only")
        merged.update(marker.kwargs)
    return merged


@pytest.fixture
def wan_sandbox_config(request: pytest.FixtureRequest) -> SandboxConfig:
    """The sandbox's configuration: instant tasks, plus this test's ``wan_sandbox`` marker."""
    config_class: type[SandboxConfig] = _sandbox_module().SandboxConfig
    fields = {field.name for field in dataclasses.fields(config_class)}
    settings = _marker_kwargs(request, SANDBOX_MARKER)
    if unknown := sorted(settings.keys() - fields):
        raise pytest.UsageError(
            f"@pytest.mark.{SANDBOX_MARKER}: unknown SandboxConfig field(s) {unknown}; "
            f"known: {sorted(fields)}"
        )
    return config_class(**{"task_seconds": 0.0, **settings})


@pytest.fixture
def wan_sandbox(wan_sandbox_config: SandboxConfig) -> Iterator[RunningSandbox]:
    """A sandbox running on 127.0.0.1 for this test, stopped after it."""
    with _sandbox_module().serve(wan_sandbox_config) as sandbox:
        yield sandbox


@pytest.fixture
def wan_api_key(wan_sandbox_config: SandboxConfig) -> str:
    """The key the clients send: the sandbox's own when it requires one."""
    return wan_sandbox_config.api_key or DEFAULT_KEY


@pytest.fixture
def wan_client_options(request: pytest.FixtureRequest) -> dict[str, Any]:
    """Extra keyword arguments of both clients, from the ``wan_client`` marker."""
    return _marker_kwargs(request, CLIENT_MARKER)


@pytest.fixture
def wan_client(
    wan_sandbox: RunningSandbox, wan_api_key: str, wan_client_options: dict[str, Any]
) -> Iterator[wan_i2v.Client]:
    """A ``wan_i2v.Client`` pointed at ``wan_sandbox``."""
    import wan_i2v

    with wan_i2v.Client(
        base_url=wan_sandbox.url, api_key=wan_api_key, **wan_client_options
    ) as client:
        yield client


@pytest.fixture
def wan_async_client(
    wan_sandbox: RunningSandbox, wan_api_key: str, wan_client_options: dict[str, Any]
) -> Iterator[wan_i2v.AsyncClient]:
    """A ``wan_i2v.AsyncClient`` pointed at ``wan_sandbox``, usable from any event loop.

    A plain (not async) fixture, so it needs no asyncio plugin and works under
    pytest-asyncio, anyio or ``asyncio.run``. Its connections are not kept alive: a pooled
    connection belongs to the event loop that opened it, which has ended by teardown, and
    closing it there would fail or leave an unclosed socket (a ResourceWarning).
    """
    import httpx

    import wan_i2v

    # The client sends through this one's transport (its timeout and headers are wan_i2v's own).
    http = httpx.AsyncClient(
        transport=httpx.AsyncHTTPTransport(limits=httpx.Limits(max_keepalive_connections=0)),
    )
    client = wan_i2v.AsyncClient(
        base_url=wan_sandbox.url, api_key=wan_api_key, http_client=http, **wan_client_options
    )
    try:
        yield client
    finally:
        # Nothing pooled: this touches no other loop's sockets.
        asyncio.run(client.aclose())
        asyncio.run(http.aclose())
