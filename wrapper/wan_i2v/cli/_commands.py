"""The commands of ``wan-i2v``. Every API call goes through ``wan_i2v.Client``.

Exit codes: 0 success; 1 API or task failure; 2 usage or validation error; 130 interrupted.
With ``--json``, stdout carries exactly one JSON object; everything for people goes to stderr.
"""

from __future__ import annotations

import base64
import contextlib
import functools
import json
import logging
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import click

from .. import _constants as c
from .._client import Client
from .._errors import (
    ConfigurationError,
    OutputExistsError,
    TaskFailedError,
    ValidationError,
    WaitTimeoutError,
    WanI2VError,
)
from .._images import inspect_image
from .._logging import describe_body
from .._task import Task
from .._validation import build_create_request
from ._contract import contract_command

F = TypeVar("F", bound=Callable[..., Any])
USAGE_ERRORS = (ValidationError, ConfigurationError, OutputExistsError)
SANDBOX_KEY = "sandbox-key"  # the sandbox's own throwaway key, never a real one


def _fail(error: WanI2VError, as_json: bool) -> None:
    """Report a library error and exit with its code."""
    code = 2 if isinstance(error, USAGE_ERRORS) else 1
    if as_json:
        payload: dict[str, Any] = {"error": type(error).__name__, "message": str(error)}
        if isinstance(error, TaskFailedError):
            payload.update(
                task_id=error.task_id, code=error.code, title=error.title, detail=error.detail
            )
        if isinstance(error, WaitTimeoutError):
            payload.update(task_id=error.task_id, status=error.last_status)
        click.echo(json.dumps(payload))
    click.echo(f"error: {error}", err=True)
    raise SystemExit(code)


def handled(function: F) -> F:
    """Turn library errors into a message and an exit code, never a traceback."""

    @functools.wraps(function)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return function(*args, **kwargs)
        except WanI2VError as error:
            _fail(error, bool(kwargs.get("as_json")))

    return wrapper  # type: ignore[return-value]


def task_dict(task: Task, **extra: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "task_id": task.id,
        "status": task.status,
        "created_at": task.created_at.isoformat(),
        "updated_at": task.updated_at.isoformat(),
        "videos": list(task.videos),
    }
    if task.error is not None:
        data["error"] = {
            "code": task.error.code,
            "title": task.error.title,
            "detail": task.error.detail,
        }
    data.update(extra)
    return data


class Progress:
    """Shows the status and the elapsed time on stderr while waiting: one line rewritten in
    place on a terminal, a line per change of status otherwise (logs, CI)."""

    def __init__(self) -> None:
        self.started = time.monotonic()
        self.tty = sys.stderr.isatty()

    def __call__(self, task: Task) -> None:
        line = f"[{time.monotonic() - self.started:5.0f} s] task {task.id}: {task.status}"
        if self.tty:
            click.echo(f"\r{line}\x1b[K", err=True, nl=task.is_done)
        else:
            click.echo(line, err=True)


@contextlib.contextmanager
def resumable(task_id: str, output: Path | None) -> Iterator[None]:
    """On Ctrl-C, say how to pick the wait up again (the task keeps running, and is billed)."""
    try:
        yield
    except KeyboardInterrupt:
        resume = f"wan-i2v wait {task_id}" + (f" -o {output}" if output else "")
        click.echo(
            f"\nInterrupted. Task {task_id} is still running on the server.\nResume with: {resume}",
            err=True,
        )
        raise SystemExit(130) from None


@click.group()
@click.option(
    "--base-url", envvar=None, help="API base URL (default: MULEROUTER_BASE_URL or the site)."
)
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
    ctx.obj = {"base_url": base_url, "site": site}


