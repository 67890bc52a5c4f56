"""`wan-i2v mcp`: the real server process over stdio, driven by the mcp SDK's own client,
against the real sandbox process (counted through /_sandbox/stats, faults injected through
/_sandbox/faults). Tasks are counted, not assumed: one key, one POST, one task; escapes write
nothing outside the output folder; a distinctive fake key appears in no result, progress
notification or stderr line. The rules themselves (keys, paths, schemas, redaction) are also
tested in-process, fast."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import sqlite3
import subprocess
import sys
from collections.abc import AsyncIterator, Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("mcp")

import anyio
from imagefiles import write_image
from mcp import ClientSession
from mcp.client.stdio import StdioServerParameters, stdio_client
from mcp_types import CallToolResult
from sandbox_processes import Sandbox, sandbox_process

import wan_i2v
from wan_i2v._request import FIELDS
from wan_i2v.batch import Journal, State
from wan_i2v.mcp._keys import KeyedCreates
from wan_i2v.mcp._paths import image_source, video_target
from wan_i2v.mcp._results import RedactingFilter, Redactor
from wan_i2v.mcp._schema import offered
from wan_i2v.mcp._server import build_server
from wan_i2v.mcp._tools import Folders, Tools
from wan_i2v.sandbox import SandboxControl

KEY = "sk-mcp-Zq7XfakeKEY-3b9d41c0e2"  # distinctive: found nowhere but where we put it
PASSWORD = "pw-Kd93mcpURLsecret"
TOOLS = {
    "check_video_request",
    "create_video_task",
    "get_video_task",
    "wait_for_video_task",
    "download_video",
    "list_video_tasks",
}


# --- The real processes ------------------------------------------------------------------------


@pytest.fixture
def sandbox(tmp_path: Path) -> Iterator[Sandbox]:
    logs = tmp_path / "sandbox"
    logs.mkdir()
    with sandbox_process(logs, "--api-key", KEY, "--task-seconds", "1.5") as running:
        yield running


@pytest.fixture
def root(tmp_path: Path) -> Path:
    """The image root, holding one valid image."""
    folder = tmp_path / "root"
    folder.mkdir()
    write_image(folder, "cat.png", "png", 640, 480)
    return folder


class Agent:
    """An MCP client session that keeps everything the server said to it."""

    def __init__(self, session: ClientSession) -> None:
        self.session = session
        self.heard: list[str] = []  # every result and progress notification, as JSON text
        self.progress: list[tuple[float, float | None, str | None]] = []

    async def call(self, name: str, **arguments: Any) -> CallToolResult:
        async def on_progress(progress: float, total: float | None, message: str | None) -> None:
            self.progress.append((progress, total, message))
            self.heard.append(json.dumps([progress, total, message]))

        result = await self.session.call_tool(name, arguments, progress_callback=on_progress)
        self.heard.append(result.model_dump_json())
        return result


class Server:
    """How to start `wan-i2v mcp` against the sandbox, and what it printed on stderr."""

    def __init__(self, sandbox: Sandbox, root: Path, out: Path, stderr: Path) -> None:
        self.sandbox = sandbox
        self.root = root
        self.out = out
        self.stderr = stderr
        self.agents: list[Agent] = []

    def params(self, *extra: str) -> StdioServerParameters:
        base = {k: v for k, v in os.environ.items() if not k.startswith("MULEROUTER_")}
        # -v: the library's request log on stderr too; a password in the base URL, which
        # httpx's own INFO lines would print.
        url = self.sandbox.url.replace("http://", f"http://agent:{PASSWORD}@")
        return StdioServerParameters(
            command=sys.executable,
            args=["-m", "wan_i2v.cli", "-v", "mcp", "--output-dir", str(self.out), *extra],
            env={**base, "MULEROUTER_BASE_URL": url, "MULEROUTER_API_KEY": KEY},
            cwd=self.root,  # the default image root
        )

    @contextlib.asynccontextmanager
    async def agent(self, *extra: str) -> AsyncIterator[Agent]:
        with self.stderr.open("a") as errlog:
            async with (
                stdio_client(self.params(*extra), errlog=errlog) as (read, write),
                ClientSession(read, write) as session,
            ):
                await session.initialize()
                agent = Agent(session)
                self.agents.append(agent)
                yield agent

    def pid(self) -> int:
        """The running server's pid, from the journal's owners table."""
        with contextlib.closing(sqlite3.connect(self.out / ".wan-i2v-journal.sqlite")) as db:
            (pid,) = db.execute("SELECT pid FROM owners").fetchone()
        return int(pid)

    def stats(self) -> dict[str, Any]:
        return SandboxControl(self.sandbox.url).stats()

    def creates_sent(self) -> int:
        return sum(self.stats()["requests"].get("create", {}).values())


@pytest.fixture
def server(sandbox: Sandbox, root: Path, tmp_path: Path) -> Iterator[Server]:
    """The server's settings; afterwards, the fake key must be in nothing it said."""
    running = Server(sandbox, root, tmp_path / "videos", tmp_path / "mcp-stderr.log")
    yield running
    heard = "\n".join(line for agent in running.agents for line in agent.heard)
    stderr = running.stderr.read_text()
    assert heard, "nothing was heard"
    if running.creates_sent():
        assert "POST" in stderr, "the request log (-v) was not on stderr"
    for secret in (KEY, PASSWORD):
        assert secret not in heard
        assert secret not in stderr
    assert "Traceback" not in heard + stderr


