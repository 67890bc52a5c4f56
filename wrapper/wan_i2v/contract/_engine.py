"""``check_contract``: hold a server to the spec without ever sending a billable request.

Plain httpx, on purpose: this is a protocol checker, and the client's own retries, validation
and error mapping would hide exactly what it looks for. The key goes only to the base URL
(redirects are never followed) and never appears in the report.

What it shares with the client is what keeps a run honest against a misbehaving server:
the deadline mechanism (spec/DECISIONS.md, D15: every socket read and write of its own
pool ends by the current deadline), the capped body reader, ``Retry-After`` parsing, "is
this status transient" and the backoff. A whole run has a time budget; each request a
deadline inside it. An answer that is no news (429, 5xx, no answer) is asked again and, if
it persists, hides its rule: "cannot tell", never "drift". When the budget is spent or the
server gives nothing but such answers, the run stops and says what it saw.
"""

from __future__ import annotations

import time
import urllib.parse
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx
import jsonschema

from .._deadline import Deadline, deadline_scope
from .._errors import parse_retry_after
from .._http import SendThrough
from .._retry import backoff
from .._scrub import Scrubber
from .._spec import load_spec, operation
from .._spec_facts import CREATE_OPERATION, GET_OPERATION
from .._task import parse_task_id
from .._translate import ACCEPT_ENCODING, CHUNK, BodyReader
from .._urls import display_url
from ._plan import ABSENT, Probe, RuleCheck, assert_unbillable, plan
from ._reading import Answer, error_problems, named_fields
from ._report import Check, ContractReport, ServerKind, Verdict
from ._rules import REQUEST_SCHEMA, unprobed

DEFAULT_BUDGET = 90.0  # seconds for a whole run: a healthy API answers it in seconds
REQUEST_SECONDS = 15.0  # one request, connect to last body byte
BODY_LIMIT = 64 * 1024  # bytes of an answer read: an error answer is a few hundred
MAX_TRIES = 5  # of one request answered 429/5xx (or not at all), Retry-After honoured
GIVE_UP_AFTER = 3  # requests in a row with no other answer: the server is not answering
INVALID_INPUT = (400, 422)  # the statuses that can mean "invalid parameters", if documented


class KeyRefusedError(Exception):
    """The server refused the key on a request that carried it: nothing can be checked."""


class NoAnswerError(Exception):
    """The first request could not connect (connection refused, DNS): nothing to check."""


class UnknownTaskError(ValueError):
    """``task_id`` is not a task id (a UUID), or the server has no such task (404): a usage
    error (a typo, an expired task), not drift."""


class _Stopped(Exception):
    """The run cannot go on (its budget is spent, or the server answers nothing but 429/5xx):
    what is not yet checked is "cannot tell", and the report says why."""

    def __init__(self, reason: str) -> None:
        self.reason = reason
        super().__init__(reason)


