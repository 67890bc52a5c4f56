"""Configuration: argument, then environment, then .env, then defaults."""

from __future__ import annotations

from pathlib import Path

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
    ],
)
def test_bad_settings_are_refused(kwargs: dict[str, object], fragment: str) -> None:
    """Unknown sites, URLs without a scheme, bad timeouts and retry counts are refused."""
    with pytest.raises(wan_i2v.ConfigurationError) as info:
        wan_i2v.Client(api_key="k", **kwargs)  # type: ignore[arg-type]
    assert fragment in str(info.value)
