"""Leaderboards: views of the results database, as plain tables.

Everything here is a pure function of the stored rows (``ResultsStore.rows()``) and of what
the caller knows about the registry (which quadrants each strategy is recommended in, the
suites, the plugins), so it can be tested with made-up rows and runs without a network.
Writing the tables to files is :mod:`zoo.leaderboard.writers`'s job.

How the numbers are combined
----------------------------
* **Which cells**: each (task, architecture, strategy) reports the cells at the learning rate
  its sweep chose on validation data (:func:`zoo.bench.sweep.selected_rows`); the sweep's other
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
    (:func:`zoo.leaderboard.rule.rule_of_thumb`: those whose registered ``quadrants`` name the task's
    quadrant, the seed strategies first, then by name; a seed strategy no longer registered
    keeps DESIGN's place, a variant such as ``partial:k=3`` competes but is never the pick);
  - *margin*: in points, the winner's mean top-1 minus the recommended strategy's when they
    disagree, or minus the runner-up's when they agree (how clearly the rule's pick won);
  - *interval*: a 95% confidence interval of that margin by a paired, hierarchical bootstrap
    (:mod:`zoo.leaderboard.confidence`) that resamples the seeds both strategies have and the test images,
    the same ones for both; over the seeds alone where a cell lacks its per-image results,
    and none with a single seed as well. The verdict is *decisive* only when the interval
    lies above zero;
  - the *overall* line takes, per strategy, the mean over architectures of its mean top-1,
    over every architecture of the task and the strategies measured on all of them (the
    others are named in a note); its interval resamples the seeds and images jointly for
    every architecture and averages the per-architecture differences.
* **Budgets** (:mod:`zoo.leaderboard.budgets`): per reported (task, architecture, strategy), the epochs
  trained and kept against the cap, and whether doubling the cap could change the result;
  the source models' accuracy and pretraining length; the learning-rate sweep.
* **Pareto front**, per task setting: one point per (architecture, strategy), mean top-1
  against median inference throughput; a point is on the front when no other point is at
  least as good on both and better on one.
"""

from __future__ import annotations

import statistics
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from zoo.bench.sweep import selected_rows, sweep_rows
from zoo.leaderboard.budgets import (
    budget_rows,
    learning_curves,
    pretraining_curves,
    pretraining_notes,
    pretraining_rows,
    time_rows,
)
from zoo.leaderboard.confidence import REPLICATES, Interval, SeedRun, decode_correct, margin_interval
from zoo.leaderboard.rule import DESIGN_RULE, rule_of_thumb
from zoo.plugin.registry import natural_key

MIN_SEEDS = 2  # seeds both strategies need before a verdict can be decisive
TASK_FIELDS = ("suite", "task", "quadrant", "epochs")
OVERALL = "all architectures"  # the scope of a verdict's overall line
VERDICT_RULE = (  # shown under the verdict table
    "Won: the highest mean top-1. Rule: the strategy whose registered quadrants name the task's quadrant "
    "(DESIGN: Q1 full, Q2 partial, Q3 partial or deeper, Q4 linear_probe; the seed strategies first). "
    "The margin is the winner's lead over the rule's pick when they disagree, over the runner-up when they agree, "
    f"with a 95% confidence interval from a paired, hierarchical bootstrap ({REPLICATES:,} replicates resampling the seeds "
    "both strategies have and the test images, the same for both); it is decisive only when the interval lies above "
    "zero. Without per-image results the bootstrap is over the seeds alone, and with a single seed as well there is no interval. "
    "The overall line compares each strategy's mean over architectures, resampling seeds and images jointly for all of them."
)


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

    def records(self) -> list[dict]:
        """The rows restricted to the table's columns, in column order (CSV and JSON)."""
        return [{c.key: row.get(c.key) for c in self.columns} for row in self.rows]


@dataclass
class Board:
    """One leaderboard (accuracy, speed, memory or verdict): its tables and notes."""

    name: str  # file stem of its Markdown and JSON files
    title: str
    tables: list[Table]
    notes: list[str] = field(default_factory=list)  # caveats found in the data (unregistered strategies, …)


