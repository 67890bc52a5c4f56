"""What the built distributions hold: built once per session from this checkout (or from an
unpacked sdist), then read as zip and tar listings. Skipped where `build` is not installed."""

from __future__ import annotations

import importlib.util
import re
import subprocess
import sys
import tarfile
import zipfile
from collections.abc import Iterator
from email.message import Message
from email.parser import Parser
from pathlib import Path

import pytest

ROOT = Path(__file__).parents[1]

pytestmark = [
    pytest.mark.skipif(
        importlib.util.find_spec("build") is None, reason="needs `build` (pip install build)"
    ),
    pytest.mark.slow,  # builds: run once, on the interpreter nox runs on
]


def _build(kind: str, out: Path) -> Path:
    """One distribution of ROOT into ``out``; without isolation when hatchling is here (about
    a second instead of a fresh build environment)."""
    isolation = [] if importlib.util.find_spec("hatchling") is None else ["--no-isolation"]
    subprocess.run(
        [sys.executable, "-m", "build", f"--{kind}", *isolation, "--outdir", str(out), str(ROOT)],
        check=True,
        capture_output=True,
        timeout=300,
    )
    (built,) = out.glob("*.whl" if kind == "wheel" else "*.tar.gz")
    return built


@pytest.fixture(scope="session")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Iterator[zipfile.ZipFile]:
    """The wheel, built once for the session."""
    with zipfile.ZipFile(_build("wheel", tmp_path_factory.mktemp("wheel"))) as archive:
        yield archive


@pytest.fixture(scope="session")
def sdist_names(tmp_path_factory: pytest.TempPathFactory) -> set[str]:
    """The sdist's file names, without the leading ``wan_i2v-X.Y.Z/``."""
    with tarfile.open(_build("sdist", tmp_path_factory.mktemp("sdist"))) as archive:
        return {name.split("/", 1)[1] for name in archive.getnames() if "/" in name}


def _dist_info(wheel: zipfile.ZipFile, name: str) -> str:
    (path,) = [n for n in wheel.namelist() if re.fullmatch(rf"[^/]+\.dist-info/{name}", n)]
    return wheel.read(path).decode()


def _metadata(wheel: zipfile.ZipFile) -> Message:
    return Parser().parsestr(_dist_info(wheel, "METADATA"))


def test_wheel_has_one_top_level_import_package(wheel: zipfile.ZipFile) -> None:
    """Users get one import name, wan_i2v: the generated client lives inside it."""
    top = {name.split("/")[0] for name in wheel.namelist()}
    assert {t for t in top if not t.endswith(".dist-info")} == {"wan_i2v"}


def test_generated_client_is_inside_the_package(wheel: zipfile.ZipFile) -> None:
    """generated/wan_i2v_openapi lands as wan_i2v/_generated, every file of it."""
    generated = ROOT / "generated" / "wan_i2v_openapi"
    expected = {
        "wan_i2v/_generated/" + p.relative_to(generated).as_posix() for p in generated.rglob("*.py")
    }
    assert expected
    assert expected <= set(wheel.namelist())


def test_license_is_in_the_dist_info(wheel: zipfile.ZipFile) -> None:
    """The MIT license travels with the wheel and the metadata names it."""
    assert "MIT License" in _dist_info(wheel, "licenses/LICENSE")
    assert _metadata(wheel)["License-Expression"] == "MIT"


def test_spec_is_inside_and_is_the_spec(wheel: zipfile.ZipFile) -> None:
    """wan_i2v/openapi.yaml is spec/openapi.yaml byte for byte (the sandbox reads it)."""
    assert wheel.read("wan_i2v/openapi.yaml") == (ROOT / "spec" / "openapi.yaml").read_bytes()


def test_typed_marker_and_main_module(wheel: zipfile.ZipFile) -> None:
    """py.typed (so type checkers read our hints) and ``python -m wan_i2v`` ship."""
    names = set(wheel.namelist())
    assert {"wan_i2v/py.typed", "wan_i2v/__main__.py", "wan_i2v/pytest_plugin.py"} <= names


def test_entry_points(wheel: zipfile.ZipFile) -> None:
    """The wan-i2v command and the pytest plugin are registered."""
    entry_points = _dist_info(wheel, "entry_points.txt")
    assert "[console_scripts]\nwan-i2v = wan_i2v.cli:main" in entry_points
    assert "[pytest11]\nwan_i2v = wan_i2v.pytest_plugin" in entry_points


def test_metadata_extras_urls_and_pythons(wheel: zipfile.ZipFile) -> None:
    """The extras exist, the project URLs are set, and a classifier names every Python
    the noxfile tests on (and no other)."""
    meta = _metadata(wheel)
    assert {"cli", "sandbox", "testing"} <= set(meta.get_all("Provides-Extra") or [])
    urls = {url.split(",")[0] for url in meta.get_all("Project-URL") or []}
    assert {"Source", "Issues", "Changelog", "Documentation"} <= urls
    classified = {
        c.rsplit(" ", 1)[1]
        for c in meta.get_all("Classifier") or []
        if re.fullmatch(r"Programming Language :: Python :: 3\.\d+", c)
    }
    noxfile = (ROOT / "noxfile.py").read_text(encoding="utf-8")
    supported = re.search(r"^SUPPORTED = \((.*)\)", noxfile, re.M)
    assert supported is not None
    assert classified == set(re.findall(r'"(3\.\d+)"', supported.group(1)))


def test_sdist_carries_what_its_tests_need(sdist_names: set[str]) -> None:
    """The sdist can rebuild the wheel and run its own test suites."""
    for name in (
        "LICENSE",
        "README.md",
        "CHANGELOG.md",
        "noxfile.py",
        "pyproject.toml",
        "spec/openapi.yaml",
        "examples/flower.jpg",
        "tests/conftest.py",
        "tests/test_packaging.py",
        "contract_tests/_support.py",
        "generated/wan_i2v_openapi/__init__.py",
        "wrapper/wan_i2v/__init__.py",
    ):
        assert name in sdist_names, name
    assert not [n for n in sdist_names if "__pycache__" in n or n.startswith(".venv/")]


def test_python_m_wan_i2v_runs_the_command_line() -> None:
    """``python -m wan_i2v`` is the wan-i2v command (its help lists the subcommands)."""
    result = subprocess.run(
        [sys.executable, "-m", "wan_i2v", "--help"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert "Usage: wan-i2v" in result.stdout
    assert "generate" in result.stdout


def test_no_code_imports_the_old_package_name() -> None:
    """Nothing hand-written imports wan_i2v_openapi, which no longer exists once installed
    (a branch merged after the move: run scripts/rename_generated_imports.py)."""
    result = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "rename_generated_imports.py"), "--check"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_generated_code_imports_from_inside_the_package() -> None:
    """The generated client's own imports are relative, so they resolve under wan_i2v."""
    import wan_i2v._generated.api.generation.create_generation_task as create
    import wan_i2v._generated.models as models

    assert create.__name__ == "wan_i2v._generated.api.generation.create_generation_task"
    assert models.TaskResponse.__module__ == "wan_i2v._generated.models.task_response"
    absolute = [
        p
        for p in (ROOT / "generated" / "wan_i2v_openapi").rglob("*.py")
        if re.search(r"^\s*(from|import)\s+wan_i2v_openapi\b", p.read_text(), re.M)
    ]
    assert absolute == []
