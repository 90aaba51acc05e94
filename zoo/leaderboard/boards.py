"""Assembling the leaderboards: every board of one results database, its tables in order.

The boards are accuracy, speed, memory, verdict and budgets; each table's rows come from
:mod:`zoo.leaderboard.tables`, :mod:`zoo.leaderboard.verdict`, :mod:`zoo.leaderboard.pareto`
and :mod:`zoo.leaderboard.budgets`, and what each table's note says is how they were combined.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from zoo.leaderboard.budgets import (
    budget_rows,
    learning_curves,
    pretraining_curves,
    pretraining_notes,
    pretraining_rows,
    time_rows,
)
from zoo.leaderboard.pareto import pareto_rows
from zoo.leaderboard.tables import (
    TASK_COLUMNS,
    Column,
    Table,
    accuracy_rows,
    environment_summary,
    failed_rows,
    inference_speed_rows,
    memory_rows,
    reported_cells,
    step_memory_rows,
    trainable_rows,
    training_speed_rows,
)
from zoo.leaderboard.verdict import VERDICT_RULE, Verdict, registration_notes, verdict_rows
from zoo.results.schema import CellResult
from zoo.results.sweep import edges, sweep_rows


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
    verdicts: list[Verdict]  # the verdict table's rows, typed
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
STEP_MEMORY_NOTE = (
    "The step each strategy really runs, at the task's batch size, in its most memory-hungry phase (phase): frozen "
    "stages in eval mode storing nothing for backward (or their cached outputs as the input), gradients of what it "
    "trains, SGD momentum after the first step. Parts in MiB; estimate = parameters + input + the larger of "
    "(activations + gradients) and (gradients + optimizer state), without backward's temporary gradients. Beside it, "
    "the frozen prefix's cached outputs the strategy trains on (all training and validation images; empty for cells "
    "measured before it was recorded). The "
    "architecture table's training peak is another figure: a forward and backward pass of the whole network."
)


def _columns(*specs: tuple[str, str] | tuple[str, str, str]) -> tuple[Column, ...]:
    return tuple(Column(*spec) for spec in specs)


def build_leaderboard(
    rows: Iterable[CellResult],
    rule: Mapping[str, Sequence[str]],
    suites: Sequence[dict] = (),
    plugins: Sequence[dict] = (),
) -> Leaderboard:
    """Every leaderboard of ``rows`` (``ResultsStore.rows()``).

    :param rule: registered strategy name → the quadrants the rule of thumb recommends it in.
    :param suites: what is known of each suite in the rows (``zoo.leaderboard.writers.suite_summaries``).
    :param plugins: the loaded plugins, with their versions (``zoo.leaderboard.writers.plugin_summaries``).
    """
    every = list(rows)
    cells, superseded = reported_cells(every)
    accuracy = accuracy_rows(cells)
    verdicts, verdict_notes = verdict_rows(accuracy, cells, rule, edges(every))
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
                                      ("top1_mean_pct", "top-1 mean", ".2f"), ("device", "device"),
                                      ("step_peak_bytes", "step peak MiB", "mib"), ("on_front", "on the front")),
              pareto_rows(cells, accuracy, "step_peak_bytes"),
              "On the front: no other (architecture, strategy) measured on the same device is at least as accurate and "
              "needs at most as much memory to train, and is better in one."),
    ])  # fmt: skip
    verdict_board = Board("verdict", "Quadrant verdict", [
        Table("verdict", "Which strategy won, and does the size–similarity rule agree?",
              TASK_COLUMNS + _columns(("scope", "architecture"), ("measured", "won"), ("measured_top1_pct", "top-1", ".2f"),
                                      ("recommended", "rule"), ("recommended_top1_pct", "rule top-1", ".2f"), ("agree", "agree"),
                                      ("compared_with", "margin over"), ("margin_points", "margin (points)", ".2f"),
                                      ("ci_low_points", "95% CI low", ".2f"), ("ci_high_points", "95% CI high", ".2f"),
                                      ("decisive", "decisive"), ("seeds", "seeds"), ("test_images", "test images"),
                                      ("verdict", "verdict")),
              [v.row() for v in verdicts], VERDICT_RULE),
        Table("pareto", "Accuracy against inference throughput: the Pareto front",
              TASK_COLUMNS + _columns(("architecture", "architecture"), ("strategy", "strategy"),
                                      ("top1_mean_pct", "top-1 mean", ".2f"), ("device", "device"),
                                      ("infer_images_per_second", "images/s", ",.1f"), ("on_front", "on the front")),
              pareto_rows(cells, accuracy), "On the front: no other (architecture, strategy) measured on the same device "
                                            "is at least as accurate and as fast, and better in one. Throughputs measured "
                                            "on different machines are not compared: each device has its own front."),
    ], verdict_notes + registration_notes({c.strategy for c in cells if c.strategy}, rule))  # fmt: skip
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
                       ("val_loss", "val loss", ".4f"), ("stopped_early", "stopped before the cap"),
                       ("diverged_seeds", "seeds diverged"), ("chosen", "chosen"), ("edge", "chosen at the sweep's edge")),
              sweep_rows(every), "The rate with the best validation top-1 (then the lower loss) trains the other seeds; "
                                 "the test set never takes part. A rate at which any seed diverged gives way to the "
                                 "next best, whose seeds then train. While the chosen rate is the highest or lowest tried, "
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
        verdicts, learning_curves(cells), pretraining_curves(cells),
    )  # fmt: skip

