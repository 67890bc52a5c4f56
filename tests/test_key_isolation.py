"""The key reaches the API host and nothing else, by construction: not an error, a traceback
with locals, a repr of anything the client holds, a log line, stdout or stderr, a user's own
httpx client, the video host, or the command line. Sync and async, against real local servers.

The key is a module global read through the environment, so no test frame holds it as a local
(``capture_locals`` prints every frame of a traceback, the test's own included).
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import io
import logging
import pickle
import secrets
import traceback
import types
import uuid
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from conftest import TASK_ID, task_json
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from servers import Hang, Reply, Reset, ScriptedServer, Seen, refused_url, scripted_server

import wan_i2v
from wan_i2v._http import ApiKeyAuth
from wan_i2v._scrub import Scrubber

# Real time, real processes or builds: run once, on the interpreter nox runs on.
pytestmark = pytest.mark.slow

KEY = "mr-" + secrets.token_hex(24)  # fresh per run: no output can hold it by chance
KEY_MIDDLE = KEY[16:36]  # a distinctive part, found even where the key is cut or wrapped
URL_IMAGE = "https://example.com/flower.jpg"
VIDEO = b"\x00\x00\x00\x18ftypmp42" + b"\x00" * 2000


def key_in(text: str) -> bool:
    """Whether any form of the key is in ``text``."""
    return KEY in text or KEY_MIDDLE in text


def _lines_with_key(text: str) -> list[str]:
    """The lines that hold the key, shortened, to say where a leak is."""
    return [line[:300] for line in text.splitlines() if key_in(line)]


def carried_key(seen: Seen) -> bool:
    """Whether a request reached a server with our key as its bearer token."""
    return seen.headers.get("authorization") == "Bearer " + KEY


# --- Driving both clients the same way, on one event loop per test --------------------------


class Driver:
    """Builds a ``Client`` or an ``AsyncClient`` and runs its calls; async calls share one
    event loop for the whole test, so connections and a user's ``httpx.AsyncClient`` live on
    the loop that made them."""

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self.is_async = kind == "async"
        self._runner = asyncio.Runner() if self.is_async else None

    def client(self, *, key_name: str | None = None, **kwargs: Any) -> Any:
        """A client; with ``key_name``, that key (see ``named_key``) is passed as
        ``api_key=``, looked up inside the call so that no frame of the test holds it."""
        cls = wan_i2v.AsyncClient if self.is_async else wan_i2v.Client
        if key_name is not None:
            return cls(api_key=named_key(key_name), **kwargs)
        return cls(**kwargs)

    def run(self, value: Any) -> Any:
        """``value`` itself, or its result when it is a coroutine."""
        if inspect.iscoroutine(value):
            assert self._runner is not None
            return self._runner.run(value)
        return value

    def call(self, client: Any, method: str, *args: Any, **kwargs: Any) -> Any:
        return self.run(getattr(client, method)(*args, **kwargs))

    def close(self, closable: Any) -> None:
        """Close a wan_i2v client or an httpx client of either kind."""
        self.run(closable.aclose() if hasattr(closable, "aclose") else closable.close())

    def finish(self) -> None:
        if self._runner is not None:
            self._runner.close()


def named_key(name: str) -> str:
    """The good key ("good") or one of ``BAD_KEYS`` by name."""
    return KEY if name == "good" else BAD_KEYS[name]


@pytest.fixture(params=["sync", "async"])
def driver(request: pytest.FixtureRequest) -> Iterator[Driver]:
    """Each test runs once with ``Client`` and once with ``AsyncClient``."""
    d = Driver(request.param)
    yield d
    d.finish()


@pytest.fixture
def key_in_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """The key comes from the environment, as in production, never through a test local."""
    monkeypatch.setenv("MULEROUTER_API_KEY", KEY)


# --- Everything that could print the key ----------------------------------------------------

# Objects whose repr is checked but whose insides are not walked: ApiKeyAuth is the one holder
# of the key by design (its repr must mask it; its Scrubber too). Requests, responses and
# headers ARE opened: an error keeps a detached response whose request reads "Bearer ***", and
# an httpx error in the chain has its request replaced by such a copy, so the raw header bytes
# of anything an error holds are searched too. Loggers, handlers, modules and classes lead to
# everything.
_OPAQUE = (
    ApiKeyAuth,
    Scrubber,
    logging.Logger,
    logging.Handler,
    types.ModuleType,
    type,
)
_LEAVES = (str, bytes, bytearray, int, float, complex, bool, type(None), memoryview)


def _safe_repr(obj: object) -> str:
    try:
        return repr(obj)
    except Exception as exc:  # a half-closed object may refuse: that is not a leak
        return f"<repr failed: {type(exc).__name__}>"


def _children(obj: object) -> list[object]:
    if isinstance(obj, dict):
        return [*obj.keys(), *obj.values()]
    if isinstance(obj, list | tuple | set | frozenset | deque):
        return list(obj)
    if isinstance(obj, types.FunctionType):
        return [cell.cell_contents for cell in obj.__closure__ or () if _has_contents(cell)]
    if isinstance(obj, types.MethodType):
        return [obj.__self__, obj.__func__]
    if isinstance(obj, types.CoroutineType | types.GeneratorType | types.FrameType):
        return []
    found: list[object] = []
    if hasattr(obj, "__dict__"):
        found += list(vars(obj).values())
    for klass in type(obj).__mro__:
        for slot in getattr(klass, "__slots__", ()):
            if isinstance(slot, str) and slot not in ("__dict__", "__weakref__"):
                with contextlib.suppress(AttributeError):
                    found.append(getattr(obj, slot))
    return found


def _has_contents(cell: types.CellType) -> bool:
    try:
        cell.cell_contents  # noqa: B018
    except ValueError:
        return False
    return True


def reachable_reprs(root: object, limit: int = 50_000) -> list[str]:
    """The repr of ``root`` and of everything it holds, walked through ``vars()``,
    ``__slots__``, containers and closures (functions' globals are not followed)."""
    out: list[str] = []
    seen: set[int] = set()
    stack = [root]
    while stack and len(out) < limit:
        obj = stack.pop()
        if id(obj) in seen:
            continue
        seen.add(id(obj))
        out.append(_safe_repr(obj))
        if isinstance(obj, _LEAVES + _OPAQUE):
            continue
        stack.extend(_children(obj))
    return out


def exception_text(exc: BaseException) -> str:
    """Everything a handler could print of an exception: its whole chain formatted with every
    frame's locals, the plain format, and the repr of everything each exception holds."""
    parts = [
        "".join(
            traceback.TracebackException(
                type(exc), exc, exc.__traceback__, capture_locals=True
            ).format()
        ),
        "".join(traceback.format_exception(exc)),
    ]
    link: BaseException | None = exc
    while link is not None:
        parts += [str(link), *reachable_reprs(vars(link))]
        link = link.__cause__ or link.__context__
    return "\n".join(parts)


@dataclass
class Outputs:
    """What one scenario produced, to search for the key."""

    error: BaseException | None
    text: str


def provoke(
    driver: Driver,
    make: Callable[[], Any],
    act: Callable[[Any], Any],
) -> Outputs:
    """Build a client with ``make`` and run ``act`` on it under DEBUG logging on the root
    logger; return the error (if any) and all text that could hold the key. Formats the
    traceback here, while this frame (which holds no key) is the one that caught it."""
    log = io.StringIO()
    handler = logging.StreamHandler(log)
    handler.setFormatter(logging.Formatter("%(levelname)s %(name)s %(message)s"))
    root = logging.getLogger()
    old_level = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    client = None
    error: BaseException | None = None
    try:
        client = make()
        driver.run(act(client))
    except wan_i2v.WanI2VError as exc:
        error = exc
    finally:
        root.removeHandler(handler)
        root.setLevel(old_level)
    texts = [log.getvalue()]
    if error is not None:
        texts.append(exception_text(error))
    if client is not None:
        texts += reachable_reprs(client)
        driver.close(client)
        texts += reachable_reprs(client)  # closed, too
    return Outputs(error=error, text="\n".join(texts))


# --- 1. Every error path, as a property ---------------------------------------------------

OPERATIONS = ("create", "get", "wait", "download", "generate")
# Which stages each operation passes through, in order.
STAGES = {
    "create": ("create",),
    "get": ("poll",),
    "wait": ("poll",),
    "download": ("poll", "video"),
    "generate": ("create", "poll", "video"),
}
HUGE = b'{"detail": "' + b"x" * (2 << 20) + b'"}'  # twice the body cap
NESTED = b"[" * 100_000 + b"]" * 100_000
BODIES = {
    "json": b'{"detail": "nope", "errors": [{"field": "image", "message": "bad"}]}',
    "html": b"<html><body><h1>502 Bad Gateway</h1></body></html>",
    "empty": b"",
    "huge": HUGE,
    "nested": NESTED,
    "list": b"[1, 2, 3]",
}
BAD_CONFIGS: list[dict[str, Any]] = [
    {"site": "nowhere"},
    {"timeout": 0},
    {"timeout": -1},
    {"timeout": "fast"},
    {"max_retries": -1},
    {"base_url": "ftp://api.example.com"},
    {"base_url": "http://user:hunter2@[::1"},
]


@dataclass(frozen=True)
class Failure:
    """What goes wrong, and where: a stage ("create", "poll", "video") or the configuration."""

    stage: str
    kind: str  # status | refused | timeout | reset | not-a-task | failed-task | empty | config
    status: int = 0
    body: str = "empty"
    config: int = 0
    key_as_argument: bool = False


def _at(stage: str, kind: str, **kw: Any) -> st.SearchStrategy[Failure]:
    return st.builds(Failure, stage=st.just(stage), kind=st.just(kind), **kw)


def failures_for(operation: str) -> st.SearchStrategy[Failure]:
    """Every failure that makes ``operation`` raise."""
    options: list[st.SearchStrategy[Failure]] = [
        _at(
            "config",
            "config",
            config=st.integers(0, len(BAD_CONFIGS) - 1),
            key_as_argument=st.booleans(),
        )
    ]
    for stage in STAGES[operation]:
        options.append(
            _at(
                stage,
                "status",
                status=st.integers(400, 599),
                body=st.sampled_from(["json", "html", "empty", "huge", "nested"]),
            )
        )
        options.append(
            st.builds(
                Failure,
                stage=st.just(stage),
                kind=st.sampled_from(["refused", "timeout", "reset"]),
            )
        )
        if stage == "video":
            options.append(_at(stage, "empty"))
        else:
            options.append(
                _at(stage, "not-a-task", body=st.sampled_from(["json", "html", "empty", "list"]))
            )
        if stage == "poll" and operation != "get":
            options.append(_at(stage, "failed-task"))
    return st.one_of(options)


SCENARIOS = st.sampled_from(OPERATIONS).flatmap(lambda op: st.tuples(st.just(op), failures_for(op)))


def _stage_of(seen: Seen) -> str:
    if seen.path.startswith("/video/"):
        return "video"
    return "create" if seen.method == "POST" else "poll"


def script_for(failure: Failure, video_url: str) -> Callable[[Seen], Any]:
    """The servers' answers: normal at every stage but the failing one."""

    def script(seen: Seen) -> Any:
        stage = _stage_of(seen)
        if stage == failure.stage:
            if failure.kind == "status":
                return Reply(failure.status, BODIES[failure.body])
            if failure.kind == "reset":
                return Reset()
            if failure.kind == "timeout":
                return Hang()
            if failure.kind == "not-a-task":
                return Reply(200, BODIES[failure.body])
            if failure.kind == "failed-task":
                error = {"code": 3001, "title": "provider failed", "detail": "boom"}
                return Reply(200, _json(task_json("failed", error=error)))
            if failure.kind == "empty":
                return Reply(200, b"")
        if stage == "create":
            return Reply(202, _json(task_json()))
        if stage == "poll":
            return Reply(200, _json(task_json("completed", videos=[video_url])))
        return Reply(200, VIDEO, headers={"Content-Type": "video/mp4"})

    return script


def _json(data: Any) -> bytes:
    import json

    return json.dumps(data).encode()


def act_for(operation: str, output: Path) -> Callable[[Any], Any]:
    """The call that runs ``operation`` (returns a coroutine for an AsyncClient)."""
    actions: dict[str, Callable[[Any], Any]] = {
        "create": lambda c: c.create(image=URL_IMAGE, prompt="p"),
        "get": lambda c: c.get(TASK_ID),
        "wait": lambda c: c.wait(TASK_ID, timeout=0),
        "download": lambda c: c.download(TASK_ID, output),
        "generate": lambda c: c.generate(image=URL_IMAGE, prompt="p", output=output, timeout=0),
    }
    return actions[operation]


@pytest.fixture(scope="module")
def hosts() -> Iterator[tuple[ScriptedServer, ScriptedServer]]:
    """An API host and a video host (two origins), shared by the property's examples."""
    with scripted_server() as api, scripted_server() as video:
        yield api, video


@settings(
    max_examples=40,
    deadline=None,
    # `driver` and `capfd` hold nothing per example; hosts' logs are cleared per example.
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(scenario=SCENARIOS)
def test_no_error_path_shows_the_key(
    driver: Driver,
    hosts: tuple[ScriptedServer, ScriptedServer],
    key_in_env: None,
    capfd: pytest.CaptureFixture[str],
    tmp_path: Path,
    scenario: tuple[str, Failure],
) -> None:
    """Every error of create/get/wait/download/generate (statuses 400-599 with any body,
    transport errors, odd 2xx, failed tasks, video host errors, bad configuration): no trace
    of the key in the traceback with locals, any repr the client holds, DEBUG logs or output;
    the key reached the API host only."""
    operation, failure = scenario
    api, video = hosts
    api.requests.clear()
    video.requests.clear()
    capfd.readouterr()
    video_base = (
        refused_url() if failure.stage == "video" and failure.kind == "refused" else video.url
    )
    video_url = f"{video_base}/video/{TASK_ID}.mp4"
    api.script = video.script = script_for(failure, video_url)
    api_refused = failure.kind == "refused" and failure.stage != "video"
    options: dict[str, Any] = {
        "base_url": refused_url() if api_refused else api.url,
        "timeout": 0.25,
        "max_retries": 1,
    }
    if failure.kind == "config":
        if "site" in BAD_CONFIGS[failure.config]:
            del options["base_url"]  # a base URL wins over a site
        options.update(BAD_CONFIGS[failure.config])
    output = tmp_path / f"{uuid.uuid4()}.mp4"

    outputs = provoke(
        driver,
        lambda: driver.client(key_name="good" if failure.key_as_argument else None, **options),
        act_for(operation, output),
    )
    printed = capfd.readouterr()

    assert isinstance(outputs.error, wan_i2v.WanI2VError), (operation, failure)
    assert not key_in(outputs.text), (operation, failure, _lines_with_key(outputs.text))
    pickled = pickle.dumps(outputs.error)  # what crosses a process pool or a result store
    assert KEY.encode() not in pickled, (operation, failure)
    assert str(pickle.loads(pickled)) == str(outputs.error)
    assert not key_in(printed.out + printed.err), (operation, failure)
    # The key went where it belongs, and nowhere else.
    assert not any(r.headers.get("authorization") for r in video.requests)
    assert all(carried_key(r) for r in api.requests)
    if failure.kind != "config" and not api_refused:
        assert api.requests, "the scenario never reached the API host"
        assert " wan_i2v request " in outputs.text  # DEBUG logging did run
    if failure.kind == "config":
        assert not api.requests
    assert not output.exists()


# --- 2. A user's httpx client: used, never changed -----------------------------------------


class CountingTransport(httpx.BaseTransport, httpx.AsyncBaseTransport):
    """A real transport that counts the requests it carries (sync or async)."""

    def __init__(self) -> None:
        self.urls: list[str] = []
        self._sync = httpx.HTTPTransport()
        self._async = httpx.AsyncHTTPTransport()

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        self.urls.append(str(request.url))
        return self._sync.handle_request(request)

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self.urls.append(str(request.url))
        return await self._async.handle_async_request(request)

    def close(self) -> None:
        self._sync.close()

    async def aclose(self) -> None:
        await self._async.aclose()


def users_client(driver: Driver, **kwargs: Any) -> Any:
    """A user's own httpx client of the driver's kind."""
    return httpx.AsyncClient(**kwargs) if driver.is_async else httpx.Client(**kwargs)


def snapshot(h: httpx.Client | httpx.AsyncClient) -> tuple[Any, ...]:
    """What a wan_i2v client must leave exactly as it found it."""
    return (
        str(h.base_url),
        list(h.headers.multi_items()),
        {name: list(hooks) for name, hooks in h.event_hooks.items()},
        h.auth,
        h.timeout,
        h.follow_redirects,
        h.is_closed,
    )


def test_users_client_carries_everything_and_is_left_unchanged(
    driver: Driver, key_in_env: None, image_path: Path, tmp_path: Path
) -> None:
    """A user's client carries create, get, wait and download to the sandbox; once three
    wan_i2v clients on it are closed it is unchanged, open, and sends no Authorization."""
    from wan_i2v.sandbox import SandboxConfig, serve

    transport = CountingTransport()
    h = users_client(driver, transport=transport, headers={"X-Mine": "1"})
    before = snapshot(h)
    with serve(SandboxConfig(task_seconds=0)) as sandbox, scripted_server() as other:
        other.script = lambda seen: Reply(200, b"ok")
        clients = [driver.client(base_url=sandbox.url, http_client=h) for _ in range(3)]
        task = driver.call(clients[0], "create", image=image_path, prompt="p")
        driver.call(clients[1], "wait", task.id, timeout=5)
        driver.call(clients[2], "download", task.id, tmp_path / "v.mp4")
        for c in clients:
            driver.close(c)
        assert snapshot(h) == before
        # Every request went through the user's transport: the create, 2 GETs, the video.
        assert len(transport.urls) == sandbox.state.requests_received == 4
        assert sandbox.state.file_requests_with_auth == 0
        assert (tmp_path / "v.mp4").stat().st_size > 0

        driver.run(h.get(f"{other.url}/alone"))
        assert other.count() == 1
        assert "authorization" not in other.requests[0].headers
        assert other.requests[0].headers["x-mine"] == "1"
    driver.close(h)


def test_users_custom_transport_carries_api_and_video(driver: Driver, key_in_env: None) -> None:
    """A MockTransport on the user's client carries the API calls and the video download; the
    key goes on the API requests only."""
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        if request.url.host == "videos.test":
            return httpx.Response(200, content=VIDEO)
        return httpx.Response(
            200, json=task_json("completed", videos=["https://videos.test/v.mp4"])
        )

    h = users_client(driver, transport=httpx.MockTransport(handler))
    client = driver.client(base_url="https://api.test", http_client=h)
    driver.call(client, "download", TASK_ID, Path("v.mp4"))
    driver.close(client)
    driver.close(h)
    assert [r.url.host for r in seen] == ["api.test", "videos.test"]
    assert seen[0].headers["authorization"] == "Bearer " + KEY
    assert "authorization" not in seen[1].headers


# --- 3. Malformed keys: refused at construction, never echoed -------------------------------

# Each bad key is built here from two halves; a test finds it by name so no frame holds it.
_HALF_A, _HALF_B = "mr-" + secrets.token_hex(8), secrets.token_hex(8)
BAD_KEYS = {
    "two keys pasted": f"{_HALF_A}\n{_HALF_B}",
    "NUL": f"{_HALF_A}\0{_HALF_B}",
    "zero-width space": f"{_HALF_A}\u200b{_HALF_B}",
    "curly quotes": f"\u201c{_HALF_A}{_HALF_B}\u201d",
}


def half_in(text: str) -> bool:
    """Whether either half of a bad key is in ``text``."""
    return _HALF_A in text or _HALF_B in text


@pytest.mark.parametrize("name", sorted(BAD_KEYS))
def test_malformed_key_refused_before_any_request(driver: Driver, name: str) -> None:
    """A key with a line break, NUL, U+200B or curly quotes: ConfigurationError at
    construction, its message and traceback without the key, zero requests sent."""
    with scripted_server(lambda seen: Reply(200, b"{}")) as api:
        outputs = provoke(
            driver,
            lambda: driver.client(key_name=name, base_url=api.url),
            lambda c: c.get(TASK_ID),
        )
        assert isinstance(outputs.error, wan_i2v.ConfigurationError)
        assert "API key" in str(outputs.error)
        assert not half_in(outputs.text)
        assert api.count() == 0


def test_key_with_surrounding_whitespace_works(driver: Driver) -> None:
    """Whitespace and a newline around the key (a key read from a file) are stripped."""
    with scripted_server(lambda seen: Reply(200, _json(task_json()))) as api:
        client = driver.client(api_key=f"  {KEY}\r\n", base_url=api.url)
        driver.call(client, "get", TASK_ID)
        driver.close(client)
        assert [carried_key(r) for r in api.requests] == [True]


@pytest.mark.parametrize("name", ["two keys pasted", "zero-width space", "curly quotes"])
def test_cli_with_malformed_key_prints_no_key(name: str) -> None:
    """``wan-i2v status ID --json`` with a malformed key in the environment: exit 2, nothing
    sent, and neither stdout nor stderr holds any part of the key."""
    import os
    import subprocess
    import sys

    with scripted_server(lambda seen: Reply(200, _json(task_json()))) as api:
        env = {**os.environ, "MULEROUTER_API_KEY": BAD_KEYS[name], "MULEROUTER_BASE_URL": api.url}
        done = subprocess.run(
            [sys.executable, "-m", "wan_i2v.cli", "status", TASK_ID, "--json"],
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert done.returncode == 2, done.stderr
        assert not half_in(done.stdout + done.stderr)
        assert "API key" in done.stdout + done.stderr
        assert api.count() == 0


# --- 5. Video URLs from the server ---------------------------------------------------------


def bad_video_urls(elsewhere: str) -> list[str]:
    """Links that must never be fetched; those that could reach a host point at ``elsewhere``
    (a counting server), so an attempt would be seen."""
    host = elsewhere.removeprefix("http://")
    return [
        "/v.mp4",
        "file:///etc/passwd",
        "data:video/mp4;base64,AAAA",
        "mailto:x@y",
        f"//{host}/x.mp4",
        f"ftp://{host}/x.mp4",
    ]


def test_bad_video_url_refused_before_any_request(
    driver: Driver, key_in_env: None, tmp_path: Path
) -> None:
    """Relative, file:, data:, mailto:, scheme-relative and ftp: links from the server are a
    DownloadError with zero requests to the API host or anywhere else, and no file left."""
    with scripted_server() as api, scripted_server() as elsewhere:
        for url in bad_video_urls(elsewhere.url):
            api.script = lambda seen, url=url: Reply(
                200, _json(task_json("completed", videos=[url]))
            )
            transport = CountingTransport()
            h = users_client(driver, transport=transport)
            client = driver.client(base_url=api.url, http_client=h)
            task = driver.call(client, "get", TASK_ID)
            api.requests.clear()
            transport.urls.clear()
            with pytest.raises(wan_i2v.DownloadError, match="not an absolute http"):
                driver.call(client, "download", task, tmp_path / "v.mp4")
            with pytest.raises(wan_i2v.DownloadError):
                driver.call(client, "download", url, tmp_path / "v.mp4")
            driver.close(client)
            driver.close(h)
            assert (api.count(), elsewhere.count(), transport.urls) == (0, 0, []), url
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("status", [403, 404])
def test_expired_video_link_is_a_download_error(
    driver: Driver, key_in_env: None, tmp_path: Path, status: int
) -> None:
    """A 403/404 from the video host: DownloadError with the status, saying the link may have
    expired and that download(task_id) fetches a fresh one; not an APIError; no key sent."""
    with scripted_server() as api, scripted_server(lambda s: Reply(status, b"gone")) as video:
        link = f"{video.url}/v.mp4"
        api.script = lambda seen: Reply(200, _json(task_json("completed", videos=[link])))
        client = driver.client(base_url=api.url, max_retries=0)
        task = driver.call(client, "get", TASK_ID)
        with pytest.raises(wan_i2v.DownloadError) as info:
            driver.call(client, "download", task, tmp_path / "v.mp4")
        driver.close(client)
    assert not isinstance(info.value, wan_i2v.APIError)
    assert info.value.status_code == status
    assert "expired" in str(info.value)
    assert f"download({TASK_ID!r})" in str(info.value)
    assert video.count() == 1
    assert "authorization" not in video.requests[0].headers
    assert list(tmp_path.iterdir()) == []


# --- 4. .env by python-dotenv's rules ------------------------------------------------------


def test_dotenv_bom_quotes_export_crlf_and_precedence(driver: Driver, tmp_path: Path) -> None:
    """A BOM before the first name, ``export``, CRLF, a quoted key with an inline comment: all
    honoured (the request reaches the server with ``abc``); non-MULEROUTER names, a proxy
    among them, are ignored."""
    import os

    with scripted_server(lambda seen: Reply(200, _json(task_json()))) as api:
        Path(".env").write_bytes(
            (
                f"\ufeffMULEROUTER_BASE_URL={api.url}\r\n"
                'export MULEROUTER_API_KEY="abc" # my key\r\n'
                f"HTTP_PROXY={refused_url()}\r\n"
                "OTHER_SETTING=1\r\n"
            ).encode()
        )
        client = driver.client()
        driver.call(client, "get", TASK_ID)
        driver.close(client)
        assert [r.headers.get("authorization") for r in api.requests] == ["Bearer abc"]
        assert "OTHER_SETTING" not in os.environ


def test_environment_wins_over_dotenv(
    driver: Driver, key_in_env: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A key in the environment wins over the one in .env."""
    with scripted_server(lambda seen: Reply(200, _json(task_json()))) as api:
        monkeypatch.setenv("MULEROUTER_BASE_URL", api.url)
        Path(".env").write_text("MULEROUTER_API_KEY=from-dotenv\n")
        client = driver.client()
        driver.call(client, "get", TASK_ID)
        driver.close(client)
        assert [carried_key(r) for r in api.requests] == [True]


def test_dotenv_not_utf8_names_the_file(driver: Driver, key_in_env: None) -> None:
    """One Latin-1 byte in a comment: a ConfigurationError that names the file."""
    Path(".env").write_bytes(b"# caf\xe9\nMULEROUTER_SITE=mulerun\n")
    with pytest.raises(wan_i2v.ConfigurationError, match=r"\.env is not UTF-8"):
        driver.client()


# --- 6. Error bodies are capped ------------------------------------------------------------


def test_300_mb_error_page_costs_little_memory(driver: Driver, key_in_env: None) -> None:
    """A real server streaming a 300 MB error page: ``e.body`` holds at most ~1 MiB, Python's
    peak memory grows by < 20 MiB, and the client stops reading early."""
    import tracemalloc

    from servers import lazy_body

    total = 300_000_000
    with scripted_server(lambda s: Reply(400, lazy_body(total), length=total)) as api:
        client = driver.client(base_url=api.url)
        tracemalloc.start()
        try:
            with pytest.raises(wan_i2v.BadRequestError) as info:
                driver.call(client, "get", TASK_ID)
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
        driver.close(client)
    assert len(info.value.body) <= (1 << 20) + 100
    assert peak < 20 << 20
    assert api.bytes_sent < 50_000_000  # it stopped reading, far before 300 MB


_BOMB: list[bytes] = []


def gzip_bomb() -> bytes:
    """About 0.5 MB of gzip that inflates to 500 MB of zeros (made once)."""
    import zlib

    if not _BOMB:
        deflate = zlib.compressobj(9, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
        block = bytes(1 << 20)
        _BOMB.append(b"".join(deflate.compress(block) for _ in range(500)) + deflate.flush())
    return _BOMB[0]


def test_gzip_bomb_is_inflated_under_the_cap(driver: Driver, key_in_env: None) -> None:
    """A 0.5 MB gzip body that inflates to 500 MB: ``e.body`` at most ~1 MiB, in under 2 s."""
    import time

    bomb = gzip_bomb()
    assert len(bomb) < 600_000
    reply = Reply(400, bomb, headers={"Content-Encoding": "gzip"})
    with scripted_server(lambda s: reply) as api:
        client = driver.client(base_url=api.url)
        start = time.monotonic()
        with pytest.raises(wan_i2v.BadRequestError) as info:
            driver.call(client, "get", TASK_ID)
        elapsed = time.monotonic() - start
        driver.close(client)
    assert len(info.value.body) <= (1 << 20) + 100
    assert elapsed < 2


# --- 7. A password in the base URL ---------------------------------------------------------


def test_base_url_password_is_never_shown(
    driver: Driver, key_in_env: None, caplog: pytest.LogCaptureFixture
) -> None:
    """A base URL with ``user:password@``: the password is in no repr of the client, no error
    message of the chain (a connection refused there) and no log line, at DEBUG."""
    password = "pw-" + secrets.token_hex(8)  # a test value
    base = refused_url().replace("http://", f"http://user:{password}@")
    caplog.set_level(logging.DEBUG)
    client = driver.client(base_url=base)
    with pytest.raises(wan_i2v.APIConnectionError) as info:
        driver.call(client, "get", TASK_ID)
    shown = [repr(client), *traceback.format_exception(info.value), caplog.text]
    driver.close(client)
    assert "user:***@" in str(info.value)
    assert [line for text in shown for line in text.splitlines() if password in line] == []


# --- 8. Retries print nothing unasked ------------------------------------------------------


def _503_then_task() -> Callable[[Seen], Any]:
    answers = iter([Reply(503, b"busy", headers={"Retry-After": "0"})])
    return lambda seen: next(answers, Reply(200, _json(task_json())))


def test_retry_prints_nothing_without_logging_config() -> None:
    """In a program that configured no logging, a retried 503 prints nothing on stderr."""
    import os
    import subprocess
    import sys

    code = (
        "import sys, wan_i2v\n"
        "c = wan_i2v.Client(base_url=sys.argv[1], api_key='k')\n"
        "print(c.get(sys.argv[2]).status)\n"
    )
    with scripted_server(_503_then_task()) as api:
        done = subprocess.run(
            [sys.executable, "-c", code, api.url, TASK_ID],
            env={k: v for k, v in os.environ.items() if not k.startswith("MULEROUTER_")},
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert api.count() == 2  # it did retry
    assert (done.returncode, done.stdout, done.stderr) == (0, "pending\n", "")


def test_retry_logged_at_debug_and_stamina_hooks_untouched(
    driver: Driver, key_in_env: None, caplog: pytest.LogCaptureFixture
) -> None:
    """At DEBUG the ``wan_i2v`` logger records the retry; an application's own stamina hooks
    are the same object after using the client, and still receive the retry."""
    from stamina import instrumentation

    received: list[Any] = []
    instrumentation.set_on_retry_hooks([received.append])
    try:
        before = instrumentation.get_on_retry_hooks()
        caplog.set_level(logging.DEBUG, logger="wan_i2v")
        with scripted_server(_503_then_task()) as api:
            client = driver.client(base_url=api.url)
            driver.call(client, "get", TASK_ID)
            driver.close(client)
        after = instrumentation.get_on_retry_hooks()
    finally:
        instrumentation.set_on_retry_hooks(None)
    assert after is before
    assert len(received) == 1
    assert [r.getMessage()[:7] for r in caplog.records if "retry" in r.getMessage()] == ["retry 1"]
