"""Request checks against spec/openapi.yaml itself: no second copy of any schema.

Every violation is reported, not only the first, and hostile JSON (nested past the
interpreter's recursion limit, integers past its int-to-str limit, NaN) is a 400, never a 500.
"""

from __future__ import annotations

import functools
import json
import sys
from typing import Any, Self

import jsonschema

from .._spec import load_spec
from ._refusal import Problem

SHOWN_VALUE_CHARS = 60  # a value quoted in a message is cut to this


class BodyError(ValueError):
    """The body is not JSON the sandbox can read; ``problem`` says why."""

    def __init__(self, problem: Problem) -> None:
        super().__init__(f"{problem.field}: {problem.message}")
        self.problem = problem


class _HugeInteger(float):
    """An integer too long for ``int()`` (more digits than ``sys.get_int_max_str_digits``).

    It stands in for the value so that the schema names the field ("seed: an integer of
    5000 digits is greater than the maximum ..."), instead of failing the whole parse.
    """

    digits: int

    def __new__(cls, text: str) -> Self:
        value = super().__new__(cls, "-inf" if text.startswith("-") else "inf")
        value.digits = len(text.lstrip("-"))
        return value

    def is_integer(self) -> bool:
        return True

    def __repr__(self) -> str:
        return f"an integer of {self.digits} digits"


def _parse_int(text: str) -> int | float:
    limit = sys.get_int_max_str_digits()
    return _HugeInteger(text) if limit and len(text.lstrip("-")) > limit else int(text)


def _refuse_constant(name: str) -> Any:
    raise BodyError(Problem("body", f"{name} is not JSON"))


def parse_body(raw: bytes) -> Any:
    """The JSON value of a request body; raises BodyError when there is none."""
    try:
        text = raw.decode("utf-8")  # RFC 8259: JSON exchanged between systems is UTF-8
    except UnicodeDecodeError as exc:
        raise BodyError(Problem("body", f"not UTF-8 (byte {exc.start})")) from None
    try:
        return json.loads(text, parse_int=_parse_int, parse_constant=_refuse_constant)
    except json.JSONDecodeError as exc:
        problem = Problem(
            "body", f"not valid JSON ({exc.msg}, line {exc.lineno} column {exc.colno})"
        )
        raise BodyError(problem) from None
    except RecursionError:
        raise BodyError(Problem("body", "nested too deeply")) from None


@functools.cache
def request_validator() -> jsonschema.Draft202012Validator:
    """A validator of the create body; `$ref`s resolve inside the embedded spec components."""
    spec = load_spec()
    schema = {
        "$ref": "#/components/schemas/CreateGenerationTaskRequest",
        "components": spec["components"],
    }
    return jsonschema.Draft202012Validator(schema)


def request_problems(body: Any) -> list[Problem]:
    """Every way ``body`` breaks the spec's create schema, in field order; [] if it is valid."""
    try:
        errors = sorted(
            request_validator().iter_errors(body),
            key=lambda e: ([str(p) for p in e.absolute_path], str(e.validator)),
        )
        return [Problem(_field(error), _message(error)) for error in errors]
    except RecursionError:  # a value nested almost to the limit, then walked or quoted
        return [Problem("body", "nested too deeply")]


def _field(error: jsonschema.ValidationError) -> str:
    """The top-level field an error is in; a missing required property is its own field."""
    if error.absolute_path:
        return str(error.absolute_path[0])
    if error.validator == "required" and isinstance(error.validator_value, list):
        for name in error.validator_value:
            if isinstance(name, str) and error.message.startswith(repr(name)):
                return name
    return "body"


def _message(error: jsonschema.ValidationError) -> str:
    """jsonschema's message, with a long quoted value cut short."""
    if error.validator == "required":
        return "is required"
    message = str(error.message)
    shown = repr(error.instance)
    if len(shown) > SHOWN_VALUE_CHARS and message.startswith(shown):
        cut = shown[: SHOWN_VALUE_CHARS - 3] + "..."
        if isinstance(error.instance, str | list | dict):
            cut += f" (length {len(error.instance)})"
        message = cut + message[len(shown) :]
    return message
