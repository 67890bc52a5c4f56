"""The create request's fields: the spec's declaration, plus what only the wrapper knows.

``CreateFields`` is what ``create()``, ``generate()`` (both clients), the command line's
options, ``check`` and the batch manifest derive from. Its spec part, ``SpecFields``, and every
field's type, default, enum, bounds and length are generated from spec/openapi.yaml into
``_spec_facts.py``: for a field whose constraints the spec states, adding it to the spec and
running ``nox -s generate`` is the whole change (validation, type hints and the command-line
option follow). Declared by hand here, because the spec cannot carry them:

- ``extra_body``: fields the spec does not know yet, sent unchecked (D6);
- ``NOT_ON_COMMAND_LINE``: fields the command line does not offer;
- the help text of an image field (the wrapper reads paths, which the API never sees).

``tests/test_request_fields.py`` and ``tests/test_derived_facts.py`` hold them together.
"""

from __future__ import annotations

import re
import types
import typing
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final, Literal, NotRequired

from ._body import StreamedImage
from ._fact_types import FieldFact
from ._images import checked_image
from ._lazy import generated_request_model
from ._spec_facts import CREATE_FIELDS, IMAGE_FIELDS, Resolution, SpecFields
from ._validation import check_field, describe_constraints, extra_body

if TYPE_CHECKING:
    from wan_i2v._generated.models.create_generation_task_request import CreateGenerationTaskRequest

__all__ = ["FIELDS", "IMAGE_FIELDS", "CreateFields", "FieldInfo", "Resolution"]

# extra_body is for code (a mapping); a field with one allowed value is nothing to choose.
NOT_ON_COMMAND_LINE: Final = frozenset({"extra_body"})


class CreateFields(SpecFields, total=False):
    """The fields of a create request, as ``create(**fields)`` and ``generate(**fields)`` take
    them: the spec's (``SpecFields``) and ``extra_body``. Optional fields given as None are not
    sent."""

    extra_body: NotRequired[Mapping[str, Any] | None]


@dataclass(frozen=True, slots=True)
class Field:
    """What the wrapper says about one request field, beyond its type.

    Attributes:
        help: one line for the command line's help.
        default: what is sent when the caller gives nothing (None: the field is left out).
        cli: the command line offers it.
    """

    help: str
    default: object = None
    cli: bool = True


@dataclass(frozen=True, slots=True)
class FieldInfo:
    """One declared field, read off ``CreateFields`` and the spec's facts."""

    name: str
    type: Any  # the annotation without Required/NotRequired/None
    required: bool
    optional: bool  # None is accepted, and means "not sent"
    field: Field
    fact: FieldFact | None  # None for extra_body, which the spec does not declare

    @property
    def choices(self) -> tuple[Any, ...]:
        """The values of a Literal-typed field, else ()."""
        return typing.get_args(self.type) if typing.get_origin(self.type) is Literal else ()


def _help(fact: FieldFact) -> str:
    """One line from the spec's description: its first sentence, decision references
    (``D5``) dropped, the constraints appended when the sentence does not state them."""
    text = re.sub(r"\s*\(D\d+\)|,? D\d+(?=\))|D\d+:\s*", "", fact.description)
    first = re.split(r"(?<=[.!?])\s", text, maxsplit=1)[0].strip()
    if fact.image is not None:
        # The spec speaks of what the API receives; the wrapper reads paths and URLs.
        first = first.split(":")[0].split(",")[0].rstrip(".") + ": a path or an http(s) URL."
    # Choices are shown by the option's metavar; bounds and lengths, unless already said.
    constraints = "" if fact.choices else describe_constraints(fact)
    if constraints and not any(str(n) in first for n in (fact.max_length, fact.maximum) if n):
        first = f"{first.rstrip('.')} ({constraints})." if first else f"{constraints}."
    return first or fact.name.replace("_", " ").capitalize() + "."


def _field(fact: FieldFact | None, name: str) -> Field:
    if fact is None:
        return Field("Fields the spec does not know yet, sent unchecked.", cli=False)
    return Field(
        _help(fact),
        default=fact.default,
        cli=name not in NOT_ON_COMMAND_LINE and len(fact.choices) != 1,
    )


def _read_fields() -> dict[str, FieldInfo]:
    hints = typing.get_type_hints(CreateFields, include_extras=True)
    infos: dict[str, FieldInfo] = {}
    for name, hint in hints.items():
        # Read Required off the hint: with postponed annotations, __required_keys__ is wrong.
        required = typing.get_origin(hint) is typing.Required
        while typing.get_origin(hint) in (typing.Required, NotRequired):
            (hint,) = typing.get_args(hint)
        fact = CREATE_FIELDS.get(name)
        infos[name] = FieldInfo(
            name=name,
            type=_without_none(hint),
            required=required,
            optional=type(None) in typing.get_args(hint),
            field=_field(fact, name),
            fact=fact,
        )
    return infos


def _without_none(annotation: Any) -> Any:
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(annotation) if a is not type(None)]
        return args[0] if len(args) == 1 else typing.Union[tuple(args)]  # noqa: UP007
    return annotation


FIELDS: dict[str, FieldInfo] = _read_fields()
_SENT_FIELDS = frozenset(CREATE_FIELDS)
# The image fields are read and checked last: a bad prompt is reported before a 10 MB file is read.
_CHECK_ORDER = sorted(FIELDS, key=lambda name: name in IMAGE_FIELDS)
_REQUIRED = tuple(name for name, info in FIELDS.items() if info.required)


def build_create_request(
    fields: Mapping[str, Any], *, stream_images: bool = False
) -> CreateGenerationTaskRequest:
    """Check every field and return the generated request model, ready to send.

    With ``stream_images`` (the clients), a local image is held as a ``StreamedImage``: its
    checked bytes, streamed as Base64 when sent (_body, D19), never built as a data URI.

    Raises:
        TypeError: a required field is missing or an unknown one is given, as for any call.
        ValidationError: naming the field, what is wrong and the limit; nothing was sent.
    """
    unknown = sorted(fields.keys() - FIELDS.keys())
    if unknown:
        raise TypeError(
            f"unexpected field {unknown[0]!r} (fields the spec does not know go in extra_body)"
        )
    missing = [name for name in _REQUIRED if name not in fields]
    if missing:
        raise TypeError(f"missing required field {missing[0]!r}")
    body: dict[str, Any] = {}
    for name in _CHECK_ORDER:
        info = FIELDS[name]
        value = fields.get(name, info.field.default)
        if info.fact is None or (value is None and (info.optional or name not in fields)):
            continue
        if stream_images and info.fact.image is not None:
            body[name] = _streamed_image(value, name)
        else:
            body[name] = check_field(info.fact, value)
    request = generated_request_model().from_dict(body)
    request.additional_properties.update(extra_body(fields.get("extra_body"), _SENT_FIELDS))
    return request


def _streamed_image(value: Any, name: str) -> str:
    """The value sent for an image field: a URL or a data URI str as ``check_field`` gives it,
    local data as a ``StreamedImage``."""
    image = checked_image(value, field=name)
    return image if isinstance(image, str) else StreamedImage(image)
