"""The leaderboards' plots: per task setting, accuracy against speed and against training
memory, a heatmap and the learning curves; per suite, the source models' pretraining curves.

Figures are drawn with matplotlib's Agg renderer on their own ``Figure`` (no pyplot, no
global state, no display needed) and saved as PNG without the software and date metadata,
so the same results give byte-identical files and committed plots only change when the
numbers do. Names from the database are drawn as plain text (``parse_math=False``): a ``$``
in a name must not switch to mathtext.
"""

from __future__ import annotations

import io
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from zoo.leaderboard.boards import Leaderboard
from zoo.leaderboard.tables import task_key
from zoo.leaderboard.verdict import Verdict, deciding_verdicts
from zoo.matrix import POSITIONS, SIMILARITIES, SIZES
from zoo.names import natural_key

DPI = 100
FRONT_COLOUR = "#c0392b"
POINT_COLOUR = "#7f8c8d"


@dataclass(frozen=True)
class Plot:
    """One rendered figure."""

    filename: str  # under the output directory's plots/ ("accuracy_speed_mini_digits_large.png")
    title: str  # caption and alt text
    png: bytes
    section: str = "plots"  # where the HTML page shows it: "answer" (first), "heatmaps" (next), "plots" (after the tables)


def task_title(key: tuple) -> str:
    suite, task, quadrant, epochs = key
    return f"{quadrant} {task} ({suite}, at most {epochs} epochs)"


def _task_slug(key: tuple) -> str:
    suite, task, _, epochs = key
    return _slug(f"{suite}_{task}_{epochs}ep", "task")


def _slug(name: str, fallback: str) -> str:
    """``name`` made safe for a file name; ``fallback`` when nothing of it is left."""
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", name).strip("_") or fallback


def per_device(points: Sequence[Mapping]) -> list[tuple[str, str, list[Mapping]]]:
    """The Pareto points of each device, as (file-name suffix, device, points): each device has
    its own front, so its own plot. The suffix is empty when one device measured them all."""
    device = lambda p: str(p.get("device") or "an unnamed device")  # noqa: E731
    devices = list(dict.fromkeys(map(device, points)))
    return [("" if len(devices) == 1 else f"_{_slug(d, 'device')}", d, [p for p in points if device(p) == d]) for d in devices]


def _png(fig: Figure) -> bytes:
    FigureCanvasAgg(fig)
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=DPI, metadata={"Software": None})
    return buffer.getvalue()


def tradeoff_plot(points: Sequence[Mapping], measure: str, label: str, title: str) -> bytes:
    """Mean top-1 against ``measure`` (log scale), each point labelled ``architecture /
    strategy``, the Pareto front joined and marked. ``measure`` is inference throughput
    (more is better) or the training step's peak memory in bytes (less is better, drawn in MiB)."""
    memory = measure == "step_peak_bytes"
    x = (lambda p: p[measure] / 2**20) if memory else (lambda p: p[measure])  # noqa: E731
    fig = Figure(figsize=(7, 4.5), layout="constrained")
    ax = fig.add_subplot()
    front = sorted((p for p in points if p["on_front"]), key=x)
    rest = [p for p in points if not p["on_front"]]
    if rest:
        ax.scatter([x(p) for p in rest], [p["top1_mean_pct"] for p in rest], color=POINT_COLOUR, label="dominated", zorder=2)
    ax.plot([x(p) for p in front], [p["top1_mean_pct"] for p in front], marker="o", color=FRONT_COLOUR,
            drawstyle="steps-post" if memory else "steps-pre", label="Pareto front", zorder=3)  # the dominated region's edge  # fmt: skip
    for p in points:
        ax.annotate(f"{p['architecture']} / {p['strategy']}", (x(p), p["top1_mean_pct"]),
                    textcoords="offset points", xytext=(4, 4), fontsize=7, parse_math=False)  # fmt: skip
    ax.set_xscale("log")
    ax.margins(0.12)  # room for the labels
    ax.set_xlabel(f"{label} (log scale)")
    ax.set_ylabel("mean top-1 accuracy, %")
    ax.set_title(title, parse_math=False)
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(loc="lower right" if memory else "lower left", fontsize=8)
    return _png(fig)