@dataclass
class Leaderboard:
    """Every leaderboard of one results database."""

    boards: list[Board]  # verdict, accuracy, budgets, speed, memory: the order pages show them in
    environment: dict  # devices, versions, dates, suites, plugins (see environment_summary)
    cells: int  # rows read, failures included
    curves: dict = field(default_factory=dict)  # per task setting, the validation curves (zoo.leaderboard.budgets.learning_curves)
    pretraining_curves: dict = field(default_factory=dict)  # per suite and architecture (zoo.leaderboard.budgets.pretraining_curves)

    def board(self, name: str) -> Board:
        return next(b for b in self.boards if b.name == name)

    def table(self, name: str) -> Table:
        return next(t for b in self.boards for t in b.tables if t.name == name)


BUDGETS_NOTE = (
    "Every cell trains until its validation split (held out of its training images) stops improving, and keeps its best "
    "validation epoch; the schedule never reads the cap, so a cell that stopped before its cap gives the same result with "
    "the cap doubled. Ranges are over seeds."
)
TASK_COLUMNS = (Column("suite", "suite"), Column("quadrant", "quadrant"), Column("task", "task"), Column("epochs", "epochs"))


# ---------------------------------------------------------------------------- grouping


def task_key(row: Mapping) -> tuple:
    """The task setting a row belongs to: (suite, task, quadrant, epochs)."""
    return tuple(row.get(f) for f in TASK_FIELDS)


def _task_order(key: tuple) -> tuple:
    suite, task, quadrant, epochs = key
    return (natural_key(str(suite)), str(quadrant), natural_key(str(task)), epochs or 0)


def latest_cells(rows: Iterable[Mapping]) -> tuple[list[dict], int]:
    """One row per (task setting, architecture, strategy, seed): the one finished last.

    Two rows share these when a cell's config changed in between (new pretrained weights, a
    new recipe); averaging them would mix two experiments. Returns the rows kept and how
    many were superseded.
    """
    latest: dict[tuple, dict] = {}
    ordered = sorted(rows, key=lambda r: r.get("finished") or "")
    for row in ordered:
        latest[(*task_key(row), row.get("architecture"), row.get("strategy"), row.get("seed"))] = dict(row)
    return list(latest.values()), len(ordered) - len(latest)


def reported_cells(rows: Iterable[Mapping]) -> tuple[list[dict], int]:
    """The cells the leaderboards report (:func:`latest_cells` of each group's rows at the
    learning rate its sweep chose) and how many were superseded. Anything quoting a mean
    top-1 reads these: the sweep's other rates were scored on validation data only."""
    return latest_cells(selected_rows(rows))


def _groups(rows: Iterable[Mapping]) -> dict[tuple, list[dict]]:
    """Rows by (task setting, architecture, strategy)."""
    groups: dict[tuple, list[dict]] = defaultdict(list)
    for row in rows:
        groups[(*task_key(row), row.get("architecture"), row.get("strategy"))].append(dict(row))
    return groups


def _ok(rows: Iterable[Mapping]) -> list[Mapping]:
    return [r for r in rows if r.get("status") == "ok"]


def _median(values: Iterable[float | None]) -> float | None:
    present = [v for v in values if v is not None]
    return statistics.median(present) if present else None


def _median_int(values: Iterable[int | None]) -> int | None:
    """A median that is one of the values (a parameter count, not half of two)."""
    present = [v for v in values if v is not None]
    return statistics.median_low(present) if present else None


def _mean(values: Iterable[float | None]) -> float | None:
    present = [v for v in values if v is not None]
    return statistics.fmean(present) if present else None


def _percent(value: float | None) -> float | None:
    return None if value is None else 100.0 * value


def input_size(row: Mapping) -> str | None:
    """The cell's input size as ``CxHxW``, from its config."""
    size = (row.get("config") or {}).get("input_size")
    return "x".join(str(s) for s in size) if size else None


def device_of(row: Mapping) -> str | None:
    """The device a cell ran on, by name (``Intel Xeon …``, ``NVIDIA A100…``) where recorded."""
    env = row.get("environment") or {}
    return env.get("device_name") or env.get("device")


# ---------------------------------------------------------------------------- accuracy


def accuracy_rows(rows: Iterable[Mapping]) -> list[dict]:
    """Per task setting × architecture × strategy: seeds, top-1 mean and std, top-5 and
    mean-per-class means (percent), over the ``ok`` cells; best top-1 first within a task."""
    table = []
    for key, cells in _groups(rows).items():
        ok = _ok(cells)
        if not ok:
            continue
        top1 = [100.0 * c["top1"] for c in ok]
        table.append(
            dict(
                zip(TASK_FIELDS, key[:4], strict=True),
                architecture=key[4],
                strategy=key[5],
                seeds=len(ok),
                top1_mean_pct=statistics.fmean(top1),
                top1_std_pct=statistics.stdev(top1) if len(top1) > 1 else None,
                top5_mean_pct=_percent(_mean(c.get("top5") for c in ok)),
                mean_per_class_mean_pct=_percent(_mean(c.get("mean_per_class") for c in ok)),
                failed=len(cells) - len(ok),
            )
        )
    return sorted(table, key=lambda r: (_task_order(task_key(r)), -r["top1_mean_pct"], natural_key(str(r["architecture"]))))


