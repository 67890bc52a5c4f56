"""The commands of ``wan-i2v``. Every API call goes through ``wan_i2v.Client``: ``generate``
calls ``Client.generate`` (its checks before paying included); ``--no-wait`` is the only path
that calls ``create`` alone.

Exit codes: 0 success; 1 API or task failure; 2 usage or validation error (nothing was paid
for); 130 interrupted (143 on SIGTERM). With ``--json``, stdout carries exactly one JSON
object, holding ``task_id`` whenever a task exists, errors and interruptions included.
"""

from __future__ import annotations

import base64
import contextlib
import functools
import json
import logging
from collections.abc import Callable, Iterator
from typing import Any, TypeVar

import click

from .. import _constants as c
from .._client import Client
from .._errors import ConfigurationError
from .._images import inspect_image
from .._logging import describe_body
from .._output import plan_output
from .._request import FIELDS, IMAGE_FIELDS, FieldInfo, build_create_request
from ._batch import batch_command
from ._contract import contract_command
from ._display import Progress, Run, Where, say, task_dict
from ._exit import EXIT_USAGE
from ._mcp import mcp_command

F = TypeVar("F", bound=Callable[..., Any])
SANDBOX_KEY = "sandbox-key"  # the sandbox's own throwaway key, never a real one


@click.group()
@click.option("--base-url", help="API base URL (default: MULEROUTER_BASE_URL or the site).")
@click.option("--site", type=click.Choice(sorted(c.SITES)), help="mulerouter (default) or mulerun.")
@click.option("-v", "--verbose", is_flag=True, help="Log each request to stderr (key redacted).")
@click.version_option(package_name="wan-i2v")
@click.pass_context
def cli(ctx: click.Context, base_url: str | None, site: str | None, verbose: bool) -> None:
    """Make 5-second videos from an image and a prompt with MuleRouter's wan2.2-i2v-plus.

    The API key is read from MULEROUTER_API_KEY (or a .env file), never from a flag.
    """
    if verbose:
        logging.basicConfig(level=logging.WARNING, format="%(name)s: %(message)s")
        logging.getLogger("wan_i2v").setLevel(logging.DEBUG)
    ctx.obj = Where(base_url=base_url, site=site)


# --- Options, declared once ----------------------------------------------------------------

OUTPUT = click.option(
    "-o",
    "--output",
    # A str, not a Path: Path("videos/") drops the slash that makes it a folder.
    type=str,
    help="Where to write the video: a file, or a folder ending in / (default: ./<task id>.mp4).",
)
OVERWRITE = click.option("--overwrite", is_flag=True, help="Replace an existing output file.")
TIMEOUT = click.option(
    "--timeout",
    type=float,
    default=c.DEFAULT_WAIT_TIMEOUT,
    show_default=True,
    help="Seconds to wait for the video.",
)
JSON = click.option("--json", "as_json", is_flag=True, help="One JSON object on stdout.")
MAX_VIDEO_BYTES = click.option(
    "--max-video-bytes",
    type=int,
    default=None,
    help=f"Refuse a video larger than this (default {c.DEFAULT_MAX_VIDEO_BYTES:,}).",
)


def field_option(info: FieldInfo) -> Callable[[F], F]:
    """The click parameter of one create field, derived from its declaration."""
    if info.required and info.fact is not None and info.fact.image is not None:
        return click.argument(info.name)  # the first frame: `wan-i2v generate IMAGE ...`
    flag = "--" + info.name.replace("_", "-")
    help_text = info.field.help
    if info.type is bool:
        return click.option(f"{flag}/--no-{flag[2:]}", info.name, default=None, help=help_text)
    # Values are checked by the library (one rule, one message), not by click.
    metavar = "[" + "|".join(str(v) for v in info.choices) + "]" if info.choices else None
    json_type = info.fact.type if info.fact else "string"
    kind = {"integer": int, "number": float}.get(json_type, str)
    return click.option(
        flag, info.name, type=kind, required=info.required, help=help_text, metavar=metavar
    )


def create_fields(function: F) -> F:
    """Every create field the command line offers, from the one declaration (_request.FIELDS)."""
    for info in reversed(FIELDS.values()):
        if info.field.cli:
            function = field_option(info)(function)
    return function


def given(fields: dict[str, Any]) -> dict[str, Any]:
    """The fields the user gave; the library applies the defaults."""
    return {name: value for name, value in fields.items() if value is not None}


# --- Running a command ---------------------------------------------------------------------


