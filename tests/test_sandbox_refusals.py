"""The hardened sandbox over a real socket (serve()'s uvicorn): refusals, ids, bounds, images."""

from __future__ import annotations

import base64
import copy
import io
import socket
import time
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import jsonschema
import pytest
from PIL import Image

from wan_i2v._spec import load_spec
from wan_i2v._spec_facts import CREATE_PATH
from wan_i2v.sandbox import RunningSandbox, SandboxConfig, _from_spec, serve

API = CREATE_PATH  # the spec's (generated facts)
KEY = "test-key"
AUTH = {"Authorization": f"Bearer {KEY}"}
AUTH_LINE = f"Authorization: Bearer {KEY}\r\n"
VALID = {"prompt": "Flowers swaying", "image": "https://example.com/flower.jpg"}


def error_body_validator() -> jsonschema.Draft202012Validator:
    return jsonschema.Draft202012Validator(
        {"$ref": "#/components/schemas/ErrorBody", "components": load_spec()["components"]}
    )


def assert_error_shape(response: httpx.Response) -> dict[str, Any]:
    """The one sandbox error shape, valid under the spec's ErrorBody; returns the body."""
    body: dict[str, Any] = response.json()
    error_body_validator().validate(body)
    assert set(body) == {"detail", "errors"}
    assert isinstance(body["detail"], str)
    assert body["detail"]
    for error in body["errors"]:
        assert set(error) == {"field", "message"}
    if body["errors"]:
        assert body["detail"] == "; ".join(f"{e['field']}: {e['message']}" for e in body["errors"])
    assert "traceparent" in response.headers
    return body


@pytest.fixture
def sandbox() -> Iterator[RunningSandbox]:
    with serve(SandboxConfig(api_key=KEY, task_seconds=0)) as running:
        yield running


@pytest.fixture
def http(sandbox: RunningSandbox) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=sandbox.url, headers=AUTH) as client:
        yield client


def data_uri(image: Image.Image, fmt: str, **save: Any) -> str:
    buffer = io.BytesIO()
    image.save(buffer, fmt, **save)
    mime = {"JPEG": "jpeg", "PNG": "png", "BMP": "bmp", "WEBP": "webp", "GIF": "gif"}[fmt]
    return f"data:image/{mime};base64," + base64.b64encode(buffer.getvalue()).decode()


def raw_post(url: str, headers: bytes, body: bytes) -> httpx.Response:
    """A POST written by hand (httpx will not send a Content-Length it does not keep)."""
    host, port = httpx.URL(url).host, httpx.URL(url).port
    assert port is not None
    with socket.create_connection((host, port), timeout=10) as sock:
        sock.sendall(
            f"POST {API} HTTP/1.1\r\nHost: x\r\n{AUTH_LINE}".encode()
            + b"Content-Type: application/json\r\n"
            + headers
            + b"\r\n"
            + body
        )
        received = b""
        while b"\r\n\r\n" not in received or not received.endswith(b"}"):
            chunk = sock.recv(65536)
            if not chunk:
                break
            received += chunk
    head, _, content = received.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    fields = [tuple(line.split(": ", 1)) for line in lines[1:]]
    return httpx.Response(int(lines[0].split()[1]), headers=fields, content=content)


def task_outcome(http: httpx.Client, body: dict[str, Any]) -> dict[str, Any]:
    """Create a task (must be 202) and return its task_info once finished."""
    created = http.post(API, json=body)
    assert created.status_code == 202, created.text
    info: dict[str, Any] = http.get(f"{API}/{created.json()['task_info']['id']}").json()[
        "task_info"
    ]
    return info


# --- 11: every violation named, one shape for every refusal ---------------------------------


def test_every_violation_is_named_in_one_refusal(
    sandbox: RunningSandbox, http: httpx.Client
) -> None:
    """A body with five violations is one 400 naming all five fields, in the shared shape."""
    body = {"prompt": "x" * 801, "resolution": "720P", "duration": 10, "seed": -1}
    response = http.post(API, json=body)
    assert response.status_code == 400
    errors = assert_error_shape(response)["errors"]
    assert [e["field"] for e in errors] == ["image", "duration", "prompt", "resolution", "seed"]
    assert errors[0]["message"] == "is required"
    assert len(errors[2]["message"]) < 120  # the 801-character prompt is not quoted whole
    assert sandbox.state.tasks_created == 0


