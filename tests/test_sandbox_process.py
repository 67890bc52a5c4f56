"""`wan-i2v sandbox` as a real server process: its URL, its port, its memory, its log, its load."""

from __future__ import annotations

import asyncio
import base64
import json
import socket
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import httpx
import pytest
from sandbox_processes import Sandbox, command, sandbox_process

from wan_i2v._spec_facts import CREATE_PATH
from wan_i2v.sandbox._from_spec import MAX_BODY_BYTES

# Real time, real processes or builds: run once, on the interpreter nox runs on.
pytestmark = pytest.mark.slow

API = CREATE_PATH  # the spec's (generated facts)
KEY = "process-key"
AUTH = {"Authorization": f"Bearer {KEY}"}
VALID = {"prompt": "Flowers swaying", "image": "https://example.com/flower.jpg"}
MIB = 1 << 20


def test_ipv6_banner_is_a_url_clients_can_use(tmp_path: Path) -> None:
    """--host ::1 prints http://[::1]:PORT, and a create sent there is accepted."""
    with sandbox_process(tmp_path, "--host", "::1", "--api-key", KEY) as sandbox:
        assert sandbox.url.startswith("http://[::1]:")
        assert httpx.post(sandbox.url + API, json=VALID, headers=AUTH).status_code == 202


def test_port_in_use_is_one_line_and_exit_2() -> None:
    """A taken port: exit 2, one line naming it, no banner and no traceback."""
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = subprocess.run(
            command("--port", str(port)), capture_output=True, text=True, timeout=30, check=False
        )
    assert result.returncode == 2
    assert result.stdout == ""
    assert result.stderr.strip().splitlines() == [
        f"error: port {port} on 127.0.0.1 is in use by another program"
    ]


def raw_exchange(sandbox: Sandbox, head: bytes, body: bytes = b"") -> bytes:
    """Send a hand-written request and return what comes back before the server closes."""
    with socket.create_connection(sandbox.host_port, timeout=20) as sock:
        sock.sendall(head + body)
        sock.settimeout(20)
        received = b""
        while chunk := sock.recv(65536):
            received += chunk
    return received


def post_head(length_line: str) -> bytes:
    return (
        f"POST {API} HTTP/1.1\r\nHost: sandbox\r\nAuthorization: Bearer {KEY}\r\n"
        f"Content-Type: application/json\r\n{length_line}\r\n"
    ).encode()


def test_oversized_bodies_are_refused_before_they_are_read(tmp_path: Path) -> None:
    """A declared 100 MB body is a 413 at once; a chunked one is cut off at the cap; the
    process grows by far less than the bytes offered, and still answers."""
    with sandbox_process(tmp_path, "--api-key", KEY) as sandbox:
        before = sandbox.rss()
        started = time.monotonic()
        answer = raw_exchange(sandbox, post_head(f"Content-Length: {100_000_000}\r\n"), b"{")
        assert answer.startswith(b"HTTP/1.1 413 ")
        assert b"connection: close" in answer.lower()
        assert time.monotonic() - started < 5  # no 100 MB was waited for

        # Chunked: 1 MiB chunks until the server stops reading (it answers and closes).
        with socket.create_connection(sandbox.host_port, timeout=20) as sock:
            sock.sendall(post_head("Transfer-Encoding: chunked\r\n"))
            sent = 0
            chunk = b"%x\r\n" % MIB + b" " * MIB + b"\r\n"
            try:
                while sent < 3 * MAX_BODY_BYTES:
                    sock.sendall(chunk)
                    sent += MIB
            except (BrokenPipeError, ConnectionResetError):
                pass
        assert MAX_BODY_BYTES < sent < 3 * MAX_BODY_BYTES  # cut off, not read to the end
        grown = sandbox.rss() - before
        assert grown < 100 * MIB, f"grew {grown / MIB:.0f} MiB"
        assert httpx.post(sandbox.url + API, json=VALID, headers=AUTH).status_code == 202


def test_two_maximal_images_fit_under_the_cap(tmp_path: Path) -> None:
    """A body holding two 10,000,000-byte images as data URIs is read (202), not a 413."""
    payload = "data:image/png;base64," + base64.b64encode(b"\0" * 10_000_000).decode()
    body = json.dumps({"prompt": "p" * 800, "image": payload, "last_frame": payload}).encode()
    assert len(body) <= MAX_BODY_BYTES
    with sandbox_process(tmp_path, "--api-key", KEY) as sandbox:
        response = httpx.post(
            sandbox.url + API,
            content=body,
            headers={**AUTH, "Content-Type": "application/json"},
            timeout=60,
        )
    assert response.status_code == 202


