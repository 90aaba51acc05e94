"""The harness: run the grid's cells wave by wave and store each result as it finishes.

The cells come from :mod:`zoo.bench.grid`, each runs in :class:`zoo.bench.runner.CellRunner`
(in this process with :class:`LocalExecutor`, or as Ray tasks with
:class:`zoo.bench.ray_executor.RayExecutor`), and this process alone writes the results
database. A cell that fails is stored with its status and reason, and the grid goes on.

One database holds one network under each weights name: every cell of a pretrained variant
starts from the same file. A weights store rebuilt elsewhere (another machine's kernels round
differently) makes another network under the same fingerprint, and the harness stops rather
than store a cell of it beside the others (:func:`check_same_weights`).
"""

from __future__ import annotations

import functools
import math
import shlex
from collections import defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING

import torch

from zoo.bench.grid import Cell, CellGroup, EpochCallback
from zoo.bench.memory import step_memory_record
from zoo.bench.runner import CellRunner
from zoo.errors import WeightsError
from zoo.models.weights import WeightsStore
from zoo.results.schema import FAILED, CellResult, weights_builds, weights_sha256
from zoo.results.store import ResultsStore
from zoo.results.sweep import chosen_lrs, group_key, row_lr

if TYPE_CHECKING:
    from zoo.plugin.manager import PluginSet


class LocalExecutor:
    """Runs cells one after another in this process (the embedded default)."""

    name = "local"

    def __init__(self, plugins: PluginSet, device: torch.device):
        self.runner = CellRunner(plugins, device)

    def run(self, cells: list[Cell], on_epoch: EpochCallback | None = None) -> Iterator[tuple[Cell, CellResult]]:
        """Each cell with its result row, as each finishes; ``on_epoch(cell, done, total)``
        follows each cell's training."""
        for cell in cells:
            yield cell, self.runner.run(cell, on_epoch and functools.partial(on_epoch, cell))


def run_grid(
    groups: list[CellGroup],
    store: ResultsStore,
    executor: LocalExecutor,
    on_cell: Callable[[Cell, CellResult | None, int, int], None] | None = None,
    on_epoch: EpochCallback | None = None,
    retry: bool = True,
) -> list[CellResult]:
    """Run the cells of ``groups`` not yet stored ``ok``, storing each as it finishes; returns
    the new rows. A cell stored as failed (``error``, ``oom``, ``diverged``) runs again and
    its row is replaced, unless ``retry`` is False.

    First every group's sweep (seed 0 at each learning rate); then, while a sweep's choice
    lies on its edge, one more rate past that edge (:meth:`CellGroup.beyond_edge`); then the
    other seeds at the rate each sweep chose (:func:`zoo.results.sweep.chosen_lrs`, on validation
    data), and while a seed diverges at the rate chosen, the next best rate's seeds. A group
    whose sweep has no ``ok`` cell runs no more seeds; its failures are stored and shown. A
    group without a sweep (one rate) runs every seed whatever seed 0 gave.

    The executor only computes rows; this process, the driver, writes every one of them, so
    the database never has two writers. ``on_cell(cell, row, done, total)`` is called after
    each cell (``row`` None for a cell stored before and not run again; ``total`` grows when a
    sweep goes past its edge or a choice moves); ``on_epoch(cell, done, total)`` after each
    epoch of a cell, where the executor can tell (the local one can; Ray's cannot).
    """
    count = _Count(sum(g.size for g in groups), on_cell)
    builds = weights_builds(store.rows())
    wave = functools.partial(_run_wave, store=store, executor=executor, count=count, on_epoch=on_epoch, retry=retry, builds=builds)
    first = [c for g in groups for c in g.sweep()]
    visited = {c.key for c in first}
    rows = wave(first)
    # The steps past an edge are found from the cells this run has visited, stored or not, so
    # that a rerun walks (and counts) the same steps as the run that stored them.
    while extra := _beyond_edges(groups, [r for r in store.rows() if r.key in visited]):
        visited.update(c.key for c in extra)
        count.total += len(extra)
        rows += wave(extra)
    # The other seeds at each group's choice; where one of them diverges, the choice moves to
    # the next best rate (chosen_lrs), and that rate's seeds train in turn.
    seeded: dict[str, float | None] = {}
    while True:
        chosen = chosen_lrs(store.rows())
        second = []
        for group in groups:
            lr = group.lrs[0] if len(group.lrs) == 1 else chosen.get(group.key)
            if group.key not in seeded:
                seeded[group.key] = lr
                if lr is None:
                    count.skip(group.seeds - 1)  # its sweep failed: nothing more to run
                else:
                    second += group.seeded(lr)
            elif lr is not None and not math.isclose(lr, seeded[group.key]):
                seeded[group.key] = lr
                again = [cell for cell in group.seeded(lr) if cell.key not in visited]
                count.total += len(again)
                second += again
        if not second:
            return rows
        visited.update(c.key for c in second)
        rows += wave(second)


