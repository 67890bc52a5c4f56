"""Writes cut into pieces, each checked against the deadline (D15).

A 10 MB upload is one write call, and httpcore's sync write loops over partial sends with the
same timeout each time, so a peer that accepts slowly but steadily would stretch it unbounded.
"""

from __future__ import annotations

from collections.abc import Iterable

WRITE_PIECE = 64 * 1024


def pieces(buffer: bytes) -> Iterable[bytes]:
    view = memoryview(buffer)
    for start in range(0, len(view), WRITE_PIECE):
        yield bytes(view[start : start + WRITE_PIECE])
