"""An offline server that plays the wan2.2-i2v-plus API, for development and tests.

It validates every request against spec/openapi.yaml (the file the client is generated
from), requires a bearer token, moves tasks through their lifecycle, serves real MP4s, and
plays configurable faults. Needs the ``sandbox`` extra: ``pip install "wan-i2v[sandbox]"``.

    with serve(SandboxConfig(task_seconds=0)) as sandbox:
        client = wan_i2v.Client(base_url=sandbox.url, api_key="test")
"""

try:
    from ._http import create_app
    from ._run import RunningSandbox, run, serve
    from ._state import SandboxConfig, SandboxState
except ModuleNotFoundError as exc:  # a dependency of the extra, not one of our modules
    if exc.name is None or exc.name.startswith("wan_i2v"):
        raise
    raise ImportError(
        f"wan_i2v.sandbox needs the sandbox extra ({exc.name} is not installed): "
        'pip install "wan-i2v[sandbox]"',
        name=exc.name,
    ) from exc

__all__ = ["RunningSandbox", "SandboxConfig", "SandboxState", "create_app", "run", "serve"]
