"""The suite kind: a source data set for pretraining plus target tasks, each in a quadrant of
the size–similarity matrix (:mod:`zoo.matrix`), and how ``zoo info`` and ``zoo list`` show one.

A task's quadrant comes from two properties of its target data: its size (images per class
against the suite's threshold) and its similarity to the source domain.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING

from zoo.data.images import ImageSet, stratified_sample
from zoo.errors import UnknownNameError, ZooError
from zoo.matrix import QUADRANTS
from zoo.plugin.architecture import ArchitectureSpec
from zoo.plugin.dataset import DatasetSpec
from zoo.plugin.recipe import Recipe
from zoo.plugin.registry import Registry

if TYPE_CHECKING:
    from zoo.plugin.manager import PluginSet

@dataclass(frozen=True)
class DataSelection:
    """Which images of a registered data set a source or task uses."""

    dataset: str  # registered data set name
    classes: tuple[str, ...] = ()  # the classes kept, relabelled 0… in this order; () keeps all
    train_per_class: int | None = None  # training images per class; None: all there are
    test_per_class: int | None = None  # test images per class; None: all there are


@dataclass(frozen=True)
class TaskSpec:
    """A target task: data, its per-class budget, and where it sits in the matrix."""

    name: str  # unique within the suite ("q2_fashion_footwear_large")
    data: DataSelection
    size: str  # "large" or "small"
    similarity: str  # "similar" or "different" to the suite's source domain
    why: str  # why the task sits in its quadrant
    epochs: int = 10  # most epochs a cell trains; validation usually stops it sooner (zoo bench --epochs overrides)
    seeds: int = 3  # training subsets drawn, each a cell (zoo bench --seeds overrides)
    batch_size: int = 128  # smaller for a few dozen images, so that an epoch is more than one step
    patience: int = 3  # epochs without a better validation score before the learning rate drops
    validation: float = 0.2  # share of each class's training images held out for early stopping and the sweep
    root: str | None = None  # the folder the data are read from, for a team's own folder (zoo bench --data)

    @property
    def quadrant(self) -> str:
        return QUADRANTS[self.size, self.similarity]


@dataclass(frozen=True)
class SuiteSpec:
    """A registered suite."""

    name: str  # registry name ("mini")
    description: str
    source: DataSelection | None  # what `zoo pretrain` trains the backbones on; None: hub weights
    source_description: str  # the source domain in words ("ImageNet-1k", "Fashion-MNIST clothing")
    tasks: tuple[TaskSpec, ...]
    image_size: int | None  # working side length; None: each architecture's default input size
    small_threshold: int  # training images per class below which a task is "small"
    pretrain_recipe: Recipe | None = None  # how `zoo pretrain` trains on the source
    pretrain_validation: float = 0.1  # share of the source's training images pretraining early-stops on
    lr_factors: tuple[float, ...] = (1.0,)  # the learning-rate sweep, times each recipe's rate (zoo.results.sweep)
    lr_extensions: int = 2  # steps the sweep may take past either end while its best rate is on that end
    notes: str = ""  # budgets, caps and thresholds explained, shown wherever the suite is
    # The backbones zoo bench and zoo fetch run when --arch is not given; () : zoo's defaults
    # (one per family). A suite whose weights only some networks have names those.
    architectures: tuple[str, ...] = ()

    def input_size(self, arch: ArchitectureSpec) -> tuple[int, int, int]:
        """The size images take for ``arch`` in this suite: the suite's working size, raised
        to the architecture's minimum (Inception v3 needs 75×75), or its default size."""
        if self.image_size is None:
            return arch.default_input_size
        channels, min_h, min_w = arch.min_input_size
        return channels, max(self.image_size, min_h), max(self.image_size, min_w)

    def data_side(self, arch: ArchitectureSpec) -> int | None:
        """The side the suite's own data sets load at for ``arch``'s cells: their native size
        (None) in a suite with a working size, which images are brought to later, else
        ``arch``'s input side."""
        return None if self.image_size else self.input_size(arch)[1]

    def task(self, name: str) -> TaskSpec:
        for task in self.tasks:
            if task.name == name:
                return task
        raise UnknownNameError("task", name, [t.name for t in self.tasks], listing=f"zoo info {self.name}")


