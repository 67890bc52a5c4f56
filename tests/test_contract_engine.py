"""The contract engine catches a server that drifts in one way, and never sends a body a
server could bill."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Literal

import httpx
import jsonschema
import pytest
from contract_servers import (
    BASE,
    KEY,
    ScriptedServer,
    Sent,
    always,
    endless,
    outside_api,
    socket_api,
    task,
    trickle,
)
from sandbox_processes import sandbox_process
from servers import Requests

from wan_i2v import _spec_facts as facts
from wan_i2v._spec import load_spec
from wan_i2v.contract import (
    DEFAULT_BUDGET,
    ContractReport,
    KeyRefusedError,
    NoAnswerError,
    Rule,
    ServerKind,
    UnknownTaskError,
    Verdict,
    check_contract,
    plan,
    rules,
    weakened,
    weakened_specs,
)
from wan_i2v.contract import _engine as engine
from wan_i2v.contract._plan import ABSENT, BillableProbeError, assert_unbillable
from wan_i2v.contract._rules import validator
from wan_i2v.sandbox import SandboxConfig, serve

# Real time, real processes or builds: run once, on the interpreter nox runs on.
pytestmark = pytest.mark.slow

SPEC = load_spec()
RULES = rules(SPEC)
PLAN = plan(SPEC)
TASK = "3c90c3cc-0d44-4b50-8888-8dd25736052a"


def run(server: ScriptedServer, **kwargs: Any) -> tuple[ContractReport, list[float]]:
    """check_contract against a scripted server; returns the report and the sleeps asked."""
    sleeps: list[float] = []
    with server.client() as client:
        report = check_contract(BASE, KEY, http_client=client, sleep=sleeps.append, **kwargs)
    assert server.valid_with_key == 0, "a billable body reached the server"
    assert server.created == 0
    assert outside_api(server.paths) == []
    return report, sleeps


def verdicts(report: ContractReport) -> dict[str, Verdict]:
    return {c.name: c.verdict for c in report.checks}


def drifted(report: ContractReport) -> dict[str, str]:
    return {c.name: c.detail for c in report.drift}


# --- What the engine derives from the spec -------------------------------------------------


def test_every_constraint_keyword_of_the_request_is_a_rule() -> None:
    """Each enum, bound, maxLength, type, const and required field of the spec is a rule."""
    schema = SPEC["components"]["schemas"]["CreateGenerationTaskRequest"]
    expected = {str(Rule(f, "required")) for f in schema["required"]}
    for name, prop in schema["properties"].items():
        for key in ("type", "enum", "const", "minimum", "maximum", "maxLength"):
            if key in prop:
                expected.add(str(Rule(name, key, prop[key])))
    assert {str(r) for r in RULES} == expected
    assert len(RULES) >= 16


def test_a_constraint_added_to_the_spec_adds_its_check() -> None:
    """A minLength added to prompt becomes a rule and a check, with no code."""
    spec = load_spec.__wrapped__()  # a private copy
    spec["components"]["schemas"]["CreateGenerationTaskRequest"]["properties"]["prompt"][
        "minLength"
    ] = 2
    names = [c.name for c in plan(spec)]
    assert "prompt: minLength 2 ('x')" in names
    assert "prompt: minLength 2 ('x')" not in [c.name for c in PLAN]


def test_every_observable_rule_has_a_check_that_breaks_it_alone() -> None:
    """Each rule but those another rule implies (a const implies its type) has a probe value
    that breaks that rule and no other of its field."""
    alone = {(c.rule.field, c.rule.keyword) for c in PLAN if c.breaks == {c.rule.keyword}}
    implied = {(r.field, r.keyword) for r in RULES} - alone
    assert implied == {("duration", "type"), ("resolution", "type")}


def test_the_page_drifts_are_among_the_probes() -> None:
    """720P, 1080p (case), seed -1, 2**31, 1.5-style, 801/501 chars, duration 10 and "5",
    prompt_extend "yes", missing image and prompt: all probed."""
    values = {(c.rule.field, repr(c.value)) for c in PLAN if c.value is not ABSENT}
    for expected in [("resolution", "'720P'"), ("resolution", "'480p'"), ("seed", "-1"),
                     ("seed", str(2**31)), ("seed", "0.5"), ("duration", "10"),
                     ("duration", "'5'"), ("prompt_extend", "'yes'")]:  # fmt: skip
        assert expected in values
    missing = {c.rule.field for c in PLAN if c.value is ABSENT}
    assert missing == {"prompt", "image"}


def test_image_content_rules_are_out_of_reach_not_probed() -> None:
    """x-image-* rules are listed as out of reach, with their limits."""
    server = ScriptedServer()
    report, _ = run(server)
    assert "image: x-image-max-bytes 10000000" in report.out_of_reach
    assert len(report.out_of_reach) == 8
    assert report.not_probed == []


# --- Never bill, provably -------------------------------------------------------------------


@pytest.mark.parametrize(("rule", "weak"), list(weakened_specs(SPEC)), ids=str)
def test_no_probe_is_valid_with_any_single_rule_removed(rule: Rule, weak: dict[str, Any]) -> None:
    """A server that stopped enforcing any one rule still refuses every probe body."""
    check = validator(weak)
    bodies = [p.body for c in PLAN for p in c.probes]
    assert bodies
    assert not [b for b in bodies if check.is_valid(b)]


def test_weakening_really_removes_the_rule() -> None:
    """The weakened spec accepts what the rule alone refused (so the proof above is real)."""
    for check in PLAN:
        if check.breaks != {check.rule.keyword} or check.value is ABSENT:
            continue
        base = {"prompt": "p", "image": "https://example.com/a.jpg"}
        body = {**base, check.rule.field: check.value}
        assert not validator(SPEC).is_valid(body)
        assert validator(weakened(SPEC, check.rule)).is_valid(body), check.name


def test_a_billable_probe_is_refused_before_sending() -> None:
    """assert_unbillable raises on a body that breaks only one rule."""
    with pytest.raises(BillableProbeError):
        assert_unbillable(SPEC, [{"prompt": "p", "image": "i", "seed": -1}])
    assert_unbillable(SPEC, [{"prompt": "p", "image": "i", "seed": -1, "duration": 10}])


# --- Conforming servers: no drift -----------------------------------------------------------


def test_the_sandbox_conforms_and_creates_nothing() -> None:
    """Against the sandbox (it names every violation): every rule proven enforced, strict
    passes, and no task is created."""
    with serve(SandboxConfig(api_key=KEY, task_seconds=0)) as sandbox:
        report = check_contract(sandbox.url, KEY, sleep=lambda s: None, strict=True)
        assert sandbox.state.tasks_created == 0
        posts = [m for m, _ in sandbox.state.requests].count("POST")
    assert report.ok, "\n".join(report.lines())
    assert report.server_kind is ServerKind.NAMES_ALL
    assert Verdict.CANNOT_TELL not in verdicts(report).values()
    assert posts == report.requests - 2  # 2 GETs (unknown task, no key); the rest POSTs
    assert verdicts(report)["resolution: enum ['480P', '1080P'] ('720P')"] is Verdict.ENFORCED


@pytest.mark.parametrize("naming", ["all", "loc", "text", "first-alpha", "first-body"])
def test_conforming_scripted_servers_show_no_drift(naming: Any) -> None:
    """Whatever way a conforming server names violations, nothing is reported as drift."""
    server = ScriptedServer(naming=naming)
    report, _ = run(server)
    assert report.ok, "\n".join(report.lines())
    assert server.posts_with_key > 0


@pytest.mark.parametrize("naming", ["all", "loc", "text"])
def test_a_server_naming_every_violation_proves_every_rule(naming: Any) -> None:
    """With all violations named, every rule is seen enforced: nothing left to 'cannot tell',
    so strict passes too, with one probe per check."""
    server = ScriptedServer(naming=naming)
    report, _ = run(server, strict=True)
    assert report.ok
    assert report.server_kind is ServerKind.NAMES_ALL
    assert not report.cannot_tell
    assert server.posts_with_key == len(PLAN)


def test_first_only_server_has_every_rule_named_in_some_probe() -> None:
    """Guards after the field in body order: a body-order server names every rule."""
    report, _ = run(ScriptedServer(naming="first-body"), strict=True)
    assert report.ok, "\n".join(c.line() for c in report.cannot_tell)


def test_a_server_that_names_nothing_is_cannot_tell_not_drift() -> None:
    """Refusals that name no field: rules are 'cannot tell'; exit 0 unless strict."""
    report, _ = run(ScriptedServer(naming="none"))
    assert report.ok
    assert report.server_kind is ServerKind.NAMES_NONE
    assert len(report.cannot_tell) == len(PLAN)
    report, _ = run(ScriptedServer(naming="none"), strict=True)
    assert not report.ok


def test_429_is_waited_out_as_retry_after_says() -> None:
    """The first three answers are 429 with Retry-After: 2: waited, asked again, no drift."""
    server = ScriptedServer(rate_limited=3, retry_after="2")
    report, sleeps = run(server)
    assert report.ok, "\n".join(report.lines())
    assert sleeps == [2.0, 2.0, 2.0]
    assert report.rate_limited == 3


def test_429_asking_beyond_the_budget_stops_the_run_without_waiting() -> None:
    """Retry-After longer than the run's budget is not slept: the run could not finish, says
    why, and calls nothing drift."""
    server = ScriptedServer(rate_limited=1, retry_after="3600")
    report, sleeps = run(server)
    assert sleeps == []
    assert report.outcome == "could not finish"
    assert report.incomplete is not None
    assert "asked to wait 3600 s" in report.incomplete
    assert not report.drift
    assert {c.verdict for c in report.checks} == {Verdict.CANNOT_TELL}
    assert report.summary().startswith("could not finish (stopped: the server asked")


def test_persistent_429_is_bounded_and_never_drift() -> None:
    """A server that always answers 429: each request asked MAX_TRIES times, Retry-After
    honoured, the run stops after GIVE_UP_AFTER such requests: could not finish, no drift."""
    server = ScriptedServer(rate_limited=10**6, retry_after="1")
    report, sleeps = run(server)
    assert report.requests == engine.GIVE_UP_AFTER * engine.MAX_TRIES == server.requests
    assert sleeps == [1.0] * (engine.GIVE_UP_AFTER * (engine.MAX_TRIES - 1))
    assert report.outcome == "could not finish"
    assert "nothing but 429/5xx" in (report.incomplete or "")
    assert not report.drift
    checks = {c.name: c for c in report.checks}
    assert len(checks) == len(PLAN) + 6  # every check is listed, none left out
    assert checks[engine.UNKNOWN_TASK].verdict is Verdict.CANNOT_TELL


def test_a_slow_server_is_stopped_at_the_budget_with_what_was_seen() -> None:
    """A conforming server taking 0.3 s an answer, a 1.5 s budget: the run stops, what it
    saw keeps its verdict, the rest is "cannot tell", and no request starts after the end."""
    server = ScriptedServer()
    original = server.handle

    def slow(request: Any) -> Any:
        time.sleep(0.3)
        return original(request)

    server.handle = slow  # type: ignore[method-assign]
    report, _ = run(server, timeout=1.5)
    assert report.outcome == "could not finish"
    assert report.incomplete == "its time budget (1.5 s) was spent"
    assert report.requests == server.requests <= 6
    assert verdicts(report)[engine.UNKNOWN_TASK] is Verdict.CONFORMS
    assert len(report.checks) == len(PLAN) + 6  # every check listed
    assert len(report.cannot_tell) >= len(PLAN) - 5
    assert all("budget (1.5 s) was spent" in c.detail for c in report.cannot_tell)
    assert not report.drift


def test_5xx_on_30_percent_of_requests_is_no_drift() -> None:
    """A server answering 500/502/503 (HTML) to 30 % of requests: each is asked again after
    our backoff, and the run conforms. (Seed 7 starts with five in a row: that one check is
    "cannot tell", hidden by the 5xx, never drift.)"""
    server = ScriptedServer(server_errors=0.3, seed=7)
    report, sleeps = run(server)
    assert server.errors_sent > 10
    assert report.ok, "\n".join(report.lines())
    assert not report.drift
    assert [c.detail[:24] for c in report.cannot_tell] == ["no answer but 429/5xx, 5"]
    assert report.retried == len(sleeps) == server.errors_sent - 1  # the fifth is not retried
    assert all(0.5 <= s <= 21 for s in sleeps)  # the client's backoff


def test_probes_hidden_by_persistent_5xx_are_cannot_tell() -> None:
    """A server whose creates always answer 503 (its GETs are fine): every rule those probes
    would show is "cannot tell", never drift, and the run stops, incomplete."""
    server = ScriptedServer()
    original = server.handle

    def failing_creates(request: Any) -> Any:
        if request.method == "POST" and request.headers.get("authorization"):
            server.requests += 1
            server.paths.append(request.url.path)
            return type(original(request))(503, text="busy")
        return original(request)

    server.handle = failing_creates  # type: ignore[method-assign]
    report, _ = run(server)
    assert not report.drift
    assert report.outcome == "could not finish"
    rule_checks = [c for c in report.checks if c.name in {p.name for p in PLAN}]
    assert len(rule_checks) == len(PLAN)
    assert {c.verdict for c in rule_checks} == {Verdict.CANNOT_TELL}
    assert "503" in rule_checks[0].detail


def test_an_accepted_probe_is_counted_and_reported() -> None:
    """A server that takes any create: one probe accepted (202), no more sent; the report
    counts it, says "1 accepted: a task may exist and be billed" (not "none billable") in
    text and JSON, and is drift."""
    server = ScriptedServer(accept_creates=True)
    with server.client() as client:
        report = check_contract(BASE, KEY, http_client=client, sleep=lambda s: None)
    assert server.created == 1
    assert report.accepted == 1
    assert report.outcome == "drift"
    assert not report.ok
    assert "1 accepted: a task may exist and be billed" in report.summary()
    assert "none billable" not in report.summary()
    data = report.to_dict()
    assert data["accepted"] == 1
    assert "1 accepted" in data["summary"]
    assert outside_api(server.paths) == []


@pytest.mark.parametrize("task_id", ["../../admin", "../../../../admin/delete?all=1", "", "x"])
def test_a_task_id_that_is_not_a_uuid_sends_nothing(task_id: str) -> None:
    """A hostile or mistyped task id is refused before any request (UnknownTaskError)."""
    server = ScriptedServer()
    with server.client() as client, pytest.raises(UnknownTaskError, match="not a task id"):
        check_contract(BASE, KEY, task_id=task_id, http_client=client)
    assert server.requests == 0


def test_a_task_id_is_asked_in_its_canonical_form() -> None:
    """A UUID written another way ({UPPER}, urn:uuid:) reaches the server as the canonical
    UUID, on the API's get path."""
    server = ScriptedServer(tasks={TASK: task(TASK, "completed", ["https://v.example/1.mp4"])})
    report, _ = run(server, task_id="{" + TASK.upper() + "}")
    assert report.ok, "\n".join(report.lines())
    assert f"{facts.GET_PATH.format(task_id=TASK)}" in server.paths


