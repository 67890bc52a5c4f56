"""Server text never carries the key or a raw control character into what the client shows or
keeps: a real local server echoes the request's Authorization header (and ANSI/OSC sequences)
in every place an answer has text, and every error that results is searched, pickled and
unpickled. Sync and async."""

from __future__ import annotations

import asyncio
import base64
import datetime as dt
import json
import logging
import pickle
import re
import secrets
import traceback
from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import quote

import httpx
import pytest
from conftest import TASK_ID, task_json
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from servers import Reply, ScriptedServer, Seen, scripted_server

import wan_i2v
from wan_i2v import _errors
from wan_i2v import _spec_facts as facts
from wan_i2v._scrub import NO_SECRET, Scrubber, escape_controls
from wan_i2v._task import Task, TaskError

# A "/" and a "+" so that the URL-encoded and JSON-escaped forms differ from the key itself.
KEY = f"mr-{secrets.token_hex(12)}/{secrets.token_hex(12)}+k"
KEY_MIDDLE = KEY[8:28]  # a distinctive part, found even where the key is cut
URL_IMAGE = "https://example.com/flower.jpg"
# What must never reach a terminal raw: C0, DEL, C1, bidi overrides and isolates.
RAW_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")
CONTROLS = ["\x1b[2J", "\x1b]0;pwned\x07", "\x9b31m", "\u202eevil", "\r\nerror: forged", ""]


def key_in(text: str | bytes) -> bool:
    """Whether the key, or a distinctive part of it, is in ``text``."""
    if isinstance(text, bytes):
        return KEY.encode() in text or KEY_MIDDLE.encode() in text
    return KEY in text or KEY_MIDDLE in text


# --- The scrubber itself ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "form",
    [
        KEY,
        f"Bearer {KEY}",
        quote(KEY, safe=""),
        json.dumps(KEY)[1:-1].replace("/", "\\/"),
        base64.b64encode(KEY.encode()).decode(),
        base64.b64encode(f"Bearer {KEY}".encode()).decode(),
        base64.b64encode(f"Bearer {KEY}".encode()).decode().rstrip("="),
    ],
    ids=["key", "header", "url-encoded", "json-escaped", "base64", "base64-header", "unpadded"],
)
def test_every_echoed_form_of_the_key_is_masked(form: str) -> None:
    """The key, its header, URL-encoded, JSON-escaped and base64 forms all become ***, in text
    and in a body's bytes."""
    scrub = Scrubber(KEY)
    assert scrub(f"a {form} b") == "a *** b"
    assert scrub.bytes(f"a {form} b".encode()) == b"a *** b"


def test_a_key_with_quotes_or_backslashes_is_masked_however_it_is_escaped() -> None:
    """A key is any visible ASCII: its JSON-escaped form is masked, and so is the key that
    escaping a control character would spell (redacted again after escaping)."""
    quoted = 'mr-ab"cd\\ef0123'
    assert Scrubber(quoted)(json.dumps({"k": quoted})) == '{"k": "***"}'
    tricky = "mr-ab\\x1bcdefgh"  # a backslash, then "x1b"
    assert Scrubber(tricky)("mr-ab\x1bcdefgh") == "***"


def test_a_short_key_is_masked_only_in_its_header_form() -> None:
    """A key of a few letters would mangle ordinary words: only "Bearer <key>" is masked."""
    scrub = Scrubber("abc")
    assert scrub("abcdef Bearer abc") == "abcdef ***"


@pytest.mark.parametrize("control", [c for c in CONTROLS if c])
def test_control_characters_are_escaped_visibly(control: str) -> None:
    """ESC, BEL, CSI, CR/LF and bidi overrides come out as visible escapes; nothing raw."""
    shown = escape_controls(f"status {control} end")
    assert not RAW_CONTROL.search(shown)
    assert shown.startswith("status ")
    assert shown.endswith(" end")
    assert "\\x1b" in escape_controls("\x1b[2J")
    assert NO_SECRET(f"{KEY}\x1b") == f"{KEY}\\x1b"  # no key known: only escaping


