"""The MCP server: six tools over stdio, one ``AsyncClient``, one journal.

stdout carries the protocol and nothing else: every log line goes to stderr through one
handler that removes the API key, installed before the SDK's own logging set-up (which then
leaves the root logger alone). httpx's INFO request lines, which print a base URL's
password, are lowered to warnings.
"""

from __future__ import annotations

import logging
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any

import anyio
from mcp.server import MCPServer
from mcp_types import ToolAnnotations
from pydantic import Field

from .._async_client import AsyncClient
from .._version import __version__
from ..batch._engine import origin_of
from ..batch._journal import HEARTBEAT_SECONDS, JOURNAL_NAME, Journal
from ._keys import LEDGER, KeyedCreates
from ._results import RedactingFilter, Redactor
from ._schema import (
    IDEMPOTENCY_KEY,
    RETRY_UNKNOWN,
    TASK_ID,
    ToolBody,
    create_parameters,
    parameter,
    tool_function,
)
from ._tools import WAIT_DEFAULT, WAIT_MAX, Folders, Tools

NAME = "wan-i2v"
PAID = "COSTS MONEY. "
FREE = "Free: "

INSTRUCTIONS = (
    "Make 5-second videos from an image and a prompt with MuleRouter's wan2.2-i2v-plus. "
    "check_video_request is free; create_video_task costs money and needs your own "
    "idempotency_key: a retry MUST reuse the same key (it returns the same task, never a "
    "second charge). Then wait_for_video_task (call it again while it says still_running) and "
    "download_video. list_video_tasks shows every task this server's journal holds."
)

DESCRIPTIONS = {
    "check_video_request": (
        f"{FREE}sends nothing. Validates a video request exactly as create_video_task will, "
        "and returns the request as it would be sent (images described, not included), or "
        "every problem with its field."
    ),
    "create_video_task": (
        f"{PAID}Creates one billed wan2.2-i2v-plus task (a 5-second video) from an image and "
        "a prompt. idempotency_key is your own string for this one video: if the answer is "
        "lost or the call times out, call again with the SAME idempotency_key and fields; you "
        "get the same task and are never billed twice, even after a server restart. Never "
        "make up a new key to retry. The same key with other fields is refused. When the "
        "result says the outcome is unknown, a task may exist: check before passing "
        "retry_unknown: true, which pays again."
    ),
    "get_video_task": (
        f"{FREE}a task's current status, phase, video URLs and error (one status check)."
    ),
    "wait_for_video_task": (
        f"{FREE}waits for a task to finish, up to timeout seconds (default "
        f"{WAIT_DEFAULT:.0f}, at most {WAIT_MAX:.0f}), sending progress notifications. When "
        "time runs out it returns still_running with the task_id (not an error): call it again "
        "to keep waiting; never create a new task for it."
    ),
    "download_video": (
        f"{FREE}saves a succeeded task's video (MP4) under the server's output folder and "
        "returns its path. A fresh link is fetched (links expire). file_name must stay inside "
        "that folder; an existing file is kept unless overwrite is true."
    ),
    "list_video_tasks": (
        f"{FREE}every task this server's journal holds (idempotency_key, task_id, status, "
        "path), so a task whose answer was lost can be found again."
    ),
}

_WAIT_TIMEOUT = parameter(
    "timeout",
    Annotated[
        float,
        Field(
            ge=0,
            le=WAIT_MAX,
            description=f"Seconds to wait (default {WAIT_DEFAULT:.0f}, at most {WAIT_MAX:.0f}).",
        ),
    ],
    default=WAIT_DEFAULT,
)
_FILE_NAME = parameter(
    "file_name",
    Annotated[
        str | None,
        Field(
            description=(
                "File name inside the server's output folder (subfolders allowed; default "
                "<task_id>.mp4). Absolute paths, '..' and symlinks out are refused."
            )
        ),
    ],
    default=None,
)
_OVERWRITE = parameter(
    "overwrite",
    Annotated[bool, Field(description="Replace an existing file of that name.")],
    default=False,
)


