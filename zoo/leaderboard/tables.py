"""The leaderboards' tables: views of the results database, grouped and aggregated with pandas.

Everything here is a pure function of the stored cells (:class:`zoo.results.schema.CellResult`,
as ``ResultsStore.rows()`` gives them) and of what the caller knows about the registry (which
quadrants each strategy is recommended in, the suites, the plugins), so it can be tested with
made-up cells and runs without a network. The tables are computed on DataFrames built from
the cells (:func:`zoo.results.schema.cells_frame`); what pandas does not do is zoo's own: the
natural order of names, the verdict, the confidence interval, the Pareto front.
The verdict is :mod:`zoo.leaderboard.verdict`'s, the Pareto front :mod:`zoo.leaderboard.pareto`'s,
assembling the boards :mod:`zoo.leaderboard.boards`'s and writing them to files
:mod:`zoo.leaderboard.writers`'s.

How the numbers are combined
----------------------------
* **Which cells**: each (task, architecture, strategy) reports the cells at the learning rate
  its sweep chose on validation data (:func:`zoo.results.sweep.selected_rows`); the sweep's other
  cells appear only in the sweep table of the budgets board.
* A *task setting* is (suite, task, quadrant, epochs): accuracies are only ever compared
  within one, on the same test images. Each task sits in one quadrant.
* **Accuracy**, per task setting × architecture × strategy, over the cells that finished
  ``ok``: the number of seeds, the mean and the sample standard deviation (ddof=1, none with
  a single seed) of top-1, the mean top-5 where recorded and the mean of the mean-per-class
  accuracy. Accuracies are in percent. A cell that did not finish ``ok`` is listed with its
  status and reason and never averaged in. When the same seed was stored twice (its config
  changed, e.g. new pretrained weights), the cell that finished last counts.
* **Speed and memory** are medians over the ``ok`` cells, which keeps one disturbed
  measurement from moving the figure: inference throughput, batch-1 latency, peak memory,
  parameters and MACs per architecture, input size and device; training throughput (the
  cells' own ``train_images_per_second``) and trainable parameters per architecture ×
  strategy, since freezing and cached prefixes change them. Parameters and MACs include the
  task's classifier, so they differ slightly from task to task.
* **Verdict**, per task setting, once per architecture and once overall:

  - *measured*: the strategy with the highest mean top-1; a tie goes to the strategy the rule
    recommends, then to the name that sorts first;
  - *recommended*: the rule of thumb's pick among the strategies present
    (:func:`zoo.matrix.rule_of_thumb`: those whose registered ``quadrants`` name the task's
    quadrant, the seed strategies first, then by name; a seed strategy no longer registered
    keeps the rule of thumb's place, a variant such as ``partial:k=3`` competes but is never the pick);
  - *margin*: in points, the winner's mean top-1 minus the recommended strategy's when they
    disagree, or minus the runner-up's when they agree (how clearly the rule's pick won),
    over the seeds both have, so that it is the difference its interval is about;
  - *interval*: a 95% confidence interval of that margin (:mod:`zoo.leaderboard.confidence`):
    paired Student's t over the seeds both strategies have, with the test images' sampling
    variance added, each tail divided by the number of strategies the winner was chosen
    among; over the seeds alone where a cell lacks its per-image results, and none with a
    single seed. The verdict is *decisive* only when the interval lies above zero and rests
    on ``MIN_SEEDS`` seeds or more (:mod:`zoo.leaderboard.verdict`);
  - the *overall* line takes, per strategy, the mean over architectures of its mean top-1,
    over every architecture of the task and the strategies measured on all of them (the
    others are named in a note); its interval averages the per-architecture differences,
    seed by seed and image by image, and speaks for these architectures alone.
* **Budgets** (:mod:`zoo.leaderboard.budgets`): per reported (task, architecture, strategy), the epochs
  trained and kept against the cap, and whether doubling the cap could change the result;
  the source models' accuracy and pretraining length; the learning-rate sweep.
* **Pareto front**, per task setting: one point per (architecture, strategy), mean top-1
  against median inference throughput; a point is on the front when no other point is at
  least as good on both and better on one.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass

import pandas as pd

from zoo.names import natural_key
from zoo.results.schema import CellResult, cells_frame
from zoo.results.sweep import selected_rows

TASK_FIELDS = ("suite", "task", "quadrant", "epochs")
GROUP_FIELDS = (*TASK_FIELDS, "architecture", "strategy")  # one accuracy figure each


# ---------------------------------------------------------------------------- tables


@dataclass(frozen=True)
class Column:
    """One column of a table: the key in each row (also the CSV and JSON name) and how to show it."""

    key: str  # field of each row dict; CSV header and JSON key
    header: str  # shown in Markdown, HTML and on the terminal
    fmt: str = ""  # format spec for display: ".2f", ",.0f", "mib" (bytes), "giga"; "" shows str()

    def format(self, value: object) -> str:
        """The value as a person reads it; a missing value is an en dash."""
        if value is None:
            return "–"
        if isinstance(value, bool):
            return "yes" if value else "no"
        if self.fmt == "mib":
            return f"{value / 2**20:,.1f}"
        if self.fmt == "giga":
            return f"{value / 1e9:.3f}"
        if self.fmt and isinstance(value, int | float):
            return format(value, self.fmt)
        return str(value)


@dataclass
class Table:
    """Rows of one kind under named columns; writers turn it into Markdown, CSV, JSON and HTML."""

    name: str  # file stem of its CSV ("accuracy") and key in the JSON
    title: str  # heading above it
    columns: tuple[Column, ...]
    rows: list[dict]
    note: str = ""  # how the numbers were aggregated, shown under the table

    def frame(self) -> pd.DataFrame:
        """The rows restricted to the table's columns, in column order."""
        return pd.DataFrame(self.rows, columns=[c.key for c in self.columns], dtype=object)

    def records(self) -> list[dict]:
        """The rows restricted to the table's columns, in column order (CSV and JSON)."""
        return records(self.frame())