def forget(store: ResultsStore, groups: list[CellGroup]) -> int:
    """Delete the stored cells of ``groups``, their sweeps' steps past an edge included, so
    that they run again (``zoo bench --fresh``); the database's other cells stay. Returns how
    many were deleted.

    A team folder's quadrant is measured through the store's weights, so rebuilt weights can
    move it: the cells stored under its former quadrant are the same training runs, and go too
    (kept, they would still hold the former build that the remedy of :func:`check_same_weights`
    is to replace)."""
    keys = {_runs_key(group.base.config()) for group in groups}
    return store.forget([row.key for row in store.rows() if _runs_key(row.config) in keys])


def _runs_key(config: dict | None) -> str:
    """A sweep group's key (:func:`zoo.results.sweep.group_key`) without its quadrant label."""
    return group_key({k: v for k, v in (config or {}).items() if k != "quadrant"})


def check_same_weights(row: CellResult, builds: dict[str, set[str]], store: ResultsStore) -> None:
    """Raise when ``row`` started from another file of its weights variant than the cells
    ``store`` holds: the two would be measurements of two networks under one name."""
    sha = weights_sha256(row)
    known = builds.get(row.weights)
    if row.status != "ok" or not sha or not known or sha in known:
        return
    shown = ", ".join(f"{other[:8]}…" for other in sorted(known))
    same = [r for r in store.rows() if r.weights == row.weights] + [row]
    strategies = sorted({r.strategy for r in same})
    raise WeightsError(
        f"{store.path}: {row.architecture}'s cells there started from {row.weights} with sha256 {shown}, but this "
        f"weights store's file is {sha[:8]}… (rebuilt on another machine, or by other code), so the cell just run "
        f"({row.architecture}/{row.strategy}/{row.task}/seed{row.seed}) was not stored. Restore that file into "
        f"{WeightsStore().root}, or run the cells that start from it again with these weights: `zoo bench{_selection(same)} "
        f"--arch {row.architecture} --strategy {','.join(strategies)} --fresh --out {shlex.quote(str(store.path.parent))}` "
        "(every other cell stays)"
    )


def _selection(rows: list[CellResult]) -> str:
    """The ``zoo bench`` options that select the suite and tasks of ``rows``: the suite's own
    tasks are run without naming them, team folders with their --data (and then the suite's
    tasks by name, since --data alone runs the folders alone)."""
    folders = sorted({r.config["data_root"] for r in rows if r.config.get("data_root")})
    tasks = sorted({r.task for r in rows if not r.config.get("data_root")})
    named = f" --task {','.join(tasks)}" if tasks and folders else ""
    return f" --suite {rows[0].suite}{named}" + "".join(f" --data {shlex.quote(f)}" for f in folders)


def fill_step_memory(plugins: PluginSet, store: ResultsStore, device: torch.device) -> int:
    """Measure the step memory of stored ``ok`` cells that ran on this kind of device and lack
    it (written before it was measured): it depends on the cell's config alone, not on its
    training. Returns how many were filled."""
    filled = 0
    for row in store.rows():
        ran_on = (row.environment or {}).get("device", "").split(":")[0]
        config = row.config or {}
        if row.status != "ok" or row.step_memory is not None or ran_on != device.type or "recipe" not in config:
            continue
        recipe, size = config["recipe"], tuple(config["input_size"])
        record = step_memory_record(plugins, row.architecture, row.strategy, recipe["batch_size"], size, device, recipe["precision"])
        store.set_step_memory(row.key, record)
        filled += 1
    return filled


def _beyond_edges(groups: list[CellGroup], rows: list[CellResult]) -> list[Cell]:
    """The next cell of each sweep whose chosen rate is on its edge (see :meth:`CellGroup.beyond_edge`)."""
    chosen = chosen_lrs(rows)
    tried: dict[str, list[float]] = defaultdict(list)
    for row in rows:
        if row.seed == 0 and row_lr(row) is not None:
            tried[group_key(row.config)].append(row_lr(row))
    extra = (group.beyond_edge(tried[group.key], chosen[group.key]) for group in groups if group.key in chosen)
    return [cell for cell in extra if cell is not None]


@dataclass
class _Count:
    """Cells done out of the total, told to ``on_cell`` after each."""

    total: int
    on_cell: Callable[[Cell, CellResult | None, int, int], None] | None
    done: int = 0

    def tell(self, cell: Cell, row: CellResult | None) -> None:
        self.done += 1
        if self.on_cell:
            self.on_cell(cell, row, self.done, self.total)

    def skip(self, cells: int) -> None:
        self.done += cells


def _run_wave(
    cells: list[Cell], store: ResultsStore, executor, count: _Count, on_epoch: EpochCallback | None, retry: bool,
    builds: dict[str, set[str]],
) -> list[CellResult]:
    stored = store.statuses()
    again = FAILED if retry else ()
    pending = [cell for cell in cells if cell.key not in stored or stored[cell.key] in again]
    for cell in cells:
        if cell.key in stored and stored[cell.key] not in again:
            count.tell(cell, None)
    rows = []
    for cell, row in executor.run(pending, on_epoch=on_epoch):
        check_same_weights(row, builds, store)
        for variant, shas in weights_builds([row]).items():
            builds.setdefault(variant, set()).update(shas)
        if store.record(row):  # False: another run on this database stored it ok first
            rows.append(row)
        count.tell(cell, row)
    return rows
