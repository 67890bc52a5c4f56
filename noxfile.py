"""One session per job. `nox` runs the default ones: what CI runs (.ci/run)."""

from __future__ import annotations

import difflib
import os
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

nox.needs_version = ">=2025.2.9"  # nox.project.dependency_groups
# uv when it is installed (about a third faster: TOOLCHAIN.md), plain venv otherwise.
nox.options.default_venv_backend = "uv|venv"
nox.options.error_on_external_run = True
nox.options.reuse_venv = "yes"
nox.options.sessions = ["lint", "typecheck", "regen_check", "tests", "contract", "bench_quick"]

SUPPORTED = ("3.11", "3.12", "3.13")  # keep in step with pyproject's classifiers


def _works(python: str | Path, version: str) -> bool:
    """True when ``python`` runs and is ``version`` (a pyenv shim on PATH may only fail)."""
    try:
        out = subprocess.run(  # noqa: S603  # an interpreter we are probing, by design
            [str(python), "-c", "import sys; print('%d.%d' % sys.version_info[:2])"],
            capture_output=True,
            text=True,
            timeout=20,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired):
        return False
    return out.returncode == 0 and out.stdout.strip() == version


def _find_pythons() -> list[str]:
    """The versions among SUPPORTED that this machine can run, found now, never assumed.

    Under CI=true nox fails on a named interpreter the machine lacks, so a fixed list would
    break wherever one is missing. A version counts when ``pythonX.Y`` on PATH works, or when
    pyenv holds it (``$PYENV_ROOT/versions/X.Y.*``, even where the shim is not activated); a
    pyenv one found that way has its folder put at the front of PATH so nox finds it.
    """
    found = []
    pyenv_versions = Path(os.environ.get("PYENV_ROOT", Path.home() / ".pyenv")) / "versions"
    for version in SUPPORTED:
        running = f"{sys.version_info.major}.{sys.version_info.minor}"
        if version == running or _works(f"python{version}", version):
            found.append(version)
            continue
        for home in sorted(pyenv_versions.glob(f"{version}.*"), reverse=True):
            if _works(home / "bin" / f"python{version}", version):
                os.environ["PATH"] = f"{home / 'bin'}{os.pathsep}{os.environ['PATH']}"
                found.append(version)
                break
    return found


# The test matrix: `tests` and `contract` on every supported Python the machine has. Sessions
# that check the source rather than the runtime (lint, typecheck, regen_check, benchmarks) run
# once, on the interpreter nox runs on.
PYTHONS = _find_pythons()
PYTHON = None


def _install(session: nox.Session, *groups: str, extras: str = "sandbox,cli") -> None:
    """Install the project as users get it (a built wheel, not the source tree) and groups."""
    session.install(*nox.project.dependency_groups(PYPROJECT, *groups), f".[{extras}]")


def _matrix_marks(session: nox.Session) -> list[str]:
    """On the interpreter nox runs on, every test; on the other Pythons of the matrix, all but
    the slow and load ones (real time, subprocesses, builds), which say nothing more about a
    version and would push the default run past its ten minutes."""
    running = f"{sys.version_info.major}.{sys.version_info.minor}"
    if session.python in (None, running) or session.posargs:
        return []
    return ["-m", "not slow and not load"]


@nox.session(python=PYTHONS)
def tests(session: nox.Session) -> None:
    """Unit tests of the wrapper, the command line and the sandbox (offline)."""
    _install(session, "test", extras="sandbox,cli,testing")
    session.run("pytest", "tests", *_matrix_marks(session), *session.posargs)


@nox.session(python=PYTHONS)
def contract(session: nox.Session) -> None:
    """Contract tests: the spec, the generated client, the wrapper and the sandbox agree."""
    _install(session, "contract", extras="sandbox,cli,testing")
    session.run("pytest", "contract_tests", *_matrix_marks(session), *session.posargs)


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
        "openapi-python-client",
        "generate",
        "--path",
        str(SPEC),
        "--config",
        str(GENERATOR_CONFIG),
        "--meta",
        "none",
        "--output-path",
        str(target),
    )