def test_an_unknown_task_id_is_a_usage_error_not_drift() -> None:
    """A UUID the server has no task for (404): UnknownTaskError, before any probe is sent."""
    server = ScriptedServer()
    with server.client() as client, pytest.raises(UnknownTaskError, match="no task"):
        check_contract(BASE, KEY, task_id=TASK, http_client=client)
    assert server.posts_with_key == 0
    assert outside_api(server.paths) == []


def test_no_connection_is_could_not_finish() -> None:
    """Nothing listening: NoAnswerError after one request (the command exits 3)."""
    from servers import refused_url

    with pytest.raises(NoAnswerError):
        check_contract(refused_url(), KEY, sleep=lambda s: None)


# --- Single-rule drift, generated from the spec ---------------------------------------------


def _observable(rule: Rule) -> bool:
    return any(c.rule == rule and c.breaks == {rule.keyword} for c in PLAN)


@pytest.mark.parametrize("rule", RULES, ids=str)
@pytest.mark.parametrize("naming", ["all", "loc", "text"])
def test_a_server_that_stops_enforcing_one_rule_is_drift(rule: Rule, naming: Any) -> None:
    """Drop one rule from the server's schema: that rule's check fails, named; nothing else
    does; no billable body reaches the server."""
    server = ScriptedServer(spec=weakened(SPEC, rule), naming=naming)
    report, _ = run(server)
    mine = [c for c in PLAN if c.rule == rule and c.breaks == {rule.keyword}]
    if not _observable(rule):
        assert report.ok  # implied by another rule of the field: the server is unchanged
        return
    assert not report.ok
    assert set(drifted(report)) == {c.name for c in mine}
    for detail in drifted(report).values():
        assert f"never {rule.field}" in detail


