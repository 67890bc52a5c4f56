"""Every documented constraint of the create request, one checker per field.

Each checker returns the value to send or raises ``ValidationError``; _request.py applies
them to the declared fields. The limits come from _constants, which tests/test_constants.py
holds to spec/openapi.yaml. A field without a checker of its own (a new optional field) is
checked by its declared type (``check_type``).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from typing import Any

from ._constants import (
    DURATIONS,
    NEGATIVE_PROMPT_MAX_CHARS,
    PROMPT_MAX_CHARS,
    RESOLUTIONS,
    SEED_MAX,
    SEED_MIN,
)
from ._errors import ValidationError
from ._images import encode_image


def _text(field: str, value: object, limit: int, *, required: bool = False) -> str:
    if not isinstance(value, str):
        raise ValidationError(field=field, problem=f"must be a str, got {type(value).__name__}")
    if required and not value.strip():
        # The API says `prompt` is required; an empty or blank one can only be a mistake.
        raise ValidationError(field=field, problem="must not be empty or only whitespace")
    # The page's "characters" are Unicode code points, which is what len() counts (D5).
    if len(value) > limit:
        raise ValidationError(
            field=field,
            problem=f"is {len(value)} characters long; the maximum is {limit} characters",
        )
    return value


def _resolution(value: object) -> str:
    if isinstance(value, str):
        # "1080p" can only mean "1080P": normalise the case rather than fail (D1).
        for allowed in RESOLUTIONS:
            if value.strip().upper() == allowed:
                return allowed
    allowed_list = ", ".join(repr(r) for r in RESOLUTIONS)
    flash = isinstance(value, str) and value.strip().upper() == "720P"
    hint = " (720P belongs to wan2.2-i2v-flash, not to this model)" if flash else ""
    raise ValidationError(
        field="resolution", problem=f"{value!r} is not one of {allowed_list}{hint}"
    )


def _duration(value: object) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value not in DURATIONS:
        allowed = ", ".join(str(d) for d in DURATIONS)
        raise ValidationError(
            field="duration", problem=f"must be {allowed} (seconds; the only value), got {value!r}"
        )


def _seed(value: object) -> None:
    if value is None:
        return
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValidationError(field="seed", problem=f"must be an int, got {value!r}")
    if not SEED_MIN <= value <= SEED_MAX:
        raise ValidationError(
            field="seed", problem=f"{value} is outside the range [{SEED_MIN}, {SEED_MAX}]"
        )


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


def _prompt(value: object) -> str:
    return _text("prompt", value, PROMPT_MAX_CHARS, required=True)


def _negative_prompt(value: object) -> str:
    return _text("negative_prompt", value, NEGATIVE_PROMPT_MAX_CHARS)


def _checked_duration(value: object) -> int:
    _duration(value)
    assert isinstance(value, int)
    return value


def _checked_seed(value: object) -> int:
    _seed(value)
    assert isinstance(value, int)
    return value


def _image(field: str) -> Callable[[Any], str]:
    return lambda value: encode_image(value, field=field)


def check_type(field: str, value: object, expected: type) -> object:
    """The check of a field declared without a checker of its own: its type, strictly
    (a bool is not an int, an int is not a bool)."""
    ok = isinstance(value, expected) and not (expected is int and isinstance(value, bool))
    if not ok and expected is bool:
        raise ValidationError(field=field, problem=f"must be True or False, got {value!r}")
    if not ok:
        raise ValidationError(
            field=field, problem=f"must be {expected.__name__}, got {type(value).__name__}"
        )
    return value


# The fields with documented constraints of their own. Cheap checks first: the images, the
# expensive ones, are checked last (see _request.IMAGE_FIELDS).
CHECKS: dict[str, Callable[[Any], object]] = {
    "prompt": _prompt,
    "negative_prompt": _negative_prompt,
    "resolution": _resolution,
    "duration": _checked_duration,
    "seed": _checked_seed,
    "image": _image("image"),
    "last_frame": _image("last_frame"),
}
