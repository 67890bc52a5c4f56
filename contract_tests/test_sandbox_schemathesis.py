"""schemathesis holds the sandbox to the spec: both operations, valid and invalid data, the
default checks (status codes, response schemas, invalid data refused, auth), and a stateful
create-then-get run. Bounded so that it finishes in well under two minutes on two cores.

WAN_I2V_BREAK_SANDBOX=<kind> runs the same suite against a deliberately broken sandbox;
test_schemathesis_catches_a_broken_sandbox uses it to prove the suite can fail.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Awaitable, Callable, MutableMapping
from pathlib import Path
from typing import Any

import hypothesis
import pytest
import schemathesis
from schemathesis import GenerationMode

from wan_i2v.sandbox import SandboxConfig, create_app

from ._support import CONTRACT_KEY, load_spec

Scope = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]
Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

BREAK = os.environ.get("WAN_I2V_BREAK_SANDBOX", "")
AUTH = {"Authorization": f"Bearer {CONTRACT_KEY}"}
MAX_EXAMPLES = int(os.environ.get("WAN_I2V_CONTRACT_EXAMPLES", "40"))


def accepting_any_resolution(app: ASGIApp) -> ASGIApp:
    """A sandbox that ignores the resolution enum (so it accepts 720P)."""

    async def broken(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "POST":
            return await app(scope, receive, send)
        message = await receive()
        body = message.get("body", b"")
        while message.get("more_body"):
            message = await receive()
            body += message.get("body", b"")
        try:
            data = json.loads(body)
            if isinstance(data, dict) and "resolution" in data:
                data["resolution"] = "1080P"
            body = json.dumps(data).encode()
        except ValueError:
            pass
        sent = False

        async def replay() -> MutableMapping[str, Any]:
            nonlocal sent
            if sent:
                return {"type": "http.disconnect"}
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}

        headers = [(k, v) for k, v in scope["headers"] if k != b"content-length"]
        headers.append((b"content-length", str(len(body)).encode()))
        await app({**scope, "headers": headers}, replay, send)

    return broken


def answering_without_task_info(app: ASGIApp) -> ASGIApp:
    """A sandbox whose GET answers 200 with the task envelope's task_info removed."""

    async def broken(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "GET":
            return await app(scope, receive, send)
        start: MutableMapping[str, Any] = {}

        async def rewrite(message: MutableMapping[str, Any]) -> None:
            nonlocal start
            if message["type"] == "http.response.start":
                start = message
                return
            body = message.get("body", b"")
            if start.get("status") == 200 and body.startswith(b"{"):
                data = json.loads(body)
                data.pop("task_info", None)
                body = json.dumps(data).encode()
            headers = [(k, v) for k, v in start["headers"] if k != b"content-length"]
            headers.append((b"content-length", str(len(body)).encode()))
            await send({**start, "headers": headers})
            await send({"type": "http.response.body", "body": body})

        await app(scope, receive, rewrite)

    return broken


BREAKAGES: dict[str, Callable[[ASGIApp], ASGIApp]] = {
    "accept-any-resolution": accepting_any_resolution,
    "no-task-info": answering_without_task_info,
}


def sandbox_app() -> Any:
    app = create_app(SandboxConfig(api_key=CONTRACT_KEY, task_seconds=0))
    return BREAKAGES[BREAK](app) if BREAK else app


schema = schemathesis.openapi.from_dict(load_spec())
schema.app = sandbox_app()
schema.config.generation.update(
    modes=[GenerationMode.POSITIVE, GenerationMode.NEGATIVE], max_examples=MAX_EXAMPLES
)


@schema.parametrize()
@hypothesis.settings(
    deadline=None, derandomize=True, suppress_health_check=list(hypothesis.HealthCheck)
)
def test_sandbox_conforms_to_the_spec(case: schemathesis.Case[Any]) -> None:
    """Every generated request gets a documented status and a body valid for it."""
    case.call_and_validate(headers=AUTH)


class SandboxStateMachine(schema.as_state_machine()):  # type: ignore[misc]
    """Create, then get what was created (the spec's GetGenerationTask link), with the key."""

    def get_call_kwargs(self, case: schemathesis.Case[Any]) -> dict[str, Any]:
        return {"headers": AUTH}


TestSandboxStateful = SandboxStateMachine.TestCase
TestSandboxStateful.settings = hypothesis.settings(
    max_examples=max(5, MAX_EXAMPLES // 4),
    stateful_step_count=4,
    deadline=None,
    derandomize=True,
    suppress_health_check=list(hypothesis.HealthCheck),
)


@pytest.mark.skipif(bool(BREAK), reason="this is the run being checked")
@pytest.mark.parametrize("breakage", sorted(BREAKAGES))
def test_schemathesis_catches_a_broken_sandbox(breakage: str) -> None:
    """The suite above fails against a sandbox broken on purpose: it can fail."""
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            __file__,
            "-q",
            "-x",
            "-p",
            "no:cacheprovider",
            "-k",
            "conforms or Stateful",
        ],
        env={**os.environ, "WAN_I2V_BREAK_SANDBOX": breakage},
        capture_output=True,
        text=True,
        timeout=300,
        cwd=Path(__file__).parents[1],
        check=False,
    )
    assert result.returncode == 1, result.stdout[-3000:] + result.stderr[-3000:]
    assert "failed" in result.stdout.splitlines()[-1]