@pytest.mark.parametrize("rule", [r for r in RULES if _observable(r)], ids=str)
def test_first_only_server_drift_is_never_called_enforced(rule: Rule) -> None:
    """A first-only server that drifted on a rule: that rule is never 'enforced', so strict
    fails; the plain run does not call it drift either (it cannot know)."""
    server = ScriptedServer(spec=weakened(SPEC, rule), naming="first-alpha")
    report, _ = run(server, strict=True)
    mine = {c.name for c in PLAN if c.rule == rule and c.breaks == {rule.keyword}}
    assert not report.ok
    for check in report.checks:
        if check.name in mine:
            assert check.verdict is Verdict.CANNOT_TELL


# --- Drift in auth, path, status, body, content type, unknown task ---------------------------


@pytest.mark.parametrize(
    ("knobs", "check", "evidence"),
    [
        ({"auth": frozenset({"GET"})}, "auth: POST without key -> 401", "status 400"),
        ({"auth": frozenset({"POST"})}, "auth: GET without key -> 401", "status 404"),
        ({"everything_404": True}, "invalid body -> documented status", "status 404"),
        ({"everything_404": True}, "auth: POST without key -> 401", "status 404"),
        ({"refusal_status": 403}, "invalid body -> documented status", "status 403"),
        ({"message_key": None}, "invalid body -> error body the spec allows", "no message"),
        ({"content_type": "text/plain"}, "invalid body -> JSON content type", "text/plain"),
        ({"unknown_task_status": 200}, "unknown task: GET a random id -> 404 error", "200"),
    ],
)
def test_each_kind_of_drift_fails_its_check_named(
    knobs: dict[str, Any], check: str, evidence: str
) -> None:
    """One knob turned: the named check fails and says what came back."""
    report, _ = run(ScriptedServer(**knobs))
    assert not report.ok
    assert evidence in drifted(report)[check]


