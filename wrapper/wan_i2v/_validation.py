"""Every documented constraint of the create request, checked from the spec's facts.

One checker serves every field: its type, enum (or const), bounds and length come from
``_spec_facts.CREATE_FIELDS`` (generated from spec/openapi.yaml), and an image field
(``x-image-*``) is read and checked by ``_images``. A field added to the spec with such
constraints is checked with no edit here. What the spec cannot say lives below as hand
declarations, each with its reason: ``HINTS`` (a word that belongs to another model) and the
decisions D1 (enum words compared without case) and D5 (length in code points).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any, Final

from ._errors import ValidationError
from ._fact_types import FieldFact
from ._images import encode_image

# A value that is wrong here but right for a sibling model: say so (D1).
HINTS: Final[dict[tuple[str, object], str]] = {
    ("resolution", "720P"): "720P belongs to wan2.2-i2v-flash, not to this model",
}
_TYPE_WORDS: Final = {
    "string": "a str",
    "integer": "an int",
    "number": "a number",
    "boolean": "True or False",
}


def check_field(fact: FieldFact, value: object) -> object:
    """The value to send for one field, or ``ValidationError`` naming it and the limit."""
    if fact.image is not None:
        return encode_image(value, field=fact.name)  # type: ignore[arg-type]
    value = _typed(fact, value)
    if fact.choices:
        return _choice(fact, value)
    if isinstance(value, str):
        _text(fact, value)
    elif isinstance(value, int | float) and not isinstance(value, bool):
        _bounds(fact, value)
    return value


def _typed(fact: FieldFact, value: object) -> object:
    ok = {
        "string": isinstance(value, str),
        "integer": isinstance(value, int) and not isinstance(value, bool),
        "number": isinstance(value, int | float) and not isinstance(value, bool),
        "boolean": isinstance(value, bool),
    }[fact.type]
    if ok:
        return value
    if fact.choices:  # "must be 5" says more than "must be an int"
        _choice(fact, value)
    got = repr(value) if fact.type in ("boolean", "integer") else type(value).__name__
    raise ValidationError(field=fact.name, problem=f"must be {_TYPE_WORDS[fact.type]}, got {got}")


def _choice(fact: FieldFact, value: object) -> object:
    if isinstance(value, str):
        # "1080p" can only mean "1080P": enum words are compared without case (D1).
        for allowed in fact.choices:
            if isinstance(allowed, str) and value.strip().upper() == allowed.upper():
                return allowed
    elif not isinstance(value, bool) and any(
        value == c and type(value) is type(c) for c in fact.choices
    ):
        return value
    if len(fact.choices) == 1:
        problem = f"must be {fact.choices[0]!r} (the only value), got {value!r}"
    else:
        problem = f"{value!r} is not one of {', '.join(repr(c) for c in fact.choices)}"
    hint = HINTS.get((fact.name, value.strip().upper() if isinstance(value, str) else value))
    raise ValidationError(field=fact.name, problem=problem + (f" ({hint})" if hint else ""))


def _text(fact: FieldFact, value: str) -> None:
    if fact.required and not value.strip():
        # The API says it is required; an empty or blank one can only be a mistake.
        raise ValidationError(field=fact.name, problem="must not be empty or only whitespace")
    # The page's "characters" are Unicode code points, which is what len() counts (D5).
    if fact.max_length is not None and len(value) > fact.max_length:
        raise ValidationError(
            field=fact.name,
            problem=f"is {len(value)} characters long; the maximum is {fact.max_length} characters",
        )


def _bounds(fact: FieldFact, value: float) -> None:
    low, high = fact.minimum, fact.maximum
    if (low is None or value >= low) and (high is None or value <= high):
        return
    if low is not None and high is not None:
        problem = f"{value} is outside the range [{low}, {high}]"
    elif low is not None:
        problem = f"{value} is below the minimum of {low}"
    else:
        problem = f"{value} is above the maximum of {high}"
    raise ValidationError(field=fact.name, problem=problem)


def describe_constraints(fact: FieldFact) -> str:
    """The field's constraints in a few words, for help texts ('' when it has none)."""
    if fact.choices:
        return "one of " + ", ".join(str(c) for c in fact.choices)
    if fact.max_length is not None:
        return f"at most {fact.max_length} characters"
    if fact.minimum is not None and fact.maximum is not None:
        return f"{fact.type} in [{fact.minimum}, {fact.maximum}]"
    if fact.minimum is not None:
        return f"{fact.type} >= {fact.minimum}"
    if fact.maximum is not None:
        return f"{fact.type} <= {fact.maximum}"
    return ""


def extra_body(extra: Mapping[str, Any] | None, known: frozenset[str]) -> dict[str, Any]:
    """Fields the spec does not know yet, sent unchecked; never a documented one."""
    if extra is None:
        return {}
    if not isinstance(extra, Mapping):
        raise ValidationError(field="extra_body", problem="must be a mapping of field names")
    for key in extra:
        if not isinstance(key, str):
            raise ValidationError(field="extra_body", problem=f"key {key!r} is not a str")
        if key in known:
            # A documented field must go through its checked argument, never around it.
            raise ValidationError(
                field="extra_body",
                problem=f"{key!r} is a documented field: pass it as the `{key}` argument",
            )
    try:
        json.dumps(dict(extra), allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise ValidationError(
            field="extra_body", problem=f"is not JSON-serialisable: {exc}"
        ) from exc
    return dict(extra)
