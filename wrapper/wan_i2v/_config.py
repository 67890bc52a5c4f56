"""Client settings from arguments, the environment and a .env file, in that order.

The rules follow MuleRouter's own tools (shared/reference/mulerouter-facts.md): the key is
``MULEROUTER_API_KEY``; ``MULEROUTER_BASE_URL`` wins over ``MULEROUTER_SITE``; a ``.env`` file
in the working directory supplies ``MULEROUTER_*`` variables only, never overriding the real
environment. The file is read by python-dotenv, so it means what it means to every other tool
(a BOM, quotes, inline comments, ``export``, CRLF).

The key becomes an ``ApiKeyAuth`` as soon as it is found: no frame below holds it as a plain
string that a traceback formatted with locals would print.
"""

from __future__ import annotations

import io
import os
from dataclasses import dataclass
from pathlib import Path

import httpx

from ._constants import (
    DEFAULT_MAX_RETRIES,
    DEFAULT_MAX_VIDEO_BYTES,
    DEFAULT_SITE,
    DEFAULT_TIMEOUT,
    DOTENV_FIFO_SECONDS,
    DOTENV_FILE,
    DOTENV_MAX_BYTES,
    ENV_API_KEY,
    ENV_BASE_URL,
    ENV_PREFIX,
    ENV_SITE,
    SITES,
)
from ._errors import ConfigurationError
from ._files import InputFileError, read_input_file
from ._http import ApiKeyAuth, ClientSettings, display_url
from ._urls import is_http_url


@dataclass(frozen=True, slots=True, repr=False)
class Settings:
    """Resolved configuration. The key lives only inside ``auth``, whose repr masks it."""

    auth: ApiKeyAuth
    base_url: str
    timeout: float
    max_retries: int
    max_video_bytes: int

    def __repr__(self) -> str:
        return (
            f"Settings(auth={self.auth!r}, base_url={display_url(self.base_url)!r}, "
            f"timeout={self.timeout!r}, max_retries={self.max_retries!r})"
        )

    @property
    def http(self) -> ClientSettings:
        return ClientSettings(base_url=self.base_url, auth=self.auth, timeout=self.timeout)


def resolve_settings(
    *,
    api_key: str | None = None,
    base_url: str | None = None,
    site: str | None = None,
    timeout: float | None = None,
    max_retries: int | None = None,
    max_video_bytes: int | None = None,
    dotenv_path: Path | None = None,
) -> Settings:
    """Resolve every setting: argument, then environment, then .env, then default.

    Args:
        dotenv_path: the .env file (``./.env`` by default; a missing file is no error).
    """
    dotenv = read_dotenv(Path(DOTENV_FILE) if dotenv_path is None else dotenv_path)
    # The other settings first: an error about them must not come from a frame holding the key.
    url = _resolve_base_url(base_url, site, dotenv)
    checked_timeout = _check_timeout(DEFAULT_TIMEOUT if timeout is None else timeout)
    retries = _check_retries(DEFAULT_MAX_RETRIES if max_retries is None else max_retries)
    video_cap = _check_max_video_bytes(
        DEFAULT_MAX_VIDEO_BYTES if max_video_bytes is None else max_video_bytes
    )
    return Settings(
        auth=_find_key(api_key, dotenv, base_url=url),
        base_url=url,
        timeout=checked_timeout,
        max_retries=retries,
        max_video_bytes=video_cap,
    )


def _find_key(api_key: str | None, dotenv: dict[str, str], *, base_url: str) -> ApiKeyAuth:
    if api_key is not None and not isinstance(api_key, str):
        raise ConfigurationError(f"api_key must be a str, got {type(api_key).__name__}.")
    for source in (api_key, os.environ.get(ENV_API_KEY), dotenv.get(ENV_API_KEY)):
        if source:
            return ApiKeyAuth(source, base_url=base_url)
    raise ConfigurationError(
        f"No API key: pass api_key=... or set {ENV_API_KEY} (in the environment or in a "
        ".env file in the working directory)."
    )


