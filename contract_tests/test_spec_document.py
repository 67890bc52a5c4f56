"""spec/openapi.yaml is valid and holds every constraint the API's documentation states."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest
from openapi_spec_validator import validate

from ._support import (
    CREATE_PATH,
    GET_PATH,
    PAGE_202,
    PAGE_BASIC,
    PAGE_CURL_EXAMPLE,
    PAGE_LAST_FRAME,
    PAGE_NEGATIVE_PROMPT,
    is_valid,
    load_spec,
    validator,
)

_MISSING = object()
REQ = ("components", "schemas", "CreateGenerationTaskRequest")
PROPS = (*REQ, "properties")
INFO = ("components", "schemas", "TaskInfo", "properties")
POST = ("paths", CREATE_PATH, "post")
GET = ("paths", GET_PATH, "get")


@dataclass(frozen=True)
class Rule:
    """One documented fact: the value at ``path`` in the spec (``set``: order-free;
    ``absent``: the key must not exist)."""

    path: tuple[str | int, ...]
    expected: Any = None
    kind: str = "eq"

    def holds(self, spec: dict[str, Any]) -> bool:
        value: Any = spec
        for key in self.path:
            if not isinstance(value, dict | list):
                return self.kind == "absent"
            try:
                value = value[key]  # type: ignore[index]
            except (KeyError, IndexError, TypeError):
                return self.kind == "absent"
        if self.kind == "absent":
            return False
        if self.kind == "set":
            return isinstance(value, list) and set(value) == set(self.expected)
        return bool(value == self.expected and type(value) is type(self.expected))

    def __str__(self) -> str:
        return "/".join(str(p) for p in self.path) + f" {self.kind} {self.expected!r}"


def image_rules(field: str) -> list[Rule]:
    return [
        Rule((*PROPS, field, "type"), "string"),
        Rule((*PROPS, field, "x-image-min-side"), 360),
        Rule((*PROPS, field, "x-image-max-side"), 2000),
        Rule((*PROPS, field, "x-image-max-bytes"), 10_000_000),
        Rule((*PROPS, field, "x-image-formats"), ["jpeg", "png", "bmp", "webp"], "set"),
    ]


def error_rules(op: tuple[str, ...], statuses: list[str]) -> list[Rule]:
    return [Rule((*op, "responses", s, "$ref"), _ref_for(s)) for s in statuses]


def _ref_for(status: str) -> str:
    names = {
        "400": "BadRequest",
        "401": "Unauthorized",
        "402": "PaymentRequired",
        "403": "Forbidden",
        "404": "NotFound",
        "409": "Conflict",
        "422": "UnprocessableEntity",
        "429": "TooManyRequests",
    }
    return f"#/components/responses/{names.get(status, 'ServerError')}"


RULES: list[Rule] = [
    # The create page (primary).
    Rule((*REQ, "required"), ["prompt", "image"], "set"),
    Rule((*PROPS, "prompt", "type"), "string"),
    Rule((*PROPS, "prompt", "maxLength"), 800),
    *image_rules("image"),
    *image_rules("last_frame"),
    Rule((*PROPS, "negative_prompt", "type"), "string"),
    Rule((*PROPS, "negative_prompt", "maxLength"), 500),
    Rule((*PROPS, "resolution", "type"), "string"),
    Rule((*PROPS, "resolution", "enum"), ["480P", "1080P"], "set"),
    Rule((*PROPS, "resolution", "default"), "1080P"),
    Rule((*PROPS, "duration", "type"), "integer"),
    Rule((*PROPS, "duration", "const"), 5),
    Rule((*PROPS, "prompt_extend", "type"), "boolean"),
    Rule((*PROPS, "prompt_extend", "default"), True),
    Rule((*PROPS, "seed", "type"), "integer"),
    Rule((*PROPS, "seed", "minimum"), 0),
    Rule((*PROPS, "seed", "maximum"), 2147483647),
    Rule((*POST, "security"), [{"bearerAuth": []}]),
    Rule(("components", "securitySchemes", "bearerAuth", "type"), "http"),
    Rule(("components", "securitySchemes", "bearerAuth", "scheme"), "bearer"),
    Rule(
        (*POST, "responses", "202", "content", "application/json", "schema", "$ref"),
        "#/components/schemas/TaskResponse",
    ),
    Rule(("components", "schemas", "TaskResponse", "required"), ["task_info"]),
    Rule(
        ("components", "schemas", "TaskInfo", "required"),
        ["id", "status", "created_at", "updated_at"],
        "set",
    ),
    Rule((*INFO, "id", "format"), "uuid"),
    Rule((*INFO, "status", "type"), "string"),
    Rule((*INFO, "status", "enum"), kind="absent"),  # any word must parse (D9)
    Rule((*INFO, "created_at", "format"), "date-time"),
    Rule((*INFO, "updated_at", "format"), "date-time"),
    # Secondary sources (mulerouter-facts.md).
    Rule(("servers", 0, "url"), "https://api.mulerouter.ai"),
    Rule(("servers", 1, "url"), "https://api.mulerun.com"),
    Rule((*GET, "security"), [{"bearerAuth": []}]),
    Rule((*GET, "parameters", 0, "name"), "task_id"),
    Rule((*GET, "parameters", 0, "in"), "path"),
    Rule((*GET, "parameters", 0, "schema", "format"), "uuid"),
    Rule(
        (*GET, "responses", "200", "content", "application/json", "schema", "$ref"),
        "#/components/schemas/TaskResponse",
    ),
    Rule(("components", "schemas", "TaskResponse", "properties", "videos", "type"), "array"),
    Rule(
        ("components", "schemas", "TaskResponse", "properties", "videos", "items", "format"), "uri"
    ),
    Rule((*INFO, "error", "$ref"), "#/components/schemas/TaskError"),
    Rule(("components", "schemas", "TaskError", "properties", "code", "type"), "integer"),
    Rule(("components", "schemas", "TaskError", "properties", "error_code", "type"), "integer"),
    Rule(("components", "schemas", "TaskError", "properties", "title", "type"), "string"),
    Rule(("components", "schemas", "TaskError", "properties", "detail", "type"), "string"),
    *error_rules(
        POST, ["400", "401", "402", "403", "404", "409", "422", "429", "500", "502", "503", "504"]
    ),
    *error_rules(GET, ["400", "401", "403", "404", "429", "500", "502", "503", "504"]),
    Rule(
        ("components", "responses", "TooManyRequests", "headers", "Retry-After", "$ref"),
        "#/components/headers/RetryAfter",
    ),
    # Provenance: what the create page does not say is marked as secondary.
    Rule((*GET, "x-provenance"), "secondary"),
    Rule(("servers", 1, "x-provenance"), "secondary"),
    Rule(("components", "schemas", "TaskError", "x-provenance"), "secondary"),
    Rule(("components", "schemas", "ErrorBody", "x-provenance"), "secondary"),
    Rule(
        ("components", "schemas", "TaskResponse", "properties", "videos", "x-provenance"),
        "secondary",
    ),
    Rule((*PROPS, "last_frame", "x-provenance"), "page example, not in the page body list"),
]


def broken_rules(spec: dict[str, Any]) -> list[str]:
    """Every rule the spec breaks (empty when it keeps them all)."""
    return [str(rule) for rule in RULES if not rule.holds(spec)]


def test_spec_is_a_valid_openapi_document() -> None:
    """openapi-spec-validator accepts the spec as OpenAPI 3.1."""
    spec = load_spec()
    assert spec["openapi"].startswith("3.1")
    validate(spec)


def test_spec_keeps_every_documented_constraint() -> None:
    """The table above, row by row: nothing the documentation states is missing."""
    assert broken_rules(load_spec()) == []


@pytest.mark.parametrize("rule", RULES, ids=str)
def test_deleting_a_constraint_is_caught(rule: Rule) -> None:
    """Removing (or, for 'absent', adding) any one constraint makes the table fail."""
    spec = load_spec()
    parent: Any = spec
    for key in rule.path[:-1]:
        parent = parent[key]
    if rule.kind == "absent":
        parent[rule.path[-1]] = ["pending"]
    else:
        del parent[rule.path[-1]]
    assert str(rule) in broken_rules(spec)


@pytest.mark.parametrize("example", [PAGE_CURL_EXAMPLE, PAGE_BASIC, PAGE_LAST_FRAME])
def test_page_examples_validate(example: dict[str, Any]) -> None:
    """The page's curl example and its first two example bodies are valid requests."""
    validator("CreateGenerationTaskRequest").validate(example)


