"""``python -m wan_i2v.cli``: the same as the ``wan-i2v`` command."""

from . import main

main()
