"""What the other contract tests could not see: each test here fails on one drift that, made
on purpose, passed them (a status word outside the spec, a done status not treated as done,
a valid boundary value refused or changed by the wrapper, a local image sent bare)."""

from __future__ import annotations

import asyncio
import base64
import io
import json
from typing import Any

import httpx
import pytest
import respx
from PIL import Image

import wan_i2v
from wan_i2v.sandbox import SandboxConfig, SandboxState, create_app

from ._support import CREATE_PATH, PAGE_202, load_spec

BASE = "https://api.mulerouter.ai"
URL = "https://example.com/frame.jpg"
SPEC = load_spec()
KNOWN: dict[str, list[str]] = SPEC["components"]["schemas"]["TaskInfo"]["properties"]["status"][
    "x-known-values"
]
PROPS: dict[str, dict[str, Any]] = SPEC["components"]["schemas"]["CreateGenerationTaskRequest"][
    "properties"
]
TASK_ID = PAGE_202["task_info"]["id"]


def sandbox_status_words(vocabulary: Any, fail_rate: float) -> set[str]:
    """Every status word the sandbox sends over HTTP through a task's whole life."""
    now = [0.0]
    config = SandboxConfig(api_key="k", task_seconds=10, fail_rate=fail_rate, vocabulary=vocabulary)
    app = create_app(state=SandboxState(config, clock=lambda: now[0]))
    headers = {"Authorization": "Bearer k"}

    async def go() -> set[str]:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://sandbox") as http:
            created = await http.post(CREATE_PATH, json={"prompt": "p", "image": URL},
                                      headers=headers)  # fmt: skip
            assert created.status_code == 202
            words = {created.json()["task_info"]["status"]}
            task_id = created.json()["task_info"]["id"]
            for moment in (0.0, 1.0, 3.0, 5.0, 9.9, 10.0, 60.0):
                now[0] = moment
                got = await http.get(f"{CREATE_PATH}/{task_id}", headers=headers)
                words.add(got.json()["task_info"]["status"])
            return words

    return asyncio.run(go())


@pytest.mark.parametrize("vocabulary", ["classic", "new"])
@pytest.mark.parametrize("fail_rate", [0.0, 1.0])
def test_every_status_word_the_sandbox_sends_is_documented(
    vocabulary: str, fail_rate: float
) -> None:
    """Each word the sandbox emits, in every phase, is in the spec's x-known-values, and the
    sandbox goes through pending, running and an end."""
    words = sandbox_status_words(vocabulary, fail_rate)
    known = {w for group in KNOWN.values() for w in group}
    assert words <= known, f"undocumented: {words - known}"
    phases = {p for p, group in KNOWN.items() for w in words if w in group}
    assert phases == {"pending", "running", "failed" if fail_rate else "succeeded"}


@pytest.mark.parametrize(("phase", "word"), [(p, w) for p, group in KNOWN.items() for w in group])
def test_the_wrapper_reads_every_documented_status_word(phase: str, word: str) -> None:
    """For each word of x-known-values, the wrapper's Task is in that word's phase: done for
    succeeded and failed words, a success only for succeeded words."""
    body: dict[str, Any] = json.loads(json.dumps(PAGE_202))
    body["task_info"]["status"] = word
    if phase == "succeeded":
        body["videos"] = ["https://v.example/1.mp4"]
    if phase == "failed":
        body["task_info"]["error"] = {"code": 3001, "title": "t", "detail": "d"}
    with respx.mock(base_url=BASE) as api:
        api.get(f"{CREATE_PATH}/{TASK_ID}").respond(200, json=body)
        task = wan_i2v.Client(api_key="k").get(TASK_ID)
    assert task.phase.value == phase
    assert task.is_done is (phase in ("succeeded", "failed"))
    assert task.is_success is (phase == "succeeded")


def boundary_values() -> list[tuple[str, Any]]:
    """Every valid extreme the spec states: each bound, each enum member and const, and the
    longest string, in characters that take several bytes (lengths count code points)."""
    out: list[tuple[str, Any]] = []
    for name, prop in PROPS.items():
        for key in ("minimum", "maximum"):
            if key in prop:
                out.append((name, prop[key]))
        out += [(name, member) for member in prop.get("enum", [])]
        if "const" in prop:
            out.append((name, prop["const"]))
        if "maxLength" in prop:
            out.append((name, "花" * prop["maxLength"]))
            out.append((name, "🎬" * prop["maxLength"]))  # outside the BMP: 2 UTF-16 units
    return out


@pytest.mark.parametrize(("field", "value"), boundary_values(), ids=repr)
def test_valid_boundary_values_go_through_the_wrapper_unchanged(field: str, value: Any) -> None:
    """Each spec boundary, passed to create(): sent once, the value unchanged on the wire."""
    kwargs: dict[str, Any] = {"prompt": "p", "image": URL, field: value}
    with respx.mock(base_url=BASE) as api:
        route = api.post(CREATE_PATH).respond(202, json=PAGE_202)
        wan_i2v.Client(api_key="k", max_retries=0).create(**kwargs)
    assert route.call_count == 1
    sent = json.loads(route.calls.last.request.content)
    assert sent[field] == value
    assert type(sent[field]) is type(value)


def test_the_boundaries_cover_every_bound_of_the_spec() -> None:
    """The list above is derived from the spec: every field with a bound, enum, const or
    maxLength appears in it."""
    constrained = {n for n, p in PROPS.items()
                   if {"minimum", "maximum", "enum", "const", "maxLength"} & p.keys()}  # fmt: skip
    assert {f for f, _ in boundary_values()} == constrained
    assert ("seed", 2147483647) in boundary_values()


@pytest.mark.parametrize(("fmt", "mime"), [("JPEG", "image/jpeg"), ("PNG", "image/png")])
def test_a_local_image_is_sent_as_a_data_uri(fmt: str, mime: str) -> None:
    """Image bytes go out as data:<mime>;base64,<the same bytes> (D7), never bare base64."""
    buffer = io.BytesIO()
    Image.new("RGB", (400, 400), (10, 200, 30)).save(buffer, format=fmt)
    data = buffer.getvalue()
    with respx.mock(base_url=BASE) as api:
        route = api.post(CREATE_PATH).respond(202, json=PAGE_202)
        wan_i2v.Client(api_key="k").create(image=data, prompt="p")
    sent = json.loads(route.calls.last.request.content)["image"]
    prefix = f"data:{mime};base64,"
    assert sent.startswith(prefix)
    assert base64.b64decode(sent.removeprefix(prefix), validate=True) == data
