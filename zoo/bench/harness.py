"""The harness: expand the grid, run each cell, store each result as it finishes.

A cell is one (architecture, strategy, task, seed, learning rate) run; its key hashes its
whole config, so a rerun skips what is stored and any change to a cell's config makes it a
new cell. A cell's result is a function of that config alone: its random draws (training
subset, validation split, new classifier or scratch weights, batch order, augmentation) all
come from its seed, whatever ran before it in the process.

The grid runs in two waves per (task, architecture, strategy), a :class:`CellGroup`: seed 0
at each learning rate of the suite's sweep, then the other seeds at the rate the sweep chose
on validation data (:mod:`zoo.bench.sweep`). A cell that fails (divergence, out of memory, an
exception in a plugin) is stored with its status and reason, and the grid goes on.
"""

from __future__ import annotations

import copy
import dataclasses
import functools
import hashlib
import json
import math
import subprocess
import time
import traceback
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING

import torch

from zoo import __version__
from zoo.bench.memory import step_memory_record
from zoo.bench.pretrain import pretrain, source_stats
from zoo.bench.pretrained import weights_variant
from zoo.bench.results import FAILED, CellResult, ResultsStore
from zoo.bench.speed import SpeedReport, measure_speed
from zoo.bench.suites import DataSelection, SuiteSpec, TaskSpec, load_selection
from zoo.bench.sweep import chosen_lrs, group_key, row_lr
from zoo.data.images import ImageSet, folder_fingerprint, stratified_split
from zoo.data.preprocess import channel_stats, prepare
from zoo.leaderboard.confidence import encode_correct
from zoo.models.architectures import create_model
from zoo.models.complexity import build_meta, measure
from zoo.train.loop import Diverged, Recipe, device_name, evaluate
from zoo.train.strategies import resolve_strategy
from zoo.train.transfer import PrefixCache, run_strategy

if TYPE_CHECKING:
    from zoo.plugin.manager import Zoo

EpochCallback = Callable[["Cell", int, int], None]  # (cell, epochs done, epochs in all)

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


@dataclass(frozen=True)
class Cell:
    """One (architecture, strategy, task, seed) run and everything that shapes its result."""

    suite: str
    task: str
    quadrant: str
    architecture: str
    strategy: str
    seed: int
    epochs: int
    input_size: tuple[int, int, int]
    weights: str | None  # pretrained variant it starts from; None for a strategy that starts from scratch
    recipe: dict = field(default_factory=dict)  # the Recipe, learning rate and precision included
    validation: float = 0.0  # share of each class's training images held out for early stopping and the sweep
    data_root: str | None = None  # a team's image folder (zoo bench --data); None: the suite's own task
    data_fingerprint: str | None = None  # that folder's files, so that changing them makes new cells
    # What else the cell reads, so that changing a suite's definition makes new cells: the
    # task's data selection ("selection", a suite task's) and the source whose statistics
    # normalise a scratch cell's inputs ("normalised_by"); a pretrained cell's are its weights'.
    data: dict = field(default_factory=dict)

    def config(self) -> dict:
        """What the key hashes: every field; the folder fields only for a team's folder."""
        config = asdict(self)
        if self.data_root is None:
            del config["data_root"], config["data_fingerprint"]
        return config

    @property
    def key(self) -> str:
        return hashlib.sha256(json.dumps(self.config(), sort_keys=True).encode()).hexdigest()

    @property
    def label(self) -> str:
        return f"{self.architecture}/{self.strategy}/{self.task}/seed{self.seed}"


@dataclass(frozen=True)
class CellGroup:
    """One (task, architecture, strategy) of the grid: the learning rates its sweep tries on
    seed 0, and how many seeds then train at the rate chosen on validation data."""

    base: Cell  # seed 0 at the recipe's own learning rate
    lrs: tuple[float, ...]  # the sweep, ascending; one rate: no sweep
    seeds: int
    extensions: int = 0  # steps the sweep may take past either end of ``lrs`` (SuiteSpec.lr_extensions)

    def at(self, seed: int, lr: float) -> Cell:
        return dataclasses.replace(self.base, seed=seed, recipe={**self.base.recipe, "lr": lr})

    def sweep(self) -> list[Cell]:
        """The first wave: seed 0 at every learning rate."""
        return [self.at(0, lr) for lr in self.lrs]

    def seeded(self, lr: float) -> list[Cell]:
        """The second wave: the other seeds at ``lr``."""
        return [self.at(seed, lr) for seed in range(1, self.seeds)]

    def beyond_edge(self, tried: Iterable[float], chosen: float) -> Cell | None:
        """Seed 0 one step past the sweep's end when the rate chosen is the highest (or the
        lowest) tried, so that the best rate is bracketed by worse ones rather than assumed to
        lie among the suite's factors; each step is the sweep's own ratio, at most
        ``extensions`` steps past each end. None once the choice is bracketed or the steps are
        spent."""
        if len(self.lrs) < 2:
            return None
        tried = sorted(tried)
        low, high = self.lrs[0], self.lrs[-1]
        if math.isclose(chosen, tried[-1]):
            ladder = [high * (high / self.lrs[-2]) ** k for k in range(1, self.extensions + 1)]
        elif math.isclose(chosen, tried[0]):
            ladder = [low / (self.lrs[1] / low) ** k for k in range(1, self.extensions + 1)]
        else:
            return None
        untried = [lr for lr in ladder if not any(math.isclose(lr, t) for t in tried)]
        return self.at(0, untried[0]) if untried else None

    @property
    def size(self) -> int:
        return len(self.lrs) + self.seeds - 1

    @property
    def key(self) -> str:
        """The sweep group its rows share (:func:`zoo.bench.sweep.group_key`)."""
        return group_key(CellResult(key=self.base.key, config=self.base.config(), seed=0))