@dataclass
class _Api:
    """Sends requests as the checks need them, each under its deadline and within the run's
    budget; retries what is no news; counts everything."""

    client: httpx.Client
    base_url: str
    api_key: str
    sleep: Callable[[float], None]
    report: ContractReport
    budget: Deadline
    scrub: Scrubber = field(init=False, repr=False)
    _given_up: int = field(default=0, init=False)  # requests in a row with only transients

    def __post_init__(self) -> None:
        self.scrub = Scrubber(self.api_key)

    def send(self, method: str, path: str, *, body: Any = None, keyed: bool = True) -> Answer:
        """One request, asked again while the answer is transient (up to ``MAX_TRIES``).
        The answer returned may still be transient: the caller's check is "cannot tell".

        Raises:
            _Stopped: the budget is spent, a ``Retry-After`` asks for more than is left, or
                ``GIVE_UP_AFTER`` requests in a row got only transient answers.
        """
        headers = {"Authorization": f"Bearer {self.api_key}"} if keyed else {}
        for attempt in range(1, MAX_TRIES + 1):
            if self.budget.expired:
                raise _Stopped(f"its time budget ({self._budget_text()}) was spent")
            answer, retry_after, error = self._once(method, path, body, headers)
            if method == "POST" and 200 <= answer.status < 300:
                self.report.accepted += 1  # a task may exist and be billed
            if not answer.transient:
                self._given_up = 0
                return answer
            if isinstance(error, httpx.ConnectError) and self.report.requests == 1:
                raise NoAnswerError(f"no answer from {self.report.base_url}: {answer.text}")
            if attempt == MAX_TRIES:
                break
            delay = backoff(attempt) if retry_after is None else retry_after
            if delay >= self.budget.remaining():
                if retry_after is None or self.budget.expired:
                    raise _Stopped(
                        f"its time budget ({self._budget_text()}) was spent; the last "
                        f"answer: {answer.summary()}"
                    )
                raise _Stopped(
                    f"the server asked to wait {delay:.0f} s ({answer.summary()}), more than "
                    f"is left of its time budget ({self._budget_text()})"
                )
            if answer.status == 429:
                self.report.rate_limited += 1
            else:
                self.report.retried += 1
            self.sleep(delay)
        self._given_up += 1
        if self._given_up >= GIVE_UP_AFTER:
            raise _Stopped(
                f"the server answered nothing but 429/5xx or no answer: {self._given_up} "
                f"requests in a row, {MAX_TRIES} tries each; the last: {answer.summary()}"
            )
        return answer

    def _once(
        self, method: str, path: str, body: Any, headers: dict[str, str]
    ) -> tuple[Answer, float | None, httpx.HTTPError | None]:
        """One try: the answer (its body read up to ``BODY_LIMIT``), its Retry-After, and
        the error when there was no answer."""
        self.report.requests += 1
        deadline = Deadline(min(REQUEST_SECONDS, self.budget.remaining()))
        cut = False
        try:
            # The client's mechanism (D15): every socket operation ends by the deadline.
            with deadline_scope(deadline):
                request = self.client.build_request(
                    method,
                    self.base_url + path,
                    json=body,
                    headers=headers,
                    timeout=deadline.timeout,
                )
                # Redirects are never followed: the key goes to the base URL, nowhere else.
                response = self.client.send(request, stream=True, follow_redirects=False)
                try:
                    reader = BodyReader(response, cap=BODY_LIMIT)
                    if response.is_stream_consumed:  # a MockTransport behind a caller's client
                        reader.take_read(response)
                        cut = len(response.content) > BODY_LIMIT
                    for raw in () if response.is_stream_consumed else response.iter_raw(CHUNK):
                        reader.feed(raw)
                        if reader.full:
                            cut = not reader.undecodable
                            break
                        if deadline.expired:  # a transport of any kind: checked per chunk
                            raise httpx.ReadTimeout("the deadline passed", request=request)
                finally:
                    response.close()
        except httpx.HTTPError as exc:
            return Answer(0, "", None, f"no answer ({type(exc).__name__})", False), None, exc
        answer = Answer.of(response, reader.content, cut=cut)
        retry_after = parse_retry_after(response.headers.get("retry-after"))
        return self._redacted(answer), retry_after, None

    def _budget_text(self) -> str:
        return f"{self.report.budget:g} s"

    def _redacted(self, answer: Answer) -> Answer:
        # A server that echoes the key must not make the report leak it: the client's own
        # scrubber, so the same forms are masked here as in its errors (_scrub.py). The body
        # is dropped, so no check can quote the echo from it.
        text = self.scrub.redact(answer.text)
        if text == answer.text:
            return answer
        return Answer(answer.status, answer.content_type, None, text, False, answer.cut)


@dataclass
class _Operations:
    """The two operations and what the spec documents for each of their statuses."""

    create_path: str
    get_path: str  # with {task_id}
    create: dict[int, jsonschema.Validator] = field(default_factory=dict)
    get: dict[int, jsonschema.Validator] = field(default_factory=dict)

    @classmethod
    def of(cls, spec: dict[str, Any]) -> _Operations:
        create_path, _, create = operation(spec, CREATE_OPERATION)
        get_path, _, get = operation(spec, GET_OPERATION)
        return cls(create_path, get_path, _documented(spec, create), _documented(spec, get))


def _documented(spec: dict[str, Any], operation: dict[str, Any]) -> dict[int, jsonschema.Validator]:
    out: dict[int, jsonschema.Validator] = {}
    for code, response in operation.get("responses", {}).items():
        if not str(code).isdigit():
            continue
        if "$ref" in response:
            response = spec["components"]["responses"][response["$ref"].rsplit("/", 1)[1]]
        schema = response.get("content", {}).get("application/json", {}).get("schema", {})
        out[int(code)] = jsonschema.Draft202012Validator(
            {**schema, "components": spec["components"]}
        )
    return out


