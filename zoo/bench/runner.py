"""Running one cell: train it, evaluate it, measure it, and return its :class:`CellResult`.

A cell's result is a function of its config alone: its random draws (training subset,
validation split, new classifier or scratch weights, batch order, augmentation) all come
from its seed, whatever ran before it in the process. A cell that fails (divergence, out of
memory, an exception in a plugin) returns its status and reason instead of raising.
"""

from __future__ import annotations

import copy
import subprocess
import time
import traceback
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime, timezone
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING

import torch

from zoo.bench.grid import Cell
from zoo.bench.memory import step_memory_record
from zoo.bench.pretraining import pretrain, source_stats
from zoo.bench.speed import SpeedReport, measure_speed
from zoo.data.images import ImageSet, stratified_split
from zoo.data.preprocess import PreparedSet, channel_stats, prepare
from zoo.device import device_name
from zoo.models.architectures import create_model
from zoo.models.complexity import build_meta, measure
from zoo.plugin.recipe import Recipe
from zoo.plugin.strategy import resolve_strategy
from zoo.plugin.suite import DataSelection, SuiteSpec, load_selection
from zoo.results.codec import encode_correct
from zoo.results.store import CellResult
from zoo.train.loop import Diverged, evaluate
from zoo.train.transfer import PrefixCache, run_strategy
from zoo.version import __version__

if TYPE_CHECKING:
    from zoo.plugin.manager import PluginSet

SPEED_STEPS = 5  # timed steps per architecture and input size, after SPEED_WARMUP untimed ones (once per process)
SPEED_WARMUP = 3
SPEED_BATCH = 128


class PhaseClock:
    """Wall seconds per phase of a cell, so that a run can say what its time went to, and the
    phase a failing cell was in, so that its reason says where it failed."""

    DOING = {
        "setup": "setting up (data, network)", "pretraining": "pretraining the backbone", "training": "training",
        "evaluation": "evaluating on the test set", "measurement": "measuring speed and memory",
    }  # fmt: skip

    def __init__(self):
        self.seconds: dict[str, float] = {}
        self.current: str | None = None  # the phase running, or the one that raised

    @contextmanager
    def phase(self, name: str) -> Iterator[None]:
        self.current, started = name, time.perf_counter()
        yield  # an exception leaves ``current`` naming this phase
        self.seconds[name] = round(self.seconds.get(name, 0.0) + time.perf_counter() - started, 2)
        self.current = None


@cache
def git_revision() -> str | None:
    try:
        done = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=Path(__file__).parent, capture_output=True, text=True, timeout=5
        )
    except OSError:
        return None
    return done.stdout.strip() or None


def environment(device: torch.device, mode: str) -> dict:
    """Where a cell ran: device, versions, threads, and ``mode``, the precision it computed in."""
    return {
        "device": str(device),
        "device_name": device_name(device),
        "torch": torch.__version__,
        "zoo": __version__,
        "git_revision": git_revision(),
        "threads": torch.get_num_threads(),
        "precision": mode,
    }


