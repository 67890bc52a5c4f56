"""The create request's fields, declared once.

``CreateFields`` is the one declaration that ``create()``, ``generate()`` (both clients), the
command line's options and ``check`` derive from: a field added here (after the spec and a
regeneration) is accepted, checked, sent and offered on the command line with no other edit.
``tests/test_request_fields.py`` holds the spec, this declaration, the methods and the options
together.
"""

from __future__ import annotations

import types
import typing
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Annotated, Any, Literal, NotRequired, Required, TypedDict

from wan_i2v._generated.models.create_generation_task_request import CreateGenerationTaskRequest

from ._constants import NEGATIVE_PROMPT_MAX_CHARS, PROMPT_MAX_CHARS, SEED_MAX, SEED_MIN
from ._errors import ValidationError
from ._images import ImageInput
from ._validation import CHECKS, check_type, extra_body

Resolution = Literal["480P", "1080P"]


@dataclass(frozen=True, slots=True)
class Field:
    """What the wrapper says about one request field, beyond its type.

    Attributes:
        help: one line for the command line's help.
        default: what is sent when the caller gives nothing (None: the field is left out).
        cli: the command line offers it (``duration`` has one value; ``extra_body`` is for code).
    """

    help: str
    default: object = None
    cli: bool = True


class CreateFields(TypedDict, total=False):
    """The fields of a create request, as ``create(**fields)`` and ``generate(**fields)`` take
    them. Optional fields given as None are not sent."""

    image: Required[
        Annotated[ImageInput, Field("The first frame: a path, bytes, a file, a URL or a data URI.")]
    ]
    prompt: Required[
        Annotated[str, Field(f"What should happen (max {PROMPT_MAX_CHARS} characters).")]
    ]
    negative_prompt: NotRequired[
        Annotated[str | None, Field(f"What to avoid (max {NEGATIVE_PROMPT_MAX_CHARS} characters).")]
    ]
    resolution: NotRequired[Annotated[Resolution, Field("480P or 1080P.", default="1080P")]]
    duration: NotRequired[Annotated[Literal[5], Field("Seconds (always 5).", default=5, cli=False)]]
    prompt_extend: NotRequired[
        Annotated[bool, Field("Let the API rewrite the prompt (on by default).", default=True)]
    ]
    seed: NotRequired[Annotated[int | None, Field(f"Random seed in [{SEED_MIN}, {SEED_MAX}].")]]
    last_frame: NotRequired[
        Annotated[ImageInput | None, Field("An image for the last frame (path or URL).")]
    ]
    safety_filter: NotRequired[
        Annotated[bool | None, Field("Ask the API to filter unsafe content (sent only if given).")]
    ]
    extra_body: NotRequired[
        Annotated[
            Mapping[str, Any] | None,
            Field("Fields the spec does not know yet, sent unchecked.", cli=False),
        ]
    ]


@dataclass(frozen=True, slots=True)
class FieldInfo:
    """One declared field, read off ``CreateFields``."""

    name: str
    type: Any  # the annotation without Required/Annotated/None
    required: bool
    optional: bool  # None is accepted, and means "not sent"
    field: Field

    @property
    def choices(self) -> tuple[Any, ...]:
        """The values of a Literal-typed field, else ()."""
        return typing.get_args(self.type) if typing.get_origin(self.type) is Literal else ()


def _read_fields() -> dict[str, FieldInfo]:
    hints = typing.get_type_hints(CreateFields, include_extras=True)
    infos: dict[str, FieldInfo] = {}
    for name, hint in hints.items():
        # Read Required off the hint: with postponed annotations, __required_keys__ is wrong.
        required = typing.get_origin(hint) is Required
        while typing.get_origin(hint) in (Required, NotRequired):
            (hint,) = typing.get_args(hint)
        base, *meta = typing.get_args(hint)
        (field,) = (m for m in meta if isinstance(m, Field))
        infos[name] = FieldInfo(
            name=name,
            type=_without_none(base),
            required=required,
            optional=type(None) in typing.get_args(base),
            field=field,
        )
    return infos


def _without_none(annotation: Any) -> Any:
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(annotation) if a is not type(None)]
        return args[0] if len(args) == 1 else typing.Union[tuple(args)]  # noqa: UP007
    return annotation


FIELDS: dict[str, FieldInfo] = _read_fields()
# The image fields are read and checked last: a bad prompt is reported before a 10 MB file is read.
IMAGE_FIELDS = ("image", "last_frame")
_SENT_FIELDS = frozenset(FIELDS) - {"extra_body"}


def build_create_request(fields: Mapping[str, Any]) -> CreateGenerationTaskRequest:
    """Check every field and return the generated request model, ready to send.

    Raises:
        TypeError: a required field is missing or an unknown one is given, as for any call.
        ValidationError: naming the field, what is wrong and the limit; nothing was sent.
    """
    unknown = sorted(set(fields) - set(FIELDS))
    if unknown:
        raise TypeError(
            f"unexpected field {unknown[0]!r} (fields the spec does not know go in extra_body)"
        )
    missing = [name for name, info in FIELDS.items() if info.required and name not in fields]
    if missing:
        raise TypeError(f"missing required field {missing[0]!r}")
    order = sorted(FIELDS, key=lambda name: name in IMAGE_FIELDS)
    body: dict[str, Any] = {}
    for name in order:
        info = FIELDS[name]
        value = fields.get(name, info.field.default)
        if name == "extra_body" or (value is None and (info.optional or name not in fields)):
            continue
        check = CHECKS.get(name)
        body[name] = check(value) if check else _check_declared(info, value)
    request = CreateGenerationTaskRequest.from_dict(body)
    request.additional_properties.update(extra_body(fields.get("extra_body"), _SENT_FIELDS))
    return request


def _check_declared(info: FieldInfo, value: object) -> object:
    if info.choices:
        if value not in info.choices:
            allowed = ", ".join(repr(c) for c in info.choices)
            raise ValidationError(field=info.name, problem=f"{value!r} is not one of {allowed}")
        return value
    base = info.type if isinstance(info.type, type) else object
    return check_type(info.name, value, base)
