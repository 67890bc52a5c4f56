"""Request checks against spec/openapi.yaml itself: no second copy of any schema."""

from __future__ import annotations

import base64
import binascii
import functools
from typing import Any

import jsonschema

from .._spec import load_spec


@functools.cache
def request_validator() -> jsonschema.Draft202012Validator:
    """A validator of the create body; `$ref`s resolve inside the embedded spec components."""
    spec = load_spec()
    schema = {
        "$ref": "#/components/schemas/CreateGenerationTaskRequest",
        "components": spec["components"],
    }
    return jsonschema.Draft202012Validator(schema)


def request_problem(body: Any) -> tuple[str, str] | None:
    """(field, message) of the first way ``body`` breaks the spec, or None if it is valid."""
    errors = sorted(request_validator().iter_errors(body), key=lambda e: list(e.absolute_path))
    if errors:
        error = errors[0]
        if error.absolute_path:
            field = str(error.absolute_path[0])
        elif error.validator == "required":
            field = str(error.message).split("'")[1]
        else:
            field = "body"
        return field, f"{field}: {error.message}"
    for field in ("image", "last_frame"):
        value = body.get(field)
        if isinstance(value, str) and value.startswith("data:") and decode_data_uri(value) is None:
            return field, f"{field}: the data URI is not valid base64"
    return None


def decode_data_uri(value: str) -> bytes | None:
    """The bytes of a ``data:<mime>;base64,<data>`` URI, or None if it is malformed."""
    head, sep, payload = value.partition(",")
    if not sep or not head.lower().endswith(";base64"):
        return None
    try:
        return base64.b64decode(payload, validate=True)
    except (binascii.Error, ValueError):
        return None
