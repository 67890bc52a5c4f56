"""Write wrapper/wan_i2v/_spec_facts.py from spec/openapi.yaml.

The wrapper needs a handful of the spec's facts at run time: the create request's fields (types,
defaults, enums, bounds, lengths, which are images), the status words of each phase, the paths
and the documented error statuses. They are generated, never restated by hand, and the module
holds plain Python values so that ``import wan_i2v`` parses no YAML. ``nox -s generate`` runs
this; ``nox -s regen_check`` fails when the committed module differs from a fresh one.

    python scripts/generate_facts.py                          # spec/openapi.yaml -> the module
    python scripts/generate_facts.py --spec S --output O.py   # another spec or place (tests)

The output is formatted by ruff afterwards (noxfile), like generated/.
"""

from __future__ import annotations

import argparse
import importlib.util
import sys
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[1]
SPEC = ROOT / "spec" / "openapi.yaml"
OUTPUT = ROOT / "wrapper" / "wan_i2v" / "_spec_facts.py"


def _load_spec_module() -> Any:
    """wan_i2v/_spec.py by its path: the one way to find an operation, without installing
    the package this script generates a module of (it imports nothing of wan_i2v)."""
    found = importlib.util.spec_from_file_location(
        "_wan_i2v_spec", ROOT / "wrapper/wan_i2v/_spec.py"
    )
    assert found is not None
    assert found.loader is not None
    module = importlib.util.module_from_spec(found)
    found.loader.exec_module(module)
    return module


_spec = _load_spec_module()
CREATE_OPERATION = "create_generation_task"
GET_OPERATION = "get_generation_task"
REQUEST_SCHEMA = "CreateGenerationTaskRequest"
PYTHON_TYPES = {"string": "str", "integer": "int", "number": "float", "boolean": "bool"}


class SpecError(Exception):
    """The spec lacks something the wrapper relies on."""


