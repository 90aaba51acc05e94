"""Reading a results database, read-only: what the leaderboards and ``zoo recommend`` read.

The file is opened with SQLite's ``mode=ro``, so reading never creates a table, adds a column
or takes the run lock: a database another run is filling, or one on a read-only disk, reads
as it is, and one that is not zoo's is refused by name.
"""

from __future__ import annotations

import sqlite3
from contextlib import closing
from pathlib import Path

from zoo.errors import ZooError
from zoo.results.schema import ADDED_COLUMNS, COLUMNS, CellResult, cell_from_record


class NoResultsError(ZooError):
    """The results database exists but holds no cells yet."""


def read_results(path: Path) -> list[CellResult]:
    """Every cell of a zoo results database, after checking that it is one."""
    path = Path(path)
    if not path.is_file():
        raise ZooError(f"no results database at {path}: run `zoo bench --out {path.parent}` first, or point --out at the directory it wrote")
    try:
        with closing(sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)) as conn:
            found = {row[1] for row in conn.execute("PRAGMA table_info(cells)")}
            if not found:
                raise ZooError(f"{path} is an SQLite database without zoo's cells table: point --out at a directory `zoo bench` wrote")
            missing = set(COLUMNS) - found - set(ADDED_COLUMNS)
            if missing:
                raise ZooError(
                    f"{path} lacks the columns {', '.join(sorted(missing))}: another version of zoo wrote it; "
                    f"rerun `zoo bench --out {path.parent} --fresh` or use another --out"
                )
            conn.row_factory = sqlite3.Row
            columns = ", ".join(c if c in found else f"NULL AS {c}" for c in COLUMNS)  # a column added since reads back empty
            return [cell_from_record(dict(row)) for row in conn.execute(f"SELECT {columns} FROM cells ORDER BY finished")]
    except sqlite3.DatabaseError as exc:
        raise ZooError(f"{path} is not a zoo results database ({exc}): point --out at a directory `zoo bench` wrote") from None
