"""The sandbox plays the API as the spec says: checks, lifecycle, videos and faults."""

from __future__ import annotations

import asyncio
import base64
import io
import struct
import uuid
from typing import Any

import httpx
import jsonschema
import pytest

from wan_i2v._spec import load_spec
from wan_i2v._spec_facts import CREATE_PATH
from wan_i2v.sandbox import SandboxConfig, SandboxState, create_app, serve

API = CREATE_PATH  # the spec's (generated facts)
AUTH = {"Authorization": "Bearer test-key"}
VALID = {"prompt": "Flowers swaying", "image": "https://example.com/flower.jpg"}


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def response_validator(name: str) -> jsonschema.Draft202012Validator:
    spec = load_spec()
    return jsonschema.Draft202012Validator(
        {"$ref": f"#/components/schemas/{name}", "components": spec["components"]}
    )


@pytest.fixture
def clock() -> Clock:
    return Clock()


def make(clock: Clock, **config: Any) -> tuple[httpx.AsyncClient, SandboxState]:
    state = SandboxState(SandboxConfig(**config), clock=clock)
    app = create_app(state=state)
    return httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://sandbox"
    ), state


def call(client: httpx.AsyncClient, method: str, path: str, **kwargs: Any) -> httpx.Response:
    """One request to the in-process app (no socket)."""
    kwargs.setdefault("headers", AUTH)
    return asyncio.run(client.request(method, path, **kwargs))


@pytest.fixture
def sandbox(clock: Clock) -> tuple[httpx.AsyncClient, SandboxState]:
    return make(clock, task_seconds=10)


def png_data_uri(width: int, height: int) -> str:
    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", (width, height), (1, 2, 3)).save(buffer, "PNG")
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode()


@pytest.mark.parametrize(
    "headers", [{}, {"Authorization": "Bearer "}, {"Authorization": "Basic abc"}]
)
def test_missing_token_is_401(sandbox: Any, headers: dict[str, str]) -> None:
    """Without a bearer token both operations answer 401 with an error body."""
    client, state = sandbox
    for method, path in (("POST", API), ("GET", f"{API}/{uuid.uuid4()}")):
        response = call(client, method, path, json=VALID, headers=headers)
        assert response.status_code == 401
        assert "detail" in response.json()
    assert state.tasks_created == 0


def test_configured_key_must_match(clock: Clock) -> None:
    """With api_key set, any other token is refused."""
    client, _ = make(clock, api_key="right")
    assert call(client, "POST", API, json=VALID).status_code == 401
    assert (
        call(client, "POST", API, json=VALID, headers={"Authorization": "Bearer right"}).status_code
        == 202
    )


def test_create_answers_202_as_the_spec_says(sandbox: Any) -> None:
    """A valid create gives 202 with a fresh UUID, a pending status and RFC 3339 times."""
    client, state = sandbox
    response = call(client, "POST", API, json=VALID)
    assert response.status_code == 202
    response_validator("TaskResponse").validate(response.json())
    info = response.json()["task_info"]
    uuid.UUID(info["id"])
    assert info["status"] == "pending"
    assert info["created_at"].endswith("Z")
    assert state.tasks_created == 1


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"resolution": "720P"}, "resolution"),
        ({"duration": 10}, "duration"),
        ({"seed": -1}, "seed"),
        ({"seed": 2**31}, "seed"),
        ({"prompt": "x" * 801}, "prompt"),
        ({"negative_prompt": "x" * 501}, "negative_prompt"),
        ({"prompt_extend": "yes"}, "prompt_extend"),
        ({"prompt": None}, "prompt"),
    ],
)
def test_invalid_body_is_400_naming_the_field(
    sandbox: Any, change: dict[str, Any], field: str
) -> None:
    """Each constraint of the spec is enforced by the sandbox, and the 400 names the field."""
    client, state = sandbox
    body = {**VALID, **change}
    body = {k: v for k, v in body.items() if v is not None}
    response = call(client, "POST", API, json=body)
    assert response.status_code == 400
    assert [e["field"] for e in response.json()["errors"]] == [field]
    assert response.json()["detail"].startswith(f"{field}: ")
    response_validator("ErrorBody").validate(response.json())
    assert state.tasks_created == 0


