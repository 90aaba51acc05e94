"""The results database: one SQLite row per finished cell, written in a transaction.

A cell's row is written once it has finished, whatever its status, inside one transaction,
so a killed run leaves every finished cell stored once and no half-written row; rerunning
skips the cells stored ``ok`` and retries the failed ones, replacing their rows. One run at a
time writes a database (:meth:`ResultsStore.lock`). Leaderboards are views of this table,
read through :func:`zoo.results.read.read_results`, which never writes.
"""

from __future__ import annotations

import fcntl
import json
import os
import socket
import sqlite3
from collections.abc import Callable, Iterable, Iterator
from contextlib import closing, contextmanager
from datetime import datetime, timezone
from pathlib import Path

from zoo.errors import ZooError
from zoo.results.schema import ADDED_COLUMNS, COLUMNS, JSON_COLUMNS, SCHEMA, SELECT_CELLS, CellResult, cell_from_record


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

    def record(self, result: CellResult) -> bool:
        """Store one finished cell, atomically. A cell stored as failed is replaced, its
        ``attempts`` counted on; one stored ``ok`` (by another run on the same database) is
        kept as it is and False returned, so no cell is ever stored twice or recomputed over."""
        columns = [c for c in COLUMNS if c != "attempts"]  # counted by the database, not given
        row = result.row()
        values = [json.dumps(row[c]) if c in JSON_COLUMNS else row[c] for c in columns]
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

    def forget(self, keys: Iterable[str]) -> int:
        """Delete the stored cells with these keys, in one transaction; how many there were."""
        with closing(self._connect()) as conn, conn:
            return sum(conn.execute("DELETE FROM cells WHERE key = ?", (key,)).rowcount for key in keys)

    def rows(self) -> Iterator[CellResult]:
        """Every stored cell, in the order they finished."""
        with closing(self._connect()) as conn:
            conn.row_factory = sqlite3.Row
            for row in conn.execute(SELECT_CELLS):
                yield cell_from_record(dict(row))
