"""The API key never appears in an exception message, a repr or a log line."""

from __future__ import annotations

import logging
import traceback
from pathlib import Path
from typing import Any

import httpx
import pytest
import respx
from conftest import CREATE_PATH, KEY, TASK_ID, TASK_PATH, VIDEO_URL, task_json

import wan_i2v
from wan_i2v._config import resolve_settings

URL_IMAGE = "https://example.com/flower.jpg"

# Every error path a user can meet, as (route to mock, its answer, the call to make).
SCENARIOS: list[tuple[str, str, Any, str]] = [
    ("post", CREATE_PATH, httpx.Response(400, json={"detail": "bad"}), "create"),
    ("post", CREATE_PATH, httpx.Response(401, json={"detail": f"bad token {KEY[:4]}"}), "create"),
    ("post", CREATE_PATH, httpx.Response(429, json={}, headers={"Retry-After": "999"}), "create"),
    ("post", CREATE_PATH, httpx.Response(503, text="<html/>"), "create"),
    ("post", CREATE_PATH, httpx.ConnectError("refused"), "create"),
    ("post", CREATE_PATH, httpx.ReadTimeout("slow"), "create"),
    ("post", CREATE_PATH, httpx.Response(202, json={"odd": 1}), "create"),
    ("get", TASK_PATH, httpx.Response(404, json={"detail": "unknown"}), "get"),
    ("get", TASK_PATH, httpx.Response(500, json={}), "get"),
    ("get", TASK_PATH, httpx.ReadError("reset"), "get"),
    ("get", TASK_PATH, httpx.Response(200, json=task_json("failed", error={"code": 3001})), "wait"),
    ("get", TASK_PATH, httpx.Response(200, json=task_json("running")), "wait-timeout"),
    ("get", VIDEO_URL, httpx.Response(403, text="expired"), "download"),
]


def _run(client: Any, call: str, tmp_path: Path) -> None:
    if call == "create":
        client.create(image=URL_IMAGE, prompt="p")
    elif call == "get":
        client.get(TASK_ID)
    elif call == "wait":
        client.wait(TASK_ID, poll_interval=0)
    elif call == "wait-timeout":
        client.wait(TASK_ID, timeout=0.02, poll_interval=0.01)
    else:
        client.download(VIDEO_URL, tmp_path / "v.mp4")


def _all_text(exc: BaseException) -> str:
    """Message, repr and formatted traceback of an exception and its whole chain."""
    parts = ["".join(traceback.format_exception(exc))]
    seen: BaseException | None = exc
    while seen is not None:
        parts += [str(seen), repr(seen)]
        seen = seen.__cause__ or seen.__context__
    return "\n".join(parts)


@pytest.mark.parametrize(("method", "path", "answer", "call"), SCENARIOS)
def test_key_never_leaks_on_any_error_path(
    api: respx.MockRouter,
    make_client: Any,
    caplog: pytest.LogCaptureFixture,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    method: str,
    path: str,
    answer: Any,
    call: str,
) -> None:
    """With DEBUG logging on, no message, repr, traceback or log line holds the key."""
    caplog.set_level(logging.DEBUG)
    getattr(api, method)(path).mock(side_effect=[answer] * 10)
    client = make_client(max_retries=1)
    with pytest.raises(wan_i2v.WanI2VError) as info:
        _run(client, call, tmp_path)
    out = capsys.readouterr()
    everything = "\n".join(
        [_all_text(info.value), caplog.text, out.out, out.err, repr(client.client)]
    )
    assert KEY not in everything
    assert "request" in caplog.text or call.startswith("wait")  # logging did run


def test_debug_log_shows_requests_redacted_and_base64_elided(
    api: respx.MockRouter, client: Any, caplog: pytest.LogCaptureFixture, image_path: Path
) -> None:
    """DEBUG shows method, URL and body, with the key redacted and image data elided."""
    caplog.set_level(logging.DEBUG, logger="wan_i2v")
    api.post(CREATE_PATH).respond(202, json=task_json())
    client.create(image=image_path, prompt="a red fox")
    lines = [r.getMessage() for r in caplog.records if r.name == "wan_i2v"]
    request_line = next(line for line in lines if line.startswith("request POST"))
    assert "<redacted>" in request_line
    assert "a red fox" in request_line
    assert "data:image/png;base64,<" in request_line
    assert "base64 chars>" in request_line
    assert KEY not in caplog.text
    assert len(request_line) < 3000


def test_reprs_hide_the_key() -> None:
    """Neither the clients nor the resolved settings show the key in their repr."""
    for obj in (
        wan_i2v.Client(api_key=KEY),
        wan_i2v.AsyncClient(api_key=KEY),
        resolve_settings(api_key=KEY),
    ):
        assert KEY not in repr(obj)
        assert KEY not in str(obj)