@pytest.mark.parametrize("missing", ["prompt", "image"])
def test_missing_required_field_is_400(sandbox: Any, missing: str) -> None:
    """prompt and image are required."""
    client, _ = sandbox
    body = {k: v for k, v in VALID.items() if k != missing}
    response = call(client, "POST", API, json=body)
    assert response.status_code == 400
    assert response.json()["errors"] == [{"field": missing, "message": "is required"}]


def test_not_json_is_400(sandbox: Any) -> None:
    """A body that is not JSON is refused, not a crash."""
    client, _ = sandbox
    response = call(
        client, "POST", API, content=b"{nope", headers={**AUTH, "content-type": "application/json"}
    )
    assert response.status_code == 400


@pytest.mark.parametrize(
    ("vocabulary", "words"),
    [
        ("classic", ["pending", "processing", "completed"]),
        ("new", ["queued", "running", "succeeded"]),
    ],
)
def test_lifecycle_in_both_vocabularies(clock: Clock, vocabulary: str, words: list[str]) -> None:
    """GET moves a task from pending through running to success over task_seconds."""
    client, _ = make(clock, task_seconds=10, vocabulary=vocabulary)
    task_id = call(client, "POST", API, json=VALID).json()["task_info"]["id"]
    seen = []
    for advance in (0, 5, 10):
        clock.now += advance
        body = call(client, "GET", f"{API}/{task_id}").json()
        response_validator("TaskResponse").validate(body)
        seen.append(body["task_info"]["status"])
    assert seen == words
    assert body["videos"] == [f"http://sandbox/files/{task_id}.mp4"]
    assert body["task_info"]["updated_at"] != body["task_info"]["created_at"]


def test_zero_seconds_is_done_at_the_first_get(clock: Clock) -> None:
    """task_seconds=0 finishes a task at once (for fast tests)."""
    client, _ = make(clock, task_seconds=0)
    task_id = call(client, "POST", API, json=VALID).json()["task_info"]["id"]
    assert call(client, "GET", f"{API}/{task_id}").json()["task_info"]["status"] == "completed"


def test_failed_tasks_carry_the_documented_error(clock: Clock) -> None:
    """fail_rate=1 ends every task failed with code 3001, HTTP 200 and no videos."""
    client, _ = make(clock, task_seconds=0, fail_rate=1.0)
    task_id = call(client, "POST", API, json=VALID).json()["task_info"]["id"]
    response = call(client, "GET", f"{API}/{task_id}")
    assert response.status_code == 200
    body = response.json()
    response_validator("TaskResponse").validate(body)
    assert body["task_info"]["status"] == "failed"
    assert body["task_info"]["error"]["code"] == 3001
    assert "videos" not in body


def test_image_breaking_the_requirements_fails_its_task(clock: Clock) -> None:
    """A 300-pixel image is accepted by the schema but its task fails, as the API's would."""
    client, _ = make(clock, task_seconds=0)
    body = {**VALID, "image": png_data_uri(300, 400)}
    task_id = call(client, "POST", API, json=body).json()["task_info"]["id"]
    error = call(client, "GET", f"{API}/{task_id}").json()["task_info"]["error"]
    assert "360" in error["detail"]


def test_unknown_and_malformed_ids(sandbox: Any) -> None:
    """An unknown UUID is 404; an id that is not a UUID is 400."""
    client, _ = sandbox
    assert call(client, "GET", f"{API}/{uuid.uuid4()}").status_code == 404
    assert call(client, "GET", f"{API}/not-a-uuid").status_code == 400


def test_rate_limit_answers_429_with_retry_after(clock: Clock) -> None:
    """Above rate_limit requests per second the API says 429 with Retry-After."""
    client, _ = make(clock, rate_limit=2)
    statuses = [call(client, "GET", f"{API}/{uuid.uuid4()}") for _ in range(3)]
    assert [r.status_code for r in statuses] == [404, 404, 429]
    assert statuses[2].headers["Retry-After"] == "1"
    clock.now += 1.5
    assert call(client, "GET", f"{API}/{uuid.uuid4()}").status_code == 404