@contextlib.contextmanager
def reporting(run: Run) -> Iterator[Run]:
    """Every way a command ends becomes a message and an exit code, never a traceback."""
    try:
        yield run
    except (Exception, KeyboardInterrupt) as error:
        if isinstance(error, click.exceptions.ClickException | click.exceptions.Exit):
            raise
        raise SystemExit(run.fail(error)) from None


def _client(where: Where, max_video_bytes: int | None = None) -> Client:
    return Client(base_url=where.base_url, site=where.site, max_video_bytes=max_video_bytes)


def _check_output(output: str | None, overwrite: bool, task_id: str | None = None) -> None:
    """The checks ``generate`` makes of ``-o`` before paying, for the commands that write the
    video later: refused now (exit 2) rather than after a wait or a billed create."""
    plan = plan_output(output, overwrite=overwrite)
    if task_id is not None:
        plan.target(f"{task_id}.mp4")  # the default name, when -o is a folder or absent


@contextlib.contextmanager
def _sandbox_client(max_video_bytes: int | None = None) -> Iterator[Client]:
    try:
        from ..sandbox import SandboxConfig, serve
    except ImportError:
        raise ConfigurationError(
            'The sandbox needs the "sandbox" extra: pip install "wan-i2v[sandbox]"'
        ) from None
    with serve(SandboxConfig(task_seconds=2.0)) as running:
        say(f"Using the offline sandbox at {running.url} (no API key, no cost)")
        with Client(
            base_url=running.url, api_key=SANDBOX_KEY, max_video_bytes=max_video_bytes
        ) as client:
            yield client


def command(function: F) -> F:
    """Pass the command's ``Where`` in; keyword names stay those of its options."""

    @functools.wraps(function)
    @click.pass_context
    def wrapper(ctx: click.Context, /, *args: Any, **kwargs: Any) -> Any:
        return function(ctx.obj, *args, **kwargs)

    return wrapper  # type: ignore[return-value]


# --- The commands --------------------------------------------------------------------------


@cli.command()
@create_fields
@OUTPUT
@OVERWRITE
@click.option("--no-wait", is_flag=True, help="Create the task, print its id, and exit.")
@TIMEOUT
@MAX_VIDEO_BYTES
@click.option("--sandbox", is_flag=True, help="Use the offline sandbox instead of the API.")
@JSON
@command
def generate(
    where: Where,
    /,
    output: str | None,
    overwrite: bool,
    no_wait: bool,
    timeout: float,
    max_video_bytes: int | None,
    sandbox: bool,
    as_json: bool,
    **fields: Any,
) -> None:
    """Create a video from IMAGE (a path or an http(s) URL), wait for it and download it."""
    where = Where(where.base_url, where.site, sandbox=sandbox)
    run = Run(as_json=as_json, where=where, output=output, overwrite=overwrite)
    with reporting(run), contextlib.ExitStack() as stack:
        client = stack.enter_context(
            _sandbox_client(max_video_bytes) if sandbox else _client(where, max_video_bytes)
        )
        if no_wait:
            if output is not None:  # the "Continue with" command below must be able to write
                _check_output(output, overwrite)
            run.creating()
            task = client.create(**given(fields))
            run.created(task)
            say(f"Continue with: {run.finish_command(task.id)}")
            run.emit(task_dict(task), task.id)
            return
        with Progress(run) as progress:
            path = client.generate(
                output=output,
                overwrite=overwrite,
                timeout=timeout,
                before_create=run.creating,
                on_created=run.created,
                on_status=progress,
                **given(fields),
            )
        assert run.last is not None
        run.emit(task_dict(run.last, path=str(path)), str(path))


@cli.command()
@click.argument("task_id")
@JSON
@command
def status(where: Where, /, task_id: str, as_json: bool) -> None:
    """Show a task's current status."""
    run = Run(as_json=as_json, where=where, known_id=task_id)  # errors name the id given
    with reporting(run), _client(where) as client:
        task = client.get(task_id)
        human = f"{task.id}: {task.status}"
        if task.error is not None:
            human += f" ({task.error.code}: {task.error.title}: {task.error.detail})"
        human += "".join(f"\n  {url}" for url in task.videos)
        run.emit(task_dict(task), human)