def test_the_scrubber_hides_its_key() -> None:
    """A Scrubber knows a key: its repr masks it and it refuses to be pickled."""
    scrub = Scrubber(KEY)
    assert not key_in(repr(scrub))
    with pytest.raises(TypeError):
        pickle.dumps(scrub)


# --- Every error class pickles, carrying what it shows --------------------------------------


def _task(**error: Any) -> Task:
    now = dt.datetime.now(dt.UTC)
    failed = TaskError(**error)
    return Task(id=TASK_ID, status="failed", created_at=now, updated_at=now, error=failed)


def _response(status: int) -> httpx.Response:
    request = httpx.Request(
        "GET", "https://api.example.com/t", headers={"Authorization": f"Bearer {KEY}"}
    )
    return httpx.Response(
        status, json={"detail": "nope"}, headers={"traceparent": "00-abc-01"}, request=request
    )


def _status_error(status: int) -> _errors.APIStatusError:
    return _errors.make_status_error(_response(status), b'{"detail": "nope"}', Scrubber(KEY))


def every_error() -> list[_errors.WanI2VError]:
    """One instance of every exception class, with its context filled in."""
    # every documented error status (one class each), a 5xx and an undocumented one
    statuses = [*sorted(facts.DOCUMENTED_ERROR_STATUSES), 418]
    made: list[_errors.WanI2VError] = [
        _errors.WanI2VError("base"),
        _errors.ConfigurationError("no key"),
        _errors.ValidationError(field="prompt", problem="too long"),
        _errors.APIError("odd"),
        _errors.APIConnectionError(url="https://api.example.com"),
        _errors.APITimeoutError(url="https://api.example.com"),
        _errors.APIResponseValidationError(reason="no task_info", task_id=TASK_ID),
        _errors.CreateOutcomeUnknownError(reason="reset", status_code=502, request_id="00-a"),
        _errors.TaskFailedError(task=_task(code=3, title="bad", detail="input")),
        _errors.WaitTimeoutError(task_id=TASK_ID, last_status="running", waited=3.0),
        _errors.DownloadError("expired", status_code=403, task_id=TASK_ID, transient=False),
        _errors.TaskIncompleteError(task_id=TASK_ID, reason="disk full"),
        _errors.OutputExistsError(path="/tmp/x.mp4"),
        *(_status_error(status) for status in statuses),
    ]
    names = {type(e).__name__ for e in made}
    assert names == set(_errors.__all__), set(_errors.__all__) - names
    return made


ATTRIBUTES = ("status_code", "body", "request_id", "task_id", "reason", "title", "detail", "code")


@pytest.mark.parametrize("error", every_error(), ids=lambda e: type(e).__name__)
def test_every_error_pickles_with_its_message_and_context(error: _errors.WanI2VError) -> None:
    """Pickled and unpickled (as multiprocessing and result stores do), an error is the same
    class with the same message and context, and its pickle holds no key bytes."""
    error.add_note("a note")
    data = pickle.dumps(error)
    assert not key_in(data)
    back = pickle.loads(data)
    assert type(back) is type(error)
    assert str(back) == str(error)
    assert back.__notes__ == ["a note"]
    for name in ATTRIBUTES:
        assert getattr(back, name, None) == getattr(error, name, None), name
    if isinstance(error, _errors.APIStatusError):
        assert isinstance(back, _errors.APIStatusError)
        assert back.response.status_code == error.status_code
        assert back.response.json() == {"detail": "nope"}
        assert back.response.request.headers["authorization"] == "Bearer ***"


def test_a_status_error_keeps_a_response_without_the_key() -> None:
    """Even a status error built by hand from a live response keeps only a detached copy,
    whose request's Authorization reads "Bearer ***"."""
    error = _errors.APIStatusError("x", response=_response(400), body=None)
    assert error.response.request.headers["authorization"] == "Bearer ***"
    assert error.response.headers["traceparent"] == "00-abc-01"
    assert error.response.json() == {"detail": "nope"}
    assert not key_in(pickle.dumps(error))