def failed_rows(rows: Iterable[Mapping]) -> list[dict]:
    """Every cell that did not finish ``ok``, with its status and reason."""
    failed = [
        dict(
            zip(TASK_FIELDS, task_key(r), strict=True),
            architecture=r.get("architecture"),
            strategy=r.get("strategy"),
            seed=r.get("seed"),
            status=r.get("status"),
            reason=r.get("reason"),
        )
        for r in rows
        if r.get("status") != "ok"
    ]
    return sorted(failed, key=lambda r: (_task_order(task_key(r)), natural_key(str(r["architecture"])), str(r["strategy"]), r["seed"] or 0))


# ---------------------------------------------------------------------------- speed and memory


def _by(rows: Iterable[Mapping], key: Callable[[Mapping], tuple]) -> dict[tuple, list[Mapping]]:
    grouped: dict[tuple, list[Mapping]] = defaultdict(list)
    for row in _ok(rows):
        grouped[key(row)].append(row)
    return dict(sorted(grouped.items(), key=lambda item: [natural_key(str(part)) for part in item[0]]))


def _hardware(row: Mapping) -> tuple:
    return (row.get("architecture"), input_size(row), device_of(row))


def inference_speed_rows(rows: Iterable[Mapping]) -> list[dict]:
    """Per architecture, input size and device: medians of inference throughput, latency and MACs."""
    return [
        {
            "architecture": arch, "input_size": size, "device": device, "cells": len(cells),
            "infer_images_per_second": _median(c.get("infer_images_per_second") for c in cells),
            "latency_ms_p50": _median(c.get("latency_ms_p50") for c in cells),
            "latency_ms_p95": _median(c.get("latency_ms_p95") for c in cells),
            "macs": _median_int(c.get("macs") for c in cells),
        }  # fmt: skip
        for (arch, size, device), cells in _by(rows, _hardware).items()
    ]


def training_speed_rows(rows: Iterable[Mapping]) -> list[dict]:
    """Per architecture × strategy: the median of the cells' own training throughput."""
    return [
        {
            "architecture": arch, "strategy": strategy, "input_size": size, "device": device, "cells": len(cells),
            "train_images_per_second": _median(c.get("train_images_per_second") for c in cells),
            "cached_prefix": any(p.get("cached_prefix") for c in cells for p in c.get("phases") or ()),
        }  # fmt: skip
        for (arch, size, device, strategy), cells in _by(rows, lambda r: (*_hardware(r), r.get("strategy"))).items()
    ]


def memory_rows(rows: Iterable[Mapping]) -> list[dict]:
    """Per architecture, input size and device: median peak memory and parameters."""
    return [
        {
            "architecture": arch, "input_size": size, "device": device, "cells": len(cells),
            "train_peak_bytes": _median_int(c.get("train_peak_bytes") for c in cells),
            "infer_peak_bytes": _median_int(c.get("infer_peak_bytes") for c in cells),
            "memory_method": "; ".join(sorted({str(c["memory_method"]) for c in cells if c.get("memory_method")})) or None,
            "params": _median_int(c.get("params") for c in cells),
        }  # fmt: skip
        for (arch, size, device), cells in _by(rows, _hardware).items()
    ]


STEP_PARTS = ("peak_bytes", "estimate", "parameters", "gradients", "optimizer", "activations", "inputs")


STEP_MEMORY_NOTE = (
    "The step each strategy really runs, at the task's batch size, in its most memory-hungry phase (phase): frozen "
    "stages in eval mode storing nothing for backward (or their cached outputs as the input), gradients of what it "
    "trains, SGD momentum after the first step. Parts in MiB; estimate = parameters + input + the larger of "
    "(activations + gradients) and (gradients + optimizer state), without backward's temporary gradients. Beside it, "
    "the frozen prefix's cached outputs the strategy trains on (all training and validation images; empty for cells "
    "measured before it was recorded). The "
    "architecture table's training peak is another figure: a forward and backward pass of the whole network."
)


