"""The rules of the create request, read from the spec: one rule per constraint keyword.

Nothing here lists a field or a limit by hand. A constraint added to the spec becomes a rule
(and so a check) with no code, as long as its keyword is one this module knows how to break;
a keyword it does not know is reported as not probed rather than silently skipped.
"""

from __future__ import annotations

import copy
import math
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import jsonschema

from .._spec import operation
from .._spec_facts import CREATE_OPERATION

REQUEST_SCHEMA = "CreateGenerationTaskRequest"
# Keywords that constrain a value and that this module can break with a value of its own.
PROBED_KEYWORDS = (
    "type",
    "enum",
    "const",
    "minimum",
    "maximum",
    "exclusiveMinimum",
    "exclusiveMaximum",
    "maxLength",
    "minLength",
)
# Keywords that say nothing a server enforces (annotations).
ANNOTATIONS = {"description", "default", "title", "examples", "deprecated", "format"}
# x-image-*: what is inside an image; a server can only judge it once it fetches and decodes
# the image, which a task does. Probing it means a valid body: a billed task.
OUT_OF_REACH_PREFIX = "x-image-"


@dataclass(frozen=True, order=True)
class Rule:
    """One constraint of the request: ``keyword`` of ``field`` (``required``: the field must
    be present)."""

    field: str
    keyword: str
    value: Any = None

    def __str__(self) -> str:
        if self.keyword == "required":
            return f"{self.field}: required"
        return f"{self.field}: {self.keyword} {_show(self.value)}"


def request_schema(spec: dict[str, Any]) -> dict[str, Any]:
    """The create request's schema as a standalone document (its $refs resolve inside it)."""
    return {"$ref": f"#/components/schemas/{REQUEST_SCHEMA}", "components": spec["components"]}


def validator(spec: dict[str, Any]) -> jsonschema.Draft202012Validator:
    """A Draft 2020-12 validator of the create request under ``spec``."""
    return jsonschema.Draft202012Validator(request_schema(spec))


def _properties(spec: dict[str, Any]) -> dict[str, dict[str, Any]]:
    props: dict[str, dict[str, Any]] = spec["components"]["schemas"][REQUEST_SCHEMA].get(
        "properties", {}
    )
    return props


def rules(spec: dict[str, Any]) -> list[Rule]:
    """Every rule of the request the engine probes, in the spec's field order."""
    schema = spec["components"]["schemas"][REQUEST_SCHEMA]
    found = [Rule(name, "required") for name in schema.get("required", [])]
    for name, prop in _properties(spec).items():
        found += [Rule(name, key, prop[key]) for key in PROBED_KEYWORDS if key in prop]
    return found


def unprobed(spec: dict[str, Any]) -> tuple[list[str], list[str]]:
    """(out of reach without paying, keywords this engine cannot break), as descriptions."""
    out_of_reach: list[str] = []
    unknown: list[str] = []
    for name, prop in _properties(spec).items():
        for key, value in prop.items():
            if key.startswith(OUT_OF_REACH_PREFIX):
                out_of_reach.append(f"{name}: {key} {_show(value)}")
            elif key not in PROBED_KEYWORDS and key not in ANNOTATIONS and not key.startswith("x-"):
                unknown.append(f"{name}: {key} {_show(value)}")
    return out_of_reach, unknown


def weakened(spec: dict[str, Any], rule: Rule) -> dict[str, Any]:
    """A copy of ``spec`` without ``rule``: the API of a server that stopped enforcing it."""
    weak = copy.deepcopy(spec)
    schema = weak["components"]["schemas"][REQUEST_SCHEMA]
    if rule.keyword == "required":
        schema["required"] = [name for name in schema["required"] if name != rule.field]
    else:
        del schema["properties"][rule.field][rule.keyword]
    return weak


def weakened_specs(spec: dict[str, Any]) -> Iterator[tuple[Rule, dict[str, Any]]]:
    """Each rule with the spec that lacks it."""
    for rule in rules(spec):
        yield rule, weakened(spec, rule)


def base_body(spec: dict[str, Any]) -> dict[str, Any]:
    """A valid request from the spec's own examples: the ground every probe breaks one rule
    of. Never sent as it is."""
    _, _, post = operation(spec, CREATE_OPERATION)
    content = post["requestBody"]["content"]["application/json"]
    examples = [e["value"] for e in content.get("examples", {}).values()]
    if "example" in content:
        examples.insert(0, content["example"])
    check = validator(spec)
    for example in examples:
        if isinstance(example, dict) and check.is_valid(example):
            return dict(example)
    raise ValueError(f"the spec has no valid example of {REQUEST_SCHEMA} to build probes on")


