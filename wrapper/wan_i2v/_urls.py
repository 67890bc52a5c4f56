"""What a URL is to us, said once: an http(s) URL, and a URL fit to print."""

from __future__ import annotations

import httpx


def is_http_url(value: object) -> bool:
    """A str that starts with ``http://`` or ``https://`` (any case). Callers that fetch it
    check the rest (a host, no other scheme hiding behind it)."""
    return isinstance(value, str) and value[:8].lower().startswith(("http://", "https://"))


def display_url(url: str | httpx.URL) -> str:
    """A URL fit to print: a password in it is shown as ``***``, the user name kept."""
    parsed = httpx.URL(url)
    if not parsed.password:
        return str(url)
    # copy_with(password=) alone drops the user name: keep it, as `user:***@host`.
    return str(parsed.copy_with(username=parsed.username, password="***"))  # noqa: S106
