"""``SandboxControl``: the control surface of a sandbox running elsewhere (``wan-i2v
sandbox`` in another process, a CI service), from Python.

    control = SandboxControl("http://127.0.0.1:8787")
    before = control.stats()["tasks_created"]
    control.inject(503, operation="create", after_create=True)
    ...  # the code under test
    assert control.stats()["tasks_created"] == before + 1
"""

from __future__ import annotations

from typing import Any

import httpx

from ._faults import Fault, Operation, Status


class SandboxControl:
    """The ``/_sandbox/`` endpoints of the sandbox at ``url`` (no key: they need none)."""

    def __init__(self, url: str, *, timeout: float = 10.0) -> None:
        self.url = url.rstrip("/")
        self.timeout = timeout

    def stats(self) -> dict[str, Any]:
        """``GET /_sandbox/stats``: counters since the sandbox started."""
        stats: dict[str, Any] = self._call("GET", "stats").json()
        return stats

    def inject(
        self,
        status: Status,
        *,
        count: int = 1,
        operation: Operation = "any",
        after_create: bool = False,
        retry_after: float | None = None,
    ) -> Fault:
        """``POST /_sandbox/faults``: the same arguments as ``SandboxState.inject``; the
        fault as the sandbox stored it. A bad one raises ValueError before anything is sent."""
        fault = Fault(status, count, operation, after_create, retry_after)
        return Fault.from_json(self._call("POST", "faults", json=fault.to_json()).json())

    def faults(self) -> list[Fault]:
        """``GET /_sandbox/faults``: the faults still to play, with their remaining counts."""
        return [Fault.from_json(item) for item in self._call("GET", "faults").json()]

    def clear_faults(self) -> None:
        """``DELETE /_sandbox/faults``."""
        self._call("DELETE", "faults")

    def _call(self, method: str, name: str, **kwargs: Any) -> httpx.Response:
        response = httpx.request(
            # Loopback: no proxy from the environment applies.
            method,
            f"{self.url}/_sandbox/{name}",
            timeout=self.timeout,
            trust_env=False,
            **kwargs,
        )
        response.raise_for_status()
        return response
