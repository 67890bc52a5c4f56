"""Configuration: argument, then environment, then .env, then defaults."""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from unittest import mock

import httpx
import pytest

import wan_i2v
from wan_i2v._config import Settings, read_dotenv, resolve_settings


def test_missing_key_names_the_variable() -> None:
    """No key anywhere: a ConfigurationError that names MULEROUTER_API_KEY."""
    with pytest.raises(wan_i2v.ConfigurationError, match="MULEROUTER_API_KEY"):
        wan_i2v.Client()


def key_of(settings: Settings) -> str:
    """The key the settings would send (read through the auth, the only holder)."""
    request = next(settings.auth.auth_flow(httpx.Request("GET", settings.base_url)))
    return request.headers["Authorization"].removeprefix("Bearer ")


def test_argument_beats_environment_beats_dotenv(monkeypatch: pytest.MonkeyPatch) -> None:
    """Each layer wins over the ones below it, for the key and for the URL."""
    Path(".env").write_text("MULEROUTER_API_KEY=from-dotenv\nMULEROUTER_SITE=mulerun\n")
    assert key_of(resolve_settings()) == "from-dotenv"
    assert resolve_settings().base_url == "https://api.mulerun.com"
    monkeypatch.setenv("MULEROUTER_API_KEY", "from-env")
    monkeypatch.setenv("MULEROUTER_BASE_URL", "http://127.0.0.1:9/")
    settings = resolve_settings()
    assert key_of(settings) == "from-env"
    assert settings.base_url == "http://127.0.0.1:9"
    settings = resolve_settings(api_key="from-arg", site="mulerouter")
    assert key_of(settings) == "from-arg"
    assert settings.base_url == "https://api.mulerouter.ai"


def test_base_url_wins_over_site_within_a_layer(monkeypatch: pytest.MonkeyPatch) -> None:
    """MULEROUTER_BASE_URL wins over MULEROUTER_SITE, as in MuleRouter's tools."""
    monkeypatch.setenv("MULEROUTER_SITE", "mulerun")
    monkeypatch.setenv("MULEROUTER_BASE_URL", "https://staging.example.com")
    assert resolve_settings(api_key="k").base_url == "https://staging.example.com"


def test_dotenv_reads_only_mulerouter_names() -> None:
    """Other variables in .env are ignored; quotes, export and comments are understood."""
    path = Path(".env")
    path.write_text(
        "# comment\nexport MULEROUTER_API_KEY='quoted key'\nOPENAI_API_KEY=nope\n"
        'MULEROUTER_SITE=mulerun # trailing comment\nMULEROUTER_BASE_URL="http://h:1"\nbroken\n'
    )
    assert read_dotenv(path) == {
        "MULEROUTER_API_KEY": "quoted key",
        "MULEROUTER_SITE": "mulerun",
        "MULEROUTER_BASE_URL": "http://h:1",
    }


def test_dotenv_never_overrides_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """A variable set in the real environment wins over the same one in .env."""
    Path(".env").write_text("MULEROUTER_API_KEY=dotenv\n")
    monkeypatch.setenv("MULEROUTER_API_KEY", "real")
    assert key_of(resolve_settings()) == "real"


def test_default_is_mulerouter() -> None:
    """With only a key, the client talks to https://api.mulerouter.ai."""
    client = wan_i2v.Client(api_key="k")
    assert client.base_url == "https://api.mulerouter.ai"
    assert client.max_retries == 3