def check_contract(
    base_url: str,
    api_key: str,
    *,
    task_id: str | None = None,
    strict: bool = False,
    timeout: float | None = None,
    http_client: httpx.Client | None = None,
    sleep: Callable[[float], None] = time.sleep,
    spec: dict[str, Any] | None = None,
) -> ContractReport:
    """Check the API at ``base_url`` against the spec, with no request a server could bill.

    Args:
        api_key: sent only to ``base_url``; a key the server refuses raises KeyRefusedError.
        task_id: a task you already paid for (a UUID); its GET answer is checked too (free).
        strict: ``ok`` also needs every rule to be seen enforced (no "cannot tell").
        timeout: seconds for the whole run (None: ``DEFAULT_BUDGET``); when they are spent
            the report is incomplete (``report.incomplete`` says why) rather than the run
            hanging.
        http_client: an httpx.Client to send through (its transport: proxies, tests); it is
            not closed, and never edited. Without one, the engine's own pool holds every
            socket read and write to the request's deadline.
        sleep: how to wait before asking again after a 429/5xx (tests pass a recorder).
        spec: the parsed OpenAPI document; the one bundled with the package by default.

    Raises:
        UnknownTaskError: ``task_id`` is not a UUID (nothing sent), or the server has no such
            task.
        KeyRefusedError: the key was refused (401).
        NoAnswerError: the first request could not connect.
    """
    task = None
    if task_id is not None:
        task = parse_task_id(task_id)
        if task is None:
            raise UnknownTaskError(f"task id {task_id!r} is not a task id (a UUID)")
    spec = load_spec() if spec is None else spec
    report = ContractReport(base_url=display_url(base_url.rstrip("/")), strict=strict)
    report.budget = DEFAULT_BUDGET if timeout is None else timeout
    report.out_of_reach, report.not_probed = unprobed(spec)
    checks = plan(spec)
    ops = _Operations.of(spec)
    client = (
        _own_client()
        if http_client is None
        else httpx.Client(
            transport=SendThrough(http_client)  # the client's way through a caller's client
        )
    )
    api = _Api(client, base_url.rstrip("/"), api_key, sleep, report, Deadline(report.budget))
    with client:
        try:
            _check_unknown_task(api, ops, report)
            if task is not None:
                _check_task(api, ops, task, spec, report)
            _check_auth(api, ops, checks[0].probes[0], spec, report)
            _check_rules(api, ops, checks, spec, report)
        except _Stopped as stop:
            report.incomplete = stop.reason
            _not_reached(report, checks, task, stop.reason)
    return report


def _own_client() -> httpx.Client:
    """The engine's pool, its sockets held to the current deadline (D15)."""
    from .._socket_deadline import hold_deadlines

    client = httpx.Client(headers={"Accept-Encoding": ACCEPT_ENCODING})
    hold_deadlines(client)
    return client


def _not_reached(
    report: ContractReport, checks: list[RuleCheck], task: str | None, reason: str
) -> None:
    """Every check the run did not get to, as "cannot tell" with the reason."""
    names = [UNKNOWN_TASK]
    if task is not None:
        names.append(_task_check_name(task))
    names += [AUTH_POST, AUTH_GET, *(c.name for c in checks), *REFUSAL_CHECKS]
    done = {c.name for c in report.checks}
    for name in names:
        if name not in done:
            report.checks.append(Check(name, "", Verdict.CANNOT_TELL, f"not checked: {reason}"))


UNKNOWN_TASK = "unknown task: GET a random id -> 404 error"
AUTH_POST = "auth: POST without key -> 401"
AUTH_GET = "auth: GET without key -> 401"
REFUSAL_CHECKS = (
    "invalid body -> documented status",
    "invalid body -> JSON content type",
    "invalid body -> error body the spec allows",
)


def _hidden(name: str, rule: str, answer: Answer) -> Check:
    """A check whose answer was no news however often it was asked: it hid the rule."""
    return Check(
        name,
        rule,
        Verdict.CANNOT_TELL,
        f"no answer but 429/5xx, {MAX_TRIES} tries: {answer.summary()}",
    )


def _check_unknown_task(api: _Api, ops: _Operations, report: ContractReport) -> None:
    answer = api.send("GET", _get_path(ops, str(uuid.uuid4())))
    if answer.status == 401:
        raise KeyRefusedError("the server answered 401 to a request with the key")
    if answer.transient:
        report.checks.append(_hidden(UNKNOWN_TASK, "GET 404", answer))
        return
    problems = error_problems(answer, expected=[404], documented=ops.get)
    report.checks.append(_form_check(UNKNOWN_TASK, "GET 404", answer, problems))


def _get_path(ops: _Operations, task_id: str) -> str:
    # A canonical UUID needs no encoding; encoded anyway, so no id can reach another path.
    return ops.get_path.format(task_id=urllib.parse.quote(task_id, safe=""))


