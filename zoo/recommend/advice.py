"""``zoo recommend``: a backbone and a transfer strategy for a team's own image folder.

The rule of thumb (DESIGN's size–similarity matrix) needs two facts about the team's data,
and zoo measures both with forward passes only, through the backbones a suite pretrained:

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
different units and the mean follows whichever spreads widest.) Size and similarity put the
folder in a quadrant (:func:`measure_quadrant`, which ``zoo bench --data`` also uses).
The strategy is the one the rule of thumb names for the quadrant
(:func:`zoo.leaderboard.rule.rule_of_thumb`, the function the leaderboard's verdict uses), checked
against the results database: where the suite's task in the same quadrant was measured, the
leaderboard's verdict over all architectures decides. Its measured winner is recommended when
the verdict is decisive (the 95% confidence interval of its margin lies above zero), and the
rule of thumb's pick otherwise; the reasons quote the margin and its interval.
"""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import torch

from zoo.bench.pretrained import SuiteBackbone, load_backbone, stored_architectures
from zoo.bench.suites import QUADRANTS, SuiteSpec
from zoo.data.images import ImageSet
from zoo.errors import ZooError
from zoo.leaderboard.boards import build_leaderboard
from zoo.leaderboard.rule import rule_of_thumb
from zoo.leaderboard.tables import task_key
from zoo.leaderboard.verdict import OVERALL, deciding_verdicts
from zoo.leaderboard.writers import read_results, strategy_rule
from zoo.progress import progress
from zoo.recommend.logme import logme
from zoo.recommend.similarity import STATISTIC, SimilarityReading, check_measurable, read
from zoo.train.loop import precision, select_device

if TYPE_CHECKING:
    from zoo.plugin.manager import Zoo

__all__ = [
    "Measured",
    "Placement",
    "Recommendation",
    "SizeReading",
    "load_folder",
    "measure_quadrant",
    "measured",
    "place",
    "recommend",
]