def step_memory_rows(rows: Iterable[Mapping]) -> list[dict]:
    """Per architecture × strategy × input × batch size × device: the strategy's own training
    step (``step_memory``), its measured peak and parts; cells without a measured one are left out."""
    measured = [r for r in rows if (r.get("step_memory") or {}).get("peak_bytes") is not None]
    key = lambda r: (*_hardware(r), r.get("strategy"), r["step_memory"]["batch_size"])  # noqa: E731
    return [
        {
            "architecture": arch, "strategy": strategy, "input_size": size, "batch_size": batch, "device": device,
            "cells": len(cells), **{part: _median_int(c["step_memory"][part] for c in cells) for part in STEP_PARTS},
            "cache_bytes": _median_int(c["step_memory"].get("cache_bytes") for c in cells),
            "phase": cells[0]["step_memory"]["phase"], "method": cells[0]["step_memory"]["method"],
        }  # fmt: skip
        for (arch, size, device, strategy, batch), cells in _by(measured, key).items()
    ]


def trainable_rows(rows: Iterable[Mapping]) -> list[dict]:
    """Per architecture × strategy: the parameters the strategy trained, and their share."""
    table = []
    for (arch, strategy), cells in _by(rows, lambda r: (r.get("architecture"), r.get("strategy"))).items():
        trainable, params = _median_int(c.get("trainable_params") for c in cells), _median_int(c.get("params") for c in cells)
        table.append(
            {
                "architecture": arch, "strategy": strategy, "cells": len(cells), "trainable_params": trainable,
                "trainable_share_pct": 100.0 * trainable / params if trainable is not None and params else None,
            }  # fmt: skip
        )
    return table


# ---------------------------------------------------------------------------- verdict


@dataclass(frozen=True)
class Contender:
    """One strategy's accuracy in one verdict's scope."""

    strategy: str
    mean: float  # mean top-1, percent
    seeds: int
    runs: tuple[Mapping[int, SeedRun], ...] = ()  # per architecture of the scope (one for an architecture's own verdict): seed → its run


def decide(contenders: Sequence[Contender], quadrant: str, rule: Mapping[str, Sequence[str]]) -> dict:
    """The verdict for one scope: the measured winner, the rule's pick, the margin between
    them (or to the runner-up when they agree), its 95% confidence interval and whether it
    is decisive (the interval lies above zero)."""
    recommended, _ = rule_of_thumb(quadrant, rule, [c.strategy for c in contenders])
    ranked = sorted(contenders, key=lambda c: (-c.mean, c.strategy != recommended, natural_key(c.strategy)))
    winner = ranked[0]
    pick = next((c for c in contenders if c.strategy == recommended), None)
    other = (ranked[1] if len(ranked) > 1 else None) if pick is winner else pick
    margin = winner.mean - other.mean if other else None
    interval = margin_interval(winner.runs, other.runs) if other else None
    # One seed: the interval sees test-set sampling only, not the spread between training
    # draws, which is what a verdict about strategies must beat; it is shown, never decisive.
    decisive = interval.low > 0 if interval is not None and interval.known and interval.seeds >= MIN_SEEDS else None
    return {
        "measured": winner.strategy,
        "measured_top1_pct": winner.mean,
        "recommended": recommended,
        "recommended_top1_pct": pick.mean if pick else None,
        "agree": None if recommended is None else winner is pick,
        "compared_with": other.strategy if other else None,
        "margin_points": margin,
        "ci_low_points": interval.low if interval else None,
        "ci_high_points": interval.high if interval else None,
        "decisive": decisive,
        "seeds": interval.seeds if interval else winner.seeds,
        "test_images": interval.images if interval else None,
        "verdict": _verdict_text(winner, pick, other, quadrant, margin, interval, decisive),
    }


def _verdict_text(winner, pick, other, quadrant, margin, interval: Interval | None, decisive) -> str:
    if other is None:
        return f"only {winner.strategy} was measured"
    if pick is None:
        head = f"no strategy measured here is the rule's pick for {quadrant}; {winner.strategy} led {other.strategy}"
    elif pick is winner:
        head = f"agree: {winner.strategy} led {other.strategy}"
    else:
        head = f"disagree: {winner.strategy} beat the rule's {pick.strategy}"
    head += f" by {margin:.2f} points"
    if not interval.known:
        if interval.seeds == 0:
            return head + "; no seed measured for both: interval unknown"
        return head + "; one seed and no per-image results: interval unknown"
    over = "" if interval.images else ", seeds alone: no per-image results"
    if interval.seeds < MIN_SEEDS:
        return head + f" (95% CI {interval.low:.2f} to {interval.high:.2f} over test images alone): one seed, not called decisive"
    return head + f" (95% CI {interval.low:.2f} to {interval.high:.2f}{over}): {'decisive' if decisive else 'not decisive'}"