TASK_COLUMNS = (Column("suite", "suite"), Column("quadrant", "quadrant"), Column("task", "task"), Column("epochs", "epochs"))


# ---------------------------------------------------------------------------- frames


def records(df: pd.DataFrame) -> list[dict]:
    """Rows as dicts of plain Python values, ``None`` where pandas has a missing value."""
    plain = df.astype(object)
    return plain.where(plain.notna(), None).to_dict("records")


def numbers(series: pd.Series) -> pd.Series:
    """A column's values as floats, ``NaN`` where missing."""
    return pd.to_numeric(series, errors="coerce").astype(float)


def ok_cells(df: pd.DataFrame) -> pd.DataFrame:
    return df[df["status"] == "ok"]


def grouped(df: pd.DataFrame, fields: Iterable[str]):
    """``df`` grouped by ``fields`` in order of first appearance, ``None`` a key like any other."""
    return df.groupby(list(fields), dropna=False, sort=False)


def aggregate(df: pd.DataFrame, by: Iterable[str], **spec) -> pd.DataFrame:
    """Per group of ``by``, in order of first appearance: the key columns as stored (pandas
    would turn a key of 5 beside a missing one into 5.0), then the named aggregations
    ``spec`` (pandas' ``column=(source, function)``)."""
    by = list(by)
    ids = grouped(df, by).ngroup()
    first = ~ids.duplicated()
    keys = df.loc[first, by].set_axis(ids[first])
    return keys.join(df.groupby(ids, sort=False).agg(**spec)).reset_index(drop=True)


def natural_order(df: pd.DataFrame, key: Callable[[Mapping], object]) -> pd.DataFrame:
    """``df`` sorted by ``key`` of each row (stable, so ties keep their order)."""
    if df.empty:
        return df
    order = pd.Series([key(r) for r in records(df)], index=df.index, dtype=object)
    return df.loc[order.sort_values(kind="stable").index]


def group_of(cell: CellResult) -> tuple:
    """(task setting, architecture, strategy): the cells one accuracy figure averages."""
    return tuple(getattr(cell, f) for f in GROUP_FIELDS)


def task_key(row: Mapping) -> tuple:
    """The task setting a table's row belongs to: (suite, task, quadrant, epochs)."""
    return tuple(row.get(f) for f in TASK_FIELDS)


def task_order(key: tuple) -> tuple:
    suite, task, quadrant, epochs = key
    return (natural_key(str(suite)), str(quadrant), natural_key(str(task)), epochs or 0)


def latest_cells(cells: Iterable[CellResult]) -> tuple[list[CellResult], int]:
    """One cell per (task setting, architecture, strategy, seed): the one finished last.

    Two cells share these when a cell's config changed in between (new pretrained weights, a
    new recipe); averaging them would mix two experiments. Returns the cells kept, each in
    the place its first one had, and how many were superseded.
    """
    cells = list(cells)
    if not cells:
        return [], 0
    df = cells_frame(cells)
    same = [*GROUP_FIELDS, "seed"]
    ordered = df.loc[df["finished"].map(lambda f: f or "").sort_values(kind="stable").index]
    first_seen = grouped(ordered, same).ngroup()
    last = ordered[~ordered.duplicated(same, keep="last")]
    kept = first_seen[last.index].sort_values(kind="stable").index
    return [cells[i] for i in kept], len(cells) - len(kept)


