"""The sandbox's knobs, each declared once: its type, default, help and bounds.

``SandboxConfig`` is the one declaration. Everything else derives from it: the checks made
when a config is built (``__post_init__``), the options of ``wan-i2v sandbox`` (``knobs()``
gives the command line what it needs, the CLI module turns each into a click option), the
fields the pytest plugin's ``@pytest.mark.wan_sandbox(...)`` accepts, and ``serve()`` /
``run()``. A new knob is one field here plus the code that plays it.

Standard library only: the command line reads this without the sandbox extra installed.
"""

from __future__ import annotations

import dataclasses
import functools
import math
import types
import typing
from dataclasses import dataclass, field
from typing import Any, Literal, Union, get_args, get_origin

from ._faults import Fault

Vocabulary = Literal["classic", "new"]
DAY = 86_400.0  # the API's task ids and result URLs are valid for 24 hours
MIB = 1 << 20
KNOB = "wan_i2v.knob"  # the dataclass field metadata key


@dataclass(frozen=True)
class Knob:
    """What a field says of itself beyond its type and default.

    ``at_least``/``above``/``at_most`` bound numbers (inclusive, exclusive, inclusive); a
    float must also be finite. ``nonblank`` refuses an empty or blank string.
    """

    help: str
    at_least: float | None = None
    above: float | None = None
    at_most: float | None = None
    nonblank: bool = False
    flag: str | None = None  # the command-line flag, when not --<name-with-dashes>

    def bounds(self) -> str:
        parts = []
        if self.at_least is not None:
            parts.append(f">= {_number(self.at_least)}")
        if self.above is not None:
            parts.append(f"> {_number(self.above)}")
        if self.at_most is not None:
            parts.append(f"<= {_number(self.at_most)}")
        return " and ".join(parts)


def knob(default: Any, help: str, **checks: Any) -> Any:
    """A ``SandboxConfig`` field: its default and its ``Knob``."""
    return field(default=default, metadata={KNOB: Knob(help=help, **checks)})


@dataclass
class SandboxConfig:
    """How the sandbox behaves. Every field is a knob: ``wan-i2v sandbox --<field-name>``,
    ``@pytest.mark.wan_sandbox(<field_name>=...)``, ``SandboxConfig(<field_name>=...)``.

    A value out of its bounds raises ValueError naming the field (the command line prints it
    as one line and exits 2).
    """

    api_key: str | None = knob(
        None, "Require this bearer token (default: accept any non-empty one).", nonblank=True
    )
    task_seconds: float = knob(
        3.0, "Seconds a task takes from creation to its end (0: done at once).", at_least=0
    )
    fail_rate: float = knob(
        0.0, "Share of tasks that end failed, with error code 3001.", at_least=0, at_most=1
    )
    error_rate: float = knob(
        0.0,
        "Share of API requests answered 500, 502 or 503 before anything is done.",
        at_least=0,
        at_most=1,
    )
    after_create_error_rate: float = knob(
        0.0,
        "Share of creates answered 500, 502 or 503 after their task was created (and billed).",
        at_least=0,
        at_most=1,
    )
    faults: tuple[Fault, ...] = knob(
        (),
        "A fault scripted from the start: the JSON object POST /_sandbox/faults takes "
        """(e.g. '{"status": 503, "after_create": true}'), or a bare status. Repeatable.""",
        flag="--fault",
    )
    rate_limit: float | None = knob(
        None,
        "API requests per second (a token bucket holding max(1, rate) requests; 0.5 is one "
        "every 2 s); beyond it 429 with Retry-After.",
        above=0,
    )
    max_running: int | None = knob(
        None,
        "Tasks running at once beyond which a create is refused with 429, as upstream "
        "(about 2 per account).",
        at_least=1,
    )
    vocabulary: Vocabulary = knob(  # noqa: RUF009  # a field(), as all the others
        "classic", "Status words: classic (pending/processing/completed) or new (queued/...)."
    )
    seed: int | None = knob(None, "Seed of the fail and error rates, for repeatable runs.")
    max_tasks: int = knob(
        100_000, "Tasks kept; beyond it the oldest is forgotten (its id answers 404).", at_least=1
    )
    task_ttl: float = knob(
        DAY, "Seconds a task is kept after its creation (the API keeps them a day).", above=0
    )
    max_logged_requests: int = knob(
        100_000, "Entries kept in the request log (the newest).", at_least=0
    )
    max_body_bytes_in_flight: int = knob(
        64 * MIB,
        "Request-body bytes read at once across all uploads; an upload waits for room (one "
        "alone always fits).",
        at_least=1,
    )
    max_upload_wait: float = knob(
        10.0,
        "Seconds an upload waits for room under max-body-bytes-in-flight before it is "
        "answered 503 with Retry-After.",
        at_least=0,
    )
    max_connections: int = knob(
        500, "Open connections; one more is answered 503 and closed.", at_least=1
    )
    header_timeout: float = knob(
        10.0,
        "Seconds a connection may take to send a request's headers; then 408 and closed.",
        above=0,
    )

    def __post_init__(self) -> None:
        # Faults may come as Fault, as their JSON object (a marker, a test) or as the
        # command line's text.
        if isinstance(self.faults, str | dict | Fault):
            raise ValueError("faults must be a sequence of faults (Fault, JSON object or text)")
        parsed = []
        for number, fault in enumerate(self.faults, 1):
            try:
                parsed.append(_fault(fault))
            except (ValueError, TypeError) as exc:
                raise ValueError(f"faults, fault {number}: {exc}") from None
        self.faults = tuple(parsed)
        for info in knobs():
            if info.name != "faults":
                _check(info, getattr(self, info.name))