DEFAULT_RESULTS = Path("leaderboards/results.sqlite")


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
                "statistic": STATISTIC,
                "backbones": [
                    {
                        "variant": r.variant,
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
    plugins: Zoo, data: ImageSet, suite: SuiteSpec, backbones: Sequence[SuiteBackbone], small_threshold: int | None = None
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


def load_folder(plugins: Zoo, path: Path, suite: SuiteSpec, archs: Sequence[str], *, skip_corrupt: bool = False) -> ImageSet:
    """The training images of an image folder, checked first by the data set of ``plugins``
    that reads folders (:meth:`zoo.plugin.manager.Zoo.folder_reader`).

    They are what a transfer cell would train on: ``PATH/train`` when the folder is split
    into ``train/`` and ``test/``, else the stratified 80% ``zoo bench`` trains on. They are
    read at the largest input size any of ``archs`` takes in ``suite``.
    """
    side = max(suite.input_size(plugins.architectures.get(a))[1] for a in archs)
    loader = plugins.folder_reader().load
    return loader("train", root=Path(path), size=side, skip_corrupt=skip_corrupt)


def architectures(plugins: Zoo, suite: SuiteSpec, archs: Sequence[str] | None, device: torch.device) -> list[str]:
    """``archs``, or when None every architecture of ``plugins`` with weights for ``suite``
    (pretrained in ``device``'s precision) in the store."""
    names = list(archs) if archs else stored_architectures(plugins, suite, precision=precision(device))
    if not names:
        raise ZooError(
            f"no backbone has {suite.name} weights in the weights store yet; run "
            f"`zoo pretrain --suite {suite.name} --arch resnet18,vgg11_bn,googlenet` (or `zoo bench`) first"
        )
    return names


def _prepare(
    plugins: Zoo,
    data: Path | str | ImageSet,
    suite: SuiteSpec,
    archs: Sequence[str] | None,
    device: torch.device | None,
    skip_corrupt: bool,
) -> tuple[ImageSet, list[SuiteBackbone]]:
    """The images (a folder is checked before any weights load) and the backbones."""
    check_measurable(suite)
    if not isinstance(data, ImageSet):
        plugins.folder_reader()  # a folder needs a reader: say so before asking for weights
    device = device or select_device()
    names = architectures(plugins, suite, archs, device)
    if not isinstance(data, ImageSet):
        data = load_folder(plugins, Path(data), suite, names, skip_corrupt=skip_corrupt)
    return data, [load_backbone(suite, plugins.architectures.get(name), device) for name in names]


def measure_quadrant(
    plugins: Zoo,
    data: Path | str | ImageSet,
    suite: SuiteSpec | str = "mini",
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
    data, backbones = _prepare(plugins, data, suite, archs, device, skip_corrupt)
    return place(plugins, data, suite, backbones, small_threshold=small_threshold)


@dataclass(frozen=True)
class Measured:
    """What the leaderboard of the results database says about the suite's task in a quadrant."""

    path: Path
    verdicts: list[dict]  # verdict rows (zoo.leaderboard.tables) with "deciding": the deciding ones, then the chosen backbone's own

    @property
    def deciding(self) -> list[dict]:
        """Per task setting, its verdict over all architectures (or on the only one measured)."""
        return [v for v in self.verdicts if v["deciding"]]

    @property
    def winner(self) -> str | None:
        """The measured winner when every deciding verdict is decisive and names it; else None."""
        winners = {v["measured"] for v in self.deciding}
        if len(winners) == 1 and all(v["decisive"] for v in self.deciding):
            return winners.pop()
        return None


def measured(
    plugins: Zoo, results: Path, suite: SuiteSpec, quadrant: str, architecture: str | None = None
) -> Measured | None:
    """The leaderboard's verdicts on ``suite``'s tasks in ``quadrant``, from the results
    database at ``results`` (as ``zoo leaderboard`` builds them), or None when it holds none.

    The verdict over all architectures decides (or, where a single architecture was
    measured, that architecture's); ``architecture``'s own verdict is shown beside it.
    """
    if not Path(results).is_file():
        return None
    tasks = {t.name for t in suite.tasks if t.quadrant == quadrant}
    rows = [r for r in read_results(Path(results)) if r.suite == suite.name and r.task in tasks]
    verdicts = build_leaderboard(rows, strategy_rule(plugins)).table("verdict").rows if rows else []
    deciding = deciding_verdicts(verdicts)
    shown = []
    for key in dict.fromkeys(task_key(v) for v in verdicts):
        answer = [v for v in deciding if task_key(v) == key]
        shown += [{**v, "deciding": True} for v in answer]
        shown += [{**v, "deciding": False} for v in verdicts if task_key(v) == key and v["scope"] == architecture and v not in answer]
    return Measured(Path(results), shown) if verdicts else None


@dataclass(frozen=True)
class Recommendation:
    """A backbone and a strategy for a data set, with everything they were decided on."""

    data: str  # the folder (or the image set's name)
    images: int
    classes: tuple[str, ...]
    placement: Placement
    architecture: str
    variant: str
    rule_of_thumb: str
    alternatives: list[str]  # other strategies registered for the quadrant
    measured: Measured | None
    results: Path  # where the measured leaderboard was looked for
    reasons: list[str] = field(default_factory=list)

    @property
    def scores(self) -> dict[str, float]:
        """LogME of every backbone variant, best first."""
        return self.placement.logme

    @property
    def strategy(self) -> str:
        """The measured winner where the quadrant's verdict is decisive, else the rule of thumb's."""
        winner = self.measured.winner if self.measured else None
        return winner or self.rule_of_thumb

    def as_dict(self) -> dict:
        return {
            "data": self.data,
            "images": self.images,
            "classes": list(self.classes),
            **self.placement.as_dict(),
            "transferability": {"score": "LogME", "backbones": [{"variant": v, "logme": round(s, 4)} for v, s in self.scores.items()]},
            "recommendation": {
                "architecture": self.architecture,
                "weights": self.variant,
                "strategy": self.strategy,
                "strategy_from": "measured" if self.measured and self.measured.winner else "rule of thumb",
                "rule_of_thumb": self.rule_of_thumb,
                "alternatives": self.alternatives,
            },
            "measured": None
            if self.measured is None
            else {
                "results": str(self.measured.path),
                "decisive_winner": self.measured.winner,
                "verdicts": self.measured.verdicts,
            },
            "results": str(self.results),
            "reasons": self.reasons,
        }


def recommend(
    plugins: Zoo,
    data: Path | str | ImageSet,
    suite: SuiteSpec | str = "mini",
    *,
    archs: Sequence[str] | None = None,
    device: torch.device | None = None,
    small_threshold: int | None = None,
    skip_corrupt: bool = False,
    results: Path = DEFAULT_RESULTS,
) -> Recommendation:
    """A backbone (highest LogME) and a transfer strategy for ``data``; see the module docstring.

    Arguments are those of :func:`measure_quadrant`, plus ``results``: the results database
    whose measured winners check the rule of thumb (absent: the rule of thumb alone).
    """
    suite = plugins.suites.get(suite) if isinstance(suite, str) else suite
    name = data.name if isinstance(data, ImageSet) else str(data)
    data, backbones = _prepare(plugins, data, suite, archs, device, skip_corrupt)
    placement = place(plugins, data, suite, backbones, small_threshold)
    best = placement.decided_by.variant
    architecture = next(b.arch.name for b in backbones if b.variant == best)
    strategy, alternatives = rule_of_thumb(placement.quadrant, strategy_rule(plugins))
    if strategy is None:
        raise ZooError(f"no registered strategy is recommended for {placement.quadrant} (see `zoo list --kind strategies`)")
    evidence = measured(plugins, results, suite, placement.quadrant, architecture)
    recommendation = Recommendation(
        name, len(data), data.classes, placement, architecture, best, strategy, alternatives, evidence, Path(results)
    )
    recommendation.reasons.extend(_reasons(recommendation, suite))
    return recommendation


def _reasons(rec: Recommendation, suite: SuiteSpec) -> list[str]:
    """The recommendation in plain words, one sentence per fact it rests on."""
    size, placement = rec.placement.size, rec.placement
    counts = sorted(size.per_class.values())
    spread = f"{counts[0]}–{counts[-1]}" if counts[0] != counts[-1] else f"{counts[0]}"
    reasons = [
        f"Size: {size.median:g} training images per class (median; {spread} per class) against a threshold of "
        f"{size.threshold} ({size.threshold_from}), so the data set is {size.verdict}.",
    ]
    if size.threshold_from.startswith("the "):
        reasons.append(
            f"The rule of thumb says 1,000 per class for ImageNet-sized images; {suite.name} works at "
            f"{suite.image_size or 'each network’s own'} pixels, where its tasks set the line at {suite.small_threshold}."
        )
    for r in placement.similarity:
        points = ", ".join(f"{p.task} {p.value:.3f} ({p.similarity})" for p in r.calibration.points)
        caveat = "" if r.calibration.separated else " (this calibration does not separate the tasks: weak evidence)"
        reasons.append(
            f"Similarity through {r.variant}: {r.value:.3f} against a threshold of {r.calibration.threshold:.3f} "
            f"calibrated on {points}; so {r.verdict} (position {r.position:+.2f}){caveat}."
        )
    ranked = ", ".join(f"{v} {s:.3f}" for v, s in rec.scores.items())
    reasons.append(f"Backbone: {rec.architecture} has the highest LogME on these images and labels ({ranked}; higher is better).")
    reasons.append(
        f"Through {rec.architecture}, the backbone to fine-tune, the data are {placement.similarity_verdict} "
        f"{'to' if placement.similarity_verdict == 'similar' else 'from'} {suite.source_description} "
        f"(position {placement.position:+.2f}; negative is similar), which with their size puts them in {placement.quadrant}."
    )
    reasons.append(f"Strategy: the rule of thumb for {placement.quadrant} is {rec.rule_of_thumb}.")
    if rec.measured is None:
        reasons.append(f"No measured results for {placement.quadrant} in {rec.results}; run `zoo bench` to check the rule of thumb.")
        return reasons
    for v in rec.measured.verdicts:
        if v["deciding"]:
            scope = "over all architectures" if v["scope"] == OVERALL else f"on {v['scope']}, the only architecture measured"
        else:
            scope = f"on {v['scope']} alone"
        reasons.append(f"Measured on {v['task']} ({rec.measured.path}) {scope}: {v['verdict']}.")
    winner, deciding = rec.measured.winner, rec.measured.deciding
    if winner == rec.rule_of_thumb:
        reasons.append(f"The verdict is decisive and agrees with the rule of thumb: {winner} is recommended.")
    elif winner is not None:
        reasons.append(
            f"The verdict is decisive, so the measured winner {winner} is recommended over the rule of thumb's {rec.rule_of_thumb}."
        )
    elif not deciding:
        reasons.append(f"No strategy was measured on every architecture, so the rule of thumb's {rec.rule_of_thumb} is recommended.")
    elif all(v["decisive"] for v in deciding):
        reasons.append(f"The task settings measured disagree on the winner, so the rule of thumb's {rec.rule_of_thumb} is recommended.")
    else:
        reasons.append(f"The verdict is not decisive, so the rule of thumb's {rec.rule_of_thumb} is recommended.")
    return reasons
