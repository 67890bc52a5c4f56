"""The batch manifest and the checks made before anything is paid for."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from imagefiles import write_image

import wan_i2v
from wan_i2v.batch import Journal, JournalError, ManifestError, check_rows, read_manifest
from wan_i2v.batch._engine import BatchOptions, dry_run, origin_of
from wan_i2v.batch._journal import SCHEMA_VERSION, State
from wan_i2v.sandbox import RunningSandbox, SandboxConfig, serve


def jsonl(path: Path, rows: list[dict[str, Any]]) -> Path:
    path.write_text("".join(json.dumps(row) + "\n" for row in rows))
    return path


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    """A manifest folder holding one valid image, a.png."""
    write_image(tmp_path, "a.png", "png", 640, 480)
    return tmp_path


@pytest.fixture
def sandbox() -> Iterator[RunningSandbox]:
    with serve(SandboxConfig(task_seconds=0)) as running:
        yield running


def test_bad_rows_are_refused_whole_each_named(folder: Path) -> None:
    """Every bad row is listed with its line, key, field and problem; no row is returned."""
    path = jsonl(
        folder / "m.jsonl",
        [
            {"key": "good", "image": "a.png", "prompt": "p"},
            {"key": "long", "image": "a.png", "prompt": "x" * 801},
            {"image": "a.png"},
            {"key": "seed", "image": "a.png", "prompt": "p", "seed": -1},
            {"key": "img", "image": "missing.png", "prompt": "p"},
        ],
    )
    with pytest.raises(ManifestError) as caught:
        read_manifest(path)
    found = {(p.line, p.key, p.field) for p in caught.value.problems}
    assert found == {
        (2, "long", "prompt"),
        (3, "3", "prompt"),
        (4, "seed", "seed"),
        (5, "img", "image"),
    }
    assert "line 4, key 'seed': seed:" in str(caught.value)
    kept = read_manifest(path, skip_invalid=True)
    assert [row.key for row in kept.rows] == ["good"]


def test_duplicates_and_unknown_columns_are_manifest_errors(folder: Path) -> None:
    """A duplicate key, two rows writing one file (case folded) and an unknown column."""
    path = jsonl(
        folder / "m.jsonl",
        [
            {"key": "a", "image": "a.png", "prompt": "p", "output": "Same.mp4"},
            {"key": "a", "image": "a.png", "prompt": "p"},
            {"key": "c", "image": "a.png", "prompt": "p", "output": "same.mp4"},
            {"key": "d", "image": "a.png", "prompt": "p", "colour": "red"},
        ],
    )
    with pytest.raises(ManifestError) as caught:
        read_manifest(path)
    found = {(p.key, p.field) for p in caught.value.problems}
    assert found == {("a", "key"), ("c", "output"), ("d", "colour")}


def test_csv_cells_take_the_declared_types(folder: Path) -> None:
    """CSV text becomes bool, int and Literal choices as the request declares them; an
    empty cell is a field not given; relative images are under the manifest's folder."""
    path = folder / "m.csv"
    path.write_text(
        "key,image,prompt,seed,prompt_extend,resolution,safety_filter\n"
        "one,a.png,Leaves fall,42,false,480P,\n"
    )
    (row,) = read_manifest(path).rows
    assert row.fields["seed"] == 42
    assert row.fields["prompt_extend"] is False
    assert row.fields["resolution"] == "480P"
    assert "safety_filter" not in row.fields
    assert row.fields["image"] == str(folder / "a.png")
    assert row.output == "one.mp4"


def test_csv_cell_of_the_wrong_type_names_row_and_field(folder: Path) -> None:
    """'maybe' in a bool column is refused with the row's key and the field."""
    path = folder / "m.csv"
    path.write_text("key,image,prompt,prompt_extend\nk1,a.png,p,maybe\n")
    with pytest.raises(ManifestError) as caught:
        read_manifest(path)
    (problem,) = caught.value.problems
    assert (problem.key, problem.field) == ("k1", "prompt_extend")


