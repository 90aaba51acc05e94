"""Where a team's data set sits in a suite's size–similarity matrix, by forward passes only.

The rule of thumb (the size–similarity matrix, :mod:`zoo.matrix`) needs two facts about the team's data,
and zoo measures both through the backbones a suite pretrained:

* **size**: training images per class (the median over classes) against the suite's
  ``small_threshold``: mini's is 100, for 32×32 images and small networks; imagenet's is the
  rule of thumb's 1,000;
* **similarity** to the suite's source domain: :mod:`zoo.recommend.similarity`'s statistic, with a
  threshold calibrated on the suite's own similar and different tasks.

The backbones are ranked by LogME (:mod:`zoo.recommend.logme`) on the team's own labels, and the
similarity that places the folder is the top-ranked backbone's: the rule of thumb asks whether
the pretrained features of the network the team will fine-tune fit their data, and each
backbone's stem sees the source domain its own way. (The mean of all backbones' calibrated
positions was tried first and failed on held-out folders: 5 of 8 right, where resnet18 alone
placed 7 and simple_cnn alone 6, because the positions of different backbones are in
different units and the mean follows whichever spreads widest.) ``zoo recommend``
(:mod:`zoo.recommend.advice`) and ``zoo bench --data`` (:mod:`zoo.recommend.folder_task`)
both place a folder with :func:`measure_quadrant`.
"""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import torch

from zoo.bench.features import SuiteBackbone, available_architectures, load_backbone
from zoo.data.images import ImageSet
from zoo.device import precision, select_device
from zoo.errors import ZooError
from zoo.matrix import QUADRANTS
from zoo.plugin.suite import SuiteSpec
from zoo.progress import progress
from zoo.recommend import DEFAULT_SUITE
from zoo.recommend.logme import logme
from zoo.recommend.similarity import SimilarityReading, read

if TYPE_CHECKING:
    from zoo.plugin.manager import PluginSet

__all__ = ["Placement", "SizeReading", "load_folder", "measure_quadrant", "place", "prepare"]


@dataclass(frozen=True)
class SizeReading:
    """Is the data set small or large for the suite?"""

    per_class: dict[str, int]  # training images of every class
    threshold: int  # images per class below which a data set is small
    threshold_from: str  # where the threshold came from, in words

    @property
    def median(self) -> float:
        return statistics.median(self.per_class.values())

    @property
    def verdict(self) -> str:
        return "small" if self.median < self.threshold else "large"


def measure_size(data: ImageSet, suite: SuiteSpec, small_threshold: int | None = None) -> SizeReading:
    """Images per class of ``data`` against ``small_threshold``, else the suite's own."""
    per_class = dict(zip(data.classes, data.counts()))
    if small_threshold is not None:
        return SizeReading(per_class, small_threshold, "given with --small-threshold")
    return SizeReading(per_class, suite.small_threshold, f"the {suite.name} suite's small_threshold")


@dataclass(frozen=True)
class Placement:
    """Where a data set sits in a suite's size–similarity matrix, and the measurements why."""

    suite: str
    size: SizeReading
    similarity: tuple[SimilarityReading, ...]  # one per backbone
    logme: dict[str, float]  # LogME of every backbone variant on the data's labels, best first

    @property
    def decided_by(self) -> SimilarityReading:
        """The reading of the backbone with the highest LogME: the one to be fine-tuned."""
        best = next(iter(self.logme))
        return next(r for r in self.similarity if r.variant == best)

    @property
    def position(self) -> float:
        """The deciding backbone's calibrated position: below 0 similar, above 0 different."""
        return self.decided_by.position

    @property
    def similarity_verdict(self) -> str:
        return self.decided_by.verdict

    @property
    def quadrant(self) -> str:
        return QUADRANTS[self.size.verdict, self.similarity_verdict]

    def as_dict(self) -> dict:
        return {
            "suite": self.suite,
            "quadrant": self.quadrant,
            "size": {
                "verdict": self.size.verdict,
                "median_per_class": self.size.median,
                "per_class": self.size.per_class,
                "small_threshold": self.size.threshold,
                "threshold_from": self.size.threshold_from,
            },
            "similarity": {
                "verdict": self.similarity_verdict,
                "position": round(self.position, 3),
                "decided_by": self.decided_by.variant,
                "statistic": self.decided_by.statistic,
                "backbones": [
                    {
                        "variant": r.variant,
                        "statistic": r.statistic,
                        "value": round(r.value, 6),
                        "threshold": round(r.calibration.threshold, 6),
                        "position": round(r.position, 3),
                        "verdict": r.verdict,
                        "calibration_separates_tasks": r.calibration.separated,
                        "calibration": [vars(p) for p in r.calibration.points],
                    }
                    for r in self.similarity
                ],
            },
        }


