"""What the sandbox takes from the spec it loads: paths, status words, image rules, body cap.

Nothing here is typed out a second time: when spec/openapi.yaml changes, the sandbox follows.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass
from typing import Any

from .._spec import load_spec, operation
from .._spec_facts import CREATE_OPERATION, GET_OPERATION, Phase

__all__ = ["CREATE_OPERATION", "GET_OPERATION", "PHASES", "operation_path"]

# The phases a task moves through (the spec's x-known-values keys; "unknown" is the client's).
PHASES = tuple(phase.value for phase in Phase if phase is not Phase.UNKNOWN)
# Room beside the images for the prompts, the data URI heads, the JSON punctuation and
# unknown fields (the request schema allows them).
BODY_SLACK_BYTES = 1 << 20


@dataclass(frozen=True)
class ImageRules:
    """The requirements the spec states for one image field (its ``x-image-*`` keys)."""

    formats: frozenset[str]
    min_side: int
    max_side: int
    max_bytes: int


def _request_properties() -> dict[str, Any]:
    properties: dict[str, Any] = load_spec()["components"]["schemas"][
        "CreateGenerationTaskRequest"
    ]["properties"]
    return properties


def request_default(name: str) -> str:
    """The spec's default of a create field (``resolution``: the tier when none is asked)."""
    return str(_request_properties()[name]["default"])


def operation_path(operation_id: str) -> str:
    """The path of the operation with this ``operationId`` in the spec the sandbox serves."""
    path, _, _ = operation(load_spec(), operation_id)
    return path


@functools.cache
def vocabularies() -> dict[str, dict[str, str]]:
    """Status word per phase for the two vocabularies, from ``TaskInfo.status``'s
    ``x-known-values``: "classic" takes each phase's first word, "new" its second (or its
    only one: ``failed`` is the same in both)."""
    known = load_spec()["components"]["schemas"]["TaskInfo"]["properties"]["status"][
        "x-known-values"
    ]
    if missing := [phase for phase in PHASES if not known.get(phase)]:
        raise LookupError(f"the spec's TaskInfo.status names no word for {missing}")
    return {
        "classic": {phase: str(known[phase][0]) for phase in PHASES},
        "new": {phase: str(known[phase][min(1, len(known[phase]) - 1)]) for phase in PHASES},
    }


@functools.cache
def image_rules() -> dict[str, ImageRules]:
    """The image fields of the create body (those with ``x-image-max-bytes``) and their rules."""
    return {
        name: ImageRules(
            formats=frozenset(str(f).lower() for f in schema["x-image-formats"]),
            min_side=int(schema["x-image-min-side"]),
            max_side=int(schema["x-image-max-side"]),
            max_bytes=int(schema["x-image-max-bytes"]),
        )
        for name, schema in _request_properties().items()
        if "x-image-max-bytes" in schema
    }


def _max_body_bytes() -> int:
    """Every image field at its largest, as base64 (4 characters per 3 bytes), plus slack."""
    images = sum(4 * math.ceil(rules.max_bytes / 3) for rules in image_rules().values())
    return images + BODY_SLACK_BYTES


# The largest create body the sandbox reads: two 10,000,000-byte images in base64 (26,666,672
# bytes) plus 1 MiB. Anything longer is refused with 413 before it is read whole.
MAX_BODY_BYTES = _max_body_bytes()
