"""Start-up: what `import wan_i2v` and `Client()` load and build (issue 22, item 3).

Time is measured in benchmarks/bench_startup.py, not here: these tests hold the causes
(modules loaded, SSL contexts built), which are deterministic."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from conftest import BASE, KEY

import wan_i2v
from wan_i2v._http import ApiKeyAuth, ClientSettings, async_clients, sync_clients

# httpx imports its own command line (click, rich: uuid among their imports) when click is
# installed, as it is here: blocked, so that what counts is what a library user gets.
NO_CLICK = "import sys; sys.modules['click'] = None; "


def _new_modules(code: str) -> list[str]:
    """The modules a fresh interpreter loads running ``code`` after ``import httpx``."""
    script = (
        f"{NO_CLICK}import httpx; before = set(sys.modules); "
        f"{code}; print('\\n'.join(sorted(set(sys.modules) - before)))"
    )
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    return out.stdout.split()


def test_import_loads_only_the_name_table() -> None:
    """`import wan_i2v` loads no module of ours but the version: every public name loads its
    module on first use (the pytest plugin and `wan-i2v --help` pay nothing more)."""
    loaded = [m for m in _new_modules("import wan_i2v") if m.startswith("wan_i2v")]
    assert loaded == ["wan_i2v", "wan_i2v._version"]


def test_import_alone_does_not_load_httpx() -> None:
    """Without a client nothing needs httpx: a bare `import wan_i2v` leaves it unloaded."""
    code = "import sys, wan_i2v; print('httpx' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_a_public_name_loads_its_module_on_first_use() -> None:
    """`from wan_i2v import X` works for every name of __all__, and gives the module's own
    object (the table and the modules agree)."""
    import importlib

    for name in wan_i2v.__all__:
        value = getattr(wan_i2v, name)
        if name == "__version__":
            continue
        home = importlib.import_module(f"wan_i2v.{wan_i2v._HOMES[name]}")
        assert value is getattr(home, name), name


def test_a_client_leaves_what_only_calls_need_unloaded() -> None:
    """Client() loads neither asyncio, ctypes (atomic video rename), uuid (task ids), nor the
    generated package and attrs (first request): what only a call needs waits for the call."""
    loaded = _new_modules("import wan_i2v; wan_i2v.Client(api_key='k', base_url='http://x.test')")
    unwanted = ("asyncio", "ctypes", "uuid", "attrs", "wan_i2v._generated")
    assert [m for m in unwanted if m in loaded] == []


@pytest.fixture
def proxy_env(monkeypatch: pytest.MonkeyPatch) -> Callable[[str], None]:
    def use(url: str) -> None:
        monkeypatch.setenv("HTTP_PROXY", url)
        monkeypatch.setenv("HTTPS_PROXY", url)

    return use


def _ssl_contexts(client: httpx.Client | httpx.AsyncClient) -> list[Any]:
    transports = [client._transport, *client._mounts.values()]
    return [t._pool._ssl_context for t in transports if t is not None]  # type: ignore[attr-defined]


def test_our_two_clients_share_one_ssl_context(proxy_env: Callable[[str], None]) -> None:
    """The API and video clients (sync and async, the proxy pools from the environment
    included) use one SSL context: the CA bundle is loaded once per wan_i2v client, not once
    per httpx client; and each pool still holds the deadline."""
    from wan_i2v._socket_deadline import has_held_deadlines

    proxy_env("http://127.0.0.1:9")
    settings = ClientSettings(base_url=BASE, auth=ApiKeyAuth(KEY, base_url=BASE), timeout=5)
    for pair in (sync_clients(settings, None), async_clients(settings, None)):
        contexts = [c for client in pair for c in _ssl_contexts(client)]
        assert len(contexts) == 6  # per client: its transport, the http:// and https:// proxies
        assert len({id(c) for c in contexts}) == 1
        assert all(has_held_deadlines(client) for client in pair)


def test_a_users_client_makes_us_build_no_ssl_context(monkeypatch: pytest.MonkeyPatch) -> None:
    """With http_client= their transport carries everything, with their TLS settings: we build
    no SSL context of our own (none would be used)."""
    with httpx.Client() as theirs:

        def refuse(*args: object, **kwargs: object) -> None:
            raise AssertionError("an SSL context was built for a user's client")

        monkeypatch.setattr(httpx, "create_ssl_context", refuse)
        with wan_i2v.Client(api_key=KEY, base_url=BASE, http_client=theirs) as client:
            assert client._sends_through