def _resolve_base_url(base_url: str | None, site: str | None, dotenv: dict[str, str]) -> str:
    # Arguments, then the environment, then .env. Within a layer the base URL wins over the
    # site; a higher layer wins over a lower one whichever of the two it sets.
    layers = [
        (base_url, site),
        (os.environ.get(ENV_BASE_URL), os.environ.get(ENV_SITE)),
        (dotenv.get(ENV_BASE_URL), dotenv.get(ENV_SITE)),
    ]
    for layer_url, layer_site in layers:
        if url := (layer_url or "").strip():
            return _check_base_url(url)
        if name := (layer_site or "").strip():
            return _site_url(name)
    return SITES[DEFAULT_SITE]


def _check_base_url(url: str) -> str:
    try:
        host, problem = httpx.URL(url).host, ""
    except httpx.InvalidURL as exc:
        host, problem = "", str(exc)
    if problem:
        # Raised outside the except: no chained context holding a half-built URL (whose repr
        # raises in a traceback formatted with locals). Not echoed: a URL that does not parse
        # cannot have its password masked.
        raise ConfigurationError(
            f"{ENV_BASE_URL} / base_url is not a valid URL ({problem}); expected e.g. "
            "https://api.mulerouter.ai."
        )
    if not is_http_url(url) or not host:
        raise ConfigurationError(
            f"{ENV_BASE_URL} / base_url must be an http(s) URL, got {display_url(url)!r}."
        )
    return url.rstrip("/")


def _site_url(site: str) -> str:
    try:
        return SITES[site.lower()]
    except KeyError:
        known = ", ".join(repr(s) for s in SITES)
        raise ConfigurationError(
            f"{ENV_SITE} / site must be one of {known}, got {site!r}."
        ) from None


def _check_timeout(timeout: float) -> float:
    if isinstance(timeout, bool) or not isinstance(timeout, int | float) or not timeout > 0:
        raise ConfigurationError(f"timeout must be a number of seconds > 0, got {timeout!r}.")
    return float(timeout)


def _check_retries(max_retries: int) -> int:
    if isinstance(max_retries, bool) or not isinstance(max_retries, int) or max_retries < 0:
        raise ConfigurationError(f"max_retries must be an int >= 0, got {max_retries!r}.")
    return max_retries


def _check_max_video_bytes(max_video_bytes: int) -> int:
    if (
        isinstance(max_video_bytes, bool)
        or not isinstance(max_video_bytes, int)
        or max_video_bytes < 1
    ):
        raise ConfigurationError(f"max_video_bytes must be an int >= 1, got {max_video_bytes!r}.")
    return max_video_bytes


def read_dotenv(path: Path) -> dict[str, str]:
    """The ``MULEROUTER_*`` assignments of a .env file, read by python-dotenv's rules.

    Raises:
        ConfigurationError: the file is not UTF-8 text, is larger than DOTENV_MAX_BYTES, is
            not a regular file (a FIFO is read if its writer finishes within
            DOTENV_FIFO_SECONDS: some secret managers serve .env that way), naming the file.
    """
    try:
        # Opened as every input is (_files): a FIFO cannot hang us, a huge file is not read.
        raw = read_input_file(path, limit=DOTENV_MAX_BYTES, fifo_seconds=DOTENV_FIFO_SECONDS)
    except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
        return {}
    except InputFileError as exc:
        raise ConfigurationError(f"Cannot read the .env file: {exc}.") from None
    try:
        text = raw.decode("utf-8-sig")  # a BOM is not part of the first name
    except UnicodeDecodeError as exc:
        raise ConfigurationError(
            f"{path} is not UTF-8 text (byte {exc.start + 1} of the file): save it as UTF-8."
        ) from None
    from dotenv import dotenv_values  # only when there is a .env: keeps the import light

    values = dotenv_values(stream=io.StringIO(text), interpolate=False)
    return {
        name: value
        for name, value in values.items()
        if name.startswith(ENV_PREFIX) and value is not None
    }