@pytest.mark.parametrize(
    ("kwargs", "fragment"),
    [
        ({"site": "elsewhere"}, "site must be one of"),
        ({"base_url": "api.mulerouter.ai"}, "http(s) URL"),
        ({"timeout": 0}, "timeout"),
        ({"timeout": True}, "timeout"),
        ({"max_retries": -1}, "max_retries"),
        ({"max_retries": 1.5}, "max_retries"),
        ({"max_video_bytes": 0}, "max_video_bytes"),
        ({"max_video_bytes": 1e9}, "max_video_bytes"),
        ({"max_video_bytes": True}, "max_video_bytes"),
    ],
)
def test_bad_settings_are_refused(kwargs: dict[str, object], fragment: str) -> None:
    """Unknown sites, URLs without a scheme, bad timeouts and retry counts are refused."""
    with pytest.raises(wan_i2v.ConfigurationError) as info:
        wan_i2v.Client(api_key="k", **kwargs)  # type: ignore[arg-type]
    assert fragment in str(info.value)


# --- The .env file is opened as every input is: no hang, no unbounded read ----------------


@pytest.fixture
def dotenv_fifo() -> Iterator[Path]:
    """``./.env`` as a FIFO (named pipe), waited for 0.3 s instead of the default."""
    path = Path(".env")
    os.mkfifo(path)
    with mock.patch("wan_i2v._config.DOTENV_FIFO_SECONDS", 0.3):
        yield path


def _write_in_thread(path: Path, data: bytes, *, endless: bool = False) -> list[int]:
    """Open the FIFO for writing in a thread and write ``data`` (forever if ``endless``,
    until the reader goes); returns the running count of bytes written."""
    written = [0]

    def run() -> None:
        fd = os.open(path, os.O_WRONLY)
        try:
            while True:
                written[0] += os.write(fd, data)
                if not endless:
                    break
        except BrokenPipeError:
            pass
        finally:
            os.close(fd)

    threading.Thread(target=run, daemon=True).start()
    return written


def test_a_dotenv_fifo_without_a_writer_does_not_hang(dotenv_fifo: Path) -> None:
    """A FIFO named .env that no one writes: ConfigurationError naming it within its wait
    (reading it plainly blocks forever)."""
    started = time.monotonic()
    with pytest.raises(wan_i2v.ConfigurationError, match="FIFO"):
        resolve_settings(api_key="k")
    assert time.monotonic() - started < 2


def test_a_dotenv_fifo_with_a_writer_is_read(dotenv_fifo: Path) -> None:
    """A .env served through a FIFO (as some secret managers do) is read when it ends in time."""
    _write_in_thread(dotenv_fifo, b"MULEROUTER_API_KEY=from-pipe\n")
    assert key_of(resolve_settings()) == "from-pipe"


def test_an_endless_dotenv_fifo_is_read_with_a_bound(dotenv_fifo: Path) -> None:
    """A FIFO that never ends: refused past 1,000,000 bytes; the writer got no further than
    that and one pipe buffer."""
    written = _write_in_thread(dotenv_fifo, b"# " + b"x" * 65_000 + b"\n", endless=True)
    with pytest.raises(wan_i2v.ConfigurationError, match="larger than 1,000,000 bytes"):
        resolve_settings(api_key="k")
    assert written[0] < 1_000_000 + 2 * 65_536 + 65_003


def test_a_huge_dotenv_is_refused_unread() -> None:
    """A 5 MB .env is refused naming the limit, by its size, before any read."""
    Path(".env").write_bytes(b"# padding\n" * 500_000)
    with (
        mock.patch("wan_i2v._files.os.read", side_effect=AssertionError("read")),
        pytest.raises(wan_i2v.ConfigurationError, match="larger than 1,000,000 bytes"),
    ):
        resolve_settings(api_key="k")


def test_a_dotenv_that_is_a_device_is_refused() -> None:
    """.env pointing at /dev/zero (endless): ConfigurationError naming a character device."""
    Path(".env").symlink_to("/dev/zero")
    with pytest.raises(wan_i2v.ConfigurationError, match="character device"):
        resolve_settings(api_key="k")


def test_a_dotenv_folder_is_ignored() -> None:
    """A folder named .env is no .env file (as before)."""
    Path(".env").mkdir()
    assert read_dotenv(Path(".env")) == {}