def heatmap_plot(accuracy: Sequence[Mapping], title: str) -> bytes:
    """Mean top-1 of each strategy (rows) × architecture (columns), the number in each cell;
    a pair without an ``ok`` cell is blank."""
    archs = sorted({r["architecture"] for r in accuracy}, key=lambda a: natural_key(str(a)))
    strategies = sorted({r["strategy"] for r in accuracy}, key=lambda s: natural_key(str(s)))
    table = pd.DataFrame(accuracy).pivot(index="strategy", columns="architecture", values="top1_mean_pct")
    values = table.reindex(index=strategies, columns=archs).to_numpy(dtype=float)
    fig = Figure(figsize=(1.6 + 1.3 * len(archs), 1.2 + 0.5 * len(strategies)), layout="constrained")
    ax = fig.add_subplot()
    image = ax.imshow(np.ma.masked_invalid(values), cmap="viridis", aspect="auto", vmin=np.nanmin(values), vmax=np.nanmax(values))
    middle = (np.nanmin(values) + np.nanmax(values)) / 2
    for (i, j), value in np.ndenumerate(values):
        if not np.isnan(value):
            ax.text(j, i, f"{value:.1f}", ha="center", va="center", fontsize=8, parse_math=False,
                    color="white" if value < middle else "black")  # fmt: skip
    ax.set_xticks(range(len(archs)), [str(a) for a in archs], rotation=30, ha="right", fontsize=8, parse_math=False)
    ax.set_yticks(range(len(strategies)), [str(s) for s in strategies], fontsize=8, parse_math=False)
    ax.set_title(title, fontsize=10, parse_math=False)
    fig.colorbar(image, ax=ax, label="mean top-1, %")
    return _png(fig)


def learning_curve_plot(curves: Sequence[Mapping], title: str) -> bytes:
    """Validation top-1 against epoch, one panel per architecture, one line per strategy
    (seed 0 at the chosen learning rate); a dot marks the epoch whose weights were kept."""
    archs = sorted({c["architecture"] for c in curves}, key=lambda a: natural_key(str(a)))
    strategies = sorted({c["strategy"] for c in curves}, key=lambda s: natural_key(str(s)))
    colours = {s: f"C{i % 10}" for i, s in enumerate(strategies)}
    fig = Figure(figsize=(max(6.4, 3.2 * len(archs) + 0.8), 3.4), layout="constrained")
    axes = fig.subplots(1, len(archs), squeeze=False, sharey=True)[0]
    for ax, arch in zip(axes, archs, strict=True):
        for curve in sorted((c for c in curves if c["architecture"] == arch), key=lambda c: natural_key(str(c["strategy"]))):
            colour = colours[curve["strategy"]]
            ax.plot(curve["epochs"], curve["val_top1_pct"], color=colour, linewidth=1.2, label=str(curve["strategy"]))
            if curve["kept_epoch"] in curve["epochs"]:
                kept = curve["epochs"].index(curve["kept_epoch"])
                ax.plot([curve["kept_epoch"]], [curve["val_top1_pct"][kept]], "o", color=colour, markersize=4)
        ax.set_title(str(arch), fontsize=9, parse_math=False)
        ax.set_xlabel("epoch", fontsize=8)
        ax.grid(True, alpha=0.3)
    axes[0].set_ylabel("validation top-1, %", fontsize=8)
    axes[-1].legend(fontsize=7, loc="lower right")
    fig.suptitle(title, fontsize=10)
    return _png(fig)