def test_every_refusal_has_the_one_shape(sandbox: RunningSandbox, http: httpx.Client) -> None:
    """401, 404, 405, 413, 415, 429 and 5xx all answer {detail, errors}, valid as ErrorBody."""
    statuses = []
    for response in (
        http.post(API, json=VALID, headers={"Authorization": "Bearer wrong"}),
        http.get(f"{API}/{uuid.uuid4()}"),
        http.get(f"{API}/not-a-uuid"),
        http.delete(API),
        http.get("/files/nothing.mp4"),
        http.post(API, content=b"{}", headers={"Content-Type": "text/plain"}),
    ):
        assert_error_shape(response)
        statuses.append(response.status_code)
    too_long = raw_post(sandbox.url, f"Content-Length: {10**9}\r\n".encode(), b"{}")
    assert_error_shape(too_long)
    statuses.append(too_long.status_code)
    sandbox.state.inject(429, retry_after=0.5)
    sandbox.state.inject(503)
    for response in (http.get(f"{API}/{uuid.uuid4()}"), http.get(f"{API}/{uuid.uuid4()}")):
        assert_error_shape(response)
        statuses.append(response.status_code)
    assert statuses == [401, 404, 400, 405, 404, 415, 413, 429, 503]


# --- 4: hostile inputs ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("headers", "status"),
    [
        ({"Authorization": "Bearer t\xe9st-key".encode()}, 401),
        ({"Authorization": "Bearer \xff\xfe".encode("latin-1")}, 401),
        ({"Authorization": f"bearer {KEY}"}, 202),
        ({"Authorization": f"BEARER   {KEY}"}, 202),
        ({"Authorization": f"Basic {KEY}"}, 401),
    ],
)
def test_authorization_header(
    sandbox: RunningSandbox, headers: dict[str, Any], status: int
) -> None:
    """The bearer scheme is case-insensitive; a token of any bytes is a 401, never a 500."""
    with httpx.Client(base_url=sandbox.url) as client:
        response = client.post(API, json=VALID, headers=headers)
    assert response.status_code == status
    assert sandbox.state.tasks_created == (status == 202)


@pytest.mark.parametrize(
    ("content", "field"),
    [
        (b"[" * 100_000 + b"]" * 100_000, "body"),
        (b'{"prompt": "p", "image": "i", "extra": ' + b"[" * 500 + b"]" * 500 + b"}", None),
        (b'{"prompt": "p", "image": "i", "seed": ' + b"9" * 5000 + b"}", "seed"),
        (b'{"prompt": "p", "image": "i", "seed": -' + b"9" * 5000 + b"}", "seed"),
        (b'{"prompt": "p", "image": "i", "seed": NaN}', "body"),
        (b'{"prompt": "\xff", "image": "i"}', "body"),
        (b"", "body"),
    ],
)
def test_hostile_json_is_a_400(
    sandbox: RunningSandbox, http: httpx.Client, content: bytes, field: str | None
) -> None:
    """Deep nesting, integers past the int-str limit, NaN, bad UTF-8: 400 naming the field."""
    response = http.post(API, content=content, headers={"Content-Type": "application/json"})
    if field is None:  # deep but within limits, in a field the schema leaves open: accepted
        assert response.status_code == 202
        return
    assert response.status_code == 400, response.text
    assert [e["field"] for e in assert_error_shape(response)["errors"]] == [field] * len(
        response.json()["errors"]
    )
    assert sandbox.state.tasks_created == 0


@pytest.mark.parametrize(
    ("content_type", "status"),
    [
        ("text/plain", 415),
        ("application/x-www-form-urlencoded", 415),
        ("application/jsonx", 415),
        ("application/json; charset=utf-8", 202),
        ("Application/JSON", 202),
    ],
)
def test_only_json_bodies(http: httpx.Client, content_type: str, status: int) -> None:
    """A create body must be application/json (parameters allowed), else 415."""
    body = b'{"prompt": "p", "image": "https://example.com/a.jpg"}'
    response = http.post(API, content=body, headers={"Content-Type": content_type})
    assert response.status_code == status


# --- 6, 7: Retry-After, UUIDs ------------------------------------------------------------------


