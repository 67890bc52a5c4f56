"""After a create was accepted, every way out of ``generate`` keeps the task id: the rule in
``_base.after_paying``, proven for what it converts (anything not ours) and what it keeps."""

from __future__ import annotations

import json
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any

import pytest
from conftest import TASK_ID, task_json
from servers import Requests, handler_server, reply

import wan_i2v

URL_IMAGE = "https://example.com/flower.jpg"


def _creates(h: BaseHTTPRequestHandler, seen: Requests) -> None:
    reply(h, 202, json.dumps(task_json()).encode())


class Boom(RuntimeError):
    """Not one of ours: a user's callback failing after the task exists."""


def _fail(_: object) -> None:
    raise Boom("the user's callback failed")


def test_a_foreign_failure_after_paying_is_task_incomplete(using: Any, tmp_path: Path) -> None:
    """A non-wan_i2v error after the create (here on_created raising) becomes
    TaskIncompleteError carrying the task id and the reason, chained to the original; one POST."""
    with (
        handler_server(_creates) as (url, seen),
        pytest.raises(wan_i2v.TaskIncompleteError) as info,
    ):
        using(
            lambda c: c.generate(
                image=URL_IMAGE, prompt="p", output=tmp_path / "v.mp4", on_created=_fail
            ),
            base_url=url,
        )
    assert info.value.task_id == TASK_ID
    assert "Boom" in str(info.value) or "callback failed" in str(info.value)
    assert isinstance(info.value.__cause__, Boom)
    assert f"download({TASK_ID!r})" in str(info.value)
    assert seen.count("POST") == 1


def test_a_failure_before_paying_is_not_task_incomplete(using: Any, tmp_path: Path) -> None:
    """before_create raising stops everything before the POST: the user's own error, no task."""
    with handler_server(_creates) as (url, seen), pytest.raises(Boom):
        using(
            lambda c: c.generate(
                image=URL_IMAGE, prompt="p", output=tmp_path / "v.mp4", before_create=_fail
            ),
            base_url=url,
        )
    assert seen.count("POST") == 0


@pytest.mark.parametrize("timeout", ["x", -5, float("nan"), True])
def test_download_refuses_a_bad_timeout_before_any_request(using: Any, timeout: object) -> None:
    """download(timeout=...) is checked like wait's: ValidationError naming it, nothing sent."""
    with handler_server(_creates) as (url, seen), pytest.raises(wan_i2v.ValidationError) as info:
        using(lambda c: c.download(TASK_ID, timeout=timeout), base_url=url)
    assert info.value.field == "timeout"
    assert seen.requests == []
