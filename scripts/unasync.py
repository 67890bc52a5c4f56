"""Write the synchronous client from the asynchronous one (httpcore's scripts/unasync.py pattern).

``wrapper/wan_i2v/_async_client.py`` is written by hand; ``_client.py`` is this script's output
(and likewise every pair in ``PAIRS``):
token substitutions that drop ``async``/``await`` and swap each async name for its sync twin
(``_async_io`` for ``_sync_io``, ``aclose`` for ``close``, ...). The async source uses only
primitives that have such a twin, so the rewrite stays mechanical and reviewable.
``nox -s generate`` runs it (then ruff formats the output); ``nox -s regen_check`` fails when the
committed ``_client.py`` differs from a fresh rewrite.

    python scripts/unasync.py                     # rewrite the sync files in wrapper/wan_i2v/
    python scripts/unasync.py --output-dir DIR    # write them elsewhere (the regeneration check)
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "wrapper" / "wan_i2v"
# (source, output): every sync/async pair written once, as its async half.
PAIRS = [
    (PACKAGE / "_async_client.py", PACKAGE / "_client.py"),
    (PACKAGE / "_async_deadline_streams.py", PACKAGE / "_deadline_streams.py"),
]

# Whole-word substitutions, applied in order.
SUBS = [
    ("async def", "def"),
    ("async for", "for"),
    ("async with", "with"),
    ("await ", ""),
    ("AsyncClient", "Client"),
    ("AsyncIterator", "Iterator"),
    ("StopAsyncIteration", "StopIteration"),
    ("__aenter__", "__enter__"),
    ("__aexit__", "__exit__"),
    ("aclose", "close"),
    ("aiter_raw", "iter_raw"),
    ("aiter_bytes", "iter_bytes"),
    ("async_clients", "sync_clients"),
    ("_async_io", "_sync_io"),
    ("AsyncCreateGate", "CreateGate"),
    ("AsyncDeadlineStream", "DeadlineStream"),
    ("AsyncDeadlineBackend", "DeadlineBackend"),
    ("AsyncNetworkStream", "NetworkStream"),
    ("AsyncNetworkBackend", "NetworkBackend"),
    ("run_batch", "run_batch_sync"),
    ("Asynchronous", "Synchronous"),
    ("asynchronous", "synchronous"),
]
COMPILED = [
    (re.compile(rf"(?<!\w){re.escape(a)}" + (r"\b" if a[-1].isalnum() else "")), b) for a, b in SUBS
]
# Awaitable[X] -> X (a callable returning an awaitable returns the value itself when sync).
AWAITABLE = re.compile(r"\bAwaitable\[([^\[\]]+)\]")
DOCSTRING = re.compile(r'\A"""(.*?)"""', re.S)


def header(source: Path) -> str:
    return (
        f'"""The synchronous twin of {source.name}. GENERATED from it by scripts/unasync.py: do\n'
        f"not edit by hand. Change {source.name}, then run `nox -s generate` (`nox -s\n"
        'regen_check` fails when this file and its source disagree)."""'
    )


def unasync(text: str, source: Path) -> str:
    """The sync twin of an async module's text."""
    text = DOCSTRING.sub(lambda _: header(source), text, count=1)
    for pattern, replacement in COMPILED:
        text = pattern.sub(replacement, text)
    text = AWAITABLE.sub(r"\1", text)
    # `Iterator`, `Awaitable`: imports the rewrite left unused are dropped by ruff's fix pass.
    return text


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--output-dir", type=Path, help="write the sync files there (the regeneration check)"
    )
    args = parser.parse_args(argv)
    for source, target in PAIRS:
        out = args.output_dir / target.name if args.output_dir else target
        out.write_text(unasync(source.read_text(), source))
    return 0


if __name__ == "__main__":
    sys.exit(main())