def test_a_server_serving_a_create_without_key_is_not_billed() -> None:
    """The keyless create probe breaks two rules: even a server with no auth refuses it."""
    server = ScriptedServer(auth=frozenset())
    report, _ = run(server)
    assert server.created == 0
    assert {"auth: POST without key -> 401", "auth: GET without key -> 401"} <= set(drifted(report))


def test_a_refused_key_stops_the_run() -> None:
    """A key the server refuses raises KeyRefusedError after one request; no probe sent."""
    server = ScriptedServer(key="another-key")
    with server.client() as client, pytest.raises(KeyRefusedError):
        check_contract(BASE, KEY, http_client=client)
    assert server.requests == 1


def test_a_server_accepting_a_probe_stops_the_probes() -> None:
    """Two rules gone (the resolution enum and a rule a resolution probe uses as its guard):
    the first accepted probe is drift, named ACCEPTED, and no further create is sent."""
    enum = Rule("resolution", "enum", ["480P", "1080P"])
    # Which rule guards the resolution probes depends on the spec's other fields: try each
    # likely guard until one pair lets a probe through.
    for guard in (
        Rule("safety_filter", "type", "boolean"),
        Rule("seed", "minimum", 0),
        Rule("duration", "const", 5),
    ):
        server = ScriptedServer(spec=weakened(weakened(SPEC, enum), guard))
        sleeps: list[float] = []
        with server.client() as client:
            report = check_contract(BASE, KEY, http_client=client, sleep=sleeps.append)
        if server.created:
            break
    assert server.created == 1
    accepted = [c for c in report.drift if "ACCEPTED" in c.detail]
    assert len(accepted) == 1
    assert any("not sent" in c.detail for c in report.cannot_tell)