# --- A hostile server: every place an answer has text ---------------------------------------

# Where the echo goes, and which operations meet it there.
PLACES: dict[str, tuple[str, ...]] = {
    "failed-trace": ("wait",),
    "text-body": ("create", "get", "wait"),
    "json-detail": ("create", "get", "wait"),
    "json-nested": ("create", "get", "wait"),
    "headers": ("create", "get", "wait"),
    "bad-header-line": ("create", "get", "wait"),
    "unreadable-task": ("create", "get", "wait"),
    "failed-title": ("wait",),
    "failed-detail": ("wait",),
    "status-word": ("wait",),
}
FORMS: dict[str, Callable[[str], str]] = {
    "header": lambda auth: auth,
    "key": lambda auth: auth.removeprefix("Bearer "),
    "url-encoded": lambda auth: quote(auth.removeprefix("Bearer "), safe=""),
    "base64": lambda auth: base64.b64encode(auth.encode()).decode(),
}


def _json(data: Any) -> bytes:
    return json.dumps(data).encode()


def echoing(place: str, form: str, control: str, status: int) -> Callable[[Seen], Reply]:
    """A server script that puts the request's Authorization header (in ``form``) and
    ``control`` into ``place`` of its answer."""

    def script(seen: Seen) -> Reply:
        echo = FORMS[form](seen.headers.get("authorization", ""))
        text = f"{echo} {control}"
        if place == "text-body":
            return Reply(status, f"denied for {text}".encode())
        if place == "json-detail":
            return Reply(status, _json({"detail": f"bad token {text}"}))
        if place == "json-nested":
            return Reply(status, _json({"error": {"message": text, "seen": [echo]}}))
        if place == "headers":
            headers = {"X-Echo": echo, "traceparent": f"00-{echo}-01"}
            return Reply(status, _json({"detail": "no"}), headers=headers)
        if place == "bad-header-line":  # httpx refuses it, quoting the line
            return Reply(200, b"{}", headers={"X-Echo": echo + "\x00"})
        if place == "unreadable-task":
            body = task_json("running")
            body["task_info"]["created_at"] = text
            return Reply(200 if seen.method == "GET" else 202, _json(body))
        if place == "failed-trace":  # kept by TaskFailedError.task.request_id
            failed = _json(task_json("failed", error={"code": 7}))
            return Reply(200, failed, headers={"traceparent": f"00-{echo}-01"})
        if place == "status-word":
            return Reply(200, _json(task_json(f"running {text}")))
        error = {"code": 7, "title": "t", "detail": "d"}
        error["title" if place == "failed-title" else "detail"] = text
        return Reply(200, _json(task_json("failed", error=error)))

    return script


async def _act_async(client: wan_i2v.AsyncClient, operation: str) -> None:
    if operation == "create":
        await client.create(image=URL_IMAGE, prompt="p")
    elif operation == "get":
        await client.get(TASK_ID)
    else:
        await client.wait(TASK_ID, timeout=0)


def _act(client: wan_i2v.Client, operation: str) -> None:
    if operation == "create":
        client.create(image=URL_IMAGE, prompt="p")
    elif operation == "get":
        client.get(TASK_ID)
    else:
        client.wait(TASK_ID, timeout=0)


class Clients:
    """One ``Client`` and one ``AsyncClient`` (on an event loop of its own) for the whole
    module: building a client loads the CA bundle, a tenth of a second each time."""

    def __init__(self, url: str) -> None:
        options: dict[str, Any] = {"base_url": url, "timeout": 5, "max_retries": 0}
        self.sync = wan_i2v.Client(**options)
        self.runner = asyncio.Runner()
        self.async_ = self.runner.run(self._make_async(options))

    @staticmethod
    async def _make_async(options: dict[str, Any]) -> wan_i2v.AsyncClient:
        return wan_i2v.AsyncClient(**options)

    def provoke(self, kind: str, operation: str) -> wan_i2v.WanI2VError:
        """The error ``operation`` raises, from the Client or the AsyncClient."""
        try:
            if kind == "sync":
                _act(self.sync, operation)
            else:
                self.runner.run(_act_async(self.async_, operation))
        except wan_i2v.WanI2VError as exc:
            return exc
        raise AssertionError(f"{operation} did not fail")

    def close(self) -> None:
        self.sync.close()
        self.runner.run(self.async_.aclose())
        self.runner.close()


