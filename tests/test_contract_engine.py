"""The contract engine catches a server that drifts in one way, and never sends a body a
server could bill."""

from __future__ import annotations

import json
from typing import Any

import jsonschema
import pytest
from contract_servers import BASE, KEY, ScriptedServer, task

from wan_i2v._spec import load_spec
from wan_i2v.contract import (
    ContractReport,
    KeyRefusedError,
    Rule,
    ServerKind,
    Verdict,
    check_contract,
    plan,
    rules,
    weakened,
    weakened_specs,
)
from wan_i2v.contract._plan import ABSENT, BillableProbeError, assert_unbillable
from wan_i2v.contract._rules import validator
from wan_i2v.sandbox import SandboxConfig, serve

# Real time, real processes or builds: run once, on the interpreter nox runs on.
pytestmark = pytest.mark.slow

SPEC = load_spec()
RULES = rules(SPEC)
PLAN = plan(SPEC)


def run(server: ScriptedServer, **kwargs: Any) -> tuple[ContractReport, list[float]]:
    """check_contract against a scripted server; returns the report and the sleeps asked."""
    sleeps: list[float] = []
    with server.client() as client:
        report = check_contract(BASE, KEY, http_client=client, sleep=sleeps.append, **kwargs)
    assert server.valid_with_key == 0, "a billable body reached the server"
    assert server.created == 0
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


def test_429_asking_too_long_fails_the_check_without_waiting() -> None:
    """Retry-After beyond 30 s is not slept: that check fails, naming the 429."""
    server = ScriptedServer(rate_limited=1, retry_after="3600")
    report, sleeps = run(server)
    assert sleeps == []
    assert "429" in drifted(report)["unknown task: GET a random id -> 404 error"]


def test_persistent_429_is_bounded() -> None:
    """A server that always answers 429 is asked a bounded number of times per request."""
    server = ScriptedServer(rate_limited=10**6, retry_after="1")
    report, sleeps = run(server)
    assert not report.ok
    assert len(sleeps) == 5 * report.requests // 6
    assert all(s <= 30 for s in sleeps)


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

TASK = "3c90c3cc-0d44-4b50-8888-8dd25736052a"


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
    assert result.exit_code == 1  # the scripted server has no such task: 404 is drift


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