class CellRunner:
    """Runs cells in this process, sharing what cells have in common: pretrained weights,
    loaded data, cached frozen prefixes and per-architecture speed figures."""

    def __init__(self, plugins: PluginSet, device: torch.device):
        self.plugins = plugins  # the loaded set the cells' names refer to
        self.device = device
        self.prefixes = PrefixCache()
        self._speed: dict[tuple, SpeedReport] = {}
        self._pretrained: dict[str, torch.nn.Module] = {}  # variant -> network as loaded, on the CPU
        # Given the trained network and its prepared test images after each cell (zoo.bench.keep).
        self.keep: Callable[[torch.nn.Module, PreparedSet], None] | None = None

    def pretrained(self, variant: str, num_classes: int, seed: int) -> torch.nn.Module:
        """A fresh copy of the pretrained network with a new ``num_classes`` classifier drawn
        from ``seed``.

        Building and loading once per variant, then copying, saves every later cell the
        random initialisation that loading overwrites and the reading of the checkpoint.
        The classifier is drawn after the
        copy, from the cell's own seed, so it is the same whether this cell built the network
        or found it built.
        """
        if variant not in self._pretrained:
            arch, _, tag = variant.partition(".")
            self._pretrained[variant] = create_model(self.plugins.architectures.get(arch), tag)
        model = copy.deepcopy(self._pretrained[variant])
        torch.manual_seed(seed)
        model.reset_classifier(num_classes)
        return model

    def speed(self, arch: str, input_size: tuple[int, int, int]) -> SpeedReport:
        key = (arch, input_size)
        if key not in self._speed:
            spec = self.plugins.architectures.get(arch)
            self._speed[key] = measure_speed(self.plugins, spec, self.device, SPEED_BATCH, input_size, steps=SPEED_STEPS, warmup=SPEED_WARMUP)
        return self._speed[key]

    def run(self, cell: Cell, on_epoch: Callable[[int, int], None] | None = None) -> CellResult:
        """The cell's result; failures become a status and a reason, not an exception.
        ``on_epoch(done, total)`` follows its training."""
        started = datetime.now(timezone.utc)
        clock = time.perf_counter()
        phases = PhaseClock()
        try:
            outcome = {**self._train_and_measure(cell, phases, on_epoch), "status": "ok"}
        except Exception as exc:  # a failing cell, whatever the cause, is recorded and the grid goes on
            outcome = failure(exc, phases.current)
        return cell.result(
            environment=environment(self.device, cell.recipe["precision"]), started=started.isoformat(timespec="seconds"),
            finished=datetime.now(timezone.utc).isoformat(timespec="seconds"),
            wall_seconds=round(time.perf_counter() - clock, 2), **outcome,
        )  # fmt: skip

    def _train_and_measure(self, cell: Cell, clock: PhaseClock, on_epoch: Callable[[int, int], None] | None) -> dict:
        suite, strategy = self.plugins.suites.get(cell.suite), resolve_strategy(self.plugins.strategies, cell.strategy)
        arch = self.plugins.architectures.get(cell.architecture)
        recipe = Recipe(**cell.recipe)
        with clock.phase("setup"):
            if cell.data_root is None:
                selection, root = suite.task(cell.task).data, None
            else:
                selection, root = DataSelection(self.plugins.folder_reader().name), Path(cell.data_root)
            # A suite's own data sets load at their native size; a folder's images vary, so at the cell's.
            size = suite.data_side(arch) if root is None else cell.input_size[1]
            train, test = load_selection(self.plugins.datasets, selection, cell.seed, root=root, size=size)
            held_out = None
            if cell.validation:
                fit_index, val_index = stratified_split(train.labels, cell.validation, cell.seed)
                train, held_out = train.subset(fit_index), train.subset(val_index)
        with clock.phase("pretraining"):
            if cell.weights is not None and suite.source is not None:
                pretrain(self.plugins.datasets, suite, arch, device=self.device, precision=recipe.precision)
        with clock.phase("setup"):
            pretraining = None
            if cell.weights is not None:
                model = self.pretrained(cell.weights, len(train.classes), cell.seed)
                mean, std = model.zoo_weights.mean, model.zoo_weights.std
                pretraining = pretraining_summary(model.zoo_weights.metadata)
            else:
                torch.manual_seed(cell.seed)  # the scratch network's random weights are the seed's
                model = create_model(arch, num_classes=len(train.classes), img_size=cell.input_size[1])
                mean, std = _reference_stats(self.plugins, suite, arch, train)
            model = model.to(self.device)
            mirror = self.plugins.datasets.get(selection.dataset).mirror_invariant
            train_set, test_set = (prepare(part, cell.input_size, mean, std, mirror).to(self.device) for part in (train, test))
            val_set = prepare(held_out, cell.input_size, mean, std, mirror).to(self.device) if held_out is not None else None
            prefix_key = None
            if cell.weights:
                prefix_key = (cell.weights, cell.suite, cell.task, cell.data_fingerprint, cell.seed, cell.validation,
                              cell.input_size, recipe.precision)  # fmt: skip
        with clock.phase("training"):
            runs = run_strategy(
                model, strategy, train_set, recipe, seed=cell.seed, device=self.device, validation=val_set,
                cache=self.prefixes, cache_key=prefix_key, on_epoch=on_epoch,
            )  # fmt: skip
        with clock.phase("evaluation"):
            accuracy = evaluate(model, test_set, self.device, recipe.precision)
        if self.keep is not None:
            self.keep(model, test_set)
        with clock.phase("measurement"):
            trainable = sum({name: size for run in runs for name, size in run.trained.items()}.values())
            complexity = measure(build_meta(arch, len(train.classes), cell.input_size[1]), cell.input_size)
            speed = self.speed(cell.architecture, cell.input_size)
            memory = step_memory_record(
                self.plugins, cell.architecture, cell.strategy, recipe.batch_size, cell.input_size, self.device, recipe.precision
            )
        steps_seconds = sum(r.stats.seconds for r in runs)
        last = runs[-1].stats
        return {
            "lr": recipe.lr,
            "val_top1": last.val_top1,
            "val_loss": last.val_loss,
            "trained_epochs": sum(r.stats.epochs for r in runs),
            "stopped_early": all(r.stats.stopped_early for r in runs) if val_set is not None else None,
            "curve": [r.stats.curve for r in runs] if val_set is not None else None,
            "pretraining": pretraining,
            "test_images": accuracy.count,
            "test_correct": encode_correct(accuracy.correct.numpy()),
            "top1": accuracy.top1,
            "top5": accuracy.top5,
            "mean_per_class": accuracy.mean_per_class,
            "per_class": accuracy.per_class,
            "train_images_per_second": round(sum(r.stats.images for r in runs) / steps_seconds, 1) if steps_seconds else None,
            "train_seconds": round(steps_seconds, 2),
            "infer_images_per_second": speed.infer_images_per_second,
            "latency_ms_p50": speed.latency_ms_p50,
            "latency_ms_p95": speed.latency_ms_p95,
            "train_peak_bytes": speed.train_peak_bytes,
            "infer_peak_bytes": speed.infer_peak_bytes,
            "memory_method": speed.memory_method,
            "params": complexity.params,
            "trainable_params": trainable,
            "macs": complexity.macs,
            "phases": [
                {"frozen_stages": r.frozen_stages, "epochs": r.stats.epochs, "cap": r.epochs, "best_epoch": r.stats.best_epoch,
                 "cached_prefix": r.cached_prefix, "trained_params": sum(r.trained.values())}  # fmt: skip
                for r in runs
            ],
            "seconds": clock.seconds,
            "step_memory": {**memory, "cache_bytes": max(r.cache_bytes for r in runs)},
        }