def _check_auth(
    api: _Api, ops: _Operations, probe: Probe, spec: dict[str, Any], report: ContractReport
) -> None:
    assert_unbillable(spec, [probe.body])  # breaks rules too: refused even if auth drifted
    for name, method, path, body, documented in (
        (AUTH_POST, "POST", ops.create_path, probe.body, ops.create),
        (AUTH_GET, "GET", _get_path(ops, str(uuid.uuid4())), None, ops.get),
    ):
        answer = api.send(method, path, body=body, keyed=False)
        if answer.transient:
            report.checks.append(_hidden(name, "bearerAuth", answer))
            continue
        problems = error_problems(answer, expected=[401], documented=documented)
        report.checks.append(_form_check(name, "bearerAuth", answer, problems))


def _form_check(name: str, rule: str, answer: Answer, problems: list[str]) -> Check:
    if problems:
        return Check(name, rule, Verdict.DRIFT, f"{'; '.join(problems)}: {answer.summary()}")
    return Check(name, rule, Verdict.CONFORMS, answer.summary())


def _fields(spec: dict[str, Any]) -> list[str]:
    schema = spec["components"]["schemas"][REQUEST_SCHEMA]
    return list(dict.fromkeys([*schema.get("properties", {}), *schema.get("required", [])]))


def _check_rules(
    api: _Api,
    ops: _Operations,
    checks: list[RuleCheck],
    spec: dict[str, Any],
    report: ContractReport,
) -> None:
    fields = _fields(spec)
    refusal = sorted(set(INVALID_INPUT) & set(ops.create)) or [400]
    seen: list[tuple[RuleCheck, list[tuple[Probe, Answer, frozenset[str]]]]] = []
    not_sent = "not sent: an earlier probe was accepted"
    stopped: _Stopped | None = None
    for check in checks:
        results: list[tuple[Probe, Answer, frozenset[str]]] = []
        seen.append((check, results))
        if api.report.accepted or stopped is not None:
            continue
        for probe in check.probes:
            assert_unbillable(spec, [probe.body])
            try:
                answer = api.send("POST", ops.create_path, body=probe.body)
            except _Stopped as stop:
                stopped, not_sent = stop, f"not sent: {stop.reason}"
                break
            names = named_fields(answer, fields) if _is_refusal(answer) else frozenset()
            results.append((probe, answer, names))
            if 200 <= answer.status < 300:
                break  # stop: every further probe could be a billed task
            if check.rule.field in names:
                break
    report.server_kind = _server_kind([n for _, rs in seen for _, a, n in rs if _is_refusal(a)])
    for check, results in seen:
        report.checks.append(_rule_verdict(check, results, report.server_kind, not_sent))
    answers = [a for _, rs in seen for _, a, _ in rs if _is_refusal(a)]
    report.checks += _refusal_form(answers, refusal, ops)
    if stopped is not None:
        raise stopped


def _is_refusal(answer: Answer) -> bool:
    return 400 <= answer.status < 500 and not answer.transient


def _server_kind(names: list[frozenset[str]]) -> ServerKind:
    if not names:
        return ServerKind.UNKNOWN
    if any(len(n) >= 2 for n in names):
        return ServerKind.NAMES_ALL
    if any(names):
        return ServerKind.NAMES_FIRST
    return ServerKind.NAMES_NONE


def _rule_verdict(
    check: RuleCheck,
    results: list[tuple[Probe, Answer, frozenset[str]]],
    kind: ServerKind,
    not_sent: str,
) -> Check:
    rule = f"{REQUEST_SCHEMA}.{check.rule.field} {check.rule.keyword}"
    if check.value is not ABSENT and len(check.breaks) > 1:
        rule += f" (the value also breaks {', '.join(sorted(check.breaks - {check.rule.keyword}))})"
    field_name = check.rule.field
    if not results:
        return Check(check.name, rule, Verdict.CANNOT_TELL, not_sent)
    for probe, answer, _ in results:
        if 200 <= answer.status < 300:
            return Check(
                check.name,
                rule,
                Verdict.DRIFT,
                f"ACCEPTED (a task may have been created and billed): neither this rule nor "
                f"the guard on {probe.guard} is enforced: {answer.summary()}",
            )
    last = results[-1][1]
    if any(field_name in names for _, _, names in results):
        return Check(
            check.name, rule, Verdict.ENFORCED, f"refused, naming {field_name}: {last.status}"
        )
    hidden = [a for _, a, _ in results if a.transient]
    if hidden:  # a probe the server never really answered: it may have named the field
        return _hidden(check.name, rule, hidden[-1])
    for _, answer, _ in results:
        if not _is_refusal(answer):
            return Check(check.name, rule, Verdict.DRIFT, f"not a refusal: {answer.summary()}")
    guards_only = all(names and field_name not in names for _, _, names in results)
    if kind is ServerKind.NAMES_ALL and guards_only:
        named = sorted({n for _, _, names in results for n in names})
        return Check(
            check.name,
            rule,
            Verdict.DRIFT,
            f"refused for the guard only: named {', '.join(named)}, never {field_name}, in "
            f"{len(results)} probes, from a server that names every violation: "
            f"{last.summary()}",
        )
    named = sorted({n for _, _, names in results for n in names})
    why = (
        f"named only {', '.join(named)} (the server names its first violation only)"
        if named
        else "the refusal names no field"
    )
    return Check(check.name, rule, Verdict.CANNOT_TELL, f"refused, but {why}: {last.summary()}")