def test_the_key_is_never_in_the_report() -> None:
    """A server that echoes the Authorization header: the report masks the key."""
    server = ScriptedServer(naming="all")
    original = server.handle

    def echoing(request: Any) -> Any:
        response = original(request)
        if response.status_code == 404:
            auth = request.headers.get("authorization", "")
            return type(response)(404, json={"detail": f"not found for {auth}"})
        return response

    server.handle = echoing  # type: ignore[method-assign]
    report, _ = run(server)
    assert KEY not in repr(report.to_dict())
    assert "***" in report.checks[0].detail


# --- A real task, for free -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "failing"),
    [
        (task(TASK, "completed", ["https://v.example/1.mp4"]), None),
        (task(TASK, "queued"), None),
        (task(TASK, "in_progress"), "status word"),
        (task(TASK, "succeeded"), "videos only when succeeded"),
        (task(TASK, "pending", ["https://v.example/1.mp4"]), "videos only when succeeded"),
        ({"task_info": {"id": TASK}}, "GET -> 200 TaskResponse"),
    ],
)
def test_an_existing_task_is_checked(body: dict[str, Any], failing: str | None) -> None:
    """task_id=: the GET answer's envelope, status word and videos are held to the spec."""
    server = ScriptedServer(tasks={TASK: body})
    report, _ = run(server, task_id=TASK)
    task_checks = [c for c in report.checks if c.name.startswith(f"task {TASK}")]
    assert task_checks
    if failing is None:
        assert report.ok
    else:
        assert [c.name for c in report.drift] == [f"task {TASK}: {failing}"]