def data(result: CallToolResult) -> dict[str, Any]:
    assert result.structured_content is not None, result.content
    return result.structured_content


def text(result: CallToolResult) -> str:
    return " ".join(getattr(block, "text", "") for block in result.content)


@pytest.mark.slow
def test_tools_are_listed_with_schemas_and_check_sends_nothing(server: Server) -> None:
    """The six tools are listed, create's schema carries every offered field with the
    spec's enums and bounds plus idempotency_key; check_video_request sends no request at
    all, and reports every problem with its field."""

    async def main() -> None:
        async with server.agent() as agent:
            listed = {tool.name: tool for tool in (await agent.session.list_tools()).tools}
            assert set(listed) == TOOLS
            create = listed["create_video_task"]
            assert "COSTS MONEY" in (create.description or "")
            assert "same idempotency_key" in (create.description or "").replace("SAME", "same")
            for name in TOOLS - {"create_video_task"}:
                assert (listed[name].description or "").startswith("Free")
            schema = create.input_schema
            assert "idempotency_key" in schema["required"]
            names = {name for name, info in FIELDS.items() if offered(info)}
            assert names | {"idempotency_key", "retry_unknown"} == set(schema["properties"])
            assert names == set(listed["check_video_request"].input_schema["properties"])

            ok = await agent.call("check_video_request", image="cat.png", prompt="A cat turns")
            assert not ok.is_error, text(ok)
            request = data(ok)["request"]
            assert request["image"]["format"] == "png"
            assert request["image"]["width"] == 640
            assert "base64" not in json.dumps(data(ok))
            bad = await agent.call("check_video_request", image="../../etc/passwd", prompt=" ")
            assert bad.is_error
            assert {p["field"] for p in data(bad)["problems"]} == {"prompt", "image"}
        assert server.stats()["requests_received"] == 0
        assert server.stats()["tasks_created"] == 0

    anyio.run(main)


def _kill(server: Server) -> None:
    os.kill(server.pid(), signal.SIGKILL)


@pytest.mark.slow
def test_same_key_is_one_task_also_after_a_kill_and_restart(server: Server) -> None:
    """The same idempotency_key twice makes one task with one POST; after the server is
    killed with SIGKILL and restarted on the same journal, the key still gives that task
    and sends nothing; the key with other fields is refused unsent."""
    fields = {"image": "cat.png", "prompt": "A cat turns its head"}

    async def main() -> None:
        async with server.agent() as agent:
            first = await agent.call("create_video_task", idempotency_key="cat-1", **fields)
            assert not first.is_error, text(first)
            task_id = data(first)["task_id"]
            assert data(first)["created"] is True
            again = await agent.call("create_video_task", idempotency_key="cat-1", **fields)
            assert data(again)["task_id"] == task_id
            assert data(again)["created"] is False
            assert server.creates_sent() == 1
            _kill(server)
        async with server.agent() as agent:
            after = await agent.call("create_video_task", idempotency_key="cat-1", **fields)
            assert not after.is_error, text(after)
            assert data(after)["task_id"] == task_id
            other = await agent.call(
                "create_video_task", idempotency_key="cat-1", image="cat.png", prompt="A dog"
            )
            assert other.is_error
            assert data(other)["error"]["code"] == "idempotency_key_reused"
            assert "cat-1" in text(other)
            listed = data(await agent.call("list_video_tasks"))["tasks"]
            assert [(t["idempotency_key"], t["task_id"]) for t in listed] == [("cat-1", task_id)]
        assert server.creates_sent() == 1
        assert server.stats()["tasks_created"] == 1

    anyio.run(main)