def test_aborted_uploads_leave_no_traceback(tmp_path: Path) -> None:
    """Clients that hang up mid-body are forgotten quietly; the server keeps answering."""
    with sandbox_process(tmp_path, "--api-key", KEY) as sandbox:
        for _ in range(5):
            with socket.create_connection(sandbox.host_port) as sock:
                sock.sendall(post_head("Content-Length: 100000\r\n") + b'{"prompt": "')
                time.sleep(0.05)
        time.sleep(0.3)
        assert httpx.post(sandbox.url + API, json=VALID, headers=AUTH).status_code == 202
    log = sandbox.stderr.read_text()
    assert "Traceback" not in log
    assert "Exception in ASGI application" not in log


def outcomes(folder: Path, seed: str) -> list[str]:
    """The statuses of 24 tasks of a sandbox failing half its tasks, with this seed."""
    folder.mkdir()
    args = ("--seed", seed, "--fail-rate", "0.5", "--task-seconds", "0")
    with (
        sandbox_process(folder, *args) as sandbox,
        httpx.Client(base_url=sandbox.url, headers=AUTH) as http,
    ):
        ids = [http.post(API, json=VALID).json()["task_info"]["id"] for _ in range(24)]
        return [http.get(f"{API}/{i}").json()["task_info"]["status"] for i in ids]


def test_seed_option_makes_runs_repeatable(tmp_path: Path) -> None:
    """--seed N gives the same failures twice; another seed gives others."""
    first = outcomes(tmp_path / "a", "7")
    assert set(first) == {"failed", "completed"}
    assert outcomes(tmp_path / "b", "7") == first
    assert outcomes(tmp_path / "c", "8") != first


@pytest.mark.parametrize(
    "code",
    [
        "from wan_i2v.sandbox import serve",
        "from wan_i2v.cli import main; main(['sandbox'])",
    ],
)
def test_missing_extra_names_it(code: str) -> None:
    """Without the sandbox extra, the import error (and the command) say how to install it."""
    blocked = f"import sys; sys.modules['uvicorn'] = None; {code}"
    result = subprocess.run(
        [sys.executable, "-c", blocked], capture_output=True, text=True, timeout=60, check=False
    )
    assert result.returncode != 0
    last = result.stderr.strip().splitlines()[-1]
    assert 'pip install "wan-i2v[sandbox]"' in last
    assert not last.startswith("ModuleNotFoundError")


async def trickle(host: str, port: int, body: bytes, seconds: float) -> int:
    """Send a create body in small pieces over ``seconds``; the status of the answer."""
    reader, writer = await asyncio.open_connection(host, port)
    try:
        writer.write(post_head(f"Content-Length: {len(body)}\r\n"))
        pieces = 20
        step = -(-len(body) // pieces)
        for start in range(0, len(body), step):
            writer.write(body[start : start + step])
            await writer.drain()
            await asyncio.sleep(seconds / pieces)
        status_line = await reader.readline()
        return int(status_line.split()[1])
    finally:
        writer.close()
        await writer.wait_closed()


async def load(sandbox: Sandbox, creates: int, slow: int) -> Counter[int]:
    """``creates`` creates from 16 normal clients while ``slow`` clients trickle theirs."""
    statuses: Counter[int] = Counter()
    host, port = sandbox.host_port
    padded = json.dumps({**VALID, "negative_prompt": "n" * 400}).encode()
    limits = httpx.Limits(max_connections=16)
    async with httpx.AsyncClient(base_url=sandbox.url, headers=AUTH, limits=limits) as http:

        async def worker(count: int) -> None:
            for _ in range(count):
                response = await http.post(API, json=VALID)
                statuses[response.status_code] += 1
                if statuses[response.status_code] % 10 == 0 and response.status_code == 202:
                    task = response.json()["task_info"]["id"]
                    statuses[(await http.get(f"{API}/{task}")).status_code] += 1

        slow_clients = [trickle(host, port, padded, 5.0) for _ in range(slow)]
        results = await asyncio.gather(*(worker(creates // 16) for _ in range(16)), *slow_clients)
    for status in results[16:]:
        assert isinstance(status, int)
        statuses[status] += 1
    return statuses


@pytest.mark.load
def test_bounded_load_no_5xx_and_bounded_memory(tmp_path: Path) -> None:
    """3,200 creates plus 50 slow uploads against the real process: no 5xx, RSS grows
    < 100 MiB, done within a minute."""
    with sandbox_process(tmp_path, "--api-key", KEY, "--task-seconds", "0") as sandbox:
        httpx.post(sandbox.url + API, json=VALID, headers=AUTH)  # warm up imports and caches
        before = sandbox.rss()
        started = time.monotonic()
        statuses = asyncio.run(load(sandbox, creates=3200, slow=50))
        elapsed = time.monotonic() - started
        after = sandbox.rss()
    print(  # the figures for the report (pytest -s shows them)
        f"\nload: {sum(statuses.values())} requests {dict(statuses)} in {elapsed:.1f} s; "
        f"RSS {before / MIB:.1f} -> {after / MIB:.1f} MiB"
    )
    assert not [status for status in statuses if status >= 500]
    assert statuses[202] == 3200 + 50
    assert statuses[200] == 320
    assert after - before < 100 * MIB
    assert elapsed < 60
