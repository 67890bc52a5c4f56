"""``python -m wan_i2v``: the ``wan-i2v`` command line, for when the script is not on PATH
(a venv not activated, ``pipx run``, an interpreter chosen by path)."""

from .cli import main

main()