def test_error_body_schema_requires_a_message() -> None:
    """The spec's ErrorBody refuses a body with no detail, error or message key."""
    schema = {"$ref": "#/components/schemas/ErrorBody", "components": SPEC["components"]}
    check = jsonschema.Draft202012Validator(schema)
    assert not check.is_valid({"field": "seed"})
    assert check.is_valid({"detail": "x", "errors": [{"field": "seed", "message": "m"}]})
    assert check.is_valid({"task_info": {"error": {"code": 4002}}})


# --- The command --------------------------------------------------------------------------


def _invoke(*args: str, env: dict[str, str] | None = None) -> Any:
    from click.testing import CliRunner

    from wan_i2v.cli._commands import cli

    return CliRunner().invoke(cli, list(args), env=env, catch_exceptions=False)


@pytest.fixture
def scripted(monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    """Route the command's check_contract to a scripted server; record what it was asked."""
    import wan_i2v.contract as contract

    seen: dict[str, Any] = {"server": ScriptedServer()}
    real = contract.check_contract

    def fake(base_url: str, api_key: str, **kwargs: Any) -> ContractReport:
        seen.update(base_url=base_url, api_key=api_key, **kwargs)
        with seen["server"].client() as client:
            return real(base_url, api_key, http_client=client, sleep=lambda s: None, **kwargs)

    monkeypatch.setattr(contract, "check_contract", fake)
    return seen


def test_command_against_the_sandbox_conforms() -> None:
    """`wan-i2v contract --sandbox`: a subprocess, no key, exit 0, one line per check."""
    import subprocess
    import sys

    result = subprocess.run(
        [sys.executable, "-m", "wan_i2v.cli", "contract", "--sandbox"],
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    lines = result.stdout.splitlines()
    assert len(lines) == len(PLAN) + 6 + 8 + 1  # rule checks, others, out of reach, summary
    assert lines[-1].startswith("conforms:")
    assert "Traceback" not in result.stderr


def test_command_reports_drift_with_exit_1(scripted: dict[str, Any]) -> None:
    """A server answering invalid bodies with 403: exit 1, the failed check named with it."""
    scripted["server"] = ScriptedServer(refusal_status=403)
    result = _invoke("contract", "--base-url", BASE, env={"MULEROUTER_API_KEY": KEY})
    assert result.exit_code == 1
    assert "drift        invalid body -> documented status: " in result.stdout
    assert "status 403" in result.stdout
    assert KEY not in result.stdout + result.stderr


def test_command_json_is_one_object(scripted: dict[str, Any]) -> None:
    """--json prints exactly one JSON object, with the verdict of every check."""
    result = _invoke("contract", "--base-url", BASE, "--json", env={"MULEROUTER_API_KEY": KEY})
    assert result.exit_code == 0
    data = json.loads(result.stdout)
    assert data["ok"] is True
    assert len(data["checks"]) == len(PLAN) + 6


@pytest.mark.parametrize(
    "args",
    [
        ["contract", "--base-url", BASE],
        ["--base-url", BASE, "contract"],
    ],
)
def test_command_takes_base_url_before_or_after(scripted: dict[str, Any], args: list[str]) -> None:
    """--base-url after the command name, or the group's before it: both are used."""
    result = _invoke(*args, "--strict", "--task-id", TASK, env={"MULEROUTER_API_KEY": KEY})
    assert scripted["base_url"] == BASE
    assert scripted["api_key"] == KEY
    assert scripted["strict"] is True
    assert scripted["task_id"] == TASK
    assert result.exit_code == 2  # the scripted server has no such task: a usage error
    assert "no task" in result.stderr


@pytest.mark.parametrize(
    ("args", "env", "message"),
    [
        (["contract", "--base-url", BASE], {}, "MULEROUTER_API_KEY"),
        (["contract", "--sandbox", "--base-url", BASE], {}, "--sandbox and --base-url"),
    ],
)
def test_command_usage_errors_exit_2(
    scripted: dict[str, Any], args: list[str], env: dict[str, str], message: str
) -> None:
    """No key, or two servers named: exit 2 with a message, no traceback."""
    result = _invoke(*args, env=env)
    assert result.exit_code == 2
    assert message in result.stderr
    assert "Traceback" not in result.stderr


def test_command_refused_key_exits_2(scripted: dict[str, Any]) -> None:
    """A key the server refuses is a usage error (2), not drift."""
    scripted["server"] = ScriptedServer(key="other")
    result = _invoke("contract", "--base-url", BASE, env={"MULEROUTER_API_KEY": KEY})
    assert result.exit_code == 2
    assert "401" in result.stderr


# --- The command against servers that misbehave, as a real process ---------------------------


def _contract(
    *args: str, timeout: float = 60, sent: Sent | None = None
) -> tuple[subprocess.CompletedProcess[str], float]:
    """`wan-i2v contract ARGS` as a subprocess with a key; the result and its seconds, from
    the first request the server saw (``sent``, so start-up is not counted) or the start."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("MULEROUTER_")}
    env["MULEROUTER_API_KEY"] = KEY
    started = time.monotonic()
    result = subprocess.run(
        [sys.executable, "-m", "wan_i2v.cli", "contract", *args],
        env=env, capture_output=True, text=True, timeout=timeout, check=False,
    )  # fmt: skip
    ended = time.monotonic()
    if sent is not None:
        assert sent.first_request_at is not None, "no request reached the server"
        started = sent.first_request_at
    return result, ended - started


def _paths(seen: Requests) -> list[str]:
    return [path for _, path, _ in seen.requests]


@pytest.mark.parametrize("where", ["status", "body"])
def test_a_trickling_server_ends_within_the_budget(where: Literal["status", "body"]) -> None:
    """One byte every 0.25 s, from the status line or after the headers: the run stops at
    its --timeout (the client's deadline on every socket read), exit 3, saying so."""
    sent = Sent()
    with socket_api(trickle(where, sent)) as (url, seen):
        result, seconds = _contract("--base-url", url, "--timeout", "3", sent=sent)
    assert result.returncode == 3, result.stdout + result.stderr
    assert seconds < 3 + 1  # one read past the deadline at most, and the report printed
    assert "could not finish (stopped: its time budget (3 s) was spent" in result.stdout
    assert "no answer (ReadTimeout)" in result.stdout
    assert outside_api(_paths(seen)) == []
    assert "Traceback" not in result.stderr


def test_an_endless_body_is_capped() -> None:
    """A body that never ends, sent as fast as the socket takes it: each answer is read up
    to the cap (the server gets to send a few MiB at most, socket buffers included), the
    run ends in seconds, and an endless error body is drift (exit 1), not a hang."""
    sent = Sent()
    with socket_api(endless(sent)) as (url, seen):
        result, seconds = _contract("--base-url", url, "--timeout", "30", "--json")
    assert result.returncode == 1, result.stdout + result.stderr
    assert seconds < 15
    data = json.loads(result.stdout)
    assert data["outcome"] == "drift"
    unknown = next(c for c in data["checks"] if c["name"] == engine.UNKNOWN_TASK)
    assert "body is not JSON" in unknown["detail"]
    assert "cut: longer than 65536 bytes" in unknown["detail"]
    assert max(sent.per_request) < 16 * 2**20
    assert outside_api(_paths(seen)) == []


def test_a_server_answering_429_forever_ends_within_the_budget() -> None:
    """429 with Retry-After: 1 to everything, as a real server: the run waits as asked, stops
    within its --timeout, exit 3, no drift, a bounded number of requests."""
    sent = Sent()
    with socket_api(always(429, sent, {"Retry-After": "1"})) as (url, seen):
        result, seconds = _contract("--base-url", url, "--timeout", "4", "--json", sent=sent)
    assert result.returncode == 3, result.stdout + result.stderr
    assert seconds < 4 + 1
    data = json.loads(result.stdout)
    assert data["outcome"] == "could not finish"
    assert "its time budget (4 s)" in data["incomplete"]  # spent, or too little left to wait
    assert {c["verdict"] for c in data["checks"]} == {"cannot tell"}
    assert len(seen.requests) <= 6
    assert outside_api(_paths(seen)) == []


def test_a_server_that_is_not_there_exits_3() -> None:
    """Nothing listening: could not finish (exit 3), one line, no traceback."""
    from servers import refused_url

    result, _ = _contract("--base-url", refused_url())
    assert result.returncode == 3
    assert result.stderr.startswith("error: could not finish: no answer from")
    assert "Traceback" not in result.stderr


def test_the_sandbox_process_with_30_percent_errors_shows_no_drift(tmp_path: Path) -> None:
    """`wan-i2v sandbox --error-rate 0.3` as a real process: the 5xx are asked again and no
    rule is called drift; no task is created (counted through /_sandbox/stats)."""
    with sandbox_process(tmp_path, "--error-rate", "0.3", "--seed", "3") as sandbox:
        report = check_contract(sandbox.url, KEY, sleep=lambda s: time.sleep(min(s, 0.05)))
        stats = httpx.get(sandbox.url + "/_sandbox/stats").json()
    assert not report.drift, "\n".join(report.lines())
    assert report.ok
    assert report.retried > 5
    assert stats["tasks_created"] == 0
    assert sum(n for s, n in stats["requests"]["create"].items() if s.startswith("5")) > 0


def test_command_reports_an_accepted_probe(scripted: dict[str, Any]) -> None:
    """A server that takes a create: exit 1, "1 accepted: a task may exist and be billed"
    in the text and `accepted` in --json."""
    env = {"MULEROUTER_API_KEY": KEY}
    scripted["server"] = ScriptedServer(accept_creates=True)
    result = _invoke("contract", "--base-url", BASE, env=env)
    assert result.exit_code == 1
    assert "1 accepted: a task may exist and be billed" in result.stdout.splitlines()[-1]
    scripted["server"] = ScriptedServer(accept_creates=True)
    result = _invoke("contract", "--base-url", BASE, "--json", env=env)
    assert result.exit_code == 1
    assert json.loads(result.stdout)["accepted"] == 1


@pytest.mark.parametrize("task_id", ["../../admin", "../../../../admin/delete?all=1", "123"])
def test_command_refuses_a_task_id_that_is_not_a_uuid(
    scripted: dict[str, Any], task_id: str
) -> None:
    """--task-id that is not a UUID: exit 2, one line, and nothing reaches the server."""
    result = _invoke(
        "contract", "--base-url", BASE, "--task-id", task_id, env={"MULEROUTER_API_KEY": KEY}
    )
    assert result.exit_code == 2
    assert "is not a task id (a UUID" in result.stderr
    assert scripted["server"].requests == 0


def test_command_unknown_task_id_exits_2(scripted: dict[str, Any]) -> None:
    """A UUID the server has no task for: exit 2 (check --task-id), not drift, no probe."""
    result = _invoke(
        "contract", "--base-url", BASE, "--task-id", TASK, env={"MULEROUTER_API_KEY": KEY}
    )
    assert result.exit_code == 2
    assert f"no task {TASK} (404): check --task-id" in result.stderr
    assert scripted["server"].posts_with_key == 0
    assert outside_api(scripted["server"].paths) == []


def test_command_timeout_help_names_the_engine_default() -> None:
    """--timeout's help states the engine's DEFAULT_BUDGET (one value, held here)."""
    result = _invoke("contract", "--help")
    assert f"(default: {DEFAULT_BUDGET:g})" in " ".join(result.stdout.split())