@pytest.mark.slow
def test_outcome_unknown_then_the_same_key_sends_no_post(server: Server) -> None:
    """A 503 after the task was created: the result says the outcome is unknown and what to
    check; the same key then sends no POST (also after a restart) until retry_unknown."""
    fields = {"image": "cat.png", "prompt": "A cat turns its head"}
    SandboxControl(server.sandbox.url).inject(503, operation="create", after_create=True)

    async def main() -> None:
        async with server.agent() as agent:
            result = await agent.call("create_video_task", idempotency_key="u-1", **fields)
            assert result.is_error
            assert data(result)["status"] == "outcome_unknown"
            assert data(result)["task_id"] is None
            assert "Check your MuleRouter tasks" in data(result)["what_to_check"]
            assert "retry_unknown" in text(result)
            assert server.stats()["tasks_created"] == 1  # the task existed, and is billed
            sent = server.creates_sent()
            again = await agent.call("create_video_task", idempotency_key="u-1", **fields)
            assert data(again)["status"] == "outcome_unknown"
            assert server.creates_sent() == sent
        async with server.agent() as agent:
            after = await agent.call("create_video_task", idempotency_key="u-1", **fields)
            assert data(after)["status"] == "outcome_unknown"
            assert server.creates_sent() == sent
            paid = await agent.call(
                "create_video_task", idempotency_key="u-1", retry_unknown=True, **fields
            )
            assert not paid.is_error
            assert data(paid)["created"] is True
        assert server.stats()["tasks_created"] == 2

    anyio.run(main)


@pytest.mark.slow
def test_wait_sends_progress_and_download_stays_in_the_output_folder(
    server: Server, tmp_path: Path
) -> None:
    """A wait that runs out returns still_running with the task id (not an error); a wait
    that sees the end sends progress notifications; the download is an MP4 under the output
    folder; escapes (.., absolute, a symlink out) and an existing file are refused, and
    nothing is written outside."""
    outside = tmp_path / "outside"
    outside.mkdir()

    async def main() -> None:
        async with server.agent() as agent:
            created = await agent.call(
                "create_video_task", idempotency_key="v-1", image="cat.png", prompt="A cat"
            )
            task_id = data(created)["task_id"]
            early = await agent.call("wait_for_video_task", task_id=task_id, timeout=0)
            assert not early.is_error, text(early)
            assert data(early)["still_running"] is True
            assert data(early)["task_id"] == task_id
            agent.progress.clear()
            done = await agent.call("wait_for_video_task", task_id=task_id, timeout=30)
            assert not done.is_error, text(done)
            assert data(done)["phase"] == "succeeded"
            assert data(done)["videos"]
            assert len(agent.progress) >= 2
            values = [p for p, _, _ in agent.progress]
            assert values == sorted(values)
            assert all(total == 30 and task_id in (m or "") for _, total, m in agent.progress)

            saved = await agent.call("download_video", task_id=task_id)
            assert not saved.is_error, text(saved)
            path = Path(data(saved)["path"])
            assert path.parent == server.out
            assert path.read_bytes()[4:8] == b"ftyp"

            server.out.joinpath("link").symlink_to(outside, target_is_directory=True)
            for name in ("../x.mp4", str(outside / "x.mp4"), "link/x.mp4", "sub/../../x.mp4"):
                refused = await agent.call("download_video", task_id=task_id, file_name=name)
                assert refused.is_error, name
                assert "file_name" in text(refused)
            exists = await agent.call("download_video", task_id=task_id, file_name=path.name)
            assert exists.is_error
            assert "already exists" in text(exists)
            replaced = await agent.call(
                "download_video", task_id=task_id, file_name=path.name, overwrite=True
            )
            assert not replaced.is_error, text(replaced)
            listed = data(await agent.call("list_video_tasks"))["tasks"]
            assert listed[0]["status"] == "done"
            assert listed[0]["path"] == str(path)
            missing = await agent.call(
                "get_video_task", task_id="00000000-0000-4000-8000-000000000000"
            )
            assert missing.is_error
            assert "00000000-0000-4000-8000-000000000000" in text(missing)

    anyio.run(main)
    assert list(outside.iterdir()) == []
    assert not (tmp_path / "x.mp4").exists()


