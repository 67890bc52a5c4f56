"""``check_contract``: hold a server to the spec without ever sending a billable request.

Plain httpx, on purpose: this is a protocol checker, and the client's own retries, validation
and error mapping would hide exactly what it looks for. The key goes only to the base URL
(redirects are never followed) and never appears in the report.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx
import jsonschema

from .._errors import parse_retry_after
from .._scrub import Scrubber
from .._spec import load_spec, operation
from .._spec_facts import CREATE_OPERATION, GET_OPERATION
from .._urls import display_url
from ._plan import ABSENT, Probe, RuleCheck, assert_unbillable, plan
from ._reading import Answer, error_problems, named_fields
from ._report import Check, ContractReport, ServerKind, Verdict
from ._rules import REQUEST_SCHEMA, unprobed

MAX_RETRY_AFTER = 30.0  # seconds: a server asking for longer fails the check, named
MAX_WAITS = 5  # 429s waited out per request before the check fails
DEFAULT_RETRY_AFTER = 1.0  # a 429 without Retry-After
TIMEOUT = 30.0
INVALID_INPUT = (400, 422)  # the statuses that can mean "invalid parameters", if documented


class KeyRefusedError(Exception):
    """The server refused the key on a request that carried it: nothing can be checked."""


class NoAnswerError(Exception):
    """The first request got no HTTP answer at all (connection refused, DNS, timeout)."""


@dataclass
class _Api:
    """Sends requests as the checks need them, waits out 429s, counts everything."""

    client: httpx.Client
    base_url: str
    api_key: str
    sleep: Callable[[float], None]
    report: ContractReport
    scrub: Scrubber = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self.scrub = Scrubber(self.api_key)

    def send(self, method: str, path: str, *, body: Any = None, keyed: bool = True) -> Answer:
        headers = {"Authorization": f"Bearer {self.api_key}"} if keyed else {}
        waits = 0
        while True:
            self.report.requests += 1
            try:
                response = self.client.request(
                    method,
                    self.base_url + path,
                    json=body,
                    headers=headers,
                    timeout=TIMEOUT,
                    follow_redirects=False,  # the key goes to the base URL, nowhere else
                )
            except httpx.HTTPError as exc:
                reason = type(exc).__name__
                return Answer(0, "", None, f"no answer ({reason})", False)
            answer = Answer.of(response)
            if answer.status != 429 or waits >= MAX_WAITS:
                return self._redacted(answer)
            asked = parse_retry_after(response.headers.get("retry-after"))
            delay = DEFAULT_RETRY_AFTER if asked is None else asked
            if delay > MAX_RETRY_AFTER:
                return self._redacted(answer)
            waits += 1
            self.report.rate_limited += 1
            self.sleep(delay)

    def _redacted(self, answer: Answer) -> Answer:
        # A server that echoes the key must not make the report leak it: the client's own
        # scrubber, so the same forms are masked here as in its errors (_scrub.py). The body
        # is dropped, so no check can quote the echo from it.
        text = self.scrub.redact(answer.text)
        if text == answer.text:
            return answer
        return Answer(answer.status, answer.content_type, None, text, False)


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
    http_client: httpx.Client | None = None,
    sleep: Callable[[float], None] = time.sleep,
    spec: dict[str, Any] | None = None,
) -> ContractReport:
    """Check the API at ``base_url`` against the spec, with no request a server could bill.

    Args:
        api_key: sent only to ``base_url``; a key the server refuses raises KeyRefusedError.
        task_id: a task you already paid for; its GET answer is checked too (free).
        strict: ``ok`` also needs every rule to be seen enforced (no "cannot tell").
        http_client: an httpx.Client to send through (its transport: proxies, tests); it is
            not closed. Requests carry full URLs and their own headers.
        sleep: how to wait out a 429 (tests pass a recorder).
        spec: the parsed OpenAPI document; the one bundled with the package by default.
    """
    spec = load_spec() if spec is None else spec
    report = ContractReport(base_url=display_url(base_url.rstrip("/")), strict=strict)
    report.out_of_reach, report.not_probed = unprobed(spec)
    checks = plan(spec)
    ops = _Operations.of(spec)
    own = http_client is None
    client = httpx.Client() if http_client is None else http_client
    try:
        api = _Api(client, base_url.rstrip("/"), api_key, sleep, report)
        _check_unknown_task(api, ops, report)
        _check_auth(api, ops, checks[0].probes[0], spec, report)
        _check_rules(api, ops, checks, spec, report)
        if task_id is not None:
            _check_task(api, ops, task_id, spec, report)
    finally:
        if own:
            client.close()
    return report


def _check_unknown_task(api: _Api, ops: _Operations, report: ContractReport) -> None:
    answer = api.send("GET", ops.get_path.format(task_id=uuid.uuid4()))
    if answer.status == 0:
        raise NoAnswerError(f"no answer from {report.base_url}: {answer.text}")
    if answer.status == 401:
        raise KeyRefusedError("the server answered 401 to a request with the key")
    problems = error_problems(answer, expected=[404], documented=ops.get)
    report.checks.append(
        _form_check("unknown task: GET a random id -> 404 error", "GET 404", answer, problems)
    )


def _check_auth(
    api: _Api, ops: _Operations, probe: Probe, spec: dict[str, Any], report: ContractReport
) -> None:
    assert_unbillable(spec, [probe.body])  # breaks rules too: refused even if auth drifted
    for name, method, path, body, documented in (
        ("auth: POST without key -> 401", "POST", ops.create_path, probe.body, ops.create),
        (
            "auth: GET without key -> 401",
            "GET",
            ops.get_path.format(task_id=uuid.uuid4()),
            None,
            ops.get,
        ),
    ):
        answer = api.send(method, path, body=body, keyed=False)
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
    accepted = False
    for check in checks:
        results: list[tuple[Probe, Answer, frozenset[str]]] = []
        for probe in check.probes if not accepted else ():
            assert_unbillable(spec, [probe.body])
            answer = api.send("POST", ops.create_path, body=probe.body)
            names = named_fields(answer, fields) if _is_refusal(answer) else frozenset()
            results.append((probe, answer, names))
            if 200 <= answer.status < 300:
                accepted = True  # stop: every further probe could be a billed task
                break
            if check.rule.field in names:
                break
        seen.append((check, results))
    report.server_kind = _server_kind([n for _, rs in seen for _, a, n in rs if _is_refusal(a)])
    for check, results in seen:
        report.checks.append(_rule_verdict(check, results, report.server_kind))
    answers = [a for _, rs in seen for _, a, _ in rs if _is_refusal(a)]
    report.checks += _refusal_form(answers, refusal, ops)


def _is_refusal(answer: Answer) -> bool:
    return 400 <= answer.status < 500 and answer.status != 429


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
) -> Check:
    rule = f"{REQUEST_SCHEMA}.{check.rule.field} {check.rule.keyword}"
    if check.value is not ABSENT and len(check.breaks) > 1:
        rule += f" (the value also breaks {', '.join(sorted(check.breaks - {check.rule.keyword}))})"
    field_name = check.rule.field
    if not results:
        return Check(
            check.name, rule, Verdict.CANNOT_TELL, "not sent: an earlier probe was accepted"
        )
    for probe, answer, _ in results:
        if 200 <= answer.status < 300:
            return Check(
                check.name,
                rule,
                Verdict.DRIFT,
                f"ACCEPTED (a task may have been created and billed): neither this rule nor "
                f"the guard on {probe.guard} is enforced: {answer.summary()}",
            )
        if not _is_refusal(answer):
            return Check(check.name, rule, Verdict.DRIFT, f"not a refusal: {answer.summary()}")
    last = results[-1][1]
    if any(field_name in names for _, _, names in results):
        return Check(
            check.name, rule, Verdict.ENFORCED, f"refused, naming {field_name}: {last.status}"
        )
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
    name = f"task {task_id}: GET -> 200 TaskResponse"
    answer = api.send("GET", ops.get_path.format(task_id=task_id))
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