def expand_grid(
    plugins: Zoo,
    suite: SuiteSpec,
    architectures: Iterable[str],
    strategies: Iterable[str],
    tasks: Iterable[TaskSpec],
    seeds: int | None = None,
    epochs: int | None = None,
    precision: str = "fp32",
) -> list[CellGroup]:
    """Every (task, architecture, strategy) of the grid, task by task, so a partial run
    already covers whole tasks; the names are looked up in ``plugins``, the loaded set.

    ``seeds`` and ``epochs`` (the cap) override every task's own; ``precision`` is what the
    cells compute in, part of their config.
    """
    groups = []
    for task in tasks:
        folder_print = folder_fingerprint(Path(task.root)) if task.root else None
        for arch_name in architectures:
            arch = plugins.architectures.get(arch_name)
            for strategy_name in strategies:
                strategy = resolve_strategy(plugins.strategies, strategy_name)
                weights = weights_variant(suite, arch, precision) if strategy.pretrained else None
                data = {
                    "selection": None if task.root else asdict(task.data),
                    "normalised_by": asdict(suite.source) if suite.source and not strategy.pretrained else None,
                }
                recipe = Recipe(
                    epochs=epochs or task.epochs, batch_size=task.batch_size, patience=task.patience, precision=precision
                ).at_lr_scale(arch.lr_scale)
                base = Cell(
                    suite.name, task.name, task.quadrant, arch_name, strategy_name, 0, recipe.epochs, suite.input_size(arch),
                    weights, asdict(recipe), task.validation, task.root, folder_print, data,
                )  # fmt: skip
                lrs = tuple(sorted(recipe.lr * factor for factor in suite.lr_factors))
                groups.append(CellGroup(base, lrs, seeds or task.seeds, suite.lr_extensions))
    return groups


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

    def __init__(self, plugins: Zoo, device: torch.device):
        self.plugins = plugins  # the loaded set the cells' names refer to
        self.device = device
        self.prefixes = PrefixCache()
        self._speed: dict[tuple, SpeedReport] = {}
        self._pretrained: dict[str, torch.nn.Module] = {}  # variant -> network as loaded, on the CPU

    def pretrained(self, variant: str, num_classes: int, seed: int) -> torch.nn.Module:
        """A fresh copy of the pretrained network with a new ``num_classes`` classifier drawn
        from ``seed``.

        Building and loading once per variant, then copying, saves every later cell the
        random initialisation that loading overwrites and the reading of the checkpoint:
        about 2 s a cell for vgg11_bn on a 2-core CPU. The classifier is drawn after the
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
        return CellResult(
            key=cell.key, suite=cell.suite, task=cell.task, quadrant=cell.quadrant, architecture=cell.architecture,
            strategy=cell.strategy, seed=cell.seed, epochs=cell.epochs, weights=cell.weights, config=cell.config(),
            environment=environment(self.device, cell.recipe["precision"]), started=started.isoformat(timespec="seconds"),
            finished=datetime.now(timezone.utc).isoformat(timespec="seconds"),
            wall_seconds=round(time.perf_counter() - clock, 2), **outcome,
        )  # fmt: skip

    def _train_and_measure(self, cell: Cell, clock: PhaseClock, on_epoch: Callable[[int, int], None] | None) -> dict:
        registry = self.plugins
        suite, strategy = registry.suites.get(cell.suite), resolve_strategy(registry.strategies, cell.strategy)
        arch = registry.architectures.get(cell.architecture)
        recipe = Recipe(**cell.recipe)
        with clock.phase("setup"):
            if cell.data_root is None:
                selection, root = suite.task(cell.task).data, None
            else:
                selection, root = DataSelection(registry.folder_reader().name), Path(cell.data_root)
            # A suite's own data sets load at their native size; a folder's images vary, so at the cell's.
            size = None if suite.image_size and root is None else cell.input_size[1]
            train, test = load_selection(registry.datasets, selection, cell.seed, root=root, size=size)
            held_out = None
            if cell.validation:
                fit_index, val_index = stratified_split(train.labels, cell.validation, cell.seed)
                train, held_out = train.subset(fit_index), train.subset(val_index)
        with clock.phase("pretraining"):
            if cell.weights is not None and suite.source is not None:
                pretrain(registry.datasets, suite, arch, device=self.device, precision=recipe.precision)
        with clock.phase("setup"):
            pretraining = None
            if cell.weights is not None:
                model = self.pretrained(cell.weights, len(train.classes), cell.seed)
                mean, std = model.zoo_weights.mean, model.zoo_weights.std
                pretraining = pretraining_summary(model.zoo_weights.metadata)
            else:
                torch.manual_seed(cell.seed)  # the scratch network's random weights are the seed's
                model = create_model(arch, num_classes=len(train.classes), img_size=cell.input_size[1])
                mean, std = _reference_stats(registry, suite, arch, train)
            model = model.to(self.device)
            mirror = registry.datasets.get(selection.dataset).mirror_invariant
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
        with clock.phase("measurement"):
            trainable = sum({name: size for run in runs for name, size in run.trained.items()}.values())
            complexity = measure(build_meta(arch, len(train.classes), cell.input_size[1]), cell.input_size)
            speed = self.speed(cell.architecture, cell.input_size)
            memory = step_memory_record(
                registry, cell.architecture, cell.strategy, recipe.batch_size, cell.input_size, self.device, recipe.precision
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


def _reference_stats(plugins: Zoo, suite: SuiteSpec, arch, train: ImageSet) -> tuple[tuple[float, ...], tuple[float, ...]]:
    """The normalisation a pretrained backbone of this suite would use, for scratch cells, so
    every strategy sees its inputs scaled alike. A network without hub weights in a suite
    without a source has no such backbone: its ``train`` images' own statistics."""
    if suite.source is not None:
        return source_stats(plugins.datasets, suite.source, suite.input_size(arch)[0])
    if arch.default_weights is not None:
        return arch.default_weights.mean, arch.default_weights.std
    return channel_stats(train, suite.input_size(arch)[0])


