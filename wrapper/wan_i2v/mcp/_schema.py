"""The tools' input schemas, built from the one declaration of the create fields.

The SDK derives a tool's input schema from its function's signature (``MCPServer.tool()``
takes no schema of its own), so each tool function is given a signature built here:
one parameter per create field of ``wan_i2v._request.FIELDS``, typed from the spec's facts
(an enum as a ``Literal``, bounds and lengths as ``Field(ge=, le=, max_length=)``, the
spec's default, the declared help text). A field added to the spec reaches the tools with no
edit here; ``tests/test_mcp.py`` holds the listed schemas to ``FIELDS``.
"""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable, Sequence
from typing import Annotated, Any

from mcp.server.mcpserver import Context
from pydantic import Field

from .._fact_types import FieldFact
from .._request import FIELDS, FieldInfo

CTX = "ctx"  # the parameter the SDK fills with the request's Context (left out of the schema)
_JSON_TYPES: dict[str, type] = {"string": str, "integer": int, "number": float, "boolean": bool}
_KW = inspect.Parameter.KEYWORD_ONLY


def offered(info: FieldInfo) -> bool:
    """The tools offer the fields the command line offers: ``extra_body`` is for code, and a
    field with one allowed value is nothing to choose (the library sends its default)."""
    return info.fact is not None and info.field.cli


def _image_help(info: FieldInfo, fact: FieldFact) -> str:
    rules = fact.image
    assert rules is not None
    head = info.field.help.split(":")[0].rstrip(".")
    return (
        f"{head}: a path (relative to the server's image root, and inside it), an http(s) "
        f"URL or a data URI. {', '.join(f.upper() for f in rules.formats)}; width and height "
        f"each in [{rules.min_side}, {rules.max_side}] pixels; at most {rules.max_bytes} bytes."
    )


def field_parameter(info: FieldInfo) -> inspect.Parameter:
    """The tool parameter of one create field."""
    fact = info.fact
    assert fact is not None
    if fact.image is not None:
        base: Any = str  # the agent names the image; the server reads it
        help_text = _image_help(info, fact)
    else:
        base = info.type if info.choices else _JSON_TYPES[fact.type]
        help_text = info.field.help
    constraints = Field(
        description=help_text, ge=fact.minimum, le=fact.maximum, max_length=fact.max_length
    )
    if info.required:
        return inspect.Parameter(info.name, _KW, annotation=Annotated[base, constraints])
    if info.field.default is not None:  # shown in the schema; the library sends the same
        return inspect.Parameter(
            info.name, _KW, annotation=Annotated[base, constraints], default=info.field.default
        )
    # No default: None means "not sent".
    return inspect.Parameter(
        info.name, _KW, annotation=Annotated[base | None, constraints], default=None
    )


def create_parameters() -> list[inspect.Parameter]:
    """One parameter per offered create field, in the declaration's order, required first
    (as an agent reads them)."""
    params = [field_parameter(info) for info in FIELDS.values() if offered(info)]
    return sorted(params, key=lambda p: p.default is not inspect.Parameter.empty)


def parameter(
    name: str, annotation: Any, *, default: Any = inspect.Parameter.empty
) -> inspect.Parameter:
    """A parameter of a tool's own (``task_id``, ``timeout``, ...)."""
    return inspect.Parameter(name, _KW, annotation=annotation, default=default)


ToolBody = Callable[[Context, dict[str, Any]], Awaitable[Any]]


def tool_function(name: str, params: Sequence[inspect.Parameter], body: ToolBody) -> Any:
    """An ``async def`` whose signature is ``params`` (plus the Context): the SDK reads the
    schema off it and calls it with the validated arguments as keywords."""

    async def tool(**arguments: Any) -> Any:
        ctx = arguments.pop(CTX)
        return await body(ctx, arguments)

    full = [*params, inspect.Parameter(CTX, _KW, annotation=Context)]
    tool.__name__ = tool.__qualname__ = name
    tool.__signature__ = inspect.Signature(full, return_annotation=dict[str, Any])  # type: ignore[attr-defined]
    tool.__annotations__ = {p.name: p.annotation for p in full} | {"return": dict[str, Any]}
    return tool


# The idempotency key: the agent's own string naming one paid video.
IDEMPOTENCY_KEY = parameter(
    "idempotency_key",
    Annotated[
        str,
        Field(
            min_length=1,
            max_length=200,
            description=(
                "Your own string naming this one video (e.g. 'cat-turns-head-1'). A retry of "
                "this call MUST reuse the same key: the same key and fields always return the "
                "same task and never create (or bill) a second one, across server restarts. "
                "A new key makes and bills a new video."
            ),
        ),
    ],
)
RETRY_UNKNOWN = parameter(
    "retry_unknown",
    Annotated[
        bool,
        Field(
            description=(
                "Only after a result said the outcome of this key's create is unknown (or its "
                "task was lost), and you checked that no task exists: true creates it again "
                "and pays again."
            )
        ),
    ],
    default=False,
)
TASK_ID = parameter(
    "task_id", Annotated[str, Field(description="The task id (a UUID) create_video_task gave.")]
)