PRETRAINING_FACTS = (
    "sha256", "source_test_accuracy", "source_val_top1", "epochs", "epoch_cap", "best_epoch", "stopped_early", "curve", "seconds",
    "machine",
)  # fmt: skip


def pretraining_summary(metadata: dict) -> dict | None:
    """What a cell's leaderboard needs of the weights it started from (source accuracy, how
    long pretraining ran and its validation curve), kept in the row so that the leaderboards
    need only the database; None for weights without such metadata (hub weights)."""
    facts = {key: metadata[key] for key in PRETRAINING_FACTS if key in metadata}
    return facts or None


def failure(exc: BaseException, phase: str | None = None) -> dict:
    """The status and reason a cell that raised ``exc`` is stored with; the reason ends with
    what the cell was doing when ``phase`` (of :class:`PhaseClock`) is known."""
    first_line = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    doing = f", while {PhaseClock.DOING.get(phase, phase)}" if phase else ""
    if isinstance(exc, Diverged):
        return {"status": "diverged", "reason": first_line + doing}
    if isinstance(exc, torch.OutOfMemoryError) or "can't allocate memory" in str(exc):  # CUDA's, and the CPU allocator's
        return {"status": "oom", "reason": f"out of memory: {first_line}{doing}"}
    where = traceback.extract_tb(exc.__traceback__)[-1] if exc.__traceback__ else None
    place = f" (at {Path(where.filename).name}:{where.lineno})" if where else ""
    return {"status": "error", "reason": f"{type(exc).__name__}: {first_line}{place}{doing}"}


def _reference_stats(plugins: PluginSet, suite: SuiteSpec, arch, train: ImageSet) -> tuple[tuple[float, ...], tuple[float, ...]]:
    """The normalisation a pretrained backbone of this suite would use, for scratch cells, so
    every strategy sees its inputs scaled alike. A network without hub weights in a suite
    without a source has no such backbone: its ``train`` images' own statistics."""
    if suite.source is not None:
        return source_stats(plugins.datasets, suite.source, suite.input_size(arch)[0])
    if arch.default_weights is not None:
        return arch.default_weights.mean, arch.default_weights.std
    return channel_stats(train, suite.input_size(arch)[0])
