"""The probes: for each rule and each value that breaks it, bodies that also break a guard.

A guard is a rule of another field, broken in the same body, so that a server that stopped
enforcing the rule under test still refuses rather than creates (and bills) a task. Which
field a server that reports only its first error names depends on the order it checks them
in: by body order, by the schema's order, alphabetically, or required fields first. So each
rule gets guards on fields that come after it in each of those orders, with the field under
test first in the body, and one guard in front of it with the field under test last.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import jsonschema

from ._rules import (
    REQUEST_SCHEMA,
    Rule,
    base_body,
    breaking_values,
    broken_keywords,
    rules,
    validator,
    weakened_specs,
)

ABSENT = object()  # the value of a required field left out
# Which rule of a field makes the surest guard: a value no lenient server lets through.
GUARD_PREFERENCE = (
    "const",
    "enum",
    "maximum",
    "minimum",
    "exclusiveMaximum",
    "exclusiveMinimum",
    "maxLength",
    "minLength",
    "type",
)


@dataclass(frozen=True)
class Probe:
    """One request body, and the field whose rule guards it."""

    body: dict[str, Any]
    guard: str


@dataclass(frozen=True)
class RuleCheck:
    """One rule broken by one value, and the probes that ask the server about it."""

    rule: Rule
    value: Any  # ABSENT for a missing required field
    breaks: frozenset[str]  # every keyword of the field the value breaks
    probes: tuple[Probe, ...]

    @property
    def name(self) -> str:
        if self.value is ABSENT:
            return f"{self.rule.field}: required (left out)"
        return f"{self.rule} ({_short(self.value)})"


class BillableProbeError(AssertionError):
    """A probe body would be valid under the spec or under the spec less one rule: a server
    that drifted on that rule could bill it. Never sent; this is a bug of the plan."""


def plan(spec: dict[str, Any]) -> list[RuleCheck]:
    """Every rule check of the spec's create request, with its probes, none billable."""
    base = base_body(spec)
    fields = list(spec["components"]["schemas"][REQUEST_SCHEMA].get("properties", {}))
    guards = _guard_values(spec, base)
    checks: list[RuleCheck] = []
    for rule in rules(spec):
        values = [ABSENT] if rule.keyword == "required" else breaking_values(spec, rule, base)
        for value in values:
            field = rule.field
            probes = tuple(
                _probe(base, field, value, guard, guards[guard], guard_first)
                for guard, guard_first in _guard_order(field, fields, guards)
            )
            breaks = (
                frozenset({rule.keyword})
                if value is ABSENT
                else broken_keywords(spec, field, value)
            )
            checks.append(RuleCheck(rule, value, breaks, probes))
    assert_unbillable(spec, [p.body for c in checks for p in c.probes])
    return checks


def assert_unbillable(spec: dict[str, Any], bodies: list[dict[str, Any]]) -> None:
    """Raise BillableProbeError unless every body is invalid under the spec and under every
    spec that lacks one of its rules."""
    validators = [validator(spec)] + [
        jsonschema.Draft202012Validator(
            {"$ref": f"#/components/schemas/{REQUEST_SCHEMA}", "components": weak["components"]}
        )
        for _, weak in weakened_specs(spec)
    ]
    for body in bodies:
        for check in validators:
            if check.is_valid(body):
                raise BillableProbeError(f"a probe body would be accepted: {body!r}")


def _guard_values(spec: dict[str, Any], base: dict[str, Any]) -> dict[str, Any]:
    """For each field that has one, the value that breaks it most surely."""
    by_field: dict[str, list[Rule]] = {}
    for rule in rules(spec):
        if rule.keyword in GUARD_PREFERENCE:
            by_field.setdefault(rule.field, []).append(rule)
    out: dict[str, Any] = {}
    for field, field_rules in by_field.items():
        for rule in sorted(field_rules, key=lambda r: GUARD_PREFERENCE.index(r.keyword)):
            values = breaking_values(spec, rule, base)
            if values:
                out[field] = values[-1]  # the last is the least lenient spelling
                break
    return out


def _guard_order(field: str, fields: list[str], guards: dict[str, Any]) -> list[tuple[str, bool]]:
    """(guard field, guard placed first in the body) for each probe of ``field``."""
    others = [f for f in fields if f in guards and f != field]
    if not others:
        raise ValueError(f"no other field can guard a probe of {field!r}")
    alphabetical = sorted(others)
    after_alpha = [f for f in alphabetical if f > field]
    schema_pos = fields.index(field) if field in fields else -1
    after_schema = [f for f in others if fields.index(f) > schema_pos]
    order: list[tuple[str, bool]] = []
    for guard, first in (
        (after_alpha[0] if after_alpha else alphabetical[-1], False),
        (after_schema[0] if after_schema else others[-1], False),
        (alphabetical[0], True),
    ):
        if all(g != guard for g, _ in order):
            order.append((guard, first))
    return order


def _probe(
    base: dict[str, Any], field: str, value: Any, guard: str, guard_value: Any, guard_first: bool
) -> Probe:
    rest = {k: v for k, v in base.items() if k not in (field, guard)}
    tested: dict[str, Any] = {} if value is ABSENT else {field: value}
    if guard_first:
        body = {guard: guard_value, **rest, **tested}
    else:
        body = {**tested, **rest, guard: guard_value}
    return Probe(body, guard)


def _short(value: Any) -> str:
    if isinstance(value, str) and len(value) > 16:
        return f"{len(value)} characters"
    if isinstance(value, str):
        return repr(value)
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)