def chain(exc: BaseException) -> Iterator[BaseException]:
    link: BaseException | None = exc
    while link is not None:
        yield link
        link = link.__cause__ or link.__context__


def shown_text(exc: BaseException) -> str:
    """Everything a program would print of an error: the formatted chain, and each link's
    message, repr and text attributes."""
    parts = ["".join(traceback.format_exception(exc))]
    for link in chain(exc):
        parts += [str(link), repr(link)]
        parts += [repr(v) for v in vars(link).values() if not isinstance(v, httpx.Response)]
    return "\n".join(parts)


@pytest.fixture(scope="module")
def server() -> Iterator[ScriptedServer]:
    with scripted_server() as running:
        yield running


@pytest.fixture(scope="module")
def clients(server: ScriptedServer) -> Iterator[Clients]:
    """Both clients, their key from the environment: no frame of a test holds it."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("MULEROUTER_API_KEY", KEY)
        made = Clients(server.url)
    yield made
    made.close()


def scenarios(place: str) -> st.SearchStrategy[tuple[str, str, str, int]]:
    """(operation, form of the echo, control sequence, error status) for one place."""
    return st.tuples(
        st.sampled_from(PLACES[place]),
        st.sampled_from(sorted(FORMS)),
        st.sampled_from(CONTROLS),
        st.sampled_from([400, 401, 404, 422, 429, 500, 503]),
    )


@pytest.mark.parametrize("kind", ["sync", "async"])
@pytest.mark.parametrize("place", sorted(PLACES))
@settings(
    max_examples=15,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(data=st.data())
def test_no_echo_of_the_key_or_a_control_character_survives(
    server: ScriptedServer,
    clients: Clients,
    caplog: pytest.LogCaptureFixture,
    kind: str,
    place: str,
    data: st.DataObject,
) -> None:
    """Whatever place of an answer echoes the Authorization header (a body, a JSON detail, a
    header, a refused header line, a task's status word, error title or detail) in whatever
    form, the error's message, repr, chain, pickle and kept response hold no key bytes and no
    raw control character, and it unpickles to the same message and context."""
    operation, form, control, status = data.draw(scenarios(place))
    # The leaking forms first, whatever hypothesis draws: each place is held to them.
    if data.draw(st.booleans()):
        form = "header"
    scenario = (place, operation, form, control, status)
    caplog.clear()
    caplog.set_level(logging.DEBUG, logger="wan_i2v")
    server.requests.clear()
    server.script = echoing(place, form, control, status)

    error = clients.provoke(kind, operation)

    assert server.requests, "the request never reached the server"
    text = shown_text(error)
    assert not key_in(text), (scenario, [line for line in text.splitlines() if key_in(line)])
    assert not key_in(caplog.text), scenario
    for link in chain(error):
        if isinstance(link, wan_i2v.WanI2VError):
            assert not key_in(pickle.dumps(link)), (scenario, type(link))
    ours = [link for link in chain(error) if isinstance(link, wan_i2v.WanI2VError)]
    for link in ours:
        # ``body`` is data (the key removed, the text as sent); everything else is shown.
        shown = [str(link)] + [
            v for k, v in vars(link).items() if isinstance(v, str) and k != "body"
        ]
        assert not any(RAW_CONTROL.search(s) for s in shown), (scenario, shown)
        if isinstance(link, wan_i2v.APIStatusError):
            kept = link.response
            assert kept.request.headers["authorization"] == "Bearer ***"
            assert not key_in(repr(kept.headers.multi_items()) + repr(kept.content))
            assert not key_in(repr(link.body))
    back = pickle.loads(pickle.dumps(error))
    assert (type(back), str(back)) == (type(error), str(error))
    for name in ATTRIBUTES:
        assert getattr(back, name, None) == getattr(error, name, None), name


# --- The command line ------------------------------------------------------------------------

HOSTILE = "\x1b[2J\x1b]0;pwned\x07\u202e"
# What a terminal must never receive raw from us: every control but our own line breaks.
RAW_ON_TERMINAL = re.compile("[\x00-\x09\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


def cli_script(case: str) -> Callable[[Seen], Reply]:
    """The API for one command-line case: the Authorization header echoed with ANSI and OSC
    sequences in a status word and a video link, a failed task's title and detail, or an
    error status's detail."""

    def script(seen: Seen) -> Reply:
        echo = f"{seen.headers.get('authorization', '')} {HOSTILE}"
        if case == "status-word":
            body = task_json(f"running {echo}", videos=[f"https://v.example.com/{HOSTILE}.mp4"])
            return Reply(200, _json(body))
        if case == "failed":
            error = {"code": 7, "title": f"title {echo}", "detail": f"detail {echo}"}
            return Reply(200, _json(task_json("failed", error=error)))
        return Reply(401, _json({"detail": f"refused {echo}"}))

    return script


CLI_CASES = [
    ("status-word", ["status", TASK_ID]),
    ("status-word", ["status", TASK_ID, "--json"]),
    ("status-word", ["wait", TASK_ID, "--timeout", "0", "--json"]),
    ("failed", ["wait", TASK_ID]),
    ("failed", ["wait", TASK_ID, "--json"]),
    ("refused", ["status", TASK_ID, "--json"]),
]


def _json_strings(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, list):
        for item in value:
            yield from _json_strings(item)
    elif isinstance(value, dict):
        for item in [*value.keys(), *value.values()]:
            yield from _json_strings(item)


@pytest.mark.slow
@pytest.mark.parametrize(("case", "args"), CLI_CASES)
def test_the_command_line_prints_no_key_and_no_raw_control(case: str, args: list[str]) -> None:
    """wan-i2v status/wait against a server echoing the key with ANSI/OSC sequences in its
    status words, video links, task errors and error details: neither stream holds the key or
    a raw control character, and no --json string holds one once decoded."""
    from test_cli import wan

    with scripted_server(cli_script(case)) as api:
        result = wan(*args, env={"MULEROUTER_BASE_URL": api.url, "MULEROUTER_API_KEY": KEY})
        assert api.requests, "the command never reached the server"
    printed = result.stdout + result.stderr
    assert not key_in(printed), printed
    assert not RAW_ON_TERMINAL.search(printed), printed
    assert "\\x1b" in printed  # the server's text was shown, escaped
    if "--json" in args:
        strings = list(_json_strings(json.loads(result.stdout.splitlines()[-1])))
        assert not any(RAW_CONTROL.search(s) for s in strings), strings


# --- The contract check ----------------------------------------------------------------------


def test_the_contract_report_masks_echoes_and_escapes_controls() -> None:
    """A server echoing the key in base64 and ANSI/OSC sequences in its 404s: the contract
    report (its lines and its --json view) holds neither the key nor a raw control."""
    from contract_servers import BASE
    from contract_servers import KEY as CONTRACT_KEY
    from contract_servers import ScriptedServer as ContractServer

    from wan_i2v.contract import check_contract

    server = ContractServer(naming="all")
    original = server.handle

    def echoing(request: httpx.Request) -> httpx.Response:
        response = original(request)
        if response.status_code == 404:
            auth = base64.b64encode(request.headers.get("authorization", "").encode()).decode()
            return httpx.Response(404, json={"detail": f"not found for {auth} {HOSTILE}"})
        return response

    server.handle = echoing  # type: ignore[method-assign]
    with server.client() as client:
        report = check_contract(BASE, CONTRACT_KEY, http_client=client, sleep=lambda _: None)
    shown = "\n".join(report.lines()) + json.dumps(report.to_dict(), ensure_ascii=False)
    assert "not found for ***" in shown
    assert base64.b64encode(f"Bearer {CONTRACT_KEY}".encode()).decode() not in shown
    assert not RAW_ON_TERMINAL.search(shown)
