"""The exit codes of every command, said once (the command line's docs list them)."""

from __future__ import annotations

from typing import Final

EXIT_OK: Final = 0
EXIT_FAILURE: Final = 1  # an API or task failure, or drift found by `contract`
EXIT_USAGE: Final = 2  # the command was used wrongly; nothing was paid for
EXIT_INCOMPLETE: Final = 3  # `contract` could not finish: budget spent, or no usable answer
EXIT_INTERRUPTED: Final = 130  # Ctrl-C
EXIT_TERMINATED: Final = 143  # SIGTERM
