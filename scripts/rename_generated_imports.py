"""Rewrite imports of the generated client from ``wan_i2v_openapi`` to ``wan_i2v._generated``.

The wheel has one import package: generated/wan_i2v_openapi is mapped to wan_i2v/_generated
(pyproject, force-include; in a checkout, the symlink wrapper/wan_i2v/_generated). Code written
before that move, or on a branch merged after it, still says ``wan_i2v_openapi``: run this
after merging. It is idempotent, touches only import lines and dotted names in strings (mock
targets), and never touches generated/ (the generator's output, whose imports are relative).

    python scripts/rename_generated_imports.py           # rewrite in place, list the files
    python scripts/rename_generated_imports.py --check   # exit 1 if anything is left to rewrite
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
FOLDERS = ("wrapper", "tests", "contract_tests", "benchmarks", "examples", "scripts")
# the symlink to generated/, and this file, which names the old package on purpose
SKIP = ("wrapper/wan_i2v/_generated", "scripts/rename_generated_imports.py")
OLD, NEW = "wan_i2v_openapi", "wan_i2v._generated"

# `from wan_i2v_openapi import X` and `from wan_i2v_openapi.sub import X`, at any indentation
FROM_IMPORT = re.compile(rf"^(\s*from\s+){OLD}(?=[\s.])", re.M)
# "wan_i2v_openapi.models..." in strings (mock.patch targets, importlib); a bare
# "wan_i2v_openapi" is left alone: it is also the name of the folder under generated/
DOTTED_STRING = re.compile(rf"""(["']){OLD}(?=\.)""")
# `import wan_i2v_openapi...`: binds the old name, so it needs a person's eyes
PLAIN_IMPORT = re.compile(rf"^\s*import\s+{OLD}\b", re.M)


def rewrite(text: str) -> str:
    """``text`` with every rewritable reference to the old package moved to the new one."""
    text = FROM_IMPORT.sub(rf"\g<1>{NEW}", text)
    return DOTTED_STRING.sub(rf"\g<1>{NEW}", text)


def python_files() -> list[Path]:
    """The project's hand-written Python files (generated/ and the symlink excluded)."""
    files = []
    for folder in FOLDERS:
        for path in sorted((ROOT / folder).rglob("*.py")):
            relative = path.relative_to(ROOT).as_posix()
            if not relative.startswith(SKIP) and "__pycache__" not in path.parts:
                files.append(path)
    return files


def main(argv: list[str] | None = None) -> int:
    """Rewrite (or with --check, only report); 1 when something is or was left to do."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="report only; exit 1 if needed")
    args = parser.parse_args(argv)
    changed, manual = [], []
    for path in python_files():
        text = path.read_text(encoding="utf-8")
        new = rewrite(text)
        if new != text:
            changed.append(path)
            if not args.check:
                path.write_text(new, encoding="utf-8")
        manual += [
            f"{path.relative_to(ROOT)}:{text.count(chr(10), 0, m.start()) + 1}"
            for m in PLAIN_IMPORT.finditer(new)
        ]
    verb = "would rewrite" if args.check else "rewrote"
    for path in changed:
        print(f"{verb} {path.relative_to(ROOT)}")
    for where in manual:
        print(f"{where}: `import {OLD}` binds the old name; change it by hand", file=sys.stderr)
    return 1 if manual or (args.check and changed) else 0


if __name__ == "__main__":
    sys.exit(main())