@pytest.mark.slow
def test_the_in_process_sandbox_needs_no_key(root: Path, tmp_path: Path) -> None:
    """`wan-i2v mcp --sandbox` serves with no key and no API: a video is made end to end,
    and nothing but the protocol is written to stdout."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("MULEROUTER_")}
    params = StdioServerParameters(
        command=sys.executable,
        args=["-m", "wan_i2v.cli", "mcp", "--sandbox", "--output-dir", str(tmp_path / "v")],
        env=env,
        cwd=root,
    )

    async def main() -> None:
        with (tmp_path / "stderr.log").open("w") as errlog:
            async with (
                stdio_client(params, errlog=errlog) as (read, write),
                ClientSession(read, write) as session,
            ):
                await session.initialize()
                created = await session.call_tool(
                    "create_video_task",
                    {"idempotency_key": "s", "image": "cat.png", "prompt": "A cat"},
                )
                task_id = data(created)["task_id"]
                done = await session.call_tool("wait_for_video_task", {"task_id": task_id})
                assert data(done)["phase"] == "succeeded"
                saved = await session.call_tool("download_video", {"task_id": task_id})
                assert Path(data(saved)["path"]).read_bytes()[4:8] == b"ftyp"

    anyio.run(main)
    assert "offline sandbox" in (tmp_path / "stderr.log").read_text()


def test_missing_extra_is_one_line_and_exit_2(tmp_path: Path) -> None:
    """Without the mcp package, `wan-i2v mcp` says which extra to install and exits 2."""
    code = "import sys; sys.modules['mcp'] = None; from wan_i2v.cli import main; main(['mcp'])"
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=tmp_path, check=False
    )
    assert done.returncode == 2
    assert 'pip install "wan-i2v[mcp]"' in done.stderr
    assert "Traceback" not in done.stderr


@pytest.mark.slow
def test_no_key_is_one_line_and_exit_2(tmp_path: Path) -> None:
    """Without a key (and not --sandbox), the server does not start: one line, exit 2."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("MULEROUTER_")}
    done = subprocess.run(
        [sys.executable, "-m", "wan_i2v.cli", "mcp"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env=env,
        check=False,
        stdin=subprocess.DEVNULL,
    )
    assert done.returncode == 2
    assert "MULEROUTER_API_KEY" in done.stderr
    assert "Traceback" not in done.stderr
    assert done.stdout == ""


# --- The rules, in-process -----------------------------------------------------------------


@pytest.fixture
def journal(tmp_path: Path) -> Iterator[Journal]:
    with Journal(tmp_path / "j.sqlite", origin="http://api.test") as opened:
        yield opened


class FakePost:
    """The create POST: counted, answering a task, or raising what it is told."""

    def __init__(self, *, raises: BaseException | None = None) -> None:
        self.sent: list[Mapping[str, Any]] = []
        self.raises = raises

    async def __call__(self, body: Mapping[str, Any]) -> wan_i2v.Task:
        self.sent.append(body)
        await asyncio.sleep(0.01)  # the POST takes time: other calls run meanwhile
        if self.raises is not None:
            raise self.raises
        import datetime as dt

        now = dt.datetime.now(dt.UTC)
        number = len(self.sent)
        return wan_i2v.Task(f"00000000-0000-4000-8000-{number:012d}", "pending", now, now)


BODY = {"prompt": "a cat", "image": "https://example.com/cat.png"}


def test_one_key_one_post_and_other_fields_refused(journal: Journal) -> None:
    """The same key and body is posted once; a second body under the key is refused."""
    keys, post = KeyedCreates(journal.ledger("mcp")), FakePost()

    async def main() -> None:
        first = await keys.create("k", BODY, post, retry_unknown=False)
        again = await keys.create("k", BODY, post, retry_unknown=False)
        other = await keys.create("k", {**BODY, "prompt": "a dog"}, post, retry_unknown=False)
        assert (first.kind, again.kind, other.kind) == ("created", "reused", "refused")
        assert again.entry.task_id == first.entry.task_id

    asyncio.run(main())
    assert len(post.sent) == 1


def test_concurrent_calls_with_one_key_post_once(journal: Journal) -> None:
    """Ten simultaneous calls with one key: one POST, one task id for all."""
    keys, post = KeyedCreates(journal.ledger("mcp")), FakePost()

    async def main() -> set[str | None]:
        outcomes = await asyncio.gather(
            *(keys.create("k", BODY, post, retry_unknown=False) for _ in range(10))
        )
        return {o.entry.task_id for o in outcomes}

    assert len(asyncio.run(main())) == 1
    assert len(post.sent) == 1


def test_unknown_outcome_is_not_posted_again_without_retry_unknown(journal: Journal) -> None:
    """After CreateOutcomeUnknownError the key sends nothing, until retry_unknown."""
    ledger = journal.ledger("mcp")
    unknown = FakePost(raises=wan_i2v.CreateOutcomeUnknownError(reason="HTTP 503"))

    async def main() -> None:
        keys = KeyedCreates(ledger)
        assert (await keys.create("k", BODY, unknown, retry_unknown=False)).kind == "unknown"
        assert (await keys.create("k", BODY, unknown, retry_unknown=False)).kind == "unknown"
        assert len(unknown.sent) == 1
        paid = FakePost()
        assert (await keys.create("k", BODY, paid, retry_unknown=True)).kind == "created"
        assert len(paid.sent) == 1

    asyncio.run(main())


def test_a_refused_create_leaves_the_key_free(journal: Journal) -> None:
    """A create that never made a task (here: no connection) puts the key back: the next
    call posts again."""
    ledger = journal.ledger("mcp")
    refused = FakePost(raises=wan_i2v.APIConnectionError(url="http://api.test"))

    async def main() -> None:
        keys = KeyedCreates(ledger)
        with pytest.raises(wan_i2v.APIConnectionError):
            await keys.create("k", BODY, refused, retry_unknown=False)
        assert ledger.entry("k").state is State.NEW  # type: ignore[union-attr]
        assert (await keys.create("k", BODY, FakePost(), retry_unknown=False)).kind == "created"

    asyncio.run(main())


def test_a_create_in_flight_when_the_server_died_is_unknown(tmp_path: Path) -> None:
    """A key left "creating" by a process that is gone is reported unknown, not re-sent."""
    path = tmp_path / "j.sqlite"
    with Journal(path, origin="http://api.test") as gone:
        ledger = gone.ledger("mcp")
        ledger.register([("k", "fp")])
        ledger.creating("k", "fp")
    with Journal(path, origin="http://api.test") as journal:
        from wan_i2v.batch._manifest import fingerprint

        ledger = journal.ledger("mcp")
        ledger.creating("k", fingerprint(BODY))
        post = FakePost()
        outcome = asyncio.run(KeyedCreates(ledger).create("k", BODY, post, retry_unknown=False))
    assert outcome.kind == "unknown"
    assert post.sent == []


def test_download_names_stay_inside_the_output_folder(tmp_path: Path) -> None:
    """Absolute names, '..' and symlinks out are refused; subfolders inside are fine."""
    out, outside = tmp_path / "out", tmp_path / "outside"
    out.mkdir()
    outside.mkdir()
    (out / "link").symlink_to(outside, target_is_directory=True)
    (out / "file-link.mp4").symlink_to(outside / "x.mp4")
    task = "00000000-0000-4000-8000-000000000001"
    assert video_target(out, None, task) == out / f"{task}.mp4"
    assert video_target(out, "sub/a.mp4", task) == out / "sub" / "a.mp4"
    for name in ("../a.mp4", "/etc/a.mp4", "C:\\a.mp4", "..\\a.mp4", "link/a.mp4", "file-link.mp4"):
        with pytest.raises(wan_i2v.ValidationError) as caught:
            video_target(out, name, task)
        assert caught.value.field == "file_name"


def test_image_paths_stay_inside_the_image_root(tmp_path: Path) -> None:
    """An image path is read only inside the image root; URLs and data URIs pass on."""
    root = tmp_path / "root"
    root.mkdir()
    (root / "link.png").symlink_to(tmp_path / "secret.png")
    assert image_source("a.png", root, field="image") == str(root / "a.png")
    assert image_source("https://x.test/a.png", root, field="image") == "https://x.test/a.png"
    for value in ("../a.png", str(tmp_path / "a.png"), "link.png"):
        with pytest.raises(wan_i2v.ValidationError) as caught:
            image_source(value, root, field="last_frame")
        assert caught.value.field == "last_frame"


def test_schemas_follow_the_declared_fields(journal: Journal, tmp_path: Path) -> None:
    """Every offered create field is in both schemas, with the spec's enum, bounds, length
    and default, and required exactly where the declaration requires it."""
    client = wan_i2v.AsyncClient(api_key="k", base_url="http://api.test")
    tools = Tools(
        client, KeyedCreates(journal.ledger("mcp")), Folders(tmp_path, tmp_path), Redactor("k")
    )
    listed = {t.name: t for t in asyncio.run(build_server(tools).list_tools())}
    for tool in ("check_video_request", "create_video_task"):
        schema = listed[tool].input_schema
        for name, info in FIELDS.items():
            if not offered(info):
                assert name not in schema["properties"]
                continue
            assert info.fact is not None
            prop = schema["properties"][name]
            flat = {k: v for branch in prop.get("anyOf", [prop]) for k, v in branch.items()}
            assert (name in schema.get("required", [])) == info.required, name
            assert flat.get("enum", []) == list(info.fact.choices), name
            assert flat.get("minimum") == info.fact.minimum, name
            assert flat.get("maximum") == info.fact.maximum, name
            assert flat.get("maxLength") == info.fact.max_length, name
            assert prop.get("default") == info.field.default, name
            assert prop["description"], name


def test_the_key_is_removed_from_results_and_log_lines() -> None:
    """A message that holds the key (a server echoing it) leaves without it, in a result
    and in a log line with its traceback."""
    import logging

    redactor = Redactor(KEY)
    assert KEY not in json.dumps(redactor.data({"a": [f"Bearer {KEY}"], KEY: 1}))
    record = logging.LogRecord("x", logging.ERROR, __file__, 1, "got %s", (KEY,), None)
    try:
        raise ValueError(KEY)
    except ValueError:
        record.exc_info = sys.exc_info()
    RedactingFilter(redactor).filter(record)
    assert KEY not in logging.Formatter().format(record)


def test_a_cancelled_create_still_journals_its_task_id(journal: Journal, tmp_path: Path) -> None:
    """The host cancels create_video_task while its POST is in flight: the POST finishes and
    its task id lands in the journal, so the next call with the key finds the task."""
    import httpx
    from conftest import TASK_ID, task_json

    async def slow_api(request: httpx.Request) -> httpx.Response:
        await asyncio.sleep(0.3)
        return httpx.Response(202, json=task_json())

    async def main() -> None:
        async with httpx.AsyncClient(transport=httpx.MockTransport(slow_api)) as http:
            client = wan_i2v.AsyncClient(api_key="k", base_url="http://api.test", http_client=http)
            ledger = journal.ledger("mcp")
            tools = Tools(client, KeyedCreates(ledger), Folders(tmp_path, tmp_path), Redactor("k"))
            arguments = {"idempotency_key": "k1", "retry_unknown": False, **BODY}
            call = asyncio.ensure_future(tools.create(None, arguments))  # type: ignore[arg-type]
            await asyncio.sleep(0.1)
            call.cancel()
            with pytest.raises(asyncio.CancelledError):
                await call
            assert ledger.entry("k1").state is State.CREATING  # type: ignore[union-attr]
            await asyncio.sleep(0.5)
            entry = ledger.entry("k1")
            assert entry is not None
            assert (entry.state, entry.task_id) == (State.CREATED, TASK_ID)

    asyncio.run(main())
