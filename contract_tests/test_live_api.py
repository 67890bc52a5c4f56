"""Drift check of a live API (the real one, or staging): a thin face over wan_i2v.contract.

Runs only when WAN_I2V_CONTRACT_URL and WAN_I2V_CONTRACT_KEY are set (`-m live`);
WAN_I2V_CONTRACT_TASK_ID adds the GET of a task you already have. The engine sends no body a
server could bill (each breaks the rule under test and a guard), so this cannot create a
task. `wan-i2v contract` runs the same checks from the command line.
"""

from __future__ import annotations

import os

import pytest

from wan_i2v.contract import ContractReport, check_contract

URL = os.environ.get("WAN_I2V_CONTRACT_URL", "")
KEY = os.environ.get("WAN_I2V_CONTRACT_KEY", "")
TASK_ID = os.environ.get("WAN_I2V_CONTRACT_TASK_ID") or None

pytestmark = [
    pytest.mark.live,
    pytest.mark.skipif(not (URL and KEY), reason="set WAN_I2V_CONTRACT_URL and _KEY"),
]


@pytest.fixture(scope="module")
def report() -> ContractReport:
    return check_contract(URL, KEY, task_id=TASK_ID)


def test_the_api_keeps_the_contract(report: ContractReport) -> None:
    """No check drifted: every failed one is listed, with what came back."""
    assert report.ok, "\n".join(c.line() for c in report.drift) + "\n" + report.summary()
