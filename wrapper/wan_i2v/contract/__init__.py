"""The contract engine: hold a server (the real API, a staging server, a sandbox) to the spec.

Every check is derived from the spec bundled with the package: each enum, bound, length,
type, const and required field of the create request, auth on both operations, the unknown
task, and the documented error answers. No request it sends can create a billed task: every
create body breaks the rule under test and a second rule (a guard), so a server that stopped
enforcing one rule still refuses. Needs PyYAML and jsonschema (the ``testing`` extra).

    report = check_contract("https://api.mulerouter.ai", api_key)
    print("\\n".join(report.lines())); assert report.ok

``wan-i2v contract`` and ``pytest contract_tests -m live`` are thin faces over this.
"""

from ._engine import (
    DEFAULT_BUDGET,
    KeyRefusedError,
    NoAnswerError,
    UnknownTaskError,
    check_contract,
)
from ._plan import BillableProbeError, RuleCheck, plan
from ._report import Check, ContractReport, ServerKind, Verdict
from ._rules import Rule, rules, weakened, weakened_specs

__all__ = [
    "DEFAULT_BUDGET",
    "BillableProbeError",
    "Check",
    "ContractReport",
    "KeyRefusedError",
    "NoAnswerError",
    "Rule",
    "RuleCheck",
    "ServerKind",
    "UnknownTaskError",
    "Verdict",
    "check_contract",
    "plan",
    "rules",
    "weakened",
    "weakened_specs",
]
