"""The results database: one SQLite row per finished cell, written in a transaction.

A cell's row is written once it has finished, whatever its status, inside one transaction,
so a killed run leaves every finished cell stored once and no half-written row; rerunning
skips the cells stored ``ok`` and retries the failed ones, replacing their rows. One run at a
time writes a database (:meth:`ResultsStore.lock`). Leaderboards are views of this table.

Schema (table ``cells``; also in the README):

========================  =======  ===========================================================
column                    type     meaning
========================  =======  ===========================================================
key                       TEXT     primary key: sha256 of the cell's whole config
suite, task, quadrant     TEXT     where the cell sits
architecture, strategy    TEXT     what ran
seed, epochs              INTEGER  the training subset's seed; the epoch cap
status                    TEXT     ``ok``, ``diverged``, ``oom`` or ``error``
reason                    TEXT     why a cell did not finish ``ok`` (NULL when it did)
lr                        REAL     the peak learning rate (the sweep's; also in ``config``)
val_top1, val_loss        REAL     validation score of the weights kept (the sweep chooses on it)
trained_epochs            INTEGER  epochs actually trained, over all phases
stopped_early             INTEGER  1: validation stopped every phase before its cap, so a
                                   larger cap gives the same result; NULL without validation
curve                     TEXT     JSON: per phase, per epoch: lr factor, train loss, val loss and top-1
pretraining               TEXT     JSON: the starting weights' source test accuracy, epochs, best
                                   epoch, cap and validation curve (NULL: scratch or hub weights)
test_images               INTEGER  test images scored
test_correct              TEXT     hex of the per-image right/wrong bits (bit i of byte i//8
                                   is image i), for the verdicts' bootstrap
top1, top5                REAL     test accuracy (top-5 only with more than five classes)
mean_per_class            REAL     mean of the per-class test accuracies
per_class                 TEXT     JSON list of per-class test accuracies
train_images_per_second   REAL     training throughput over training steps only
train_seconds             REAL     time in training steps
infer_images_per_second   REAL     inference throughput at the benchmark batch size
latency_ms_p50, _p95      REAL     batch-1 inference latency
train_peak_bytes          INTEGER  peak memory of a full training step
infer_peak_bytes          INTEGER  peak memory of an inference step
memory_method             TEXT     how memory was measured
step_memory               TEXT     JSON: the strategy's own training step at the cell's batch size
                                   (its most memory-hungry phase): measured peak, estimate,
                                   parameters, gradients, optimizer state, activations, input;
                                   and the cached prefix outputs the cell trained on, beside it
                                   (filled in for stored cells that lack it by the next zoo bench)
params, trainable_params  INTEGER  all parameters; those the strategy trained at any point
macs                      INTEGER  multiply-accumulates per image at the cell's input size
weights                   TEXT     the pretrained variant it started from (NULL: scratch)
phases                    TEXT     JSON: per phase, frozen stages, epochs, cached prefix
config                    TEXT     JSON of the whole config the key hashes
environment               TEXT     JSON: device, its name, torch, zoo version, git revision, precision
started, finished         TEXT     ISO timestamps (UTC)
wall_seconds              REAL     the cell's wall time, data and measurement included
attempts                  INTEGER  how many times the cell ran: a rerun retries a failed cell and
                                   replaces its row (NULL in rows stored before this column: 1)
seconds                   TEXT     JSON: wall seconds per phase: setup (data, network), pretraining
                                   (0 unless this cell had to pretrain its weights), training
                                   (validation passes included), evaluation, measurement
========================  =======  ===========================================================
"""

from __future__ import annotations

import fcntl
import json
import os
import socket
import sqlite3
from collections.abc import Callable, Iterator
from contextlib import closing, contextmanager
from datetime import datetime, timezone
from pathlib import Path

from zoo.errors import ZooError

COLUMNS = (
    "key", "suite", "task", "quadrant", "architecture", "strategy", "seed", "epochs", "status", "reason",
    "lr", "val_top1", "val_loss", "trained_epochs", "stopped_early", "curve", "pretraining", "test_images", "test_correct",
    "top1", "top5", "mean_per_class", "per_class", "train_images_per_second", "train_seconds",
    "infer_images_per_second", "latency_ms_p50", "latency_ms_p95", "train_peak_bytes", "infer_peak_bytes",
    "memory_method", "params", "trainable_params", "macs", "weights", "phases", "config", "environment",
    "started", "finished", "wall_seconds", "seconds", "attempts", "step_memory",
)  # fmt: skip
# Columns added after the first databases were written: a database without them is read with
# them empty and gains them when a run writes to it.
ADDED_COLUMNS = ("seconds", "attempts", "step_memory")
FAILED = ("error", "oom", "diverged")  # the statuses a rerun retries
JSON_COLUMNS = ("per_class", "curve", "pretraining", "phases", "config", "environment", "seconds", "step_memory")
SCHEMA = f"CREATE TABLE IF NOT EXISTS cells ({', '.join(c + (' TEXT PRIMARY KEY' if c == 'key' else '') for c in COLUMNS)})"