@pytest.mark.parametrize(("seconds", "header"), [(0.5, "1"), (2.1, "3"), (2, "2"), (0, "0")])
def test_retry_after_is_whole_seconds_rounded_up(
    sandbox: RunningSandbox, http: httpx.Client, seconds: float, header: str
) -> None:
    """Retry-After is delay-seconds (RFC 9110): an integer, never less than the wait."""
    sandbox.state.inject(429, retry_after=seconds)
    assert http.get(f"{API}/{uuid.uuid4()}").headers["Retry-After"] == header


def test_any_spelling_of_a_uuid_is_the_same_task(http: httpx.Client) -> None:
    """Upper case or hyphen-free, the same UUID finds the same task and its video."""
    task_id = http.post(API, json=VALID).json()["task_info"]["id"]
    for spelling in (task_id.upper(), task_id.replace("-", ""), task_id):
        response = http.get(f"{API}/{spelling}")
        assert response.status_code == 200
        assert response.json()["task_info"]["id"] == task_id
    assert http.get(f"/files/{task_id.upper()}.mp4").status_code == 200


# --- 5: bounded memory --------------------------------------------------------------------------


def test_task_store_and_request_log_are_capped_counters_are_not() -> None:
    """Beyond max_tasks the oldest task is forgotten (404); the counters keep counting."""
    config = SandboxConfig(task_seconds=0, max_tasks=10, max_logged_requests=15)
    with serve(config) as sandbox, httpx.Client(base_url=sandbox.url, headers=AUTH) as http:
        ids = [http.post(API, json=VALID).json()["task_info"]["id"] for _ in range(25)]
        assert [http.get(f"{API}/{i}").status_code for i in ids] == [404] * 15 + [200] * 10
        state = sandbox.state
        assert (len(state.tasks), state.tasks_created) == (10, 25)
        assert (len(state.requests), state.requests_received) == (15, 50)
        assert list(state.requests)[-1] == ("GET", f"{API}/{ids[-1]}")


def test_tasks_expire_after_their_ttl() -> None:
    """A task older than task_ttl answers 404, and is dropped at the next create."""
    with (
        serve(SandboxConfig(task_seconds=0, task_ttl=0.3)) as sandbox,
        httpx.Client(base_url=sandbox.url, headers=AUTH) as http,
    ):
        old = http.post(API, json=VALID).json()["task_info"]["id"]
        assert http.get(f"{API}/{old}").status_code == 200
        time.sleep(0.4)
        assert http.get(f"{API}/{old}").status_code == 404
        http.post(API, json=VALID)
        assert old not in sandbox.state.tasks
        assert len(sandbox.state.tasks) == 1


@pytest.mark.parametrize(
    "bad", [{"max_tasks": 0}, {"task_ttl": 0}, {"max_logged_requests": -1}, {"api_key": " "}]
)
def test_bad_bounds_are_refused(bad: dict[str, Any]) -> None:
    """Bounds that cannot work fail when the config is made, naming the setting."""
    with pytest.raises(ValueError, match=next(iter(bad))):
        SandboxConfig(**bad)


# --- 1: IPv6 -----------------------------------------------------------------------------------


def test_ipv6_url_has_brackets() -> None:
    """serve(host="::1") gives http://[::1]:PORT, which a client can use."""
    with serve(SandboxConfig(task_seconds=0), host="::1") as sandbox:
        assert sandbox.url.startswith("http://[::1]:")
        response = httpx.post(sandbox.url + API, json=VALID, headers=AUTH)
        assert response.status_code == 202


# --- 10: paths and words from the spec -----------------------------------------------------


def test_paths_and_status_words_follow_the_spec(monkeypatch: pytest.MonkeyPatch) -> None:
    """A spec with another path and other status words gives a sandbox that serves them."""
    spec = copy.deepcopy(load_spec())
    spec["paths"] = {p.replace("/alibaba/", "/elsewhere/"): v for p, v in spec["paths"].items()}
    known = spec["components"]["schemas"]["TaskInfo"]["properties"]["status"]["x-known-values"]
    known["succeeded"] = ["done", "finished"]
    monkeypatch.setattr(_from_spec, "load_spec", lambda: spec)
    _from_spec.vocabularies.cache_clear()
    try:
        with serve(SandboxConfig(task_seconds=0)) as sandbox:
            moved = API.replace("/alibaba/", "/elsewhere/")
            with httpx.Client(base_url=sandbox.url, headers=AUTH) as http:
                assert http.post(API, json=VALID).status_code == 404
                task_id = http.post(moved, json=VALID).json()["task_info"]["id"]
                assert http.get(f"{moved}/{task_id}").json()["task_info"]["status"] == "done"
    finally:
        _from_spec.vocabularies.cache_clear()


