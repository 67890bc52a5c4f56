"""Every documented constraint of the create request, checked before anything is sent.

One function serves the sync and the async client. The limits come from _constants, which
tests/test_constants.py holds to spec/openapi.yaml.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from wan_i2v._generated.models.create_generation_task_request import CreateGenerationTaskRequest

from ._constants import (
    DURATIONS,
    NEGATIVE_PROMPT_MAX_CHARS,
    PROMPT_MAX_CHARS,
    REQUEST_FIELDS,
    RESOLUTIONS,
    SEED_MAX,
    SEED_MIN,
)
from ._errors import ValidationError
from ._images import ImageInput, encode_image


def build_create_request(
    *,
    image: ImageInput,
    prompt: str,
    negative_prompt: str | None,
    resolution: str,
    duration: int,
    prompt_extend: bool,
    seed: int | None,
    last_frame: ImageInput | None,
    extra_body: Mapping[str, Any] | None,
) -> CreateGenerationTaskRequest:
    """Check every field and return the generated request model, ready to send.

    The cheap checks run first, so a bad prompt is reported before a 10 MB image is read.

    Raises:
        ValidationError: naming the field, what is wrong and the limit.
    """
    checked_prompt = _text("prompt", prompt, PROMPT_MAX_CHARS, required=True)
    checked_negative = (
        None
        if negative_prompt is None
        else _text("negative_prompt", negative_prompt, NEGATIVE_PROMPT_MAX_CHARS)
    )
    checked_resolution = _resolution(resolution)
    _duration(duration)
    if not isinstance(prompt_extend, bool):
        raise ValidationError(
            field="prompt_extend", problem=f"must be True or False, got {prompt_extend!r}"
        )
    _seed(seed)
    extra = _extra_body(extra_body)

    body = CreateGenerationTaskRequest(
        prompt=checked_prompt,
        image=encode_image(image, field="image"),
        resolution=checked_resolution,  # type: ignore[arg-type]  # checked against the enum
        duration=5,
        prompt_extend=prompt_extend,
    )
    if checked_negative is not None:
        body.negative_prompt = checked_negative
    if seed is not None:
        body.seed = seed
    if last_frame is not None:
        body.last_frame = encode_image(last_frame, field="last_frame")
    body.additional_properties.update(extra)
    return body


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


def _extra_body(extra: Mapping[str, Any] | None) -> dict[str, Any]:
    """Fields the spec does not know (e.g. ``safety_filter``), sent unchecked (D3)."""
    if extra is None:
        return {}
    if not isinstance(extra, Mapping):
        raise ValidationError(field="extra_body", problem="must be a mapping of field names")
    for key in extra:
        if not isinstance(key, str):
            raise ValidationError(field="extra_body", problem=f"key {key!r} is not a str")
        if key in REQUEST_FIELDS:
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