class ResultsStore:
    """The ``results.sqlite`` of one output directory."""

    def __init__(self, path: Path):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        try:
            with closing(self._connect()) as conn, conn:
                conn.execute(SCHEMA)
                found = {row[1] for row in conn.execute("PRAGMA table_info(cells)")}
                missing = set(COLUMNS) - found
                if missing <= set(ADDED_COLUMNS):
                    for column in sorted(missing):
                        conn.execute(f"ALTER TABLE cells ADD COLUMN {column}")
        except sqlite3.DatabaseError as exc:
            raise ZooError(f"{self.path} is not a zoo results database ({exc}); move it away or pick another --out") from None
        if not missing <= set(ADDED_COLUMNS):
            raise ZooError(f"{self.path} lacks the columns {', '.join(sorted(missing))}: it was written by another version; use another --out")

    def _connect(self) -> sqlite3.Connection:
        conn = sqlite3.connect(self.path, timeout=30)
        conn.execute("PRAGMA journal_mode=WAL")
        return conn

    @contextmanager
    def lock(self, wait: bool = False, on_wait: Callable[[str], None] | None = None) -> Iterator[None]:
        """Hold this database's run lock for a whole run, so that two runs on one output
        directory never compute the same cells: the second is refused with the holder's name
        and PID, or with ``wait`` queues behind it (``on_wait(holder)`` first) and then finds
        the cells stored. The kernel releases the lock when its process ends, however it ends,
        so a killed run leaves nothing that blocks the next; the ``.lock`` file beside the
        database only names the holder."""
        path = self.path.with_name(self.path.name + ".lock")
        with open(path, "a+", encoding="utf-8") as handle:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                handle.seek(0)
                holder = handle.read().strip() or "another process"
                if not wait:
                    raise ZooError(
                        f"{self.path.parent} is in use by {holder}: wait for it to finish, add --wait to queue behind it, "
                        "or use another --out"
                    ) from None
                if on_wait:
                    on_wait(holder)
                fcntl.flock(handle, fcntl.LOCK_EX)
            since = datetime.now(timezone.utc).isoformat(timespec="seconds")
            handle.truncate(0)
            handle.write(f"zoo bench (pid {os.getpid()} on {socket.gethostname()}, since {since})\n")
            handle.flush()
            try:
                yield
            finally:
                handle.truncate(0)
                handle.flush()
                fcntl.flock(handle, fcntl.LOCK_UN)

    def statuses(self) -> dict[str, str]:
        """Each stored cell's key and status."""
        with closing(self._connect()) as conn:
            return dict(conn.execute("SELECT key, status FROM cells"))

    def record(self, row: dict) -> bool:
        """Store one finished cell, atomically. A cell stored as failed is replaced, its
        ``attempts`` counted on; one stored ``ok`` (by another run on the same database) is
        kept as it is and False returned, so no cell is ever stored twice or recomputed over."""
        columns = [c for c in COLUMNS if c != "attempts"]  # counted by the database, not given
        values = [json.dumps(row.get(c)) if c in JSON_COLUMNS else row.get(c) for c in columns]
        updates = ", ".join(f"{c} = excluded.{c}" for c in columns if c != "key")
        with closing(self._connect()) as conn, conn:
            done = conn.execute(
                f"INSERT INTO cells ({', '.join(columns)}, attempts) VALUES ({', '.join('?' * len(columns))}, 1) "
                f"ON CONFLICT(key) DO UPDATE SET {updates}, attempts = COALESCE(cells.attempts, 1) + 1 "
                f"WHERE cells.status IS NOT 'ok'",
                values,
            )
            return done.rowcount == 1

    def set_step_memory(self, key: str, value: dict) -> None:
        """Add the step memory a stored cell lacks: a measurement of its config, not of its
        training, so the rest of the row stays as it is."""
        with closing(self._connect()) as conn, conn:
            conn.execute("UPDATE cells SET step_memory = ? WHERE key = ? AND step_memory IS NULL", (json.dumps(value), key))

    def clear(self) -> None:
        with closing(self._connect()) as conn, conn:
            conn.execute("DELETE FROM cells")

    def rows(self) -> Iterator[dict]:
        with closing(self._connect()) as conn:
            conn.row_factory = sqlite3.Row
            for row in conn.execute("SELECT * FROM cells ORDER BY finished"):
                record = dict(row)
                for column in JSON_COLUMNS:
                    record[column] = json.loads(record[column]) if record.get(column) is not None else None
                yield record
