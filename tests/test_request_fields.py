"""The create fields are declared once (wan_i2v._request.CreateFields): the spec, that
declaration, create() and generate() of both clients and the command line's options agree.

Adding a field to the spec then costs a regeneration (the declaration's spec part, SpecFields,
is generated: tests/test_derived_facts.py shows a new field followed everywhere); each test
here fails when a field reaches one of them only."""

from __future__ import annotations

import inspect
import typing
from typing import Any

import click
import pytest
import respx
from conftest import BASE, CREATE_PATH, task_json

import wan_i2v
from wan_i2v._generated.api.generation import create_generation_task
from wan_i2v._generated.models.create_generation_task_request import (
    CreateGenerationTaskRequest,
)
from wan_i2v._request import FIELDS, CreateFields, build_create_request
from wan_i2v._spec import load_spec
from wan_i2v.cli._commands import check, generate

URL = "https://example.com/flower.jpg"


def spec_fields() -> dict[str, Any]:
    schema = load_spec()["components"]["schemas"]["CreateGenerationTaskRequest"]
    return {"properties": schema["properties"], "required": set(schema["required"])}


def test_the_declaration_is_the_spec() -> None:
    """Every field of the spec is declared (and nothing else but extra_body), required
    where the spec requires it, with the spec's default."""
    spec = spec_fields()
    sent = {name for name in FIELDS if name != "extra_body"}
    assert sent == set(spec["properties"])
    assert {n for n, info in FIELDS.items() if info.required} == spec["required"]
    for name, prop in spec["properties"].items():
        if "default" in prop:
            assert FIELDS[name].field.default == prop["default"], name
        if "enum" in prop:
            assert list(FIELDS[name].choices) == prop["enum"], name


def test_the_generated_model_knows_every_declared_field() -> None:
    """The regenerated model has an attribute for each declared field (spec -> generate ->
    wrapper ran in that order)."""
    model_fields = set(inspect.signature(CreateGenerationTaskRequest).parameters)
    assert {name for name in FIELDS if name != "extra_body"} <= model_fields


@pytest.mark.parametrize(
    "method",
    [
        wan_i2v.Client.create,
        wan_i2v.Client.generate,
        wan_i2v.AsyncClient.create,
        wan_i2v.AsyncClient.generate,
    ],
    ids=["Client.create", "Client.generate", "AsyncClient.create", "AsyncClient.generate"],
)
def test_create_and_generate_take_exactly_the_declared_fields(method: Any) -> None:
    """create() and generate() take the fields as **fields: Unpack[CreateFields], so they
    cannot list a field of their own, nor miss one."""
    hints = typing.get_type_hints(method)
    assert hints["fields"] == typing.Unpack[CreateFields]
    named = set(inspect.signature(method).parameters) - {"self", "fields"}
    assert not named & set(FIELDS), "a create field is also a named parameter"


@pytest.mark.parametrize("command", [generate, check], ids=["generate", "check"])
def test_the_command_line_offers_every_declared_field(command: click.Command) -> None:
    """generate and check offer exactly the fields declared for the command line."""
    offered = {p.name for p in command.params} & set(FIELDS)
    assert offered == {name for name, info in FIELDS.items() if info.field.cli}
    for param in command.params:
        if param.name in FIELDS and FIELDS[param.name].type is bool:
            assert isinstance(param, click.Option)
            assert param.secondary_opts, f"{param.name}: a bool needs --x/--no-x"


def test_safety_filter_is_sent_only_when_given(api: respx.MockRouter) -> None:
    """safety_filter (a field the spec gained) goes out as given, and not at all otherwise."""
    route = api.post(CREATE_PATH).respond(202, json=task_json())
    with wan_i2v.Client(api_key="k", base_url=BASE) as client:
        client.create(image=URL, prompt="p", safety_filter=False)
        client.create(image=URL, prompt="p")
    first, second = (call.request.content for call in route.calls)
    assert b'"safety_filter":false' in first
    assert b"safety_filter" not in second


@pytest.mark.parametrize("value", ["yes", 1, 0])
def test_safety_filter_must_be_a_bool(value: object) -> None:
    """A declared field without a checker of its own is checked by its declared type."""
    with pytest.raises(wan_i2v.ValidationError, match="safety_filter"):
        build_create_request({"image": URL, "prompt": "p", "safety_filter": value})


def test_missing_and_unknown_fields_are_type_errors() -> None:
    """As for any Python call: a missing required field or an unknown one is a TypeError."""
    with pytest.raises(TypeError, match="image"):
        build_create_request({"prompt": "p"})
    with pytest.raises(TypeError, match="safety_filtr"):
        build_create_request({"image": URL, "prompt": "p", "safety_filtr": True})


def test_the_generated_request_builder_is_there() -> None:
    """The wrapper builds requests with the generated module's _get_kwargs (D14)."""
    body = build_create_request({"image": URL, "prompt": "p"})
    kwargs = create_generation_task._get_kwargs(body=body)
    assert kwargs["method"] == "post"
    assert kwargs["json"]["prompt"] == "p"
