"""An offline server that plays the wan2.2-i2v-plus API, for development and tests.

It validates every request against spec/openapi.yaml (the file the client is generated
from), requires a bearer token, moves tasks through their lifecycle, serves real MP4s, and
plays configurable faults. Needs the ``sandbox`` extra: ``pip install "wan-i2v[sandbox]"``.

    with serve(SandboxConfig(task_seconds=0)) as sandbox:
        client = wan_i2v.Client(base_url=sandbox.url, api_key="test")
        sandbox.inject(503, operation="create", after_create=True)
        ...
        assert sandbox.stats()["tasks_created"] == 1

A running sandbox (``wan-i2v sandbox`` too) also answers, with no key, on loopback only:
``GET /_sandbox/stats``, ``GET|POST|DELETE /_sandbox/faults`` (see ``_control``);
``SandboxControl(url)`` drives them from Python.

The names are imported on first use, so that ``SandboxConfig`` (standard library only) is
there for the command line even without the extra; the others then raise an ImportError
that names it.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ._config import SandboxConfig
    from ._control_client import SandboxControl
    from ._faults import Fault
    from ._http import create_app
    from ._run import RunningSandbox, run, serve
    from ._state import SandboxState

_WHERE = {
    "SandboxConfig": "._config",
    "Fault": "._faults",
    "SandboxControl": "._control_client",
    "create_app": "._http",
    "RunningSandbox": "._run",
    "run": "._run",
    "serve": "._run",
    "SandboxState": "._state",
}

__all__ = [
    "Fault",
    "RunningSandbox",
    "SandboxConfig",
    "SandboxControl",
    "SandboxState",
    "create_app",
    "run",
    "serve",
]


def __getattr__(name: str) -> Any:
    if name not in _WHERE:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    try:
        module = importlib.import_module(_WHERE[name], __name__)
    except ModuleNotFoundError as exc:  # a dependency of the extra, not one of our modules
        if exc.name is None or exc.name.startswith("wan_i2v"):
            raise
        raise ImportError(
            f"wan_i2v.sandbox needs the sandbox extra ({exc.name} is not installed): "
            'pip install "wan-i2v[sandbox]"',
            name=exc.name,
        ) from exc
    value = getattr(module, name)
    globals()[name] = value
    return value