def test_fingerprint_hashes_image_content(folder: Path) -> None:
    """Same fields give the same fingerprint; another image under the same name does not."""
    rows = [{"key": "k", "image": str(folder / "a.png"), "prompt": "p"}]
    first = check_rows([(1, rows[0])]).rows[0].fingerprint
    assert check_rows([(1, rows[0])]).rows[0].fingerprint == first
    write_image(folder, "a.png", "png", 640, 481)
    assert check_rows([(1, rows[0])]).rows[0].fingerprint != first


def test_existing_output_is_refused_before_paying(folder: Path, sandbox: RunningSandbox) -> None:
    """A new row whose output file exists refuses the batch, and no task is created."""
    out = folder / "out"
    out.mkdir()
    (out / "k.mp4").write_bytes(b"someone's video")
    row = {"key": "k", "image": "a.png", "prompt": "p"}
    manifest = read_manifest(jsonl(folder / "m.jsonl", [row]))
    with (
        wan_i2v.Client(base_url=sandbox.url, api_key="k") as client,
        pytest.raises(ManifestError, match="already exists"),
    ):
        list(client.generate_many(manifest, out))
    assert sandbox.state.tasks_created == 0
    assert (out / "k.mp4").read_bytes() == b"someone's video"


def test_changed_fields_under_a_paid_key_are_refused(folder: Path, sandbox: RunningSandbox) -> None:
    """A done row whose prompt changed is refused (not silently paid again)."""
    path = jsonl(folder / "m.jsonl", [{"key": "k", "image": "a.png", "prompt": "p"}])
    out = folder / "out"
    with wan_i2v.Client(base_url=sandbox.url, api_key="k") as client:
        assert [r.status for r in client.generate_many(read_manifest(path), out)] == ["done"]
        jsonl(path, [{"key": "k", "image": "a.png", "prompt": "another"}])
        with pytest.raises(ManifestError, match="changed since this key was sent"):
            list(client.generate_many(read_manifest(path), out))
    assert sandbox.state.tasks_created == 1


def test_another_origin_is_refused(folder: Path) -> None:
    """A journal written against one API refuses a run against another."""
    path = folder / "j.sqlite"
    Journal(path, origin="https://api.mulerouter.ai").close()
    with pytest.raises(JournalError, match=r"talks to https://other\.example"):
        Journal(path, origin="https://other.example")


def test_journal_records_schema_origin_and_states(folder: Path) -> None:
    """The file holds the schema version and origin; each state change is committed."""
    path = folder / "j.sqlite"
    with Journal(path, origin=origin_of("https://user:pw@api.example/v1/")) as journal:
        ledger = journal.ledger("batch")
        ledger.register([("k", "fp")])
        assert ledger.claim("k") is not None
        ledger.creating("k", "fp")
        # Another connection (another process) sees "creating" before any POST.
        other = sqlite3.connect(path)
        assert other.execute("SELECT state FROM ledger_batch").fetchone() == ("creating",)
        ledger.created("k", "task-1")
        assert other.execute("SELECT task_id FROM ledger_batch").fetchone() == ("task-1",)
        meta = dict(other.execute("SELECT name, value FROM meta").fetchall())
        other.close()
    assert meta == {"schema_version": str(SCHEMA_VERSION), "origin": "https://user@api.example/v1"}
    assert "pw" not in meta["origin"]
    with Journal(path, origin=meta["origin"]) as journal:
        entry = journal.ledger("batch").entry("k")
    assert entry is not None
    assert entry.state is State.CREATED


def test_dry_run_counts_and_sends_nothing(folder: Path, sandbox: RunningSandbox) -> None:
    """A dry run says how many rows would be created, sends nothing and writes no journal
    (the output folder is made: writing there is one of the checks)."""
    rows = [{"key": str(i), "image": "a.png", "prompt": "p"} for i in range(3)]
    manifest = read_manifest(jsonl(folder / "m.jsonl", rows))
    with wan_i2v.Client(base_url=sandbox.url, api_key="k") as client:
        plan = dry_run(client, manifest, folder / "out", BatchOptions())
    assert plan.counts()["create"] == 3
    assert sandbox.state.requests_received == 0
    assert list((folder / "out").iterdir()) == []