def test_page_720p_example_does_not_validate() -> None:
    """The page's third example asks for 720P, which is not in the enum (D1): invalid."""
    errors = list(validator("CreateGenerationTaskRequest").iter_errors(PAGE_NEGATIVE_PROMPT))
    assert [list(e.absolute_path) for e in errors] == [["resolution"]]
    assert is_valid("CreateGenerationTaskRequest", {**PAGE_NEGATIVE_PROMPT, "resolution": "1080P"})


def test_page_202_example_validates() -> None:
    """The page's 202 body is a valid TaskResponse, and so are the spec's own examples."""
    validator("TaskResponse").validate(PAGE_202)
    operations = load_spec()["paths"]
    for path, method, status in ((CREATE_PATH, "post", "202"), (GET_PATH, "get", "200")):
        content = operations[path][method]["responses"][status]["content"]["application/json"]
        validator("TaskResponse").validate(content["example"])


@pytest.mark.parametrize(
    ("body", "valid"),
    [
        ({"prompt": "p", "image": "i", "watermark": True}, True),  # D6: unknown fields allowed
        ({"prompt": "花" * 800, "image": "i"}, True),  # D5: code points
        ({"prompt": "花" * 801, "image": "i"}, False),
        ({"prompt": "p", "image": "i", "seed": 2**31}, False),
        ({"prompt": "p", "image": "i", "seed": -1}, False),
        ({"prompt": "p", "image": "i", "duration": 10}, False),
        ({"prompt": "p", "image": "i", "prompt_extend": "yes"}, False),
        ({"prompt": "p"}, False),
    ],
)
def test_decisions_hold_in_the_schema(body: dict[str, Any], valid: bool) -> None:
    """Unknown fields pass, lengths count code points, bounds and types are enforced."""
    assert is_valid("CreateGenerationTaskRequest", body) is valid