def pretraining_plot(curves: Mapping[str, Mapping], title: str) -> bytes:
    """Source validation top-1 against epoch, one line per architecture, the kept epoch marked."""
    fig = Figure(figsize=(6, 3.6), layout="constrained")
    ax = fig.add_subplot()
    for i, (arch, facts) in enumerate(sorted(curves.items(), key=lambda item: natural_key(str(item[0])))):
        epochs = [e["epoch"] for e in facts["curve"]]
        top1 = [100.0 * e["val_top1"] for e in facts["curve"]]
        ax.plot(epochs, top1, color=f"C{i % 10}", label=str(arch))
        if facts.get("best_epoch") in epochs:
            kept = epochs.index(facts["best_epoch"])
            ax.plot([epochs[kept]], [top1[kept]], "o", color=f"C{i % 10}", markersize=4)
    ax.set_xlabel("epoch")
    ax.set_ylabel("source validation top-1, %")
    ax.set_title(title, fontsize=10, parse_math=False)
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize=8, loc="lower right")
    return _png(fig)


DECISIVE_COLOURS = {True: "#d5efd0", False: "#fbd9c0"}  # a decisive verdict agreeing with the rule or not
UNDECIDED_COLOUR, UNMEASURED_COLOUR = "#ececec", "#ffffff"


def _verdict_details(v: Verdict) -> str:
    """The margin, its interval and what they mean, under the winner's name."""
    if v.margin_points is None:
        return "the only strategy measured"
    low, high = v.ci_low_points, v.ci_high_points
    interval = f"95% CI {low:+.1f} to {high:+.1f}" if low is not None and high is not None else "interval unknown"
    called = "decisive" if v.decisive else "not decisive"
    agreement = {True: "agrees with the rule", False: "disagrees with the rule", None: "the rule's pick was not measured"}[v.agree]
    return f"by {v.margin_points:+.1f} points over {v.compared_with}\n({interval}): {called};\n{agreement}"


def quadrant_matrix_plot(verdicts: Sequence[Verdict], rule: Mapping[str, str | None], title: str) -> bytes:
    """The answer on one page: the size–similarity matrix, each quadrant with the rule of
    thumb's pick among the strategies measured (``rule``: quadrant -> strategy) and, per task
    measured there, the measured winner, its margin with the 95% interval, and whether the
    rule agreed. A quadrant is green where its decisive verdicts agree with the rule, orange
    where they disagree, grey where an interval includes zero (or they differ)."""
    fig = Figure(figsize=(9, 5.6), layout="constrained")
    axes = fig.subplots(2, 2)
    for quadrant, (row, column) in POSITIONS.items():
        ax = axes[row][column]
        ax.set_xticks([])
        ax.set_yticks([])
        here = [v for v in verdicts if v.quadrant == quadrant]
        calls = {bool(v.agree) for v in here if v.decisive}
        if not here:
            colour = UNMEASURED_COLOUR
        elif len(calls) == 1 and all(v.decisive for v in here):
            colour = DECISIVE_COLOURS[calls.pop()]
        else:
            colour = UNDECIDED_COLOUR
        ax.set_facecolor(colour)
        size, similarity = SIZES[row], SIMILARITIES[column]
        ax.set_title(f"{quadrant}: {size}, {similarity}", fontsize=11, loc="left", fontweight="bold")
        if column == 0:
            ax.set_ylabel(f"{size} data set", fontsize=10)
        if row == 1:
            ax.set_xlabel(f"{similarity} {'from' if similarity == 'different' else 'to'} the source", fontsize=10)
        if not here:
            ax.text(0.5, 0.5, "no task measured here", transform=ax.transAxes, ha="center", va="center", fontsize=10, color="#777")
            continue
        ax.text(0.97, 0.95, f"rule of thumb:\n{rule.get(quadrant) or 'not measured'}", transform=ax.transAxes,
                ha="right", va="top", fontsize=9, color="#444", parse_math=False)  # fmt: skip
        y, step = 0.95, 0.9 / len(here)
        for v in here:
            ax.text(0.03, y, str(v.task), transform=ax.transAxes, ha="left", va="top", fontsize=9, color="#444", parse_math=False)
            ax.text(0.03, y - 0.09, f"{v.measured} won", transform=ax.transAxes, ha="left", va="top", fontsize=15,
                    fontweight="bold", parse_math=False)  # fmt: skip
            ax.text(0.03, y - 0.26, _verdict_details(v), transform=ax.transAxes, ha="left", va="top", fontsize=9.5,
                    linespacing=1.4, parse_math=False)  # fmt: skip
            y -= step
    fig.suptitle(title, fontsize=12, parse_math=False)
    fig.supxlabel("green: a decisive winner the rule of thumb names; orange: a decisive winner it does not; "
                  "grey: a 95% interval that includes zero", fontsize=9, color="#444")  # fmt: skip
    return _png(fig)


