"""Progress for long work: a live bar on a terminal, plain lines everywhere else.

Logs, CI and pipes get one line per update, with no control characters, so they stay
readable and greppable.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn


class Reporter:
    """Reports the steps of one task: ``update(done, message)`` after each step."""

    def __init__(self, bar: Progress | None, task_id: int | None, description: str, total: int):
        self._bar, self._task_id = bar, task_id
        self.description, self.total = description, total
        self._inner_id: int | None = None

    def update(self, done: int, message: str = "", total: int | None = None) -> None:
        """``done`` steps of ``total`` (the total so far, when it can grow)."""
        self.total = total if total is not None else self.total
        if self._bar is not None:
            self._bar.update(self._task_id, completed=done, total=self.total, info=message)
        else:
            print(f"{self.description}: {done}/{self.total} {message}".rstrip(), file=sys.stderr, flush=True)

    def inner(self, description: str, done: int, total: int) -> None:
        """Progress within the current step (a cell's epochs) on a second bar. Only on a
        terminal: in logs, a line per epoch of every cell would bury the lines that matter."""
        if self._bar is None:
            return
        if self._inner_id is None:
            self._inner_id = self._bar.add_task(description, total=total, info="")
        self._bar.update(self._inner_id, description=description, completed=done, total=total, info="epochs")


@contextmanager
def progress(description: str, total: int, *, interactive: bool | None = None) -> Iterator[Reporter]:
    """A :class:`Reporter` for ``total`` steps; a bar when stderr is a terminal."""
    if interactive is None:
        interactive = sys.stderr.isatty()
    if not interactive:
        yield Reporter(None, None, description, total)
        return
    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TextColumn("{task.fields[info]}"),
    )
    with Progress(*columns, console=Console(stderr=True), transient=False) as bar:  # stdout stays for results
        yield Reporter(bar, bar.add_task(description, total=total, info=""), description, total)
