"""One session per job. `nox` runs the default ones: what CI runs (.ci/run)."""

from __future__ import annotations

import filecmp
import shutil
import subprocess
import sys
from pathlib import Path

import nox

ROOT = Path(__file__).parent
PYPROJECT = nox.project.load_toml(ROOT / "pyproject.toml")
SPEC = ROOT / "spec" / "openapi.yaml"
GENERATOR_CONFIG = ROOT / "spec" / "generator-config.yaml"
GENERATED = ROOT / "generated" / "wan_i2v_openapi"
# Generation happens inside the project tree: the generator's ruff post-hooks read the
# nearest pyproject, and a folder elsewhere would be formatted differently.
SCRATCH = ROOT / ".regen"

nox.options.default_venv_backend = "venv"  # no uv on the machines this runs on
nox.options.error_on_external_run = True
nox.options.reuse_venv = "yes"
nox.options.sessions = ["lint", "typecheck", "regen_check", "tests", "contract", "bench_quick"]

# Sessions run on the interpreter nox runs on: CI sets CI=true, and nox then fails on a
# named interpreter that the machine lacks.
PYTHON = None


def _install(session: nox.Session, *groups: str, extras: str = "sandbox,cli") -> None:
    """Install the project as users get it (a built wheel, not the source tree) and groups."""
    session.install(*nox.project.dependency_groups(PYPROJECT, *groups), f".[{extras}]")


@nox.session(python=PYTHON)
def tests(session: nox.Session) -> None:
    """Unit tests of the wrapper, the command line and the sandbox (offline)."""
    _install(session, "test")
    session.run("pytest", "tests", *session.posargs)


@nox.session(python=PYTHON)
def contract(session: nox.Session) -> None:
    """Contract tests: the spec, the generated client, the wrapper and the sandbox agree."""
    _install(session, "contract")
    session.run("pytest", "contract_tests", *session.posargs)


@nox.session(python=PYTHON)
def lint(session: nox.Session) -> None:
    """ruff check and format check (generated/ excluded)."""
    session.install(*nox.project.dependency_groups(PYPROJECT, "lint"))
    session.run("ruff", "check", ".")
    session.run("ruff", "format", "--check", ".")


@nox.session(python=PYTHON)
def typecheck(session: nox.Session) -> None:
    """mypy --strict on wrapper/ and contract_tests/."""
    _install(session, "typecheck")
    session.run("mypy", "--strict", "wrapper/wan_i2v", "contract_tests", "tests/typing")


def _generate_into(session: nox.Session, target: Path) -> None:
    shutil.rmtree(target, ignore_errors=True)
    target.parent.mkdir(parents=True, exist_ok=True)
    session.run(
        "openapi-python-client", "generate",
        "--path", str(SPEC),
        "--config", str(GENERATOR_CONFIG),
        "--meta", "none",
        "--output-path", str(target),
    )


@nox.session(python=PYTHON)
def generate(session: nox.Session) -> None:
    """Rewrite generated/ from spec/openapi.yaml with the pinned generator."""
    session.install(*nox.project.dependency_groups(PYPROJECT, "generate"))
    fresh = SCRATCH / GENERATED.name
    try:
        _generate_into(session, fresh)
        shutil.rmtree(GENERATED, ignore_errors=True)
        shutil.move(fresh, GENERATED)
    finally:
        shutil.rmtree(SCRATCH, ignore_errors=True)


@nox.session(python=PYTHON)
def regen_check(session: nox.Session) -> None:
    """Fail, printing the diff, when generated/ differs from what the spec generates."""
    session.install(*nox.project.dependency_groups(PYPROJECT, "generate"))
    fresh = SCRATCH / GENERATED.name
    try:
        _generate_into(session, fresh)
        if _same_tree(fresh, GENERATED):
            session.log("generated/ matches spec/openapi.yaml")
            return
        diff = subprocess.run(
            ["diff", "-ruN", "--exclude=__pycache__", str(GENERATED), str(fresh)],
            capture_output=True, text=True, check=False,
        ).stdout
        sys.stderr.write(diff)
        session.error(
            "generated/ differs from what the pinned generator makes of spec/openapi.yaml "
            "(diff above). Never edit generated/ by hand: change the spec, then `nox -s generate`."
        )
    finally:
        shutil.rmtree(SCRATCH, ignore_errors=True)


def _same_tree(a: Path, b: Path) -> bool:
    cmp = filecmp.dircmp(a, b, ignore=["__pycache__"])
    if cmp.left_only or cmp.right_only or cmp.funny_files:
        return False
    _, mismatch, errors = filecmp.cmpfiles(a, b, cmp.common_files, shallow=False)
    if mismatch or errors:
        return False
    return all(_same_tree(a / d, b / d) for d in cmp.common_dirs)


@nox.session(python=PYTHON)
def bench(session: nox.Session) -> None:
    """The benchmarks, full size; writes benchmarks/RESULTS.md. Pass --quick for a smoke run."""
    _install(session, "bench")
    session.run("python", "benchmarks/run_all.py", *session.posargs)


@nox.session(python=PYTHON)
def bench_quick(session: nox.Session) -> None:
    """Every benchmark at a few iterations, so that they cannot rot. No timing fails it."""
    _install(session, "bench")
    session.run("python", "benchmarks/run_all.py", "--quick", "--no-write")
