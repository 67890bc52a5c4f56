"""Batch generation: many videos from a manifest, crash-safe, never billed twice.

    with wan_i2v.Client() as client:
        for result in client.generate_many(read_manifest("videos.jsonl"), "out/"):
            print(result.key, result.status, result.path)

Every row is checked before the first task is created; each paid step is written to a SQLite
journal (``out/.wan-i2v-journal.sqlite`` by default) before it is taken, so rerunning after
any interruption (``kill -9`` included) resumes without paying twice. See ``_engine`` for the
resume rules and ``_journal`` for the journal's design (shared with the MCP server).
"""

from ._engine import BatchPlan, RowResult, origin_of
from ._journal import SCHEMA_VERSION, Entry, Journal, JournalError, Ledger, State
from ._manifest import BatchRow, Manifest, ManifestError, RowProblem, check_rows, read_manifest

__all__ = [
    "SCHEMA_VERSION",
    "BatchPlan",
    "BatchRow",
    "Entry",
    "Journal",
    "JournalError",
    "Ledger",
    "Manifest",
    "ManifestError",
    "RowProblem",
    "RowResult",
    "State",
    "check_rows",
    "origin_of",
    "read_manifest",
]
