"""The ``wan-i2v`` command line. Needs the ``cli`` extra (click): ``pip install "wan-i2v[cli]"``.

This module imports nothing heavy, so that a missing extra gets a friendly message rather
than a traceback; the commands live in _commands.py.
"""

from __future__ import annotations

import signal
import sys
from collections.abc import Sequence
from types import FrameType

from ._exit import EXIT_INTERRUPTED, EXIT_TERMINATED, EXIT_USAGE

MISSING_EXTRA = 'The wan-i2v command line needs the "cli" extra: pip install "wan-i2v[cli]"'


def main(argv: Sequence[str] | None = None) -> None:
    """Entry point of the ``wan-i2v`` console script."""
    try:
        import click  # noqa: F401  # only to check that the extra is installed
    except ImportError:
        sys.stderr.write(MISSING_EXTRA + "\n")
        raise SystemExit(EXIT_USAGE) from None
    from ._commands import cli
    from ._display import Terminated

    def on_sigterm(signum: int, frame: FrameType | None) -> None:
        # The same path as Ctrl-C: context managers remove temporary files on the way out.
        raise Terminated()

    signal.signal(signal.SIGTERM, on_sigterm)
    try:
        cli.main(args=list(argv) if argv is not None else None, prog_name="wan-i2v")
    except Terminated:
        raise SystemExit(EXIT_TERMINATED) from None
    except KeyboardInterrupt:  # outside any command (while starting up)
        sys.stderr.write("Interrupted. Nothing was sent.\n")
        raise SystemExit(EXIT_INTERRUPTED) from None