class LocalExecutor:
    """Runs cells one after another in this process (the embedded default)."""

    name = "local"

    def __init__(self, plugins: Zoo, device: torch.device):
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
    other seeds at the rate each sweep chose (:func:`zoo.bench.sweep.chosen_lrs`, on validation
    data). A group whose sweep has no ``ok`` cell runs no more seeds; its failures are stored
    and shown. A group without a sweep (one rate) runs every seed whatever seed 0 gave.

    The executor only computes rows; this process, the driver, writes every one of them, so
    the database never has two writers. ``on_cell(cell, row, done, total)`` is called after
    each cell (``row`` None for a cell stored before and not run again; ``total`` grows when a sweep goes past
    its edge); ``on_epoch(cell, done, total)`` after each epoch of a cell, where the executor
    can tell (the local one can; Ray's cannot).
    """
    count = _Count(sum(g.size for g in groups), on_cell)
    wave = functools.partial(_run_wave, store=store, executor=executor, count=count, on_epoch=on_epoch, retry=retry)
    first = [c for g in groups for c in g.sweep()]
    visited = {c.key for c in first}
    rows = wave(first)
    # The steps past an edge are found from the cells this run has visited, stored or not, so
    # that a rerun walks (and counts) the same steps as the run that stored them.
    while extra := _beyond_edges(groups, [r for r in store.rows() if r.key in visited]):
        visited.update(c.key for c in extra)
        count.total += len(extra)
        rows += wave(extra)
    chosen = chosen_lrs(store.rows())
    second = []
    for group in groups:
        lr = group.lrs[0] if len(group.lrs) == 1 else chosen.get(group.key)
        if lr is None:
            count.skip(group.seeds - 1)  # its sweep failed: nothing more to run
            continue
        second += group.seeded(lr)
    rows += wave(second)
    return rows


def fill_step_memory(plugins: Zoo, store: ResultsStore, device: torch.device) -> int:
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
            tried[group_key(row)].append(row_lr(row))
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
    cells: list[Cell], store: ResultsStore, executor, count: _Count, on_epoch: EpochCallback | None, retry: bool
) -> list[CellResult]:
    stored = store.statuses()
    again = FAILED if retry else ()
    pending = [cell for cell in cells if cell.key not in stored or stored[cell.key] in again]
    for cell in cells:
        if cell.key in stored and stored[cell.key] not in again:
            count.tell(cell, None)
    rows = []
    for cell, row in executor.run(pending, on_epoch=on_epoch):
        if store.record(row):  # False: another run on this database stored it ok first
            rows.append(row)
        count.tell(cell, row)
    return rows