def test_max_body_is_derived_from_the_image_limit() -> None:
    """The body cap is base64 of every image field at x-image-max-bytes, plus 1 MiB."""
    limits = [
        schema["x-image-max-bytes"]
        for schema in load_spec()["components"]["schemas"]["CreateGenerationTaskRequest"][
            "properties"
        ].values()
        if "x-image-max-bytes" in schema
    ]
    assert limits == [10_000_000, 10_000_000]
    assert _from_spec.MAX_BODY_BYTES == 2 * 13_333_336 + 2**20


# --- 12: images judged by Pillow ------------------------------------------------------------------

RGB = Image.new("RGB", (640, 480), (10, 20, 30))


@pytest.mark.parametrize(
    "image",
    [
        data_uri(RGB, "JPEG"),
        data_uri(RGB, "PNG"),
        data_uri(RGB, "BMP"),
        data_uri(RGB, "WEBP"),
        data_uri(Image.new("RGB", (360, 2000)), "PNG"),
        data_uri(RGB.convert("L"), "PNG"),
        "https://example.com/not-fetched.jpg",
    ],
)
def test_good_images_succeed(http: httpx.Client, image: str) -> None:
    """JPEG, PNG, BMP and WEBP within the spec's rules give a completed task."""
    assert task_outcome(http, {**VALID, "image": image})["status"] == "completed"


def _png_with_trns() -> str:
    image = Image.new("RGB", (640, 480), (10, 20, 30))
    return data_uri(image, "PNG", transparency=(10, 20, 30))


def _truncated_png() -> str:
    buffer = io.BytesIO()
    Image.effect_noise((640, 480), 50).convert("RGB").save(buffer, "PNG")
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()[:-2000]).decode()


@pytest.mark.parametrize(
    ("field", "value", "words"),
    [
        ("image", data_uri(RGB, "GIF"), "GIF"),
        ("image", data_uri(Image.new("RGB", (300, 400)), "PNG"), "width 300"),
        ("image", data_uri(Image.new("RGB", (640, 2001)), "JPEG"), "height 2001"),
        ("image", data_uri(Image.new("RGBA", (640, 480)), "PNG"), "transparency"),
        ("image", data_uri(Image.new("LA", (640, 480)), "PNG"), "transparency"),
        ("image", data_uri(RGB.convert("P"), "PNG", transparency=0), "transparency"),
        ("image", _png_with_trns(), "transparency"),
        ("image", _truncated_png(), "truncated"),
        ("image", "data:", "base64"),
        ("image", "data:image/png;base64,@@@", "base64"),
        ("image", "data:image/png;base64," + base64.b64encode(b"not an image").decode(), "decoded"),
        ("last_frame", data_uri(Image.new("RGB", (300, 400)), "PNG"), "last_frame width 300"),
    ],
)
def test_bad_images_are_accepted_then_fail_with_3001(
    http: httpx.Client, field: str, value: str, words: str
) -> None:
    """An image the API cannot use passes the request check (202); its task fails, 3001."""
    info = task_outcome(http, {**VALID, field: value})
    assert info["status"] == "failed"
    assert info["error"]["code"] == 3001
    assert words in info["error"]["detail"]


def test_image_over_the_byte_limit_fails_its_task(http: httpx.Client) -> None:
    """A data URI decoding to more than x-image-max-bytes fails its task, naming the size."""
    payload = base64.b64encode(b"\0" * 10_000_001).decode()
    info = task_outcome(http, {**VALID, "image": "data:image/png;base64," + payload})
    assert "10000001 bytes" in info["error"]["detail"]


def test_every_answer_carries_a_traceparent() -> None:
    """The sandbox sends traceparent on successes too, as the API does (spec: 202, 200)."""
    import wan_i2v as w

    with (
        serve(SandboxConfig(task_seconds=0)) as running,
        w.Client(base_url=running.url, api_key="k") as client,
    ):
        created = client.create(image="https://example.com/a.jpg", prompt="p")
        again = client.get(created.id)
    assert created.request_id
    assert created.request_id.startswith("00-")
    assert again.request_id
    assert again.request_id != created.request_id
