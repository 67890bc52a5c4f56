"""The sync and async clients offer the same methods with the same signatures."""

from __future__ import annotations

import inspect

import pytest

import wan_i2v

PAIRS = {"close": "aclose", "__enter__": "__aenter__", "__exit__": "__aexit__"}
PUBLIC = ["create", "get", "wait", "download", "generate", "close", "__enter__", "__exit__"]


@pytest.mark.parametrize("name", PUBLIC)
def test_async_twin_has_the_same_signature(name: str) -> None:
    """Each Client method has an AsyncClient twin with identical parameters and defaults."""
    sync_method = getattr(wan_i2v.Client, name)
    async_method = getattr(wan_i2v.AsyncClient, PAIRS.get(name, name))
    assert inspect.iscoroutinefunction(async_method)
    sync_sig = inspect.signature(sync_method)
    async_sig = inspect.signature(async_method)
    assert list(sync_sig.parameters) == list(async_sig.parameters)
    for pname, param in sync_sig.parameters.items():
        twin = async_sig.parameters[pname]
        assert (param.kind, param.default) == (twin.kind, twin.default), pname
        assert str(param.annotation).replace("Async", "") == str(twin.annotation).replace(
            "Async", ""
        ), pname
    assert sync_sig.return_annotation == async_sig.return_annotation


def test_constructors_match() -> None:
    """Both clients take the same configuration keywords."""
    sync_sig = inspect.signature(wan_i2v.Client.__init__)
    async_sig = inspect.signature(wan_i2v.AsyncClient.__init__)
    assert list(sync_sig.parameters) == list(async_sig.parameters)


def test_no_public_method_is_missing_from_either_side() -> None:
    """A public method added to one client must be added to the other."""

    def public(cls: type) -> set[str]:
        return {n for n in dir(cls) if not n.startswith("_")} - {"close", "aclose"}

    assert public(wan_i2v.Client) == public(wan_i2v.AsyncClient)


def test_all_is_complete_and_importable() -> None:
    """Every public name is in __all__, and every name in __all__ exists."""
    exported = {n for n in dir(wan_i2v) if not n.startswith("_")}
    modules = {n for n in exported if inspect.ismodule(getattr(wan_i2v, n))}
    assert set(wan_i2v.__all__) - {"__version__"} == exported - modules
    for name in wan_i2v.__all__:
        assert hasattr(wan_i2v, name)


def test_import_stays_light() -> None:
    """import wan_i2v pulls neither the sandbox, the CLI nor YAML (start-up time)."""
    import subprocess
    import sys

    # httpx itself imports click when its own CLI extra is installed: count only what
    # wan_i2v adds on top of httpx.
    code = (
        "import sys, httpx; before = set(sys.modules); import wan_i2v; "
        "print(sorted(m for m in ('yaml','starlette','uvicorn','click','jsonschema') "
        "if m in set(sys.modules) - before))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
