"""The results database: a cell's result as a typed row, stored once, read back as written."""

import re
import sqlite3
from pathlib import Path

import pytest

from zoo.errors import ZooError
from zoo.results.read import read_results
from zoo.results.schema import ADDED_COLUMNS, COLUMNS, JSON_COLUMNS, CellResult, cells_frame, schema_markdown
from zoo.results.store import ResultsStore

README = Path(__file__).resolve().parents[1] / "README.md"


def test_the_readme_lists_the_columns_the_dataclass_declares():
    block = re.search(r"<!-- cells-schema:start -->\n(.*?)<!-- cells-schema:end -->", README.read_text(), re.S)
    assert block, "README.md lost its <!-- cells-schema:start --> block"
    assert block.group(1) == schema_markdown(), "paste zoo.results.schema.schema_markdown() into README.md's cells-schema block"
    assert COLUMNS[0] == "key" and set(ADDED_COLUMNS) <= set(COLUMNS) and set(JSON_COLUMNS) < set(COLUMNS)


def test_a_cell_reads_back_as_it_was_stored(tmp_path):
    written = CellResult(
        key="k", suite="mini", task="t", quadrant="Q1", architecture="resnet18", strategy="full", seed=2, epochs=40,
        status="ok", lr=0.03, top1=0.75, per_class=[0.5, 1.0], stopped_early=1, config={"recipe": {"lr": 0.03}},
        phases=[{"frozen_stages": 0, "cached_prefix": False}], step_memory={"peak_bytes": 123, "batch_size": 32},
    )  # fmt: skip
    store = ResultsStore(tmp_path / "results.sqlite")
    assert store.record(written)
    (read,) = store.rows()
    assert read == CellResult(**{**written.row(), "attempts": 1})  # the database counts the attempts


def test_the_frame_has_one_column_per_field_and_keeps_integers_beside_missing_values():
    df = cells_frame([CellResult(key="a", seed=0, epochs=40), CellResult(key="b")])
    assert list(df.columns) == list(COLUMNS)
    assert df["epochs"].tolist() == [40, None] and type(df["epochs"][0]) is int


def test_a_stored_ok_cell_is_kept_and_a_failed_one_replaced(tmp_path):
    store = ResultsStore(tmp_path / "results.sqlite")
    assert store.record(CellResult(key="k", status="error", reason="first"))
    assert store.record(CellResult(key="k", status="ok", top1=0.5))
    assert not store.record(CellResult(key="k", status="ok", top1=0.9))  # another run on the database stored it first
    assert not store.record(CellResult(key="k", status="error", reason="late"))
    (row,) = store.rows()
    assert (row.status, row.top1, row.reason, row.attempts) == ("ok", 0.5, None, 2)
    assert store.statuses() == {"k": "ok"}


def test_a_database_from_before_a_column_was_added_gains_it_and_keeps_its_rows(tmp_path):
    path = tmp_path / "results.sqlite"
    older = [c for c in COLUMNS if c not in ADDED_COLUMNS]
    with sqlite3.connect(path) as conn:
        conn.execute(f"CREATE TABLE cells ({', '.join(c + (' TEXT PRIMARY KEY' if c == 'key' else '') for c in older)})")
        conn.execute("INSERT INTO cells (key, top1, config) VALUES ('old', 0.5, '{}')")
    (before,) = read_results(path)  # its rows read back with the new column empty
    assert before.key == "old" and before.seconds is None
    store = ResultsStore(path)
    store.record(CellResult(key="new", top1=0.7, seconds={"training": 1.5}))
    assert {r.key: (r.seconds, r.attempts) for r in store.rows()} == {"old": (None, None), "new": ({"training": 1.5}, 1)}




def test_reading_never_changes_the_database(tmp_path):
    path = tmp_path / "results.sqlite"
    older = [c for c in COLUMNS if c not in ADDED_COLUMNS]
    with sqlite3.connect(path) as conn:  # written before the added columns: reading must not add them
        conn.execute(f"CREATE TABLE cells ({', '.join(c + (' TEXT PRIMARY KEY' if c == 'key' else '') for c in older)})")
        conn.execute("INSERT INTO cells (key, top1, config) VALUES ('old', 0.5, '{}')")
    before = path.read_bytes()
    (row,) = read_results(path)
    assert row.key == "old" and row.attempts is None
    assert path.read_bytes() == before
    other = tmp_path / "other.sqlite"
    with sqlite3.connect(other) as conn:
        conn.execute("CREATE TABLE notes (text)")
    with pytest.raises(ZooError, match="without zoo's cells table"):
        read_results(other)
    with sqlite3.connect(other) as conn:
        assert [name for (name,) in conn.execute("SELECT name FROM sqlite_master")] == ["notes"]