def matrix_plots(board: Leaderboard) -> list[Plot]:
    """Per suite, :func:`quadrant_matrix_plot` of its deciding verdicts."""
    deciding = deciding_verdicts(board.verdicts)
    plots = []
    for suite in sorted({str(v.suite) for v in deciding}, key=natural_key):
        here = [v for v in deciding if str(v.suite) == suite]
        rule = {v.quadrant: v.recommended for v in here}
        slug = _slug(suite, "suite")
        title = f"{suite}: the measured winner in each quadrant of the size–similarity matrix"
        plots.append(Plot(f"matrix_{slug}.png", title, quadrant_matrix_plot(here, rule, title), section="answer"))
    return plots


def leaderboard_plots(board: Leaderboard) -> list[Plot]:
    """For each task setting: the accuracy–speed and accuracy–memory plots (where measured),
    the heatmap and the learning curves; per suite, the pretraining curves."""
    pareto, memory, accuracy = board.table("pareto").rows, board.table("memory_pareto").rows, board.table("accuracy").rows
    plots, slugs = matrix_plots(board), set()
    for key in dict.fromkeys(task_key(r) for r in accuracy):  # accuracy is in task order
        title, slug = task_title(key), _task_slug(key)
        while slug in slugs:  # names that differ only in characters a file name cannot hold
            slug += "_"
        slugs.add(slug)
        for suffix, device, points in per_device([p for p in pareto if task_key(p) == key]):
            plots.append(Plot(f"accuracy_speed_{slug}{suffix}.png", f"{title}: accuracy against inference speed on {device}",
                              tradeoff_plot(points, "infer_images_per_second", "inference throughput, images/s",
                                            f"{title}\non {device}")))  # fmt: skip
        for suffix, device, points in per_device([p for p in memory if task_key(p) == key]):
            plots.append(Plot(f"accuracy_memory_{slug}{suffix}.png", f"{title}: accuracy against training step memory on {device}",
                              tradeoff_plot(points, "step_peak_bytes", "training step peak memory, MiB", f"{title}\non {device}")))  # fmt: skip
        rows = [r for r in accuracy if task_key(r) == key]
        plots.append(Plot(f"heatmap_{slug}.png", f"{title}: mean top-1 per strategy and architecture", heatmap_plot(rows, title),
                          section="heatmaps"))  # fmt: skip
        if board.curves.get(key):
            plots.append(Plot(f"learning_curves_{slug}.png", f"{title}: validation top-1 per epoch, seed 0",
                              learning_curve_plot(board.curves[key], f"{title}: validation top-1, seed 0")))  # fmt: skip
    for suite, curves in sorted(board.pretraining_curves.items(), key=lambda item: natural_key(str(item[0]))):
        slug = _slug(str(suite), "suite")
        title = f"{suite}: pretraining on the source"
        plots.append(Plot(f"pretraining_{slug}.png", f"{title}, validation top-1 per epoch", pretraining_plot(curves, title)))
    return plots
