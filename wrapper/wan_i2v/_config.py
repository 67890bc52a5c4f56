"""Client settings from arguments, the environment and a .env file, in that order.

The rules follow MuleRouter's own tools (shared/reference/mulerouter-facts.md): the key is
``MULEROUTER_API_KEY``; ``MULEROUTER_BASE_URL`` wins over ``MULEROUTER_SITE``; a ``.env`` file
in the working directory supplies ``MULEROUTER_*`` variables only, never overriding the real
environment.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from ._constants import (
    DEFAULT_MAX_RETRIES,
    DEFAULT_SITE,
    DEFAULT_TIMEOUT,
    DOTENV_FILE,
    ENV_API_KEY,
    ENV_BASE_URL,
    ENV_PREFIX,
    ENV_SITE,
    SITES,
)
from ._errors import ConfigurationError


@dataclass(frozen=True, slots=True)
class Settings:
    """Resolved configuration. The key is kept out of the repr."""

    api_key: str = field(repr=False)
    base_url: str
    timeout: float
    max_retries: int


def resolve_settings(
    *,
    api_key: str | None = None,
    base_url: str | None = None,
    site: str | None = None,
    timeout: float | None = None,
    max_retries: int | None = None,
    environ: Mapping[str, str] | None = None,
    dotenv_path: Path | None = None,
) -> Settings:
    """Resolve every setting: argument, then environment, then .env, then default.

    Args:
        environ: the environment to read (``os.environ`` by default).
        dotenv_path: the .env file (``./.env`` by default; a missing file is no error).
    """
    env = os.environ if environ is None else environ
    layers: list[Mapping[str, str]] = [
        _argument_layer(api_key=api_key, base_url=base_url, site=site),
        env,
        read_dotenv(Path(DOTENV_FILE) if dotenv_path is None else dotenv_path),
    ]

    key = next((layer[ENV_API_KEY] for layer in layers if layer.get(ENV_API_KEY)), None)
    if not key:
        raise ConfigurationError(
            f"No API key: pass api_key=... or set {ENV_API_KEY} (in the environment or in a "
            ".env file in the working directory)."
        )
    return Settings(
        api_key=key.strip(),
        base_url=_resolve_base_url(layers),
        timeout=_check_timeout(DEFAULT_TIMEOUT if timeout is None else timeout),
        max_retries=_check_retries(DEFAULT_MAX_RETRIES if max_retries is None else max_retries),
    )


def _argument_layer(
    *, api_key: str | None, base_url: str | None, site: str | None
) -> dict[str, str]:
    # Arguments are expressed as the variables they stand for, so one rule ranks all layers.
    pairs = {ENV_API_KEY: api_key, ENV_BASE_URL: base_url, ENV_SITE: site}
    return {name: value for name, value in pairs.items() if value is not None}


def _resolve_base_url(layers: list[Mapping[str, str]]) -> str:
    # Within a layer the base URL wins over the site; a higher layer wins over a lower one
    # whichever of the two it sets.
    for layer in layers:
        if url := layer.get(ENV_BASE_URL, "").strip():
            if not url.startswith(("http://", "https://")):
                raise ConfigurationError(
                    f"{ENV_BASE_URL} / base_url must be an http(s) URL, got {url!r}."
                )
            return url.rstrip("/")
        if site := layer.get(ENV_SITE, "").strip():
            return _site_url(site)
    return SITES[DEFAULT_SITE]


def _site_url(site: str) -> str:
    try:
        return SITES[site.lower()]
    except KeyError:
        known = ", ".join(repr(s) for s in SITES)
        raise ConfigurationError(
            f"{ENV_SITE} / site must be one of {known}, got {site!r}."
        ) from None


def _check_timeout(timeout: float) -> float:
    if isinstance(timeout, bool) or not isinstance(timeout, int | float) or timeout <= 0:
        raise ConfigurationError(f"timeout must be a number of seconds > 0, got {timeout!r}.")
    return float(timeout)


def _check_retries(max_retries: int) -> int:
    if isinstance(max_retries, bool) or not isinstance(max_retries, int) or max_retries < 0:
        raise ConfigurationError(f"max_retries must be an int >= 0, got {max_retries!r}.")
    return max_retries


def read_dotenv(path: Path) -> dict[str, str]:
    """``MULEROUTER_*`` assignments of a .env file; other names are ignored.

    Accepts ``NAME=value``, ``export NAME=value``, quotes around the value and ``#`` comments.
    """
    try:
        text = path.read_text(encoding="utf-8")
    except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
        return {}
    values: dict[str, str] = {}
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#") or "=" not in line:
            continue
        name, _, value = line.partition("=")
        name = name.removeprefix("export ").strip()
        if not name.startswith(ENV_PREFIX):
            continue
        value = value.strip()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'":
            value = value[1:-1]
        else:
            value = value.split(" #", 1)[0].strip()
        values[name] = value
    return values