def seed_runs(rows: Iterable[Mapping]) -> dict[tuple, dict[int, SeedRun]]:
    """The ``ok`` cells by (task setting, architecture, strategy): seed → its top-1 and, where
    stored, its per-image correctness (``test_correct`` over ``test_images``)."""
    runs: dict[tuple, dict[int, SeedRun]] = defaultdict(dict)
    for row in _ok(rows):
        stored = row.get("test_correct") and row.get("test_images")
        try:
            correct = decode_correct(row["test_correct"], row["test_images"]) if stored else None
        except ValueError:  # unreadable: the interval falls back to the seeds, and says so
            correct = None
        runs[(*task_key(row), row.get("architecture"), row.get("strategy"))][row.get("seed")] = SeedRun(row["top1"], correct)
    return runs


def verdict_rows(
    accuracy: Sequence[Mapping], cells: Iterable[Mapping], rule: Mapping[str, Sequence[str]]
) -> tuple[list[dict], list[str]]:
    """Per task setting: one verdict per architecture, then the overall one; and notes on
    strategies the overall line had to leave out. ``cells`` are the rows ``accuracy`` was
    computed from, for the intervals."""
    runs = seed_runs(cells)
    by_task: dict[tuple, dict[str, dict[str, Contender]]] = defaultdict(lambda: defaultdict(dict))
    for row in accuracy:
        key = (*task_key(row), row["architecture"], row["strategy"])
        by_task[task_key(row)][row["architecture"]][row["strategy"]] = Contender(
            row["strategy"], row["top1_mean_pct"], row["seeds"], (runs.get(key, {}),)
        )
    verdicts, notes = [], []
    for key in sorted(by_task, key=_task_order):
        quadrant = key[2]
        task = dict(zip(TASK_FIELDS, key, strict=True))
        archs = by_task[key]
        ordered = sorted(archs, key=lambda a: natural_key(str(a)))
        for arch in ordered:
            verdicts.append({**task, "scope": arch, **decide(list(archs[arch].values()), quadrant, rule)})
        if len(archs) < 2:
            continue
        everywhere = set.intersection(*(set(s) for s in archs.values()))
        left_out = set.union(*(set(s) for s in archs.values())) - everywhere
        if left_out:
            notes.append(
                f"{key[1]} ({key[0]}): the overall verdict leaves out {', '.join(sorted(left_out, key=natural_key))}, "
                "not measured on every architecture"
            )
        if everywhere:
            overall = [_overall(name, [archs[a][name] for a in ordered]) for name in everywhere]
            verdicts.append({**task, "scope": OVERALL, **decide(overall, quadrant, rule)})
    return verdicts, notes


def deciding_verdicts(verdicts: Iterable[Mapping]) -> list[Mapping]:
    """Per task setting, the verdict that answers it: the one over all architectures, or,
    where a single architecture was measured, that architecture's own."""
    by_setting: dict[tuple, list[Mapping]] = defaultdict(list)
    for verdict in verdicts:
        by_setting[task_key(verdict)].append(verdict)
    deciding = []
    for scoped in by_setting.values():
        deciding += [v for v in scoped if v["scope"] == OVERALL] or (scoped if len(scoped) == 1 else [])
    return deciding


def _overall(strategy: str, per_arch: Sequence[Contender]) -> Contender:
    """A strategy over architectures: the mean of its means, and every architecture's runs."""
    return Contender(
        strategy,
        statistics.fmean(c.mean for c in per_arch),
        min(c.seeds for c in per_arch),
        tuple(run for c in per_arch for run in c.runs),
    )


def registration_notes(strategies: Iterable[str], rule: Mapping[str, Sequence[str]]) -> list[str]:
    """A note for each strategy in the results that no plugin registers any more."""
    notes = []
    for name in sorted(set(strategies), key=natural_key):
        base = name.partition(":")[0]
        if base in rule:
            continue
        if name in DESIGN_RULE:
            notes.append(f"strategy {name!r} is no longer registered; it keeps DESIGN's place for it ({', '.join(DESIGN_RULE[name])})")
        else:
            notes.append(f"strategy {name!r} is no longer registered; the rule of thumb recommends it nowhere")
    return notes


