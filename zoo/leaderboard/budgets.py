"""The budgets board: evidence that every reported cell and every source model converged.

Every cell trains until its validation split stops improving (:func:`zoo.train.loop.fit`): the
learning rate drops ×0.1 at each plateau, training stops at the plateau after the last drop,
and the best validation epoch's weights are kept. The schedule reads the validation curve
only, never the epoch cap, so a cell that stopped before its cap gives the same weights bit
for bit with the cap doubled: doubling its budget changes its top-1 by exactly 0 points. A
cell that reached its cap has not been shown to have converged, and the board says so
("cap reached": rerun with a larger ``--epochs``). Source pretraining follows the same rule
on a split of the source's training images, and the board shows each backbone's source test
accuracy and how long it trained.

These are pure functions of the cells the leaderboards report (:func:`zoo.results.sweep.selected_rows`).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable

import pandas as pd

from zoo.leaderboard.tables import aggregate, first_value, natural_order, ok_frame, records
from zoo.names import natural_key
from zoo.results.schema import CellResult, weights_builds

ROW_FIELDS = ("suite", "quadrant", "task", "architecture", "strategy")


def budget_rows(rows: Iterable[CellResult]) -> list[dict]:
    """Per (task, architecture, strategy), over its ``ok`` cells: the chosen learning rate, the
    cap, the epochs trained and kept (least–most over seeds), how many seeds stopped before
    the cap, and what doubling the cap would change."""
    df = ok_frame(rows, best_epoch=lambda c: next((p.get("best_epoch") for p in (c.phases or [])[-1:]), None))
    if df.empty:
        return []
    table = aggregate(
        df, ROW_FIELDS, seeds=("key", "size"), lr=("lr", first_value), cap=("epochs", first_value),
        trained_epochs=("trained_epochs", _span), best_epoch=("best_epoch", _span),
        early=("stopped_early", lambda s: int(sum(bool(v) for v in s))), known=("stopped_early", lambda s: bool(s.notna().all())),
    )  # fmt: skip
    table["stopped_early"] = [f"{e} of {n}" if k else None for e, n, k in zip(table["early"], table["seeds"], table["known"], strict=True)]
    table["doubling_changes"] = [_doubling(e, n, k) for e, n, k in zip(table["early"], table["seeds"], table["known"], strict=True)]
    ordered = natural_order(table.drop(columns=["early", "known"]), lambda r: [natural_key(str(r[f])) for f in ROW_FIELDS])
    return records(ordered)


def _span(values: pd.Series) -> str | None:
    """Least–most of the values present, or the one value."""
    present = [v for v in values if v is not None]
    if not present:
        return None
    low, high = min(present), max(present)
    return str(low) if low == high else f"{low}–{high}"


def _doubling(early: int, seeds: int, known: bool) -> str:
    if not known:
        return "unknown: trained a fixed number of epochs, without a validation split"
    if early == seeds:
        return "0.00 points: every seed stopped before its cap"
    return f"not shown: {seeds - early} seed(s) reached the cap; rerun with a larger --epochs"


def pretraining_rows(rows: Iterable[CellResult]) -> list[dict]:
    """Per pretrained weights the reported cells started from: the source test accuracy, the
    epochs pretraining ran and kept, its cap and whether validation stopped it."""
    seen: dict[str, dict] = {}
    for row in rows:
        facts = row.pretraining
        if row.status != "ok" or not facts or row.weights in seen:
            continue
        seen[row.weights] = {
            "suite": row.suite,
            "architecture": row.architecture,
            "weights": row.weights,
            "source_test_top1_pct": _percent(facts.get("source_test_accuracy")),
            "source_val_top1_pct": _percent(facts.get("source_val_top1")),
            "epochs": facts.get("epochs"),
            "best_epoch": facts.get("best_epoch"),
            "cap": facts.get("epoch_cap"),
            "stopped_early": facts.get("stopped_early"),
            "seconds": facts.get("seconds"),
        }
    return sorted(seen.values(), key=lambda r: (natural_key(str(r["suite"])), natural_key(str(r["architecture"]))))


def pretraining_notes(rows: Iterable[CellResult]) -> list[str]:
    """A note for each weights variant whose reported cells started from different files: the
    same fingerprint pretrained again elsewhere (another machine's kernels round differently),
    so its cells are two experiments under one name."""
    return [
        f"{variant}: its cells started from {len(found)} different weights files (pretrained again on another machine); "
        "rerun its cells with --fresh on one machine to compare like with like"
        for variant, found in sorted(weights_builds(rows).items())
        if len(found) > 1
    ]


def _percent(value: float | None) -> float | None:
    return None if value is None else 100.0 * value


def learning_curves(rows: Iterable[CellResult]) -> dict[tuple, list[dict]]:
    """Per task setting (suite, task, quadrant, cap): for each (architecture, strategy), the
    validation curve of its seed-0 cell, phases joined end to end, and its kept epoch."""
    curves: dict[tuple, list[dict]] = defaultdict(list)
    for row in rows:
        if row.status != "ok" or row.seed != 0 or not row.curve:
            continue
        epochs, val_top1, kept, offset = [], [], None, 0
        for phase, run in zip(row.curve, row.phases or [], strict=False):
            epochs += [offset + e["epoch"] for e in phase]
            val_top1 += [100.0 * e["val_top1"] for e in phase]
            if run.get("best_epoch") is not None:
                kept = offset + run["best_epoch"]
            offset += len(phase)
        key = (row.suite, row.task, row.quadrant, row.epochs)
        curves[key].append(
            {"architecture": row.architecture, "strategy": row.strategy, "epochs": epochs, "val_top1_pct": val_top1,
             "kept_epoch": kept}  # fmt: skip
        )
    return dict(curves)


def pretraining_curves(rows: Iterable[CellResult]) -> dict[str, dict[str, dict]]:
    """Per suite, per architecture: the source validation curve of the weights its reported
    cells started from, and the epoch kept."""
    curves: dict[str, dict[str, dict]] = defaultdict(dict)
    for row in rows:
        facts = row.pretraining or {}
        if row.status == "ok" and facts.get("curve"):
            curves[row.suite].setdefault(row.architecture, {"curve": facts["curve"], "best_epoch": facts.get("best_epoch")})
    return dict(curves)


PHASES = ("setup", "pretraining", "training", "evaluation", "measurement")


def time_rows(rows: Iterable[CellResult]) -> list[dict]:
    """Where a run's wall time went: per (suite, architecture), over every cell stored
    (failed and sweep cells included, since they cost time too), minutes per phase of
    :class:`zoo.bench.runner.PhaseClock`, on which machines; then the total. Pretraining is
    charged to the cell that found its weights missing; what pretraining the weights the cells
    started from took, in whichever run made them, is beside it (``weights_minutes``)."""
    groups: dict[tuple, list[CellResult]] = defaultdict(list)
    for row in rows:
        groups[(row.suite, row.architecture)].append(row)
    table = [_time_row({"suite": suite, "architecture": arch}, cells) for (suite, arch), cells in groups.items()]
    table.sort(key=lambda r: (natural_key(str(r["suite"])), natural_key(str(r["architecture"]))))
    if len(table) > 1:
        table.append(_time_row({"suite": "all", "architecture": "all"}, [r for cells in groups.values() for r in cells]))
    return table


def _time_row(head: dict, cells: list[CellResult]) -> dict:
    timed = [c.seconds for c in cells if c.seconds]
    machines = sorted({(c.environment or {}).get("device_name") or "unknown" for c in cells})
    weights = {facts["sha256"]: facts.get("seconds") or 0.0 for c in cells if (facts := c.pretraining or {}).get("sha256")}
    return head | {
        "cells": len(cells),
        "timed_cells": len(timed),
        "wall_minutes": sum(c.wall_seconds or 0.0 for c in cells) / 60,
        **{f"{phase}_minutes": sum(t.get(phase, 0.0) for t in timed) / 60 if timed else None for phase in PHASES},
        "weights_minutes": sum(weights.values()) / 60 if weights else None,
        "machine": "; ".join(machines),
    }
