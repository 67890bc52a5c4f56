"""GENERATED from spec/openapi.yaml by scripts/generate_facts.py: do not edit by hand.

The spec's facts as plain Python values (no YAML is parsed at import). Change the spec,
then run `nox -s generate`; `nox -s regen_check` fails when this file is stale.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Final, Literal, NotRequired, Required, TypeAlias, TypedDict

from ._fact_types import FieldFact, ImageInput, ImageRules

CREATE_OPERATION: Final = "create_generation_task"
CREATE_METHOD: Final = "POST"
CREATE_PATH: Final = "/vendors/alibaba/v1/wan2.2-i2v-plus/generation"
CREATE_STATUS: Final = 202
GET_OPERATION: Final = "get_generation_task"
GET_METHOD: Final = "GET"
GET_PATH: Final = (
    "/vendors/alibaba/v1/wan2.2-i2v-plus/generation/{task_id}"  # one path parameter: task_id
)
GET_STATUS: Final = 200

# The create request's properties, in the spec's order.
CREATE_FIELDS: Final[dict[str, FieldFact]] = {
    "prompt": FieldFact(
        name="prompt",
        type="string",
        required=True,
        description="Motion/story description (max 800 characters, counted as code points, D5).",
        max_length=800,
    ),
    "image": FieldFact(
        name="image",
        type="string",
        required=True,
        description="First-frame image: a public URL or Base64 data as a data URI `data:<mime>;base64,<data>` (D7). Formats JPEG/JPG/PNG (no transparency)/BMP/WEBP; width and height each in [360, 2000] pixels; at most 10 MB (D4).",
        image=ImageRules(
            formats=("jpeg", "png", "bmp", "webp"), min_side=360, max_side=2000, max_bytes=10000000
        ),
    ),
    "last_frame": FieldFact(
        name="last_frame",
        type="string",
        required=False,
        description='Optional last-frame image, same forms and requirements as `image` (D2: from the page\'s example and its "Optional first and last frame specification").',
        image=ImageRules(
            formats=("jpeg", "png", "bmp", "webp"), min_side=360, max_side=2000, max_bytes=10000000
        ),
    ),
    "negative_prompt": FieldFact(
        name="negative_prompt",
        type="string",
        required=False,
        description="Negative prompt describing unwanted content (max 500 characters).",
        max_length=500,
    ),
    "resolution": FieldFact(
        name="resolution",
        type="string",
        required=False,
        description="Output resolution tier (D1: `720P` is not one of them).",
        choices=("480P", "1080P"),
        default="1080P",
    ),
    "duration": FieldFact(
        name="duration",
        type="integer",
        required=False,
        description="Video duration in seconds (30 fps). Fixed at 5 seconds.",
        choices=(5,),
        default=5,
    ),
    "prompt_extend": FieldFact(
        name="prompt_extend",
        type="boolean",
        required=False,
        description="Enable intelligent prompt rewriting.",
        default=True,
    ),
    "seed": FieldFact(
        name="seed",
        type="integer",
        required=False,
        description="Random seed [0, 2147483647].",
        minimum=0,
        maximum=2147483647,
    ),
    "safety_filter": FieldFact(
        name="safety_filter",
        type="boolean",
        required=False,
        description='Content safety filtering (D3). The current version of the page shows `"safety_filter": true` in its request; it documents no default, so a client sends it only when the caller gives it.',
    ),
}
IMAGE_FIELDS: Final[tuple[str, ...]] = ("image", "last_frame")

# Status words by phase (TaskInfo.status x-known-values).
STATUS_WORDS: Final[dict[str, tuple[str, ...]]] = {
    "pending": ("pending", "queued"),
    "running": ("processing", "running", "retrying"),
    "succeeded": ("completed", "succeeded"),
    "failed": ("failed",),
}

# Documented error statuses, per operation and together.
ERROR_STATUSES: Final[dict[str, tuple[int, ...]]] = {
    "create_generation_task": (
        400,
        401,
        402,
        403,
        404,
        405,
        409,
        413,
        415,
        422,
        423,
        429,
        451,
        500,
        502,
        503,
        504,
    ),
    "get_generation_task": (400, 401, 403, 404, 405, 423, 429, 451, 500, 502, 503, 504),
}
DOCUMENTED_ERROR_STATUSES: Final[frozenset[int]] = frozenset(
    (400, 401, 402, 403, 404, 405, 409, 413, 415, 422, 423, 429, 451, 500, 502, 503, 504)
)


class Phase(StrEnum):
    """Where a task is, whichever status vocabulary the API used (the phases of
    TaskInfo.status x-known-values; ``UNKNOWN`` is a word nobody documented yet, treated
    as not finished, D9)."""

    PENDING = "pending"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    UNKNOWN = "unknown"


# The type of each enum field, by name (users annotate with them: wan_i2v.Resolution).
Resolution: TypeAlias = Literal["480P", "1080P"]
Duration: TypeAlias = Literal[5]


class SpecFields(TypedDict, total=False):
    """The create request as the spec declares it, typed as callers give it: an image
    field takes anything ``ImageInput`` names; an optional field without a default takes
    None, meaning "not sent"."""

    prompt: Required[str]
    image: Required[ImageInput]
    last_frame: NotRequired[ImageInput | None]
    negative_prompt: NotRequired[str | None]
    resolution: NotRequired[Resolution]
    duration: NotRequired[Duration]
    prompt_extend: NotRequired[bool]
    seed: NotRequired[int | None]
    safety_filter: NotRequired[bool | None]
