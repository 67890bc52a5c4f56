"""Where the OpenAPI document is, for code that needs the spec at run time (the sandbox).

A wheel carries spec/openapi.yaml as wan_i2v/openapi.yaml (pyproject: force-include). An
editable install or a source checkout has no such copy, so the file is then read from the
checkout's spec/ folder: the same file either way, never a second copy.
"""

from __future__ import annotations

import functools
from importlib import resources
from pathlib import Path
from typing import Any


def spec_path() -> Path:
    """The path of the OpenAPI document this package was built from."""
    packaged = resources.files("wan_i2v") / "openapi.yaml"
    if isinstance(packaged, Path) and packaged.is_file():
        return packaged
    checkout = Path(__file__).resolve().parents[2] / "spec" / "openapi.yaml"
    if checkout.is_file():
        return checkout
    raise FileNotFoundError("openapi.yaml is missing from this installation of wan-i2v")


@functools.cache
def load_spec() -> dict[str, Any]:
    """The parsed OpenAPI document (needs PyYAML, part of the `sandbox` extra)."""
    import yaml  # only the sandbox and the tests read the spec; keep import wan_i2v light

    with spec_path().open(encoding="utf-8") as f:
        spec: dict[str, Any] = yaml.safe_load(f)
    return spec


def operation(spec: dict[str, Any], operation_id: str) -> tuple[str, str, dict[str, Any]]:
    """(path, METHOD, operation object) of the operation with this id in a spec document: the
    one way to find the create and get operations (``_spec_facts`` names their ids), in the
    bundled spec or in a weakened copy the contract engine builds."""
    for path, item in spec.get("paths", {}).items():
        for method, op in item.items():
            if isinstance(op, dict) and op.get("operationId") == operation_id:
                return path, method.upper(), op
    raise ValueError(f"the spec has no operation {operation_id!r}")
