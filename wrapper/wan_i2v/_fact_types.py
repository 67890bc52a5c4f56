"""The shapes of the spec's facts: what ``_spec_facts.py`` (generated) is made of.

``scripts/generate_facts.py`` reads spec/openapi.yaml and writes ``_spec_facts.py`` as
instances of these classes, so ``import wan_i2v`` parses no YAML. The shapes are ours and
stable; the values are the spec's and are never typed out by hand anywhere else.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import BinaryIO, Literal, TypeAlias

# What the wrapper accepts for an image field: the spec says "a URL or a data URI"; the
# wrapper adds paths, bytes and file objects, which it reads, checks and encodes.
ImageInput: TypeAlias = str | os.PathLike[str] | bytes | bytearray | memoryview | BinaryIO
"""Anything an image field accepts: an http(s) URL or a data URI (as a str), a path (a str that
is neither, or any os.PathLike), the image bytes, or a binary file object."""

JsonType = Literal["string", "integer", "number", "boolean"]


@dataclass(frozen=True, slots=True)
class ImageRules:
    """The spec's ``x-image-*`` requirements of one image field."""

    formats: tuple[str, ...]
    min_side: int
    max_side: int
    max_bytes: int


@dataclass(frozen=True, slots=True)
class FieldFact:
    """One property of the create request, as the spec states it.

    Attributes:
        name: the JSON name.
        type: the JSON Schema type.
        required: listed in the schema's ``required``.
        description: the spec's description ('' when it has none).
        default: the spec's ``default`` (or its ``const``), else None.
        choices: the ``enum`` (or the ``const`` as a one-value enum), else ().
        minimum, maximum: inclusive bounds of a number, else None.
        max_length: ``maxLength`` of a string, in code points, else None.
        image: the ``x-image-*`` rules when the field is an image, else None.
    """

    name: str
    type: JsonType
    required: bool = False
    description: str = ""
    default: object = None
    choices: tuple[object, ...] = ()
    minimum: int | float | None = None
    maximum: int | float | None = None
    max_length: int | None = None
    image: ImageRules | None = None