def _resolve(spec: dict[str, Any], node: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in node:
        ref = node["$ref"]
        if not ref.startswith("#/"):
            raise SpecError(f"only local $refs are supported, got {ref}")
        target: Any = spec
        for part in ref[2:].split("/"):
            target = target[part]
        node = target
    return node


def field_facts(spec: dict[str, Any]) -> list[dict[str, Any]]:
    schema = spec["components"]["schemas"][REQUEST_SCHEMA]
    required = set(schema.get("required", []))
    facts = []
    for name, raw in schema["properties"].items():
        prop = _resolve(spec, raw)
        kind = prop.get("type")
        if kind not in PYTHON_TYPES:
            raise SpecError(f"{REQUEST_SCHEMA}.{name}: type {kind!r} is not one the wrapper knows")
        fact: dict[str, Any] = {"name": name, "type": kind, "required": name in required}
        if description := " ".join(str(prop.get("description", "")).split()):
            fact["description"] = description
        if "const" in prop:
            fact["choices"] = (prop["const"],)
            fact["default"] = prop["const"]
        if "enum" in prop:
            fact["choices"] = tuple(prop["enum"])
        if "default" in prop:
            fact["default"] = prop["default"]
        for key, attr in (
            ("minimum", "minimum"),
            ("maximum", "maximum"),
            ("maxLength", "max_length"),
        ):
            if key in prop:
                fact[attr] = prop[key]
        if "x-image-formats" in prop:
            fact["image"] = {
                "formats": tuple(prop["x-image-formats"]),
                "min_side": prop["x-image-min-side"],
                "max_side": prop["x-image-max-side"],
                "max_bytes": prop["x-image-max-bytes"],
            }
        facts.append(fact)
    return facts


def status_words(spec: dict[str, Any]) -> dict[str, tuple[str, ...]]:
    status = spec["components"]["schemas"]["TaskInfo"]["properties"]["status"]
    known = status.get("x-known-values")
    if not isinstance(known, dict):
        raise SpecError("TaskInfo.status has no x-known-values: the phases cannot be derived")
    return {phase: tuple(words) for phase, words in known.items()}


def error_statuses(op: dict[str, Any]) -> tuple[int, ...]:
    return tuple(sorted(int(code) for code in op.get("responses", {}) if str(code)[0] in "45"))


def success_status(op: dict[str, Any]) -> int:
    (code,) = (int(c) for c in op.get("responses", {}) if str(c).startswith("2"))
    return code


def _annotation(fact: dict[str, Any]) -> str:
    if fact.get("image"):
        base = "ImageInput"
    elif "choices" in fact:
        base = _alias_name(fact)
    else:
        base = PYTHON_TYPES[fact["type"]]
    if fact["required"]:
        return f"Required[{base}]"
    # An optional field without a default may be given as None: "not sent".
    return f"NotRequired[{base}]" if "default" in fact else f"NotRequired[{base} | None]"


def _alias_name(fact: dict[str, Any]) -> str:
    """The public name of an enum field's type: ``resolution`` -> ``Resolution``."""
    return "".join(part.capitalize() for part in fact["name"].split("_"))


def _aliases(facts: list[dict[str, Any]]) -> list[str]:
    return [
        f"{_alias_name(f)}: TypeAlias = Literal[{', '.join(repr(c) for c in f['choices'])}]"
        for f in facts
        if "choices" in f and not f.get("image")
    ]


def _fact_source(fact: dict[str, Any]) -> str:
    args = []
    for key, value in fact.items():
        if key == "image":
            rules = ", ".join(f"{k}={v!r}" for k, v in value.items())
            args.append(f"image=ImageRules({rules})")
        else:
            args.append(f"{key}={value!r}")
    return f"FieldFact({', '.join(args)})"


def render(spec: dict[str, Any]) -> str:
    try:
        create_path, create_method, create_op = _spec.operation(spec, CREATE_OPERATION)
        get_path, get_method, get_op = _spec.operation(spec, GET_OPERATION)
    except ValueError as exc:
        raise SpecError(str(exc)) from None
    facts = field_facts(spec)
    words = status_words(spec)
    errors = {CREATE_OPERATION: error_statuses(create_op), GET_OPERATION: error_statuses(get_op)}
    documented = sorted(set(errors[CREATE_OPERATION]) | set(errors[GET_OPERATION]))
    out = [
        '"""GENERATED from spec/openapi.yaml by scripts/generate_facts.py: do not edit by hand.',
        "",
        "The spec's facts as plain Python values (no YAML is parsed at import). Change the spec,",
        "then run `nox -s generate`; `nox -s regen_check` fails when this file is stale.",
        '"""',
        "",
        "from __future__ import annotations",
        "",
        "from enum import StrEnum",
        "from typing import Final, Literal, NotRequired, Required, TypeAlias, TypedDict",
        "",
        "from ._fact_types import FieldFact, ImageInput, ImageRules",
        "",
        f"CREATE_OPERATION: Final = {CREATE_OPERATION!r}",
        f"CREATE_METHOD: Final = {create_method!r}",
        f"CREATE_PATH: Final = {create_path!r}",
        f"CREATE_STATUS: Final = {success_status(create_op)!r}",
        f"GET_OPERATION: Final = {GET_OPERATION!r}",
        f"GET_METHOD: Final = {get_method!r}",
        f"GET_PATH: Final = {get_path!r}  # one path parameter: task_id",
        f"GET_STATUS: Final = {success_status(get_op)!r}",
        "",
        "# The create request's properties, in the spec's order.",
        "CREATE_FIELDS: Final[dict[str, FieldFact]] = {",
        *(f"    {f['name']!r}: {_fact_source(f)}," for f in facts),
        "}",
        "IMAGE_FIELDS: Final[tuple[str, ...]] = "
        + repr(tuple(f["name"] for f in facts if f.get("image"))),
        "",
        "# Status words by phase (TaskInfo.status x-known-values).",
        "STATUS_WORDS: Final[dict[str, tuple[str, ...]]] = {",
        *(f"    {phase!r}: {tuple(w)!r}," for phase, w in words.items()),
        "}",
        "",
        "# Documented error statuses, per operation and together.",
        "ERROR_STATUSES: Final[dict[str, tuple[int, ...]]] = {",
        *(f"    {op!r}: {codes!r}," for op, codes in errors.items()),
        "}",
        f"DOCUMENTED_ERROR_STATUSES: Final[frozenset[int]] = frozenset({tuple(documented)!r})",
        "",
        "",
        "class Phase(StrEnum):",
        '    """Where a task is, whichever status vocabulary the API used (the phases of',
        "    TaskInfo.status x-known-values; ``UNKNOWN`` is a word nobody documented yet, treated",
        '    as not finished, D9)."""',
        "",
        *(f"    {phase.upper()} = {phase!r}" for phase in words),
        '    UNKNOWN = "unknown"',
        "",
        "",
        "# The type of each enum field, by name (users annotate with them: wan_i2v.Resolution).",
        *_aliases(facts),
        "",
        "",
        "class SpecFields(TypedDict, total=False):",
        '    """The create request as the spec declares it, typed as callers give it: an image',
        "    field takes anything ``ImageInput`` names; an optional field without a default takes",
        '    None, meaning "not sent"."""',
        "",
        *(f"    {f['name']}: {_annotation(f)}" for f in facts),
        "",
    ]
    return "\n".join(out)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--spec", type=Path, default=SPEC)
    parser.add_argument("--output", type=Path, default=OUTPUT)
    args = parser.parse_args(argv)
    with args.spec.open(encoding="utf-8") as f:
        spec = yaml.safe_load(f)
    try:
        text = render(spec)
    except SpecError as exc:
        print(f"generate_facts: {exc}", file=sys.stderr)
        return 1
    args.output.write_text(text, encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
