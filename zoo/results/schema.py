"""The results table's schema: one row per finished cell, a :class:`CellResult`.

Its fields are the table's columns, and each field's metadata holds the column's SQL type and
meaning, from which the table is created (:mod:`zoo.results.store`), the README's column list
is written (:func:`schema_markdown`) and the leaderboards' frame is built (:func:`cells_frame`).
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field, fields

import pandas as pd


def _column(kind: str, meaning: str, json: bool = False):
    """A field of :class:`CellResult`: ``kind`` is what the column holds (the table declares
    no types, so SQLite gives back exactly what was written), ``json`` that it holds a
    JSON document."""
    return field(default=None, metadata={"kind": kind, "meaning": meaning, "json": json})


@dataclass
class CellResult:
    """One cell's result: a row of the ``cells`` table. Everything but ``key`` may be missing:
    a cell that failed has no accuracy, and a database written before a column was added
    reads it as ``None``."""

    key: str = _column("TEXT", "primary key: sha256 of the cell's whole config")
    suite: str | None = _column("TEXT", "the suite the cell belongs to")
    task: str | None = _column("TEXT", "the suite's task (or ``data_<folder>`` for a team's folder)")
    quadrant: str | None = _column("TEXT", "the task's size–similarity quadrant, Q1 to Q4")
    architecture: str | None = _column("TEXT", "the architecture trained")
    strategy: str | None = _column("TEXT", "the transfer strategy (with its variant, e.g. ``partial:k=3``)")
    seed: int | None = _column("INTEGER", "the training subset's and initialisation's seed")
    epochs: int | None = _column("INTEGER", "the epoch cap")
    status: str | None = _column("TEXT", "``ok``, ``diverged``, ``oom`` or ``error``")
    reason: str | None = _column("TEXT", "why a cell did not finish ``ok`` (NULL when it did)")
    lr: float | None = _column("REAL", "the peak learning rate (the sweep's; also in ``config``)")
    val_top1: float | None = _column("REAL", "validation top-1 of the weights kept (the sweep chooses on it)")
    val_loss: float | None = _column("REAL", "validation loss of the weights kept")
    trained_epochs: int | None = _column("INTEGER", "epochs actually trained, over all phases")
    stopped_early: int | None = _column(
        "INTEGER", "1: validation stopped every phase before its cap, so a larger cap gives the same result; NULL without validation"
    )
    curve: list | None = _column("TEXT", "JSON: per phase, per epoch: lr factor, train loss, val loss and top-1", json=True)
    pretraining: dict | None = _column(
        "TEXT", "JSON: the starting weights' checksum, source test accuracy, epochs, best epoch, cap and validation curve "
        "(NULL: scratch or hub weights)", json=True,
    )  # fmt: skip
    test_images: int | None = _column("INTEGER", "test images scored")
    test_correct: str | None = _column(
        "TEXT", "hex of the per-image right/wrong bits (bit i of byte i//8 is image i), for the verdicts' intervals"
    )
    top1: float | None = _column("REAL", "test top-1 accuracy")
    top5: float | None = _column("REAL", "test top-5 accuracy (only with more than five classes)")
    mean_per_class: float | None = _column("REAL", "mean of the per-class test accuracies")
    per_class: list | None = _column("TEXT", "JSON list of per-class test accuracies", json=True)
    train_images_per_second: float | None = _column("REAL", "training throughput over training steps only")
    train_seconds: float | None = _column("REAL", "time in training steps")
    infer_images_per_second: float | None = _column("REAL", "inference throughput at the benchmark batch size (128)")
    latency_ms_p50: float | None = _column("REAL", "batch-1 inference latency, median")
    latency_ms_p95: float | None = _column("REAL", "batch-1 inference latency, 95th percentile")
    train_peak_bytes: int | None = _column("INTEGER", "peak memory of a full training step")
    infer_peak_bytes: int | None = _column("INTEGER", "peak memory of an inference step")
    memory_method: str | None = _column("TEXT", "how memory was measured")
    params: int | None = _column("INTEGER", "all parameters, the task's classifier included")
    trainable_params: int | None = _column("INTEGER", "parameters the strategy trained at any point")
    macs: int | None = _column("INTEGER", "multiply-accumulates per image at the cell's input size")
    weights: str | None = _column("TEXT", "the pretrained variant it started from (NULL: scratch)")
    phases: list | None = _column("TEXT", "JSON: per phase, frozen stages, epochs, cap, epoch kept, cached prefix", json=True)
    config: dict | None = _column("TEXT", "JSON of the whole config the key hashes", json=True)
    environment: dict | None = _column(
        "TEXT", "JSON: device and its name, torch, zoo version, git revision, precision, threads", json=True
    )
    started: str | None = _column("TEXT", "ISO timestamp (UTC) the cell started")
    finished: str | None = _column("TEXT", "ISO timestamp (UTC) the cell finished")
    wall_seconds: float | None = _column("REAL", "the cell's wall time, data and measurement included")
    seconds: dict | None = _column(
        "TEXT", "JSON: wall seconds per phase: setup (data, network), pretraining (0 unless this cell had to pretrain "
        "its weights), training (validation passes included), evaluation, measurement", json=True,
    )  # fmt: skip
    attempts: int | None = _column(
        "INTEGER", "how many times the cell ran: a rerun retries a failed cell and replaces its row (counted by the database)"
    )
    step_memory: dict | None = _column(
        "TEXT", "JSON: the strategy's own training step at the cell's batch size (its most memory-hungry phase): measured "
        "peak, estimate, parameters, gradients, optimizer state, activations, input; and the cached prefix outputs it "
        "trained on (filled in for stored cells that lack it by the next zoo bench)", json=True,
    )  # fmt: skip

    def row(self) -> dict:
        """The fields by column name (the values themselves, not copies)."""
        return {name: getattr(self, name) for name in COLUMNS}


COLUMNS = tuple(f.name for f in fields(CellResult))
# Columns added after the first databases were written: a database without them is read with
# them empty and gains them when a run writes to it.
ADDED_COLUMNS = ("seconds", "attempts", "step_memory")
FAILED = ("error", "oom", "diverged")  # the statuses a rerun retries
JSON_COLUMNS = tuple(f.name for f in fields(CellResult) if f.metadata["json"])
SCHEMA = f"CREATE TABLE IF NOT EXISTS cells ({', '.join(c + (' TEXT PRIMARY KEY' if c == 'key' else '') for c in COLUMNS)})"


def schema_markdown() -> str:
    """The ``cells`` table's columns as a Markdown table (the README's, checked by a test)."""
    lines = ["| column | type | meaning |", "|---|---|---|"]
    lines += [f"| `{f.name}` | {f.metadata['kind']} | {f.metadata['meaning'].replace('``', '`')} |" for f in fields(CellResult)]
    return "\n".join(lines) + "\n"


def cells_frame(results: Iterable[CellResult]) -> pd.DataFrame:
    """Cells as a DataFrame with one column per :class:`CellResult` field, in schema order,
    holding the values as stored (``object`` dtype: an integer stays an integer beside a
    missing value)."""
    return pd.DataFrame([r.row() for r in results], columns=list(COLUMNS), dtype=object)


def weights_sha256(row: CellResult) -> str | None:
    """The sha256 of the weights file the cell started from (None from scratch or from hub weights)."""
    return (row.pretraining or {}).get("sha256")


def weights_builds(rows: Iterable[CellResult]) -> dict[str, set[str]]:
    """The weights files, by sha256, that the ``ok`` cells of each pretrained variant started
    from: more than one for a variant is its fingerprint pretrained again on another machine."""
    builds: dict[str, set[str]] = defaultdict(set)
    for row in rows:
        if row.status == "ok" and row.weights and (sha := weights_sha256(row)):
            builds[row.weights].add(sha)
    return builds




def cell_from_record(record: dict) -> CellResult:
    """A stored row (column → value, as SQLite gives it back) as a :class:`CellResult`, its
    JSON columns parsed."""
    for column in JSON_COLUMNS:
        record[column] = json.loads(record[column]) if record[column] is not None else None
    return CellResult(**record)


SELECT_CELLS = f"SELECT {', '.join(COLUMNS)} FROM cells ORDER BY finished"  # every stored cell, in the order they finished
