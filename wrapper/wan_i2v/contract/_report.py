"""What a contract run found: one line per check, and whether the server conforms."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from .._scrub import escape_controls


class Verdict(StrEnum):
    """A check's outcome. Only DRIFT fails a run; CANNOT_TELL fails it when strict."""

    ENFORCED = "enforced"  # a rule of the request: refused, and the refusal named it
    CONFORMS = "conforms"  # any other check: the answer is the documented one
    DRIFT = "drift"
    CANNOT_TELL = "cannot tell"  # refused, but the answers do not say which rule


class ServerKind(StrEnum):
    """How a server's refusals name what was wrong, as seen from the probes."""

    NAMES_ALL = "names all violations"
    NAMES_FIRST = "names the first violation only"
    NAMES_NONE = "names no field"
    UNKNOWN = "unknown (no refusal seen)"


@dataclass(frozen=True)
class Check:
    """One check: its name, the spec rule it holds the server to, the verdict, and what came
    back (the evidence, one line)."""

    name: str
    rule: str
    verdict: Verdict
    detail: str

    def line(self) -> str:
        # The detail quotes the server: no control character of its reaches the terminal.
        return f"{self.verdict.value:<11}  {self.name}: {escape_controls(self.detail)}"


@dataclass
class ContractReport:
    """The whole run. ``ok``: no drift (and, when strict, nothing it cannot tell)."""

    base_url: str
    strict: bool
    server_kind: ServerKind = ServerKind.UNKNOWN
    checks: list[Check] = field(default_factory=list)
    out_of_reach: list[str] = field(default_factory=list)
    not_probed: list[str] = field(default_factory=list)
    requests: int = 0  # HTTP requests sent, retries included
    rate_limited: int = 0  # 429 answers waited out
    retried: int = 0  # other answers that were no news (5xx, none at all), asked again
    accepted: int = 0  # creates answered 2xx: each may be a task, and billed
    budget: float = 0.0  # seconds the run was given
    incomplete: str | None = None  # why the run stopped before the end, if it did

    @property
    def drift(self) -> list[Check]:
        return [c for c in self.checks if c.verdict is Verdict.DRIFT]

    @property
    def cannot_tell(self) -> list[Check]:
        return [c for c in self.checks if c.verdict is Verdict.CANNOT_TELL]

    @property
    def ok(self) -> bool:
        """Conforms: no drift, nothing accepted, the run finished (and, when strict, every
        rule seen enforced)."""
        return (
            not self.drift
            and not self.accepted
            and self.incomplete is None
            and not (self.strict and self.cannot_tell)
        )

    @property
    def outcome(self) -> str:
        """conforms, drift (accepted probes included), could not finish, or not proven
        (strict). Drift wins over an unfinished run: what was seen is so."""
        if self.ok:
            return "conforms"
        if self.drift or self.accepted:
            return "drift"
        if self.incomplete is not None:
            return "could not finish"
        return "not proven (strict)"

    def summary(self) -> str:
        counts = {v: sum(c.verdict is v for c in self.checks) for v in Verdict}
        parts = ", ".join(f"{n} {v.value}" for v, n in counts.items() if n)
        outcome = self.outcome.upper() if self.outcome == "drift" else self.outcome
        if self.incomplete is not None:
            outcome += f" (stopped: {self.incomplete})"
        billed = (
            f"{self.accepted} accepted: a task may exist and be billed"
            if self.accepted
            else "none billable"
        )
        again = self.rate_limited + self.retried
        retries = f" ({again} asked again after 429/5xx)" if again else ""
        return (
            f"{outcome}: {len(self.checks)} checks ({parts}); {self.requests} requests"
            f"{retries}, {billed}; server {self.server_kind.value}"
        )

    def lines(self) -> list[str]:
        """The report for people: one line per check, what was not probed, the summary."""
        out = [check.line() for check in self.checks]
        out += [f"out of reach  {item} (only a paid task can tell)" for item in self.out_of_reach]
        out += [f"not probed   {item} (no way to break it known)" for item in self.not_probed]
        out.append(escape_controls(self.summary()))
        return out

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready view (the command's --json)."""
        return {
            "ok": self.ok,
            "outcome": self.outcome,
            "incomplete": None if self.incomplete is None else escape_controls(self.incomplete),
            "accepted": self.accepted,
            "budget_seconds": self.budget,
            "base_url": self.base_url,
            "strict": self.strict,
            "server_kind": self.server_kind.value,
            "requests": self.requests,
            "rate_limited": self.rate_limited,
            "retried": self.retried,
            "checks": [
                {
                    "name": c.name,
                    "rule": c.rule,
                    "verdict": c.verdict.value,
                    "detail": escape_controls(c.detail),
                }
                for c in self.checks
            ],
            "out_of_reach": self.out_of_reach,
            "not_probed": self.not_probed,
            "summary": escape_controls(self.summary()),
        }
