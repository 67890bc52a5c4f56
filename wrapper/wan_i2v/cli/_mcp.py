"""``wan-i2v mcp``: the MCP server over stdio (a thin shell over ``wan_i2v.mcp``).

stdout is the protocol's: everything this command says goes to stderr. Exit codes: 0 when the
host closes stdin; 2 when the server cannot start (the ``mcp`` extra missing, no API key, a
journal of another API), with one line saying why.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import click

from .._errors import ConfigurationError
from ..batch import JournalError
from ._batch import SANDBOX_ORIGIN
from ._display import say
from ._exit import EXIT_USAGE

if TYPE_CHECKING:
    from .._async_client import AsyncClient

MISSING_EXTRA = 'wan-i2v mcp needs the "mcp" extra: pip install "wan-i2v[mcp]"'


@contextlib.contextmanager
def _client(base_url: str | None, site: str | None, sandbox: bool) -> Iterator[AsyncClient]:
    # Loaded here: asyncio costs every other command's start-up ~50 ms (wan_i2v/__init__.py).
    from .._async_client import AsyncClient
    from ._commands import SANDBOX_KEY  # the group's (no import cycle at run time)

    if not sandbox:
        yield AsyncClient(base_url=base_url, site=site)
        return
    try:
        from ..sandbox import SandboxConfig, serve
    except ImportError:
        raise ConfigurationError(
            'The sandbox needs the "sandbox" extra: pip install "wan-i2v[sandbox]"'
        ) from None
    with serve(SandboxConfig(task_seconds=2.0)) as running:
        say(f"Using the offline sandbox at {running.url} (no API key, no cost)")
        yield AsyncClient(base_url=running.url, api_key=SANDBOX_KEY)


@click.command("mcp")
@click.option("--base-url", help="API base URL (default: MULEROUTER_BASE_URL or the site).")
@click.option(
    "--output-dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("videos"),
    show_default=True,
    help="Videos are written only under this folder.",
)
@click.option(
    "--journal",
    type=click.Path(dir_okay=False, path_type=Path),
    help="The SQLite journal of idempotency keys (default: OUTPUT_DIR/.wan-i2v-journal.sqlite).",
)
@click.option(
    "--image-root",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path(),
    help="Image paths are read only under this folder (default: the working directory).",
)
@click.option("--sandbox", is_flag=True, help="Use an in-process offline sandbox (no key, free).")
@click.pass_context
def mcp_command(
    ctx: click.Context,
    base_url: str | None,
    output_dir: Path,
    journal: Path | None,
    image_root: Path,
    sandbox: bool,
) -> None:
    """Run an MCP server over stdio for agents (needs the "mcp" extra).

    The API key is read from MULEROUTER_API_KEY (or a .env file), never from a flag. Every
    paid call is idempotent by the agent's own key, kept in the journal across restarts.
    """
    try:
        from ..mcp import ServerOptions, run
    except ImportError as exc:
        if not (exc.name or "").startswith(("mcp", "pydantic")):
            raise
        say(MISSING_EXTRA)
        raise SystemExit(EXIT_USAGE) from None
    base_url = base_url or getattr(ctx.obj, "base_url", None)
    site = getattr(ctx.obj, "site", None)
    options = ServerOptions(
        output_dir=output_dir.absolute(),
        image_root=image_root.absolute(),
        journal=journal,
        origin=SANDBOX_ORIGIN if sandbox else None,
    )
    try:
        with _client(base_url, site, sandbox) as client:
            run(client, options)
    except (ConfigurationError, JournalError) as exc:
        say(f"error: {exc}")
        raise SystemExit(EXIT_USAGE) from None
    except KeyboardInterrupt:
        raise SystemExit(0) from None
