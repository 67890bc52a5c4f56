"""`wan-i2v sandbox` as a real process for tests: start it on a free port, find its URL, stop it."""

from __future__ import annotations

import re
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx


@dataclass
class Sandbox:
    process: subprocess.Popen[bytes]
    url: str
    stdout: Path
    stderr: Path

    @property
    def host_port(self) -> tuple[str, int]:
        url = httpx.URL(self.url)
        assert url.port is not None
        return url.host, url.port

    def rss(self) -> int:
        """The server process's resident memory, in bytes (/proc/PID/status VmRSS)."""
        return self._status_kib("VmRSS") * 1024

    def peak_rss(self) -> int:
        """The most resident memory the process has had, in bytes (VmHWM)."""
        return self._status_kib("VmHWM") * 1024

    def _status_kib(self, name: str) -> int:
        status = Path(f"/proc/{self.process.pid}/status").read_text()
        return int(re.search(rf"{name}:\s+(\d+) kB", status).group(1))  # type: ignore[union-attr]


def command(*args: str) -> list[str]:
    return [sys.executable, "-m", "wan_i2v.cli", "sandbox", *args]


@contextmanager
def sandbox_process(tmp_path: Path, *args: str) -> Iterator[Sandbox]:
    """Start `wan-i2v sandbox --port 0 ...`, wait for its banner and its socket; stop it."""
    stdout, stderr = tmp_path / "stdout.log", tmp_path / "stderr.log"
    with stdout.open("wb") as out, stderr.open("wb") as err:
        process = subprocess.Popen(command("--port", "0", *args), stdout=out, stderr=err)
    try:
        deadline = time.monotonic() + 20
        while not (found := re.search(r"sandbox on (http://\S+)", stdout.read_text())):
            assert process.poll() is None, stderr.read_text()
            assert time.monotonic() < deadline, "no banner"
            time.sleep(0.05)
        sandbox = Sandbox(process, found.group(1), stdout, stderr)
        while True:
            try:
                socket.create_connection(sandbox.host_port, timeout=1).close()
                break
            except ConnectionRefusedError:
                assert time.monotonic() < deadline, "not listening"
                time.sleep(0.05)
        yield sandbox
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
