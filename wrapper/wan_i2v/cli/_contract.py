"""``wan-i2v contract``: the contract engine (``wan_i2v.contract``) on the command line.

Exit codes: 0 the server conforms; 1 drift (each failed check named, with what came back)
or a probe accepted (a task may exist and be billed); 2 usage (no key, a refused key, a
missing extra, conflicting options, a --task-id that is not a UUID or not a task of the
server's); 3 could not finish (the --timeout budget spent, no connection, or nothing but
429/5xx), with what it saw. Never a traceback.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator
from typing import NoReturn

import click

from .._config import resolve_settings
from .._errors import ConfigurationError
from .._scrub import escape_controls
from ._exit import EXIT_FAILURE, EXIT_INCOMPLETE, EXIT_OK, EXIT_USAGE

SANDBOX_KEY = "contract-sandbox-key"  # the in-process sandbox's throwaway key
MISSING_EXTRA = (
    'wan-i2v contract needs the "testing" extra (PyYAML, jsonschema): '
    'pip install "wan-i2v[testing]"'
)


def _usage(message: str) -> NoReturn:
    click.echo(f"error: {message}", err=True)
    raise SystemExit(EXIT_USAGE)


@contextlib.contextmanager
def _target(base_url: str | None, site: str | None, sandbox: bool) -> Iterator[tuple[str, str]]:
    """(base URL, key): a fresh in-process sandbox, or the configured API."""
    if sandbox:
        try:
            from ..sandbox import SandboxConfig, serve
        except ImportError:
            _usage('--sandbox needs the "sandbox" extra: pip install "wan-i2v[sandbox]"')
        with serve(SandboxConfig(api_key=SANDBOX_KEY, task_seconds=0)) as running:
            click.echo(f"Checking the offline sandbox at {running.url}", err=True)
            yield running.url, SANDBOX_KEY
        return
    settings = resolve_settings(base_url=base_url, site=site)
    yield settings.base_url, settings.auth.reveal()


@click.command("contract")
@click.option("--base-url", help="The API to check (default: the group's --base-url, then "
              "MULEROUTER_BASE_URL, then the site).")  # fmt: skip
@click.option("--task-id", help="A task you already have: its GET answer is checked too (free).")
# The default is the engine's (DEFAULT_BUDGET, imported only with the extra); a test holds
# this help text to it.
@click.option("--timeout", type=click.FloatRange(min=0, min_open=True),
              help="Seconds for the whole run (default: 90); when they are spent it reports "
              "what it saw and exits 3.")  # fmt: skip
@click.option("--strict", is_flag=True, help="Fail on rules it cannot tell are enforced.")
@click.option("--json", "as_json", is_flag=True, help="One JSON object on stdout.")
@click.option("--sandbox", is_flag=True, help="Check a fresh in-process sandbox (no key).")
@click.pass_context
def contract_command(
    ctx: click.Context,
    base_url: str | None,
    task_id: str | None,
    timeout: float | None,
    strict: bool,
    as_json: bool,
    sandbox: bool,
) -> None:
    """Check an API against the spec without creating (or paying for) any task.

    Every rule of the create request is probed with bodies that break it and one more rule,
    so a server that stopped enforcing it still refuses. The key comes from
    MULEROUTER_API_KEY (environment or .env), never from a flag.
    """
    base_url = base_url or getattr(ctx.obj, "base_url", None)
    if sandbox and base_url:
        _usage("--sandbox and --base-url name two different servers: pass one of them")
    try:
        from ..contract import KeyRefusedError, NoAnswerError, UnknownTaskError, check_contract
    except ImportError:
        _usage(MISSING_EXTRA)
    try:
        with _target(base_url, getattr(ctx.obj, "site", None), sandbox) as (url, key):
            report = check_contract(url, key, task_id=task_id, strict=strict, timeout=timeout)
    except (ConfigurationError, UnknownTaskError) as exc:
        _usage(escape_controls(str(exc)))
    except KeyRefusedError as exc:
        _usage(f"{exc}: check MULEROUTER_API_KEY")
    except NoAnswerError as exc:
        click.echo(f"error: could not finish: {escape_controls(str(exc))}", err=True)
        raise SystemExit(EXIT_INCOMPLETE) from None
    except Exception as exc:  # a checker reports, it never shows a traceback
        click.echo(f"error: the check could not run: {type(exc).__name__}: {exc}", err=True)
        raise SystemExit(EXIT_FAILURE) from None
    if as_json:
        click.echo(json.dumps(report.to_dict()))
    else:
        for line in report.lines():
            click.echo(line)
    raise SystemExit(_EXITS.get(report.outcome, EXIT_FAILURE))


# A report's outcome as an exit code; "not proven (strict)" fails like drift.
_EXITS = {"conforms": EXIT_OK, "drift": EXIT_FAILURE, "could not finish": EXIT_INCOMPLETE}