@dataclass(frozen=True)
class KnobInfo:
    """One knob as the command line needs it."""

    name: str
    flag: str
    kind: type  # float, int or str (the type of one value)
    optional: bool  # None is allowed (and is the default when the default is None)
    choices: tuple[str, ...] | None
    many: bool  # repeatable; the values are text the config parses
    default: Any
    help: str
    knob: Knob


@functools.cache
def knobs() -> tuple[KnobInfo, ...]:
    """Every knob of SandboxConfig, in declaration order."""
    hints = typing.get_type_hints(SandboxConfig)
    found = []
    for f in dataclasses.fields(SandboxConfig):
        info: Knob = f.metadata[KNOB]
        kind, optional, choices, many = _unwrap(hints[f.name])
        found.append(
            KnobInfo(
                name=f.name,
                flag=info.flag or "--" + f.name.replace("_", "-"),
                kind=kind,
                optional=optional,
                choices=choices,
                many=many,
                default=f.default,
                help=info.help,
                knob=info,
            )
        )
    return tuple(found)


def _unwrap(hint: Any) -> tuple[type, bool, tuple[str, ...] | None, bool]:
    """(type of one value, None allowed, choices, repeatable) of a field's annotation."""
    optional = False
    if get_origin(hint) in (Union, types.UnionType):
        args = [a for a in get_args(hint) if a is not type(None)]
        optional, hint = True, args[0]
    if get_origin(hint) is tuple:
        return str, optional, None, True
    if get_origin(hint) is Literal:
        return str, optional, tuple(str(v) for v in get_args(hint)), False
    return hint, optional, None, False


def _check(info: KnobInfo, value: Any) -> None:
    """ValueError naming the knob when ``value`` is not one it takes.

    Comparisons are written as ``not (ok)`` so that NaN, which fails every one, is refused.
    """
    if value is None and info.optional:
        return
    expected = info.kind.__name__
    if info.choices is not None:
        if value not in info.choices:
            raise ValueError(f"{info.name} must be one of {', '.join(info.choices)}, got {value!r}")
        return
    if info.kind is float:
        ok = isinstance(value, int | float) and not isinstance(value, bool)
        if ok and not math.isfinite(value):
            raise ValueError(f"{info.name} must be a finite number, got {value!r}")
    else:
        ok = isinstance(value, info.kind) and not (info.kind is int and isinstance(value, bool))
    if not ok:
        raise ValueError(
            f"{info.name} must be {'a number' if expected == 'float' else expected}, got {value!r}"
        )
    rule = info.knob
    if (
        (rule.at_least is not None and not value >= rule.at_least)
        or (rule.above is not None and not value > rule.above)
        or (rule.at_most is not None and not value <= rule.at_most)
    ):
        raise ValueError(f"{info.name} must be {rule.bounds()}, got {value!r}")
    if rule.nonblank and not value.strip():
        # An empty key could never match (an empty token is refused): say so now.
        raise ValueError(f"{info.name} must be a non-empty string (or None: accept any token)")


def _fault(value: Fault | dict[str, Any] | str) -> Fault:
    if isinstance(value, Fault):
        return value
    if isinstance(value, str):
        return Fault.parse(value)
    return Fault.from_json(value)


def _number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else str(value)
