"""The grid: one cell per (architecture, strategy, task, seed, learning rate), grouped for the sweep.

A cell's key hashes its whole config, so a rerun skips what is stored and any change to a
cell's config makes it a new cell. The grid runs in two waves per (task, architecture,
strategy), a :class:`CellGroup`: seed 0 at each learning rate of the suite's sweep, then the
other seeds at the rate the sweep chose on validation data (:mod:`zoo.results.sweep`).
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import math
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from zoo.bench.features import weights_variant
from zoo.data.images import folder_fingerprint
from zoo.plugin.recipe import Recipe
from zoo.plugin.strategy import resolve_strategy
from zoo.plugin.suite import SuiteSpec, TaskSpec
from zoo.results.schema import CellResult
from zoo.results.sweep import group_key

if TYPE_CHECKING:
    from zoo.plugin.manager import PluginSet

EpochCallback = Callable[["Cell", int, int], None]  # (cell, epochs done, epochs in all)


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

    def result(self, **outcome) -> CellResult:
        """The cell's result: what names it (key, task, architecture, ..., config) and ``outcome``."""
        return CellResult(
            key=self.key, suite=self.suite, task=self.task, quadrant=self.quadrant, architecture=self.architecture,
            strategy=self.strategy, seed=self.seed, epochs=self.epochs, weights=self.weights, config=self.config(), **outcome,
        )  # fmt: skip

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
        """The sweep group its rows share (:func:`zoo.results.sweep.group_key`)."""
        return group_key(self.base.config())


def expand_grid(
    plugins: PluginSet,
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
                ).at_lr_scale(arch.lr_scale * strategy.lr_scale)
                base = Cell(
                    suite.name, task.name, task.quadrant, arch_name, strategy_name, 0, recipe.epochs, suite.input_size(arch),
                    weights, asdict(recipe), task.validation, task.root, folder_print, data,
                )  # fmt: skip
                lrs = tuple(sorted(recipe.lr * factor for factor in suite.lr_factors))
                groups.append(CellGroup(base, lrs, seeds or task.seeds, suite.lr_extensions))
    return groups