@cli.command()
@click.argument("task_id")
@OUTPUT
@OVERWRITE
@click.option("--no-download", is_flag=True, help="Only wait; print the video URL.")
@TIMEOUT
@MAX_VIDEO_BYTES
@JSON
@command
def wait(
    where: Where,
    /,
    task_id: str,
    output: str | None,
    overwrite: bool,
    no_download: bool,
    timeout: float,
    max_video_bytes: int | None,
    as_json: bool,
) -> None:
    """Wait for a task to finish, then download its video (resumes an interrupted wait)."""
    run = Run(as_json=as_json, where=where, output=output, overwrite=overwrite, known_id=task_id)
    with reporting(run), _client(where, max_video_bytes) as client:
        if not no_download:
            _check_output(output, overwrite, task_id)  # before the wait, not after it
        with Progress(run) as progress:
            done = client.wait(task_id, timeout=timeout, on_status=progress)
        run.task = done
        if no_download:
            run.emit(task_dict(done), "\n".join(done.videos))
            return
        path = client.download(done, output, overwrite=overwrite)
        run.emit(task_dict(done, path=str(path)), str(path))


@cli.command()
@click.argument("task_id")
@OUTPUT
@OVERWRITE
@MAX_VIDEO_BYTES
@JSON
@command
def download(
    where: Where,
    /,
    task_id: str,
    output: str | None,
    overwrite: bool,
    max_video_bytes: int | None,
    as_json: bool,
) -> None:
    """Download the video of a finished task (a fresh link is fetched)."""
    run = Run(as_json=as_json, where=where, output=output, overwrite=overwrite, known_id=task_id)
    with reporting(run), _client(where, max_video_bytes) as client:
        _check_output(output, overwrite, task_id)
        task = client.get(task_id)
        run.task = task
        path = client.download(task, output, overwrite=overwrite)
        run.emit(task_dict(task, path=str(path)), str(path))


@cli.command()
@create_fields
@JSON
@command
def check(where: Where, /, as_json: bool, **fields: Any) -> None:
    """Validate a request offline and print the body that would be sent (nothing is sent)."""
    run = Run(as_json=as_json, where=where)
    with reporting(run):
        body = build_create_request(given(fields)).to_dict()
        images = {name: _describe_image(body[name]) for name in IMAGE_FIELDS if name in body}
        shown = json.loads(describe_body(json.dumps(body).encode(), limit=10**9))
        if as_json:
            click.echo(json.dumps({"valid": True, "body": shown, "images": images}))
            return
        for name, info in images.items():
            say(f"{name}: {_image_line(info)}")
        click.echo(json.dumps(shown, indent=2, ensure_ascii=False))


def _image_line(info: dict[str, Any] | str) -> str:
    """An image's description for people: "jpeg, 640x480 px, 12,345 bytes"."""
    if isinstance(info, str):
        return info
    return f"{info['format']}, {info['width']}x{info['height']} px, {info['bytes']:,} bytes"


def _describe_image(value: str) -> dict[str, Any] | str:
    if not value.startswith("data:"):
        return "URL, sent as is (not fetched)"
    info = inspect_image(base64.b64decode(value.partition(",")[2]), field="image")
    return {"format": info.format, "width": info.width, "height": info.height, "bytes": info.size}


def sandbox_options(function: F) -> F:
    """One click option per SandboxConfig knob, derived from its declaration (help, default,
    type); the bounds are checked by SandboxConfig itself (one rule, one message)."""
    from ..sandbox._config import knobs  # standard library only: no extra needed

    kinds = {float: click.FLOAT, int: click.INT, str: click.STRING}
    for info in reversed(knobs()):
        kind = click.Choice(info.choices) if info.choices else kinds[info.kind]
        default = None if info.many else info.default
        function = click.option(
            info.flag,
            info.name,
            type=kind,
            multiple=info.many,
            default=default,
            show_default=default is not None,
            help=info.help,
        )(function)
    return function


@cli.command("sandbox")
@click.option("--host", default="127.0.0.1", show_default=True, help="Loopback only.")
@click.option(
    "--port", type=int, default=8787, show_default=True, help="0 picks a free one (printed)."
)
@sandbox_options
def sandbox_command(**options: Any) -> None:
    """Run the offline sandbox that plays the API (needs the "sandbox" extra).

    With no key, on loopback: GET /_sandbox/stats counts tasks and answers;
    POST/GET/DELETE /_sandbox/faults scripts faults (the JSON of --fault).
    """
    try:
        from ..sandbox import run  # noqa: F401  # loads the extra, or says which to install
        from ..sandbox._run import command
    except ImportError as error:
        click.echo(str(error), err=True)
        raise SystemExit(EXIT_USAGE) from None
    raise SystemExit(command(**options))


cli.add_command(contract_command)
cli.add_command(batch_command)
cli.add_command(mcp_command)