# What `nox -s generate` writes besides generated/: the spec's facts and the sync twins of the
# async modules (scripts/unasync.py's PAIRS), each into wrapper/ by a script of ours (marked
# GENERATED at its top), formatted like generated/.
WRAPPER = ROOT / "wrapper" / "wan_i2v"
FACTS = WRAPPER / "_spec_facts.py"
SYNC_TWINS = (WRAPPER / "_client.py", WRAPPER / "_deadline_streams.py")


def _write_wrapper_files(session: nox.Session, folder: Path) -> None:
    """The facts module and the sync twins, written into ``folder``."""
    facts = folder / FACTS.name
    twins = [str(folder / twin.name) for twin in SYNC_TWINS]
    session.run("python", "scripts/generate_facts.py", "--output", str(facts))
    session.run("python", "scripts/unasync.py", "--output-dir", str(folder))
    # The rewrite leaves imports unused or out of order; then the same formatter as generated/.
    session.run("ruff", "check", "--fix-only", "--quiet", *twins)
    session.run("ruff", "format", "--quiet", str(facts), *twins)


@nox.session(python=PYTHON)
def generate(session: nox.Session) -> None:
    """Rewrite generated/, the spec's facts and the sync twins from their sources."""
    session.install(*nox.project.dependency_groups(PYPROJECT, "generate"))
    fresh = SCRATCH / GENERATED.name
    try:
        _generate_into(session, fresh)
        shutil.rmtree(GENERATED, ignore_errors=True)
        shutil.move(fresh, GENERATED)
    finally:
        shutil.rmtree(SCRATCH, ignore_errors=True)
    _write_wrapper_files(session, WRAPPER)


@nox.session(python=PYTHON)
def regen_check(session: nox.Session) -> None:
    """Fail, printing the diff, when generated/, the spec's facts or a sync twin differ from
    what their sources make."""
    session.install(*nox.project.dependency_groups(PYPROJECT, "generate"))
    fresh = SCRATCH / GENERATED.name
    try:
        _generate_into(session, fresh)
        diff = _tree_diff(GENERATED, fresh)
        _write_wrapper_files(session, SCRATCH)
        for committed in (FACTS, *SYNC_TWINS):
            diff += _file_diff(committed, SCRATCH / committed.name)
    finally:
        shutil.rmtree(SCRATCH, ignore_errors=True)
    if diff:
        sys.stderr.writelines(diff)
        session.error(
            "Generated files differ from what their sources make (diff above). Never edit them "
            "by hand: change spec/openapi.yaml or the async source (wrapper/wan_i2v/_async_*.py), "
            "then `nox -s generate`."
        )
    session.log("generated/, _spec_facts.py and the sync twins match their sources")


def _file_diff(committed: Path, fresh: Path) -> list[str]:
    a = committed.read_text().splitlines(keepends=True) if committed.exists() else []
    b = fresh.read_text().splitlines(keepends=True)
    name = committed.relative_to(ROOT).as_posix()
    return list(difflib.unified_diff(a, b, name, f"regenerated/{fresh.name}"))


def _tree_diff(committed: Path, fresh: Path) -> list[str]:
    """A unified diff of two folders' files (__pycache__ ignored); empty when identical."""

    def files(root: Path) -> dict[str, Path]:
        return {
            p.relative_to(root).as_posix(): p
            for p in sorted(root.rglob("*"))
            if p.is_file() and "__pycache__" not in p.parts
        }

    old, new = files(committed), files(fresh)
    lines: list[str] = []
    for name in sorted(old.keys() | new.keys()):
        a = old[name].read_text().splitlines(keepends=True) if name in old else []
        b = new[name].read_text().splitlines(keepends=True) if name in new else []
        if a != b:
            lines += difflib.unified_diff(a, b, f"generated/{name}", f"regenerated/{name}")
    return lines


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


@nox.session(python=PYTHON)
def bench_peers(session: nox.Session) -> None:
    """Ours beside fal-client, replicate and openai, each in a venv of its own under .nox/
    (pinned in benchmarks/bench_peers.py): per-create overhead, 10 MB inline-file memory and
    start-up, in one run; writes its section of benchmarks/RESULTS.md. Not a default session:
    it installs three SDKs from PyPI and takes minutes. Pass --quick for a smoke run."""
    _install(session, "bench")
    session.install("uv")  # makes the peers' venvs
    session.run("python", "benchmarks/bench_peers.py", "--make-venvs", *session.posargs)