def validate_suite_spec(spec: SuiteSpec) -> str | None:
    if (spec.source is None) != (spec.pretrain_recipe is None):
        return "a suite with a source needs a pretrain_recipe, and one without a source none"
    if not spec.lr_factors or not all(isinstance(f, int | float) and f > 0 for f in spec.lr_factors):
        return f"lr_factors must be positive numbers, got {spec.lr_factors!r}"
    if not isinstance(spec.lr_extensions, int) or spec.lr_extensions < 0:
        return f"lr_extensions must be a whole number of steps, 0 or more, got {spec.lr_extensions!r}"
    names = [t.name for t in spec.tasks]
    if len(set(names)) != len(names):
        return "task names repeat"
    for task in spec.tasks:
        if not 0 <= task.validation < 1:
            return f"task {task.name!r}: validation must be a share in [0, 1), got {task.validation!r}"
        if (task.size, task.similarity) not in QUADRANTS:
            return f"task {task.name!r}: size must be large/small and similarity similar/different"
        budget = task.data.train_per_class
        if budget is not None and (budget < spec.small_threshold) != (task.size == "small"):
            return f"task {task.name!r} is called {task.size} but has {budget} training images per class (threshold {spec.small_threshold})"
    return None


def validate(suite: SuiteSpec, plugins: PluginSet) -> str | None:
    """Why ``suite`` cannot be registered in ``plugins``: a data set it uses that no plugin
    registered, or a malformed field; None when it can."""
    used = [suite.source.dataset] if suite.source else []
    used += [task.data.dataset for task in suite.tasks]
    missing = sorted({name for name in used if name not in plugins.datasets})
    if missing:
        return f"it uses data sets no plugin registered: {', '.join(missing)}"
    unknown = [name for name in suite.architectures if name not in plugins.architectures]
    if unknown:
        return f"its architectures are not registered: {', '.join(unknown)}"
    return validate_suite_spec(suite)


@lru_cache(maxsize=16)
def _load_split(load: Callable[..., ImageSet], split: str, root: Path | None, size: int | None) -> ImageSet:
    return load(split, root=root, size=size)


def load_selection(
    datasets: Registry[DatasetSpec], selection: DataSelection, seed: int, root: Path | None = None, size: int | None = None
) -> tuple[ImageSet, ImageSet]:
    """The train and test images a selection describes, loaded by the data set of that name
    in ``datasets`` (the plugin set's registry).

    The training subset depends on ``seed``; the test subset does not (seed 0), so every
    seed is scored on the same images. Whole splits are cached in the process.
    """
    load = datasets.get(selection.dataset).load
    train, test = (_load_split(load, split, root, size) for split in ("train", "test"))
    if selection.classes:
        train, test = train.select_classes(selection.classes), test.select_classes(selection.classes)
    n = len(train.classes)
    train = train.subset(stratified_sample(train.labels, selection.train_per_class, seed, n))
    test = test.subset(stratified_sample(test.labels, selection.test_per_class, 0, n))
    return train, test