# Options that several commands share, declared once.
OUTPUT = click.option(
    "-o", "--output", type=click.Path(path_type=Path), help="Where to write the video."
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


def _client(ctx: click.Context) -> Client:
    return Client(base_url=ctx.obj["base_url"], site=ctx.obj["site"])


def request_options(function: F) -> F:
    """The create request's options, shared by generate and check."""
    options = [
        click.option("--prompt", required=True, help="What should happen (max 800 characters)."),
        click.option("--negative-prompt", help="What to avoid (max 500 characters)."),
        click.option(
            "--resolution", default=c.DEFAULT_RESOLUTION, show_default=True, help="480P or 1080P."
        ),
        click.option("--seed", type=int, help=f"Random seed in [{c.SEED_MIN}, {c.SEED_MAX}]."),
        click.option("--no-prompt-extend", is_flag=True, help="Turn off prompt rewriting."),
        click.option("--last-frame", help="An image for the last frame (path or URL)."),
        JSON,
    ]
    for option in reversed(options):
        function = option(function)
    return function


def _request_args(image: str, **options: Any) -> dict[str, Any]:
    return {
        "image": image,
        "prompt": options["prompt"],
        "negative_prompt": options["negative_prompt"],
        "resolution": options["resolution"],
        "seed": options["seed"],
        "prompt_extend": not options["no_prompt_extend"],
        "last_frame": options["last_frame"],
    }


@cli.command()
@click.argument("image")
@request_options
@OUTPUT
@OVERWRITE
@click.option("--no-wait", is_flag=True, help="Create the task, print its id, and exit.")
@TIMEOUT
@click.option("--sandbox", is_flag=True, help="Use the offline sandbox instead of the API.")
@click.pass_context
@handled
def generate(
    ctx: click.Context,
    /,
    image: str,
    output: Path | None,
    overwrite: bool,
    no_wait: bool,
    timeout: float,
    sandbox: bool,
    as_json: bool,
    **options: Any,
) -> None:
    """Create a video from IMAGE (a path or an http(s) URL), wait for it and download it."""
    with contextlib.ExitStack() as stack:
        if sandbox:
            client = stack.enter_context(_sandbox_client())
        else:
            client = stack.enter_context(_client(ctx))
        task = client.create(**_request_args(image, **options))
        click.echo(f"Created task {task.id}", err=True)
        if no_wait:
            click.echo(f"Continue with: wan-i2v wait {task.id}", err=True)
            _emit(as_json, task_dict(task), task.id)
            return
        with resumable(task.id, output):
            done = client.wait(task, timeout=timeout, on_status=Progress())
        path = client.download(done, output, overwrite=overwrite)
        _emit(as_json, task_dict(done, path=str(path)), str(path))


@contextlib.contextmanager
def _sandbox_client() -> Iterator[Client]:
    try:
        from ..sandbox import SandboxConfig, serve
    except ImportError:
        raise ConfigurationError(
            'The sandbox needs the "sandbox" extra: pip install "wan-i2v[sandbox]"'
        ) from None
    with serve(SandboxConfig(task_seconds=2.0)) as running:
        click.echo(f"Using the offline sandbox at {running.url} (no API key, no cost)", err=True)
        with Client(base_url=running.url, api_key=SANDBOX_KEY) as client:
            yield client


def _emit(as_json: bool, data: dict[str, Any], human: str) -> None:
    click.echo(json.dumps(data) if as_json else human)


@cli.command()
@click.argument("task_id")
@JSON
@click.pass_context
@handled
def status(ctx: click.Context, task_id: str, as_json: bool) -> None:
    """Show a task's current status."""
    with _client(ctx) as client:
        task = client.get(task_id)
    human = f"{task.id}: {task.status}"
    if task.error is not None:
        human += f" ({task.error.code}: {task.error.title}: {task.error.detail})"
    human += "".join(f"\n  {url}" for url in task.videos)
    _emit(as_json, task_dict(task), human)


@cli.command()
@click.argument("task_id")
@OUTPUT
@OVERWRITE
@click.option("--no-download", is_flag=True, help="Only wait; print the video URL.")
@TIMEOUT
@JSON
@click.pass_context
@handled
def wait(
    ctx: click.Context,
    task_id: str,
    output: Path | None,
    overwrite: bool,
    no_download: bool,
    timeout: float,
    as_json: bool,
) -> None:
    """Wait for a task to finish, then download its video (resumes an interrupted wait)."""
    with _client(ctx) as client, resumable(task_id, output):
        done = client.wait(task_id, timeout=timeout, on_status=Progress())
        if no_download:
            _emit(as_json, task_dict(done), "\n".join(done.videos))
            return
        path = client.download(done, output, overwrite=overwrite)
    _emit(as_json, task_dict(done, path=str(path)), str(path))


@cli.command()
@click.argument("task_id")
@OUTPUT
@OVERWRITE
@JSON
@click.pass_context
@handled
def download(
    ctx: click.Context, task_id: str, output: Path | None, overwrite: bool, as_json: bool
) -> None:
    """Download the video of a finished task."""
    with _client(ctx) as client:
        task = client.get(task_id)
        path = client.download(task, output, overwrite=overwrite)
    _emit(as_json, task_dict(task, path=str(path)), str(path))


@cli.command()
@click.argument("image")
@request_options
@handled
def check(image: str, as_json: bool, **options: Any) -> None:
    """Validate a request offline and print the body that would be sent (nothing is sent)."""
    body = build_create_request(
        **_request_args(image, **options), duration=c.DEFAULT_DURATION, extra_body=None
    ).to_dict()
    images = {
        field: _describe_image(body[field]) for field in ("image", "last_frame") if field in body
    }
    shown = json.loads(describe_body(json.dumps(body).encode(), limit=10**9))
    if as_json:
        click.echo(json.dumps({"valid": True, "body": shown, "images": images}))
        return
    for field, info in images.items():
        click.echo(f"{field}: {info}", err=True)
    click.echo(json.dumps(shown, indent=2, ensure_ascii=False))


def _describe_image(value: str) -> dict[str, Any] | str:
    if not value.startswith("data:"):
        return "URL, sent as is (not fetched)"
    info = inspect_image(base64.b64decode(value.partition(",")[2]), field="image")
    return {"format": info.format, "width": info.width, "height": info.height, "bytes": info.size}


@cli.command("sandbox")
@click.option("--host", default="127.0.0.1", show_default=True, help="Loopback only.")
@click.option("--port", type=int, default=8787, show_default=True)
@click.option(
    "--task-seconds", type=float, default=3.0, show_default=True, help="How long each task takes."
)
@click.option(
    "--fail-rate",
    type=float,
    default=0.0,
    show_default=True,
    help="Share of tasks that fail (code 3001).",
)
@click.option(
    "--error-rate",
    type=float,
    default=0.0,
    show_default=True,
    help="Share of API calls answered 5xx.",
)
@click.option("--rate-limit", type=float, help="Requests per second above which it answers 429.")
@click.option("--api-key", help="Require this bearer token (default: accept any).")
@click.option(
    "--vocabulary",
    type=click.Choice(["classic", "new"]),
    default="classic",
    show_default=True,
    help="Status words.",
)
def sandbox_command(
    host: str,
    port: int,
    task_seconds: float,
    fail_rate: float,
    error_rate: float,
    rate_limit: float | None,
    api_key: str | None,
    vocabulary: str,
) -> None:
    """Run the offline sandbox that plays the API (needs the "sandbox" extra)."""
    try:
        from ..sandbox import SandboxConfig, run
    except ImportError:
        click.echo(
            'The sandbox needs the "sandbox" extra: pip install "wan-i2v[sandbox]"', err=True
        )
        raise SystemExit(2) from None
    try:
        config = SandboxConfig(
            api_key=api_key,
            task_seconds=task_seconds,
            fail_rate=fail_rate,
            error_rate=error_rate,
            rate_limit=rate_limit,
            vocabulary="new" if vocabulary == "new" else "classic",
        )
        run(config, host=host, port=port)
    except ValueError as error:
        raise click.UsageError(str(error)) from error


cli.add_command(contract_command)