# ---------------------------------------------------------------------------- Pareto front


def pareto_front(points: Sequence[tuple[float, float]]) -> list[bool]:
    """For each (accuracy, throughput) point: is it on the front, i.e. does no other point
    do at least as well on both and better on one? Identical points are all on it."""
    return [
        not any(a >= pa and t >= pt and (a > pa or t > pt) for a, t in points)
        for pa, pt in points
    ]


def pareto_rows(rows: Iterable[Mapping], accuracy: Sequence[Mapping], measure: str = "infer_images_per_second") -> list[dict]:
    """Per task setting, each (architecture, strategy) with its mean top-1, the median of
    ``measure`` over its cells and whether it is on the Pareto front; points without that
    measurement are left out. ``measure`` is ``infer_images_per_second`` (more is better) or
    ``step_peak_bytes``, the strategy's training step memory (less is better)."""
    less_is_better = measure == "step_peak_bytes"

    def value(cell: Mapping):
        return (cell.get("step_memory") or {}).get("peak_bytes") if less_is_better else cell.get(measure)

    groups = _groups(rows)
    by_task: dict[tuple, list[dict]] = defaultdict(list)
    for acc in accuracy:
        measured = _median(value(c) for c in _ok(groups[(*task_key(acc), acc["architecture"], acc["strategy"])]))
        if measured is not None:
            by_task[task_key(acc)].append(
                {**{f: acc[f] for f in TASK_FIELDS}, "architecture": acc["architecture"], "strategy": acc["strategy"],
                 "top1_mean_pct": acc["top1_mean_pct"], measure: measured}  # fmt: skip
            )
    table = []
    for key in sorted(by_task, key=_task_order):
        points = by_task[key]
        front = pareto_front([(p["top1_mean_pct"], -p[measure] if less_is_better else p[measure]) for p in points])
        for point, on in zip(points, front, strict=True):
            table.append({**point, "on_front": on})
    return table


# ---------------------------------------------------------------------------- environment


def environment_summary(rows: Sequence[Mapping]) -> dict:
    """What the cells ran on and when: devices, versions, precision, threads and dates, each
    the sorted distinct values the rows recorded."""

    def distinct(key: str) -> list:
        values = {(r.get("environment") or {}).get(key) for r in rows}
        return sorted((v for v in values if v is not None), key=lambda v: natural_key(str(v)))

    started = [r["started"] for r in rows if r.get("started")]
    finished = [r["finished"] for r in rows if r.get("finished")]
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
        "ok": len(_ok(rows)),
    }


# ---------------------------------------------------------------------------- assembling the boards


def _columns(*specs: tuple[str, str] | tuple[str, str, str]) -> tuple[Column, ...]:
    return tuple(Column(*spec) for spec in specs)


