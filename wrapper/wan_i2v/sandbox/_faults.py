"""A scripted fault: what ``SandboxState.inject()``, ``POST /_sandbox/faults`` and
``wan-i2v sandbox --fault`` all take, checked in one place.

Standard library only, like ``_config``: the command line reads it without the sandbox extra.
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass
from typing import Any, Literal, get_args

Operation = Literal["create", "get", "any"]
DROP = "drop"  # a status that is no answer at all: the connection is closed unanswered
Status = int | Literal["drop"]
FAULT_KEYS = ("status", "count", "operation", "after_create", "retry_after")


@dataclass
class Fault:
    """A scripted answer for the next ``count`` matching API requests.

    Attributes:
        status: the HTTP status to answer with (400-599), or ``"drop"``: close the connection
            without an answer.
        count: how many matching requests get it.
        operation: ``create``, ``get`` or ``any`` (both).
        after_create: the create still makes (and counts) its task first: the worst case for
            a client, "a task exists and is billed, but you got a 5xx or nothing".
        retry_after: seconds sent as ``Retry-After`` (rounded up to whole seconds), or None.
    """

    status: Status
    count: int = 1
    operation: Operation = "any"
    after_create: bool = False
    retry_after: float | None = None

    def __post_init__(self) -> None:
        status = self.status
        if status != DROP and not (
            isinstance(status, int) and not isinstance(status, bool) and 400 <= status <= 599
        ):
            raise ValueError(f"status must be an HTTP status 400-599 or 'drop', got {status!r}")
        if not (_is_int(self.count) and self.count >= 1):
            raise ValueError(f"count must be an integer >= 1, got {self.count!r}")
        if self.operation not in get_args(Operation):
            allowed = ", ".join(get_args(Operation))
            raise ValueError(f"operation must be one of {allowed}, got {self.operation!r}")
        if not isinstance(self.after_create, bool):
            raise ValueError(f"after_create must be true or false, got {self.after_create!r}")
        if self.after_create and self.operation == "get":
            raise ValueError("after_create applies to creates: operation must be create or any")
        if self.retry_after is not None and not (
            _is_number(self.retry_after)
            and self.retry_after >= 0
            and math.isfinite(self.retry_after)
        ):
            raise ValueError(
                f"retry_after must be a number of seconds >= 0, got {self.retry_after!r}"
            )

    @classmethod
    def from_json(cls, value: Any) -> Fault:
        """A fault from its JSON object (the keys of ``inject()``); ValueError names the
        problem."""
        if not isinstance(value, dict):
            raise ValueError(f"a fault is a JSON object with keys {', '.join(FAULT_KEYS)}")
        if unknown := sorted(set(value) - set(FAULT_KEYS)):
            raise ValueError(f"unknown key(s) {unknown}; known: {', '.join(FAULT_KEYS)}")
        if "status" not in value:
            raise ValueError("status is required")
        return cls(**value)

    @classmethod
    def parse(cls, text: str) -> Fault:
        """A fault from the command line: the same JSON object, or a bare status (``503``)."""
        try:
            value = json.loads(text)
        except json.JSONDecodeError:
            value = {"status": text} if text == DROP else None
            if value is None:
                raise ValueError(f"a fault is a JSON object or a status, got {text!r}") from None
        return cls.from_json({"status": value} if not isinstance(value, dict) else value)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)