def place(
    plugins: PluginSet, data: ImageSet, suite: SuiteSpec, backbones: Sequence[SuiteBackbone], small_threshold: int | None = None
) -> Placement:
    """The quadrant of ``data`` for ``suite``, read through ``backbones``: each one's LogME
    on the data's labels and calibrated similarity, the best-ranked backbone's deciding.
    ``plugins`` (the loaded set) loads the suite's images the calibration compares with."""
    if not backbones:
        raise ZooError("placing a data set in the matrix needs at least one pretrained backbone")
    readings, scores = [], {}
    with progress(f"forward {len(data)} images", len(backbones)) as bar:
        for done, backbone in enumerate(backbones, 1):
            features = backbone.features(data)
            readings.append(read(plugins.datasets, backbone, features.stem))
            scores[backbone.variant] = logme(features.pooled, data.labels)
            bar.update(done, backbone.variant)
    ranked = dict(sorted(scores.items(), key=lambda item: -item[1]))
    return Placement(suite.name, measure_size(data, suite, small_threshold), tuple(readings), ranked)


def load_folder(plugins: PluginSet, path: Path, suite: SuiteSpec, archs: Sequence[str], *, skip_corrupt: bool = False) -> ImageSet:
    """The training images of an image folder, checked first by the data set of ``plugins``
    that reads folders (:meth:`zoo.plugin.manager.PluginSet.folder_reader`).

    They are what a transfer cell would train on: ``PATH/train`` when the folder is split
    into ``train/`` and ``test/``, else the stratified 80% ``zoo bench`` trains on. They are
    read at the largest input size any of ``archs`` takes in ``suite``.
    """
    side = max(suite.input_size(plugins.architectures.get(a))[1] for a in archs)
    loader = plugins.folder_reader().load
    return loader("train", root=Path(path), size=side, skip_corrupt=skip_corrupt)


def architectures(plugins: PluginSet, suite: SuiteSpec, archs: Sequence[str] | None, device: torch.device) -> list[str]:
    """``archs``, or when None every architecture of ``plugins`` whose weights for ``suite``
    load here (pretrained in ``device``'s precision, for a suite with a source data set)."""
    names = list(archs) if archs else available_architectures(plugins, suite, precision=precision(device))
    if names:
        return names
    if suite.source is not None:
        raise ZooError(
            f"no backbone has {suite.name} weights in the weights store yet; run "
            f"`zoo pretrain --suite {suite.name} --arch resnet18,vgg11_bn,googlenet` (or `zoo bench`) first, "
            "or leave out --suite to recommend from the ImageNet backbones installed with zoo"
        )
    raise ZooError(
        f"no backbone has the weights suite {suite.name!r} starts from ({suite.source_description}) here: "
        "`zoo list --pretrained` shows what is; the default suite's are installed with zoo"
    )


def prepare(
    plugins: PluginSet,
    data: Path | str | ImageSet,
    suite: SuiteSpec,
    archs: Sequence[str] | None,
    device: torch.device | None,
    skip_corrupt: bool,
) -> tuple[ImageSet, list[SuiteBackbone]]:
    """The images (a folder is checked before any weights load) and the backbones."""
    if not isinstance(data, ImageSet):
        plugins.folder_reader()  # a folder needs a reader: say so before asking for weights
    device = device or select_device()
    names = architectures(plugins, suite, archs, device)
    if not isinstance(data, ImageSet):
        data = load_folder(plugins, Path(data), suite, names, skip_corrupt=skip_corrupt)
    return data, [load_backbone(suite, plugins.architectures.get(name), device) for name in names]


def measure_quadrant(
    plugins: PluginSet,
    data: Path | str | ImageSet,
    suite: SuiteSpec | str = DEFAULT_SUITE,
    *,
    archs: Sequence[str] | None = None,
    device: torch.device | None = None,
    small_threshold: int | None = None,
    skip_corrupt: bool = False,
) -> Placement:
    """Place a team's data set in ``suite``'s size–similarity matrix, without training.

    :param plugins: the loaded plugin set (``zoo.get_zoo()``) the names refer to.
    :param data: an image folder (checked and read with :func:`load_folder`: its training
        split) or the training images themselves.
    :param archs: backbones to measure with; default every architecture with weights for
        ``suite`` in the store. Each gives a calibrated similarity; the one with the highest
        LogME on the data decides.
    :param small_threshold: images per class below which the data are small (default: the
        suite's ``small_threshold``).
    :returns: the :class:`Placement`; ``placement.quadrant`` is ``"Q1"`` … ``"Q4"``.
    """
    suite = plugins.suites.get(suite) if isinstance(suite, str) else suite
    data, backbones = prepare(plugins, data, suite, archs, device, skip_corrupt)
    return place(plugins, data, suite, backbones, small_threshold=small_threshold)