def describe(plugins: PluginSet, suite: SuiteSpec, plugin: str) -> dict:
    """What ``zoo info`` reports about a suite: source, tasks, quadrants, real per-class counts
    (the images counted as the plugin set's data sets load them)."""
    def selection(data) -> dict:
        described = {
            "dataset": data.dataset,
            "classes": list(data.classes) or "all",
            "train_per_class_budget": data.train_per_class or "all",
            "test_per_class_budget": data.test_per_class or "all",
            "train_per_class": None,
            "test_per_class": None,
            "unavailable": None,
        }
        try:
            train, test = load_selection(plugins.datasets, data, seed=0)
        except ZooError as exc:
            described["unavailable"] = str(exc)
        else:
            described.update(train_per_class=train.counts(), test_per_class=test.counts(), classes=list(train.classes))
        return described

    return {
        "name": suite.name,
        "kind": "suite",
        "plugin": plugin,
        "description": suite.description,
        "source_description": suite.source_description,
        "source": selection(suite.source) if suite.source else None,
        "pretrain_recipe": asdict(suite.pretrain_recipe) if suite.pretrain_recipe else None,
        "pretrain_validation": suite.pretrain_validation if suite.source else None,
        "lr_factors": list(suite.lr_factors),
        "lr_extensions": suite.lr_extensions,
        "image_size": suite.image_size,
        "small_threshold": suite.small_threshold,
        "architectures": list(suite.architectures),
        "tasks": [
            {"name": t.name, "quadrant": t.quadrant, "size": t.size, "similarity": t.similarity, "why": t.why,
             "epochs": t.epochs, "seeds": t.seeds, "batch_size": t.batch_size, "patience": t.patience,
             "validation": t.validation, **selection(t.data)}
            for t in suite.tasks
        ],
        "notes": suite.notes,
    }


def _counts(described: dict) -> str:
    if described["unavailable"]:
        return f"budget {described['train_per_class_budget']}/{described['test_per_class_budget']} per class (data not here)"
    train, test = described["train_per_class"], described["test_per_class"]
    if len(set(train)) == 1 and len(set(test)) == 1:
        return f"{train[0]} train / {test[0]} test per class"
    return f"train {train} / test {test} per class"


def render(info: dict) -> str:
    """``zoo info``'s text for a suite, from :func:`describe`'s data."""
    size = f"{info['image_size']}×{info['image_size']}" if info["image_size"] else "each architecture's default"
    lines = [f"{info['name']} — {info['description']}", f"  plugin:          {info['plugin']}"]
    source = info["source"]
    if source:
        lines.append(f"  source:          {info['source_description']}: {source['dataset']} {', '.join(source['classes'])}")
        lines.append(f"                   {_counts(source)}")
        recipe = info["pretrain_recipe"]
        lines.append(
            f"  pretraining:     until a {info['pretrain_validation']:.0%} validation split stops improving, at most "
            f"{recipe['epochs']} epochs; batch {recipe['batch_size']}, lr {recipe['lr']} (zoo pretrain)"
        )
    else:
        lines.append(f"  source:          {info['source_description']}")
    lines.append(f"  image size:      {size}")
    if info["architectures"]:
        lines.append(f"  backbones:       {', '.join(info['architectures'])} (zoo bench's default here)")
    lines.append(f"  small below:     {info['small_threshold']} training images per class")
    if len(info["lr_factors"]) > 1:
        factors = ", ".join(f"×{f:.3g}" for f in info["lr_factors"])
        lines.append(f"  lr sweep:        {factors} the recipe's rate on seed 0; the best on validation trains the other seeds")
        if info["lr_extensions"]:
            lines.append(f"                   while the best is the highest or lowest tried, one step further (at most {info['lr_extensions']})")
    lines.append("  tasks:")
    for task in info["tasks"]:
        classes = task["classes"] if isinstance(task["classes"], str) else ", ".join(task["classes"])
        lines.append(f"    {task['quadrant']}  {task['name']:<24} {task['size']}, {task['similarity']}: {task['dataset']} ({classes})")
        seeds = f", {task['seeds']} seeds" if task["seeds"] > 1 else ""
        lines.append(
            f"        {_counts(task)}; until a {task['validation']:.0%} validation split stops improving "
            f"(patience {task['patience']}), at most {task['epochs']} epochs at batch {task['batch_size']}{seeds}"
        )
        lines.append(f"        {task['why']}")
    if info["notes"]:
        lines += ["  notes:"] + [f"    {line}" for line in info["notes"].splitlines()]
    return "\n".join(lines)


def summary(suite: SuiteSpec) -> dict:
    """The columns ``zoo list`` shows for a suite besides its name and plugin."""
    return {"description": suite.description}
