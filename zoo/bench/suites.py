"""Suites: a source data set for pretraining plus target tasks, one per quadrant.

The quadrant of a task comes from two properties of its target data (DESIGN's size–similarity
matrix): its size (images per class against the suite's threshold) and its similarity to the
source domain.

==== ===================== ==========================================================
Q1   large, different      train the entire model, initialised from the pretrained weights
Q2   large, similar        train the top stages and the classifier, freeze the lower ones
Q3   small, different      train some stages (deeper than in Q2), with data augmentation
Q4   small, similar        freeze the convolutional base, train a new classifier
==== ===================== ==========================================================
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from zoo.data.images import DatasetSpec, ImageSet, stratified_sample
from zoo.models.architectures import ArchitectureSpec
from zoo.plugin.registry import Registry
from zoo.train.loop import Recipe

QUADRANTS = {
    ("large", "different"): "Q1",
    ("large", "similar"): "Q2",
    ("small", "different"): "Q3",
    ("small", "similar"): "Q4",
}


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
    lr_factors: tuple[float, ...] = (1.0,)  # the learning-rate sweep, times each recipe's rate (zoo.bench.sweep)
    lr_extensions: int = 2  # steps the sweep may take past either end while its best rate is on that end
    notes: str = ""  # budgets, caps and thresholds explained, shown wherever the suite is

    def input_size(self, arch: ArchitectureSpec) -> tuple[int, int, int]:
        """The size images take for ``arch`` in this suite: the suite's working size, raised
        to the architecture's minimum (Inception v3 needs 75×75), or its default size."""
        if self.image_size is None:
            return arch.default_input_size
        channels, min_h, min_w = arch.min_input_size
        return channels, max(self.image_size, min_h), max(self.image_size, min_w)

    def task(self, name: str) -> TaskSpec:
        from zoo.errors import UnknownNameError

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