def build_leaderboard(
    rows: Iterable[Mapping],
    rule: Mapping[str, Sequence[str]],
    suites: Sequence[dict] = (),
    plugins: Sequence[dict] = (),
) -> Leaderboard:
    """Every leaderboard of ``rows`` (``ResultsStore.rows()``).

    :param rule: registered strategy name → the quadrants the rule of thumb recommends it in.
    :param suites: what is known of each suite in the rows (``zoo.leaderboard.writers.suite_summaries``).
    :param plugins: the loaded plugins, with their versions (``zoo.leaderboard.writers.plugin_summaries``).
    """
    every = [dict(r) for r in rows]
    cells, superseded = reported_cells(every)
    accuracy = accuracy_rows(cells)
    verdicts, verdict_notes = verdict_rows(accuracy, cells, rule)
    quality_notes = [f"{superseded} older cells were superseded by a rerun of the same seed and are not counted"] if superseded else []
    accuracy_board = Board("accuracy", "Accuracy", [
        Table("accuracy", "Test accuracy per task, architecture and strategy (percent)",
              TASK_COLUMNS + _columns(("architecture", "architecture"), ("strategy", "strategy"), ("seeds", "seeds"),
                                      ("top1_mean_pct", "top-1 mean", ".2f"), ("top1_std_pct", "top-1 std", ".2f"),
                                      ("top5_mean_pct", "top-5 mean", ".2f"), ("mean_per_class_mean_pct", "mean per class", ".2f"),
                                      ("failed", "failed cells")),
              accuracy, "Over the cells that finished ok: mean and sample standard deviation (ddof=1) over seeds; "
                        "no std with one seed. Failed cells are listed below, never averaged in."),
        Table("accuracy_failed", "Cells that did not finish",
              TASK_COLUMNS + _columns(("architecture", "architecture"), ("strategy", "strategy"), ("seed", "seed"),
                                      ("status", "status"), ("reason", "reason")),
              failed_rows(cells)),
    ], quality_notes)  # fmt: skip
    speed_board = Board("speed", "Speed", [
        Table("speed_inference", "Inference per architecture",
              _columns(("architecture", "architecture"), ("input_size", "input"), ("device", "device"), ("cells", "cells"),
                       ("infer_images_per_second", "images/s (batch 128)", ",.1f"), ("latency_ms_p50", "latency p50 ms", ".2f"),
                       ("latency_ms_p95", "latency p95 ms", ".2f"), ("macs", "GMACs per image", "giga")),
              inference_speed_rows(cells), "Medians over the architecture's ok cells; latency at batch 1. MACs are "
                                           "multiply-accumulates (FLOPs are twice as many), classifier included."),
        Table("speed_training", "Training per architecture and strategy",
              _columns(("architecture", "architecture"), ("strategy", "strategy"), ("input_size", "input"), ("device", "device"),
                       ("cells", "cells"), ("train_images_per_second", "train images/s", ",.1f"),
                       ("cached_prefix", "cached frozen prefix")),
              training_speed_rows(cells), "Median over the cells of each cell's own training throughput (training steps "
                                          "only); frozen stages and cached prefixes make a strategy faster."),
    ])  # fmt: skip
    memory_board = Board("memory", "Memory", [
        Table("memory", "Peak memory and parameters per architecture",
              _columns(("architecture", "architecture"), ("input_size", "input"), ("device", "device"), ("cells", "cells"),
                       ("train_peak_bytes", "training peak MiB", "mib"), ("infer_peak_bytes", "inference peak MiB", "mib"),
                       ("memory_method", "measured as"), ("params", "params", ",")),
              memory_rows(cells), "Medians over the architecture's ok cells; parameters include the task's classifier."),
        Table("memory_step", "Training step memory per strategy",
              _columns(("architecture", "architecture"), ("strategy", "strategy"), ("input_size", "input"),
                       ("batch_size", "batch"), ("device", "device"), ("peak_bytes", "peak MiB", "mib"),
                       ("estimate", "estimate MiB", "mib"), ("parameters", "parameters", "mib"),
                       ("gradients", "gradients", "mib"), ("optimizer", "optimizer state", "mib"),
                       ("activations", "activations", "mib"), ("inputs", "input", "mib"), ("phase", "phase"),
                       ("cache_bytes", "cached prefix MiB", "mib")),
              step_memory_rows(cells), STEP_MEMORY_NOTE),
        Table("memory_trainable", "Trainable parameters per strategy",
              _columns(("architecture", "architecture"), ("strategy", "strategy"), ("cells", "cells"),
                       ("trainable_params", "trainable params", ","), ("trainable_share_pct", "share %", ".1f")),
              trainable_rows(cells), "Parameters a strategy trained in at least one phase."),
        Table("memory_pareto", "Accuracy against training step memory: the Pareto front",
              TASK_COLUMNS + _columns(("architecture", "architecture"), ("strategy", "strategy"),
                                      ("top1_mean_pct", "top-1 mean", ".2f"), ("step_peak_bytes", "step peak MiB", "mib"),
                                      ("on_front", "on the front")),
              pareto_rows(cells, accuracy, "step_peak_bytes"),
              "On the front: no other (architecture, strategy) is at least as accurate and needs at most as much memory "
              "to train, and is better in one."),
    ])  # fmt: skip
    verdict_board = Board("verdict", "Quadrant verdict", [
        Table("verdict", "Which strategy won, and does the size–similarity rule agree?",
              TASK_COLUMNS + _columns(("scope", "architecture"), ("measured", "won"), ("measured_top1_pct", "top-1", ".2f"),
                                      ("recommended", "rule"), ("recommended_top1_pct", "rule top-1", ".2f"), ("agree", "agree"),
                                      ("compared_with", "margin over"), ("margin_points", "margin (points)", ".2f"),
                                      ("ci_low_points", "95% CI low", ".2f"), ("ci_high_points", "95% CI high", ".2f"),
                                      ("decisive", "decisive"), ("seeds", "seeds"), ("test_images", "test images"),
                                      ("verdict", "verdict")),
              verdicts, VERDICT_RULE),
        Table("pareto", "Accuracy against inference throughput: the Pareto front",
              TASK_COLUMNS + _columns(("architecture", "architecture"), ("strategy", "strategy"),
                                      ("top1_mean_pct", "top-1 mean", ".2f"), ("infer_images_per_second", "images/s", ",.1f"),
                                      ("on_front", "on the front")),
              pareto_rows(cells, accuracy), "On the front: no other (architecture, strategy) is at least as accurate and "
                                            "as fast, and better in one."),
    ], verdict_notes + registration_notes({r.get("strategy") for r in cells if r.get("strategy")}, rule))  # fmt: skip
    budgets_board = Board("budgets", "Budgets, convergence and learning rates", [
        Table("budgets", "How long each reported cell trained, and what doubling its budget would change",
              _columns(("suite", "suite"), ("quadrant", "quadrant"), ("task", "task"), ("architecture", "architecture"),
                       ("strategy", "strategy"), ("seeds", "seeds"), ("lr", "lr", ".4g"), ("cap", "epoch cap"),
                       ("trained_epochs", "epochs trained"), ("best_epoch", "epoch kept"), ("stopped_early", "stopped before the cap"),
                       ("doubling_changes", "doubling the cap changes top-1 by")),
              budget_rows(cells), BUDGETS_NOTE),
        Table("pretraining", "Source models: how long pretraining ran and how good they are on their own task",
              _columns(("suite", "suite"), ("architecture", "architecture"), ("weights", "weights"),
                       ("source_test_top1_pct", "source test top-1", ".2f"), ("source_val_top1_pct", "source val top-1", ".2f"),
                       ("epochs", "epochs"), ("best_epoch", "epoch kept"), ("cap", "cap"), ("stopped_early", "stopped early"),
                       ("seconds", "seconds", ",.0f")),
              pretraining_rows(cells), "Each backbone pretrained on the suite's source until a held-out tenth of its "
                                       "training images stopped improving; top-1 on the source's own test set."),
        Table("sweep", "Learning-rate sweep: seed 0 of every (task, architecture, strategy), scored on validation",
              _columns(("suite", "suite"), ("quadrant", "quadrant"), ("task", "task"), ("architecture", "architecture"),
                       ("strategy", "strategy"), ("lr", "lr", ".4g"), ("status", "status"), ("val_top1_pct", "val top-1", ".2f"),
                       ("val_loss", "val loss", ".4f"), ("stopped_early", "stopped before the cap"), ("chosen", "chosen"),
                       ("edge", "chosen at the sweep's edge")),
              sweep_rows(every), "The rate with the best validation top-1 (then the lower loss) trains the other seeds; "
                                 "the test set never takes part. While the chosen rate is the highest or lowest tried, "
                                 "one more rate a step further is tried (at most the suite's lr_extensions steps); "
                                 "a choice still on the edge is marked, and so is a rate whose cell reached its cap "
                                 "(it may have lost for want of epochs)."),
        Table("time", "Where the run's time went (minutes of wall time)",
              _columns(("suite", "suite"), ("architecture", "architecture"), ("cells", "cells"),
                       ("timed_cells", "cells timed per phase"), ("wall_minutes", "wall", ",.1f"),
                       ("pretraining_minutes", "pretraining", ",.1f"),
                       ("weights_minutes", "pretraining of the weights used", ",.1f"), ("training_minutes", "training", ",.1f"),
                       ("evaluation_minutes", "evaluation", ",.1f"), ("measurement_minutes", "measurement", ",.1f"),
                       ("setup_minutes", "setup", ",.1f"), ("machine", "machine")),
              time_rows(every), "Every stored cell, sweep and failed cells included. Training includes the "
                                "per-epoch validation passes; measurement is speed, memory and MACs (once per "
                                "architecture and process); setup is loading data and building the network; "
                                "pretraining is charged to the cell that needed the weights first, and the "
                                "pretraining of the weights used is what making them took, in whichever run."),
    ], pretraining_notes(cells))  # fmt: skip
    environment = environment_summary(cells) | {"suites": list(suites), "plugins": list(plugins)}
    return Leaderboard(
        [verdict_board, accuracy_board, budgets_board, speed_board, memory_board], environment, len(every),
        learning_curves(cells), pretraining_curves(cells),
    )  # fmt: skip

