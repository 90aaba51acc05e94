"""Choosing each cell's learning rate on validation data, never on the test set.

A strategy's learning rate is chosen, not assumed. For every (task, architecture, strategy)
the grid first trains seed 0 at a few learning rates, the recipe's own times each of the
suite's ``lr_factors`` (a small sweep, as VTAB does); every such cell early-stops on its
validation split, held out of its training images. The learning rate whose cell scored the
best validation top-1 (ties: the lower validation loss, then the rate nearer the recipe's)
is the one the other seeds train at, and the one the leaderboards report. A rate at which any
seed diverged is passed over for the next best, whose seeds then train in turn: a mean over
the seeds that happened to survive would flatter it. While the rate chosen is the highest (or
lowest) tried, the harness tries one more, a factor further, up to the suite's
``lr_extensions`` steps, so that the choice is bracketed by worse rates; the sweep table says
when it still is not. The pretrained stages' rate follows the head's (a strategy's
``backbone_lr`` multiplier), so sweeping the one sweeps both.

These are pure functions of stored cells (:class:`zoo.results.schema.CellResult`), used by
the harness to expand the grid's second wave and by the leaderboards to keep the chosen
cells and show the sweep.
"""

from __future__ import annotations

import json
import math
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping

from zoo.results.schema import CellResult


def row_lr(row: CellResult) -> float | None:
    """The peak learning rate a cell trained at (its recipe's)."""
    return ((row.config or {}).get("recipe") or {}).get("lr")


def group_key(config: Mapping | None) -> str:
    """What the cells of one sweep share: a cell's whole ``config`` but the seed and learning rate."""
    config = dict(config or {})
    config.pop("seed", None)
    config["recipe"] = {k: v for k, v in (config.get("recipe") or {}).items() if k != "lr"}
    return json.dumps(config, sort_keys=True)


def choose_lr(sweep: Iterable[CellResult], base_lr: float | None = None) -> float | None:
    """The learning rate a sweep chose: of its ``ok`` seed-0 cells, the best validation top-1,
    then the lower validation loss, then the rate nearest ``base_lr`` in log scale. None when
    no cell of the sweep finished ``ok``."""
    finished = [r for r in sweep if r.status == "ok" and r.val_top1 is not None]
    if not finished:
        return None

    def rank(row: CellResult) -> tuple:
        lr = row_lr(row)
        distance = abs(math.log(lr / base_lr)) if base_lr and lr else 0.0
        return (-row.val_top1, row.val_loss if row.val_loss is not None else math.inf, distance)

    return row_lr(min(finished, key=rank))


def chosen_lrs(rows: Iterable[CellResult]) -> dict[str, float]:
    """Per sweep group (:func:`group_key`), the learning rate its seed-0 cells chose, passing
    over the rates at which some seed diverged (:func:`diverged_seeds`); when every rate the
    sweep finished has, the seed-0 choice stands."""
    rows = list(rows)
    sweeps: dict[str, list[CellResult]] = defaultdict(list)
    for row in rows:
        if row.seed == 0:
            sweeps[group_key(row.config)].append(row)
    unstable = diverged_seeds(rows)
    chosen = {}
    for key, sweep in sweeps.items():
        stable = [r for r in sweep if row_lr(r) not in unstable[key]]
        lr = choose_lr(stable, _base_lr(sweep))
        if lr is None:
            lr = choose_lr(sweep, _base_lr(sweep))
        if lr is not None:
            chosen[key] = lr
    return chosen


def diverged_seeds(rows: Iterable[CellResult]) -> dict[str, Counter[float]]:
    """Per sweep group, how many seeds diverged at each learning rate. A group's cells share
    each rate's exact value (:meth:`zoo.bench.grid.CellGroup.at`), so rates compare equal."""
    diverged: dict[str, Counter[float]] = defaultdict(Counter)
    for row in rows:
        if row.status == "diverged" and row_lr(row) is not None:
            diverged[group_key(row.config)][row_lr(row)] += 1
    return diverged


def _base_lr(sweep: list[CellResult]) -> float | None:
    """The recipe's own rate: the middle of the sweep's rates (the sweep's factors straddle 1)."""
    rates = sorted(lr for lr in map(row_lr, sweep) if lr)
    return rates[len(rates) // 2] if rates else None


def selected_rows(rows: Iterable[CellResult]) -> list[CellResult]:
    """The cells at their group's chosen learning rate: the cells the leaderboards report.
    A group whose sweep has no ``ok`` cell keeps its cells, so its failures are shown."""
    rows = list(rows)
    chosen = chosen_lrs(rows)
    return [r for r in rows if group_key(r.config) not in chosen or _same(row_lr(r), chosen[group_key(r.config)])]


def edges(rows: Iterable[CellResult], chosen: Mapping[str, float] | None = None) -> dict[str, str]:
    """Per sweep group (:func:`group_key`) whose chosen rate is the highest or the lowest of
    two or more rates tried: ``"highest tried"`` or ``"lowest tried"``. Its best rate may lie
    beyond what was tried, so its strategy may be under-tuned: a verdict against it is never
    called decisive (:mod:`zoo.leaderboard.verdict`). ``chosen``: :func:`chosen_lrs` of the
    rows, when the caller has it already."""
    rows = list(rows)
    chosen = chosen_lrs(rows) if chosen is None else chosen
    rates: dict[str, set[float]] = defaultdict(set)
    for row in rows:
        if row.seed == 0 and row_lr(row):
            rates[group_key(row.config)].add(row_lr(row))
    marked = {}
    for key, lr in chosen.items():
        tried = sorted(rates[key])
        if len(tried) >= 2 and _same(lr, tried[-1]):
            marked[key] = "highest tried"
        elif len(tried) >= 2 and _same(lr, tried[0]):
            marked[key] = "lowest tried"
    return marked


def sweep_rows(rows: Iterable[CellResult]) -> list[dict]:
    """Per sweep group with more than one learning rate: each rate's seed-0 validation top-1
    and loss, and which was chosen (the sweep table of the leaderboards)."""
    rows = list(rows)
    chosen = chosen_lrs(rows)
    marked = edges(rows, chosen)
    diverged = diverged_seeds(rows)
    by_group: dict[str, list[dict]] = defaultdict(list)
    for row in rows:
        if row.seed == 0:
            by_group[group_key(row.config)].append(row)
    table = []
    for key, sweep in by_group.items():
        rates = sorted({row_lr(r) for r in sweep if row_lr(r)})
        if len(rates) < 2:
            continue
        for row in sorted(sweep, key=lambda r: row_lr(r) or 0):
            is_chosen = key in chosen and _same(row_lr(row), chosen[key])
            edge = marked.get(key) if is_chosen else None
            table.append(
                {
                    "suite": row.suite, "quadrant": row.quadrant, "task": row.task,
                    "architecture": row.architecture, "strategy": row.strategy, "lr": row_lr(row),
                    "status": row.status, "val_top1_pct": None if row.val_top1 is None else 100 * row.val_top1,
                    "val_loss": row.val_loss, "diverged_seeds": diverged[key][row_lr(row)], "chosen": is_chosen, "edge": edge,
                    "stopped_early": None if row.stopped_early is None else bool(row.stopped_early),
                }  # fmt: skip
            )
    return table


def _same(a: float | None, b: float | None) -> bool:
    return a is not None and b is not None and math.isclose(a, b, rel_tol=1e-9)