def test_error_rate_gives_server_errors(clock: Clock) -> None:
    """error_rate=1 answers every API call with a 5xx error body."""
    client, state = make(clock, error_rate=1.0, seed=3)
    response = call(client, "POST", API, json=VALID)
    assert response.status_code in (500, 502, 503)
    response_validator("ErrorBody").validate(response.json())
    assert state.tasks_created == 0


def test_scripted_faults_and_after_create(sandbox: Any) -> None:
    """inject() plays statuses in order; after_create makes the task before failing."""
    client, state = sandbox
    state.inject(429, retry_after=2, operation="create")
    state.inject(503, operation="create", after_create=True)
    first = call(client, "POST", API, json=VALID)
    assert (first.status_code, first.headers["Retry-After"]) == (429, "2")
    assert state.tasks_created == 0
    assert call(client, "POST", API, json=VALID).status_code == 503
    assert state.tasks_created == 1
    assert call(client, "POST", API, json=VALID).status_code == 202
    assert state.tasks_created == 2


def mp4_boxes(data: bytes) -> dict[str, bytes]:
    boxes, offset = {}, 0
    while offset < len(data):
        size, kind = struct.unpack(">I4s", data[offset : offset + 8])
        boxes[kind.decode()] = data[offset + 8 : offset + size]
        offset += size
    return boxes


@pytest.mark.parametrize(
    ("size", "shape"), [((1280, 720), (16, 9)), ((720, 1280), (9, 16)), ((800, 800), (1, 1))]
)
def test_served_video_is_a_5s_mp4_in_the_image_aspect(
    clock: Clock, size: tuple[int, int], shape: tuple[int, int]
) -> None:
    """The video is a real MP4 of 5 s whose frame has the input image's aspect ratio."""
    client, state = make(clock, task_seconds=0)
    task_id = call(client, "POST", API, json={**VALID, "image": png_data_uri(*size)}).json()[
        "task_info"
    ]["id"]
    url = call(client, "GET", f"{API}/{task_id}").json()["videos"][0]
    response = call(client, "GET", url, headers={})
    assert response.headers["content-type"] == "video/mp4"
    assert int(response.headers["content-length"]) == len(response.content)
    boxes = mp4_boxes(response.content)
    assert {"ftyp", "moov", "mdat"} <= set(boxes)
    moov = boxes["moov"]
    mvhd = moov[moov.index(b"mvhd") + 4 :]
    timescale, duration = struct.unpack(">II", mvhd[12:20])
    assert duration / timescale == pytest.approx(5.0, abs=0.1)
    tkhd = moov[moov.index(b"tkhd") + 4 :]
    width, height = (v >> 16 for v in struct.unpack(">II", tkhd[76:84]))
    assert width * shape[1] == height * shape[0]
    assert state.file_requests_with_auth == 0


def test_over_real_loopback() -> None:
    """serve() runs a real HTTP server on 127.0.0.1 that a plain httpx client reaches."""
    with serve(SandboxConfig(task_seconds=0)) as sandbox:
        assert sandbox.url.startswith("http://127.0.0.1:")
        with httpx.Client(base_url=sandbox.url, headers=AUTH) as http:
            task_id = http.post(API, json=VALID).json()["task_info"]["id"]
            video = http.get(http.get(f"{API}/{task_id}").json()["videos"][0])
        assert video.content[4:8] == b"ftyp"
        assert sandbox.state.tasks_created == 1
        assert sandbox.state.file_requests_with_auth == 1  # this client did send it


def test_refuses_to_bind_beyond_loopback() -> None:
    """The sandbox never listens on a public interface."""
    with pytest.raises(ValueError, match="loopback"), serve(host="0.0.0.0"):
        pass


@pytest.mark.parametrize(
    "bad", [{"fail_rate": 2.0}, {"error_rate": -0.1}, {"task_seconds": -1}, {"rate_limit": 0}]
)
def test_bad_config_is_refused(bad: dict[str, float]) -> None:
    """Nonsense settings fail early with a message naming them."""
    with pytest.raises(ValueError, match=next(iter(bad))):
        SandboxConfig(**bad)  # type: ignore[arg-type]