def _refusal_form(answers: list[Answer], refusal: list[int], ops: _Operations) -> list[Check]:
    """Three checks over every refusal of an invalid body: status, content type, body."""
    aspects = {
        "status": ("invalid body -> documented status", f"{' or '.join(map(str, refusal))}"),
        "content": ("invalid body -> JSON content type", "application/json"),
        "body": ("invalid body -> error body the spec allows", "ErrorBody"),
    }
    out: list[Check] = []
    for key, (name, rule) in aspects.items():
        bad: list[tuple[Answer, str]] = []
        for answer in answers:
            for problem in error_problems(answer, expected=refusal, documented=ops.create):
                if problem.startswith(key) or (key == "body" and "body" in problem):
                    bad.append((answer, problem))
        if not answers:
            out.append(Check(name, rule, Verdict.CANNOT_TELL, "no refusal seen"))
        elif bad:
            answer, problem = bad[0]
            out.append(
                Check(
                    name,
                    rule,
                    Verdict.DRIFT,
                    f"{len(bad)} of {len(answers)} refusals: {problem}: {answer.summary()}",
                )
            )
        else:
            out.append(Check(name, rule, Verdict.CONFORMS, f"all {len(answers)} refusals"))
    return out


def _check_task(
    api: _Api, ops: _Operations, task_id: str, spec: dict[str, Any], report: ContractReport
) -> None:
    name = _task_check_name(task_id)
    answer = api.send("GET", _get_path(ops, task_id))
    if answer.status == 404:
        raise UnknownTaskError(
            f"the server has no task {task_id} (404): check --task-id (a typo, or a task "
            "expired); nothing about the API is judged from that"
        )
    if answer.transient:
        report.checks.append(_hidden(name, "TaskResponse", answer))
        return
    problems: list[str] = []
    if answer.status != 200:
        problems.append(f"status {answer.status} (expected 200)")
    elif not answer.is_json:
        problems.append(f"not JSON ({answer.content_type})")
    else:
        problems += [
            f"{'/'.join(map(str, e.absolute_path)) or 'body'}: {e.message}"
            for e in ops.get[200].iter_errors(answer.body)
        ]
    if problems:
        report.checks.append(
            Check(name, "TaskResponse", Verdict.DRIFT, f"{'; '.join(problems)}: {answer.summary()}")
        )
        return
    report.checks.append(Check(name, "TaskResponse", Verdict.CONFORMS, answer.summary()))
    info, videos = answer.body["task_info"], answer.body.get("videos")
    known = spec["components"]["schemas"]["TaskInfo"]["properties"]["status"]["x-known-values"]
    phase = next((p for p, words in known.items() if info["status"] in words), None)
    rule = "TaskInfo.status x-known-values"
    if info["id"] != task_id:
        report.checks.append(
            Check(
                f"task {task_id}: id",
                "TaskInfo.id",
                Verdict.DRIFT,
                f"answered for task {info['id']}",
            )
        )
    if phase is None:
        words = ", ".join(w for ws in known.values() for w in ws)
        report.checks.append(
            Check(
                f"task {task_id}: status word",
                rule,
                Verdict.DRIFT,
                f"{info['status']!r} is none of {words}",
            )
        )
        return
    report.checks.append(
        Check(f"task {task_id}: status word", rule, Verdict.CONFORMS, f"{info['status']} ({phase})")
    )
    has_videos = bool(videos)
    ok = has_videos if phase == "succeeded" else videos is None
    detail = f"{phase}, videos: {videos if videos is None else len(videos)}"
    report.checks.append(
        Check(
            f"task {task_id}: videos only when succeeded",
            "TaskResponse.videos",
            Verdict.CONFORMS if ok else Verdict.DRIFT,
            detail,
        )
    )


def _task_check_name(task_id: str) -> str:
    return f"task {task_id}: GET -> 200 TaskResponse"