def reported_cells(cells: Iterable[CellResult]) -> tuple[list[CellResult], int]:
    """The cells the leaderboards report (:func:`latest_cells` of each group's cells at the
    learning rate its sweep chose) and how many were superseded. Anything quoting a mean
    top-1 reads these: the sweep's other rates were scored on validation data only."""
    return latest_cells(selected_rows(cells))


def input_size(row: CellResult) -> str | None:
    """The cell's input size as ``CxHxW``, from its config."""
    size = (row.config or {}).get("input_size")
    return "x".join(str(s) for s in size) if size else None


def device_of(row: CellResult) -> str | None:
    """The device a cell ran on, by name (``Intel Xeon …``, ``NVIDIA A100…``) where recorded."""
    env = row.environment or {}
    return env.get("device_name") or env.get("device")


# ---------------------------------------------------------------------------- accuracy


def accuracy_rows(rows: Iterable[CellResult]) -> list[dict]:
    """Per task setting × architecture × strategy: seeds, top-1 mean and std, top-5 and
    mean-per-class means (percent), over the ``ok`` cells; best top-1 first within a task."""
    df = cells_frame(rows)
    ok = ok_cells(df).assign(
        top1=lambda d: 100.0 * numbers(d["top1"]), top5=lambda d: numbers(d["top5"]),
        mean_per_class=lambda d: numbers(d["mean_per_class"]),
    )  # fmt: skip
    if ok.empty:
        return []
    table = aggregate(df, GROUP_FIELDS, cells=("status", "size")).merge(aggregate(
        ok, GROUP_FIELDS, seeds=("top1", "size"), top1_mean_pct=("top1", "mean"), top1_std_pct=("top1", "std"),
        top5_mean_pct=("top5", "mean"), mean_per_class_mean_pct=("mean_per_class", "mean"),
    ), on=list(GROUP_FIELDS))  # fmt: skip
    table[["top5_mean_pct", "mean_per_class_mean_pct"]] *= 100.0
    table["failed"] = table.pop("cells") - table["seeds"]
    key = lambda r: (task_order(task_key(r)), -r["top1_mean_pct"], natural_key(str(r["architecture"])))  # noqa: E731
    return records(natural_order(table, key))


def failed_rows(rows: Iterable[CellResult]) -> list[dict]:
    """Every cell that did not finish ``ok``, with its status and reason."""
    df = cells_frame(rows)
    failed = df.loc[df["status"] != "ok", [*GROUP_FIELDS, "seed", "status", "reason"]]
    key = lambda r: (task_order(task_key(r)), natural_key(str(r["architecture"])), str(r["strategy"]), r["seed"] or 0)  # noqa: E731
    return records(natural_order(failed, key))


# ---------------------------------------------------------------------------- speed and memory


HARDWARE = ("architecture", "input_size", "device")  # what speed and memory figures are per


def ok_frame(cells: Iterable[CellResult], **derived: Callable[[CellResult], object]) -> pd.DataFrame:
    """The ``ok`` cells as a frame (:func:`zoo.results.schema.cells_frame`), with a column per
    ``derived`` value of each cell."""
    ok = [c for c in cells if c.status == "ok"]
    return cells_frame(ok).assign(**{name: pd.Series([f(c) for c in ok], dtype=object) for name, f in derived.items()})


def _hardware(**more: Callable[[CellResult], object]) -> dict[str, Callable[[CellResult], object]]:
    return {"input_size": input_size, "device": device_of, **more}


def low_median(values: pd.Series) -> float:
    """The median that is one of the values (a parameter count, not half of two)."""
    return values.quantile(0.5, interpolation="lower")