def breaking_values(spec: dict[str, Any], rule: Rule, base: dict[str, Any]) -> list[Any]:
    """Values of ``rule.field`` that break ``rule`` (for ``required``: none, the field is left
    out). Realistic ones first: what a lenient server would let through."""
    if rule.keyword == "required":
        return []
    prop = _properties(spec)[rule.field]
    valid = _valid_value(prop, base.get(rule.field))
    kind, value = rule.keyword, rule.value
    candidates: list[Any]
    if kind == "type":
        candidates = _wrong_types(value, valid)
    elif kind == "enum":
        candidates = _off_enum(value)
    elif kind == "const":
        candidates = _not_const(value)
    elif kind == "minimum":
        candidates = [value - 1]
    elif kind == "maximum":
        candidates = [value + 1]
    elif kind in ("exclusiveMinimum", "exclusiveMaximum"):
        candidates = [value]
    elif kind == "maxLength":
        candidates = ["x" * (value + 1)]
    elif kind == "minLength":
        candidates = ["x" * (value - 1)] if value > 0 else []
    else:
        candidates = []
    field_check = jsonschema.Draft202012Validator(prop)
    return [v for v in candidates if not field_check.is_valid(v)]


def broken_keywords(spec: dict[str, Any], field: str, value: Any) -> frozenset[str]:
    """Which keywords of ``field``'s schema ``value`` breaks."""
    prop = _properties(spec)[field]
    return frozenset(
        str(e.validator) for e in jsonschema.Draft202012Validator(prop).iter_errors(value)
    )


def _valid_value(prop: dict[str, Any], current: Any) -> Any:
    if current is not None:
        return current
    if "const" in prop:
        return prop["const"]
    if "enum" in prop:
        return prop["enum"][0]
    if "default" in prop:
        return prop["default"]
    kind = prop.get("type")
    if kind == "integer":
        return prop.get("minimum", 0)
    if kind == "number":
        return prop.get("minimum", 0.0)
    if kind == "boolean":
        return True
    return "p"


def _wrong_types(kinds: Any, valid: Any) -> list[Any]:
    types = set(kinds) if isinstance(kinds, list) else {kinds}
    out: list[Any] = []
    if "string" not in types and not isinstance(valid, str):
        # The string spelling of a valid value: what a coercing server lets through.
        out.append(json_text(valid))
    if "integer" in types and "number" not in types and isinstance(valid, int):
        out.append(valid + 0.5)
    if "boolean" in types:
        out.append("yes")
    if "string" in types:
        out.append(7)
    if not out:
        out.append(None)
    return out


def _off_enum(members: list[Any]) -> list[Any]:
    out: list[Any] = []
    for member in members:
        if isinstance(member, str) and member.lower() != member and member.lower() not in members:
            out.append(member.lower())  # a case-insensitive server lets this through
            break
    between = _between(members)
    if between is not None:
        out.append(between)
    if not out:
        out.append(f"{members[0]}-not-a-member" if isinstance(members[0], str) else -12345)
    return out


def _between(members: list[Any]) -> str | None:
    """For tiers such as 480P/1080P, the tier in between (720P): a neighbour's value."""
    shapes = [re.fullmatch(r"(\D*)(\d+)(\D*)", m) if isinstance(m, str) else None for m in members]
    if len(shapes) < 2 or any(s is None for s in shapes):
        return None
    parts = [s.groups() for s in shapes if s is not None]
    if len({(p[0], p[2]) for p in parts}) != 1:
        return None
    numbers = sorted(int(p[1]) for p in parts)
    # Tiers grow geometrically (480, 720, 1080): the geometric mean, rounded as tiers are.
    middle = round(math.sqrt(numbers[0] * numbers[1]))
    step = 10 ** max(len(str(middle)) - 2, 0)
    middle = round(middle / step) * step
    if middle in numbers:
        return None
    prefix, suffix = parts[0][0], parts[0][2]
    candidate = f"{prefix}{middle}{suffix}"
    return None if candidate in members else candidate


def _not_const(value: Any) -> list[Any]:
    if isinstance(value, bool):
        return [not value]
    if isinstance(value, int | float):
        return [value * 2 if value else 1]
    if isinstance(value, str):
        return [value + "-not-it"]
    return [None]


def json_text(value: Any) -> str:
    """A value as JSON spells it (True: "true")."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _show(value: Any) -> str:
    if isinstance(value, str) and len(value) > 24:
        return repr(value[:8] + "...") + f" ({len(value)} chars)"
    if isinstance(value, list | dict):
        return str(value)
    return repr(value) if isinstance(value, str) else json_text(value)