@dataclass(frozen=True, slots=True)
class ServerOptions:
    """How ``wan-i2v mcp`` was started.

    Attributes:
        output_dir: videos are written only under it (created if missing).
        image_root: image paths are read only under it.
        journal: the SQLite journal (default ``output_dir/.wan-i2v-journal.sqlite``, the
            batch command's default file: one journal, a table per use).
        origin: the API the journal belongs to (default: the client's base URL, without
            credentials); the in-process sandbox has a fixed name, as in ``batch``.
    """

    output_dir: Path
    image_root: Path
    journal: Path | None = None
    origin: str | None = None


def setup_logging(redactor: Redactor) -> None:
    """Every log line on stderr, without the key; before the SDK's set-up (which is then a
    no-op: the root logger has a handler)."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
    handler.addFilter(RedactingFilter(redactor))
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    for name in ("httpx", "httpx2", "httpcore", "httpcore2"):
        logging.getLogger(name).setLevel(logging.WARNING)


def build_server(tools: Tools) -> MCPServer[Any]:
    """The MCP server with the six tools, each schema built from the declarations."""
    server: MCPServer[Any] = MCPServer(
        NAME, instructions=INSTRUCTIONS, version=__version__, log_level="INFO"
    )
    fields = create_parameters()
    table: list[tuple[str, list[Any], ToolBody, ToolAnnotations]] = [
        ("check_video_request", fields, tools.check, _free(read_only=True)),
        (
            "create_video_task",
            [IDEMPOTENCY_KEY, *fields, RETRY_UNKNOWN],
            tools.create,
            ToolAnnotations(
                title="Create a video task (paid)",
                read_only_hint=False,
                destructive_hint=False,
                idempotent_hint=True,  # by its idempotency_key
                open_world_hint=True,
            ),
        ),
        ("get_video_task", [TASK_ID], tools.get, _free(read_only=True)),
        ("wait_for_video_task", [TASK_ID, _WAIT_TIMEOUT], tools.wait, _free(read_only=True)),
        (
            "download_video",
            [TASK_ID, _FILE_NAME, _OVERWRITE],
            tools.download,
            _free(read_only=False),
        ),
        ("list_video_tasks", [], tools.list, _free(read_only=True)),
    ]
    for name, params, body, hints in table:
        server.add_tool(
            tool_function(name, params, _guard(tools, name, body)),
            name=name,
            description=DESCRIPTIONS[name],
            annotations=hints,
        )
    return server


def _free(*, read_only: bool) -> ToolAnnotations:
    return ToolAnnotations(read_only_hint=read_only, destructive_hint=False, open_world_hint=True)


def _guard(tools: Tools, name: str, body: ToolBody) -> ToolBody:
    async def guarded(ctx: Any, arguments: dict[str, Any]) -> Any:
        return await tools.guarded(name, body(ctx, arguments))

    return guarded


def journal_path(options: ServerOptions) -> Path:
    return options.journal if options.journal is not None else options.output_dir / JOURNAL_NAME


def open_journal(options: ServerOptions, client: AsyncClient) -> Journal:
    """The journal, refused (``JournalError``) when it belongs to another API."""
    options.output_dir.mkdir(parents=True, exist_ok=True)
    return Journal(journal_path(options), origin=options.origin or origin_of(client.base_url))


async def serve_stdio(client: AsyncClient, journal: Journal, options: ServerOptions) -> None:
    """Serve the tools over stdin/stdout until the host closes stdin."""
    redactor = Redactor(client._settings.auth.reveal())
    folders = Folders(output_dir=options.output_dir, image_root=options.image_root)
    tools = Tools(client, KeyedCreates(journal.ledger(LEDGER)), folders, redactor)
    server = build_server(tools)
    async with client, anyio.create_task_group() as group:
        group.start_soon(_heartbeat, journal)
        await server.run_stdio_async()
        group.cancel_scope.cancel()


async def _heartbeat(journal: Journal) -> None:
    """Say this process is alive (for another host sharing the journal)."""
    while True:
        await anyio.sleep(HEARTBEAT_SECONDS)
        journal.heartbeat()


def run(client: AsyncClient, options: ServerOptions) -> None:
    """``wan-i2v mcp``: log set-up, the journal, the server, until stdin closes.

    Raises:
        JournalError: the journal belongs to another API or is not a journal.
    """
    setup_logging(Redactor(client._settings.auth.reveal()))
    journal = open_journal(options, client)
    try:
        anyio.run(serve_stdio, client, journal, options)
    finally:
        journal.close()
