"""The Pareto front: which (architecture, strategy) pairs no other beats on both accuracy and cost.

Per task setting and device, one point per (architecture, strategy): mean top-1 against the
median of a cost over its cells on that device (inference throughput, or the strategy's
training step memory); a point is on the front when no other point of the same device is at
least as good on both and better on one. A results database filled on two machines (a run
resumed elsewhere) holds throughputs that differ by the machines' speed, not the models':
comparing those would crown the faster machine, so each device has its own front.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

import pandas as pd

from zoo.leaderboard.tables import (
    GROUP_FIELDS,
    TASK_FIELDS,
    device_of,
    grouped,
    natural_order,
    ok_frame,
    records,
    summarise,
    task_key,
    task_order,
)  # fmt: skip
from zoo.results.schema import CellResult


def pareto_front(points: Sequence[tuple[float, float]]) -> list[bool]:
    """For each (accuracy, throughput) point: is it on the front, i.e. does no other point
    do at least as well on both and better on one? Identical points are all on it."""
    return [
        not any(a >= pa and t >= pt and (a > pa or t > pt) for a, t in points)
        for pa, pt in points
    ]


def pareto_rows(rows: Iterable[CellResult], accuracy: Sequence[Mapping], measure: str = "infer_images_per_second") -> list[dict]:
    """Per task setting and device, each (architecture, strategy) with its mean top-1 (over
    every device's cells), the median of ``measure`` over its cells on that device and whether
    it is on that device's Pareto front; points without that
    measurement are left out. ``measure`` is ``infer_images_per_second`` (more is better) or
    ``step_peak_bytes``, the strategy's training step memory (less is better; the low median,
    as bytes are counted)."""
    less_is_better = measure == "step_peak_bytes"

    def value(cell: CellResult):
        return (cell.step_memory or {}).get("peak_bytes") if less_is_better else getattr(cell, measure)

    cells = ok_frame(rows, device=device_of, **{measure: value})
    points = pd.DataFrame(accuracy, columns=[*GROUP_FIELDS, "top1_mean_pct"], dtype=object)
    if cells.empty or points.empty:
        return []
    # Bytes are counted: the low median is one of the cells' own figures, as in the step memory table.
    figure = {"counts": (measure,)} if less_is_better else {"floats": (measure,)}
    medians = summarise(cells, [*GROUP_FIELDS, "device"], **figure).drop(columns="cells")
    points = points.merge(medians, on=list(GROUP_FIELDS), how="left")
    points = natural_order(points.dropna(subset=[measure]), lambda r: task_order(task_key(r)))
    if points.empty:
        return []
    front = pd.Series(False, index=points.index)
    for _, setting in grouped(points, [*TASK_FIELDS, "device"]):
        costs = -setting[measure] if less_is_better else setting[measure]
        front[setting.index] = pareto_front(list(zip(setting["top1_mean_pct"], costs, strict=True)))
    return records(points.assign(on_front=front))