def summarise(df: pd.DataFrame, by: Iterable[str], floats: Iterable[str] = (), counts: Iterable[str] = (), **more) -> pd.DataFrame:
    """Per group of ``by``, in natural order: the number of cells, the median of each of
    ``floats`` and the low median of each of ``counts``, over the values present, and the
    named aggregations ``more`` (pandas' ``column=(source, function)``)."""
    by, floats, counts = list(by), list(floats), list(counts)
    df = df.assign(**{c: numbers(df[c]) for c in floats + counts})
    spec = {"cells": (by[0], "size"), **{c: (c, "median") for c in floats}, **{c: (c, low_median) for c in counts}, **more}
    table = aggregate(df, by, **spec)
    for c in counts:
        table[c] = table[c].round().astype("Int64")
    return natural_order(table, lambda r: [natural_key(str(r[n])) for n in by])


def first_value(values: pd.Series) -> object:
    """The group's first value, missing or not (pandas' ``first`` skips missing ones)."""
    return values.iloc[0]


def inference_speed_rows(rows: Iterable[CellResult]) -> list[dict]:
    """Per architecture, input size and device: medians of inference throughput, latency and MACs."""
    df = ok_frame(rows, **_hardware())
    if df.empty:
        return []
    return records(summarise(df, HARDWARE, ("infer_images_per_second", "latency_ms_p50", "latency_ms_p95"), ("macs",)))


def training_speed_rows(rows: Iterable[CellResult]) -> list[dict]:
    """Per architecture × strategy: the median of the cells' own training throughput."""
    cached = lambda r: any(p.get("cached_prefix") for p in r.phases or ())  # noqa: E731
    df = ok_frame(rows, **_hardware(cached=cached))
    if df.empty:
        return []
    return records(summarise(df, (*HARDWARE, "strategy"), ("train_images_per_second",), cached_prefix=("cached", "any")))


def memory_rows(rows: Iterable[CellResult]) -> list[dict]:
    """Per architecture, input size and device: median peak memory and parameters."""
    df = ok_frame(rows, **_hardware(memory_method=lambda r: r.memory_method or None))
    if df.empty:
        return []
    methods = lambda s: "; ".join(sorted({str(m) for m in s.dropna()})) or None  # noqa: E731
    return records(summarise(df, HARDWARE, counts=("train_peak_bytes", "infer_peak_bytes", "params"),
                              memory_method=("memory_method", methods)))  # fmt: skip


STEP_PARTS = ("peak_bytes", "estimate", "parameters", "gradients", "optimizer", "activations", "inputs")


def step_memory_rows(rows: Iterable[CellResult]) -> list[dict]:
    """Per architecture × strategy × input × batch size × device: the strategy's own training
    step (``step_memory``), its measured peak and parts; cells without a measured one are left out."""
    measured = [r for r in rows if (r.step_memory or {}).get("peak_bytes") is not None]
    step = {name: (lambda r, name=name: r.step_memory.get(name)) for name in (*STEP_PARTS, "cache_bytes", "phase", "method")}
    df = ok_frame(measured, **_hardware(batch_size=lambda r: r.step_memory["batch_size"]), **step)
    if df.empty:
        return []
    return records(summarise(df, (*HARDWARE, "strategy", "batch_size"), counts=(*STEP_PARTS, "cache_bytes"),
                              phase=("phase", first_value), method=("method", first_value)))  # fmt: skip


def trainable_rows(rows: Iterable[CellResult]) -> list[dict]:
    """Per architecture × strategy: the parameters the strategy trained, and their share."""
    df = ok_frame(rows)
    if df.empty:
        return []
    table = summarise(df, ("architecture", "strategy"), counts=("trainable_params", "params"))
    trainable, params = numbers(table["trainable_params"]), numbers(table["params"])
    table["trainable_share_pct"] = (100.0 * trainable / params).where(params.notna() & (params != 0) & trainable.notna())
    return records(table)


# ---------------------------------------------------------------------------- environment


def environment_summary(rows: Sequence[CellResult]) -> dict:
    """What the cells ran on and when: devices, versions, precision, threads and dates, each
    the sorted distinct values the rows recorded."""

    def distinct(key: str) -> list:
        values = {(r.environment or {}).get(key) for r in rows}
        return sorted((v for v in values if v is not None), key=lambda v: natural_key(str(v)))

    started = [r.started for r in rows if r.started]
    finished = [r.finished for r in rows if r.finished]
    return {
        "devices": sorted({d for d in map(device_of, rows) if d}, key=natural_key),
        "torch": distinct("torch"),
        "zoo": distinct("zoo"),
        "git_revisions": distinct("git_revision"),
        "precision": distinct("precision"),
        "threads": distinct("threads"),
        "first_started": min(started) if started else None,
        "last_finished": max(finished) if finished else None,
        "cells": len(rows),
        "ok": sum(r.status == "ok" for r in rows),
    }
