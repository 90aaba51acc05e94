"""``zoo recommend``: a backbone and a transfer strategy for a team's own image folder.

The rule of thumb (DESIGN's size–similarity matrix) needs two facts about the team's data,
and zoo measures both with forward passes only, through the backbones a suite pretrained:

* **size**: training images per class (the median over classes) against the suite's
  ``small_threshold``: mini's is 100, for 32×32 images and small networks; imagenet's is the
  rule of thumb's 1,000;
* **similarity** to the suite's source domain: :mod:`zoo.similarity`'s statistic, with a
  threshold calibrated on the suite's own similar and different tasks.

Together they place the folder in a quadrant (:func:`measure_quadrant`, which ``zoo bench
--data`` also uses). The backbones are ranked by LogME (:mod:`zoo.logme`) on the team's own
labels, and the strategy is the one the rule of thumb names for the quadrant, checked against
the results database: where the suite's task in the same quadrant was measured, the strategy
that won there by mean top-1 is recommended, and the recommendation says whether the two agree.
"""

from __future__ import annotations

import statistics
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import torch

import zoo
from zoo.data import ImageSet
from zoo.errors import ZooError
from zoo.features import Features, SuiteBackbone, load_backbone, stored_architectures
from zoo.logme import logme
from zoo.progress import progress
from zoo.similarity import STATISTIC, SimilarityReading, check_measurable, read
from zoo.suites import QUADRANTS, SuiteSpec, load_selection
from zoo.training import select_device

__all__ = [
    "Placement",
    "Recommendation",
    "SizeReading",
    "load_folder",
    "logme_agreement",
    "measure_quadrant",
    "place",
    "recommend",
    "rule_of_thumb",
]

DEFAULT_RESULTS = Path("leaderboards/results.sqlite")
RULE_OF_THUMB = ("linear_probe", "partial", "full")  # the seed strategies DESIGN's table names


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

    @property
    def position(self) -> float:
        """The backbones' mean calibrated position: below 0 similar, above 0 different."""
        return statistics.fmean(r.position for r in self.similarity)

    @property
    def similarity_verdict(self) -> str:
        return "similar" if self.position < 0 else "different"

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
    data: ImageSet,
    suite: SuiteSpec,
    backbones: Sequence[SuiteBackbone],
    stems: Sequence[torch.Tensor] | None = None,
    small_threshold: int | None = None,
) -> Placement:
    """The quadrant of ``data`` for ``suite``, read through ``backbones`` (their stem features
    of ``data`` may be given as ``stems``, in the same order, if already computed)."""
    if not backbones:
        raise ZooError("placing a data set in the matrix needs at least one pretrained backbone")
    stems = stems if stems is not None else [b.stem_features(data) for b in backbones]
    readings = tuple(read(backbone, stem) for backbone, stem in zip(backbones, stems))
    return Placement(suite.name, measure_size(data, suite, small_threshold), readings)


def load_folder(path: Path, suite: SuiteSpec, archs: Sequence[str], *, skip_corrupt: bool = False) -> ImageSet:
    """The training images of an image folder, checked by the ``imagefolder`` plugin first.

    They are what a transfer cell would train on: ``PATH/train`` when the folder is split
    into ``train/`` and ``test/``, else the stratified 80% ``zoo bench`` trains on. They are
    read at the largest input size any of ``archs`` takes in ``suite``.
    """
    registry = zoo.get_zoo()
    side = max(suite.input_size(registry.architectures.get(a))[1] for a in archs)
    loader = registry.datasets.get("imagefolder").load
    return loader("train", root=Path(path), size=side, skip_corrupt=skip_corrupt)


def architectures(suite: SuiteSpec, archs: Sequence[str] | None) -> list[str]:
    """``archs``, or when None every architecture with weights for ``suite`` in the store."""
    names = list(archs) if archs else stored_architectures(suite)
    if not names:
        raise ZooError(
            f"no backbone has {suite.name} weights in the weights store yet; run "
            f"`zoo pretrain --suite {suite.name} --arch resnet18,vgg11_bn,googlenet` (or `zoo bench`) first"
        )
    return names


def _prepare(
    data: Path | str | ImageSet, suite: SuiteSpec, archs: Sequence[str] | None, device: torch.device | None, skip_corrupt: bool
) -> tuple[ImageSet, list[SuiteBackbone]]:
    """The images (a folder is checked before any weights load) and the backbones."""
    check_measurable(suite)
    names = architectures(suite, archs)
    if not isinstance(data, ImageSet):
        data = load_folder(Path(data), suite, names, skip_corrupt=skip_corrupt)
    registry, device = zoo.get_zoo().architectures, device or select_device()
    return data, [load_backbone(suite, registry.get(name), device) for name in names]


def measure_quadrant(
    data: Path | str | ImageSet,
    suite: SuiteSpec | str = "mini",
    *,
    archs: Sequence[str] | None = None,
    device: torch.device | None = None,
    small_threshold: int | None = None,
    skip_corrupt: bool = False,
) -> Placement:
    """Place a team's data set in ``suite``'s size–similarity matrix, without training.

    :param data: an image folder (checked and read with :func:`load_folder`: its training
        split) or the training images themselves.
    :param archs: backbones to measure with; default every architecture with weights for
        ``suite`` in the store. Each gives a calibrated similarity; their mean decides.
    :param small_threshold: images per class below which the data are small (default: the
        suite's ``small_threshold``).
    :returns: the :class:`Placement`; ``placement.quadrant`` is ``"Q1"`` … ``"Q4"``.
    """
    suite = zoo.get_zoo().suites.get(suite) if isinstance(suite, str) else suite
    data, backbones = _prepare(data, suite, archs, device, skip_corrupt)
    return place(data, suite, backbones, small_threshold=small_threshold)


def rule_of_thumb(quadrant: str) -> tuple[str, list[str]]:
    """The strategy DESIGN's rule of thumb names for ``quadrant``, and the other registered
    strategies whose ``quadrants`` include it."""
    fits = [s.name for s in zoo.get_zoo().strategies if quadrant in s.quadrants]
    if not fits:
        raise ZooError(f"no registered strategy is recommended for {quadrant} (see `zoo list --kind strategies`)")
    named = [name for name in RULE_OF_THUMB if name in fits]
    chosen = named[0] if named else fits[0]
    return chosen, [name for name in fits if name != chosen]


@dataclass(frozen=True)
class Measured:
    """What the results database says about the quadrant."""

    path: Path
    by_strategy: dict[str, float]  # mean top-1 of every strategy's finished cells
    rows: list[dict]  # per (task, architecture, strategy): mean top-1 and seeds

    @property
    def winner(self) -> str:
        return max(self.by_strategy, key=self.by_strategy.get)


def measured(results: Path, suite: str, quadrant: str) -> Measured | None:
    """The finished cells of ``suite``'s tasks in ``quadrant``, or None when there are none."""
    from zoo.results import ResultsStore

    if not Path(results).is_file():
        return None
    cells = [
        r
        for r in ResultsStore(Path(results)).rows()
        if r["suite"] == suite and r["quadrant"] == quadrant and r["status"] == "ok" and r["top1"] is not None
    ]
    if not cells:
        return None
    by_strategy: dict[str, list[float]] = defaultdict(list)
    by_cell: dict[tuple[str, str, str], list[float]] = defaultdict(list)
    for r in cells:
        by_strategy[r["strategy"]].append(r["top1"])
        by_cell[r["task"], r["architecture"], r["strategy"]].append(r["top1"])
    rows = [
        {"task": task, "architecture": arch, "strategy": strategy, "top1_mean": round(statistics.fmean(v), 4), "seeds": len(v)}
        for (task, arch, strategy), v in sorted(by_cell.items())
    ]
    return Measured(Path(results), {s: round(statistics.fmean(v), 4) for s, v in by_strategy.items()}, rows)


@dataclass(frozen=True)
class Recommendation:
    """A backbone and a strategy for a data set, with everything they were decided on."""

    data: str  # the folder (or the image set's name)
    images: int
    classes: tuple[str, ...]
    placement: Placement
    scores: dict[str, float]  # LogME of every backbone variant, best first
    architecture: str
    variant: str
    rule_of_thumb: str
    alternatives: list[str]  # other strategies registered for the quadrant
    measured: Measured | None
    results: Path  # where the measured leaderboard was looked for
    reasons: list[str] = field(default_factory=list)

    @property
    def strategy(self) -> str:
        """The measured winner where the quadrant was measured, else the rule of thumb's."""
        return self.measured.winner if self.measured else self.rule_of_thumb

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
                "rule_of_thumb": self.rule_of_thumb,
                "alternatives": self.alternatives,
            },
            "measured": None
            if self.measured is None
            else {
                "results": str(self.measured.path),
                "winner": self.measured.winner,
                "agrees_with_rule_of_thumb": self.measured.winner == self.rule_of_thumb,
                "mean_top1_by_strategy": self.measured.by_strategy,
                "rows": self.measured.rows,
            },
            "results": str(self.results),
            "reasons": self.reasons,
        }


def recommend(
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
    suite = zoo.get_zoo().suites.get(suite) if isinstance(suite, str) else suite
    name = data.name if isinstance(data, ImageSet) else str(data)
    data, backbones = _prepare(data, suite, archs, device, skip_corrupt)

    features: list[Features] = []
    with progress(f"forward {len(data)} images", len(backbones)) as bar:
        for done, backbone in enumerate(backbones, 1):
            features.append(backbone.features(data))
            bar.update(done, backbone.variant)
    placement = place(data, suite, backbones, [f.stem for f in features], small_threshold)
    scores = {b.variant: logme(f.pooled, data.labels) for b, f in zip(backbones, features)}
    scores = dict(sorted(scores.items(), key=lambda item: -item[1]))
    best = next(iter(scores))
    architecture = next(b.arch.name for b in backbones if b.variant == best)
    strategy, alternatives = rule_of_thumb(placement.quadrant)
    evidence = measured(results, suite.name, placement.quadrant)
    recommendation = Recommendation(
        name, len(data), data.classes, placement, scores, architecture, best, strategy, alternatives, evidence, Path(results)
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
    reasons.append(
        f"Overall the data are {placement.similarity_verdict} {'to' if placement.similarity_verdict == 'similar' else 'from'} "
        f"{suite.source_description} (mean position "
        f"{placement.position:+.2f}; negative is similar), which with their size puts them in {placement.quadrant}."
    )
    ranked = ", ".join(f"{v} {s:.3f}" for v, s in rec.scores.items())
    reasons.append(f"Backbone: {rec.architecture} has the highest LogME on these images and labels ({ranked}; higher is better).")
    reasons.append(f"Strategy: the rule of thumb for {placement.quadrant} is {rec.rule_of_thumb}.")
    if rec.measured is None:
        reasons.append(f"No measured results for {placement.quadrant} in {rec.results}; run `zoo bench` to check the rule of thumb.")
    else:
        means = ", ".join(f"{s} {v:.2%}" for s, v in sorted(rec.measured.by_strategy.items(), key=lambda i: -i[1]))
        verdict = "agrees" if rec.measured.winner == rec.rule_of_thumb else f"disagrees, so {rec.measured.winner} is recommended"
        reasons.append(
            f"Measured in {placement.quadrant} ({rec.measured.path}): mean top-1 {means}; "
            f"{rec.measured.winner} won, which {verdict}."
        )
    return reasons


def logme_agreement(
    suite: SuiteSpec | str,
    results: Path,
    *,
    archs: Sequence[str] | None = None,
    device: torch.device | None = None,
) -> list[dict]:
    """Kendall's τ, per task of ``suite``, between LogME and measured fine-tuned accuracy.

    For every task with at least two architectures measured: each architecture's LogME on
    the task's training images (seed 0), against its best mean top-1 over the strategies
    that start from pretrained weights. τ = 1 means LogME ranks the backbones exactly as
    fine-tuning did. ``archs`` defaults to those in the results with stored weights.
    """
    from scipy.stats import kendalltau

    from zoo.results import ResultsStore

    suite = zoo.get_zoo().suites.get(suite) if isinstance(suite, str) else suite
    if not Path(results).is_file():
        raise ZooError(f"no results database at {results}; run `zoo bench` first")
    fine_tuned = {s.name for s in zoo.get_zoo().strategies if s.pretrained}
    top1: dict[tuple[str, str, str], list[float]] = defaultdict(list)
    for r in ResultsStore(Path(results)).rows():
        if r["suite"] == suite.name and r["status"] == "ok" and r["strategy"] in fine_tuned and r["top1"] is not None:
            top1[r["task"], r["architecture"], r["strategy"]].append(r["top1"])
    best: dict[str, dict[str, tuple[float, str]]] = defaultdict(dict)
    for (task, arch, strategy), values in top1.items():
        mean = statistics.fmean(values)
        if mean > best[task].get(arch, (-1.0, ""))[0]:
            best[task][arch] = (mean, strategy)
    wanted = set(archs) if archs else set(stored_architectures(suite))
    device = device or select_device()
    backbones: dict[str, SuiteBackbone] = {}
    report = []
    for task in suite.tasks:
        measured_archs = sorted(a for a in best.get(task.name, {}) if a in wanted)
        if len(measured_archs) < 2:
            continue
        train, _ = load_selection(task.data, seed=0)
        scores = {}
        for arch in measured_archs:
            if arch not in backbones:
                backbones[arch] = load_backbone(suite, zoo.get_zoo().architectures.get(arch), device)
            scores[arch] = logme(backbones[arch].features(train).pooled, train.labels)
        accuracy = [best[task.name][a][0] for a in measured_archs]
        tau, p_value = kendalltau([scores[a] for a in measured_archs], accuracy)
        report.append(
            {
                "task": task.name,
                "quadrant": task.quadrant,
                "architectures": measured_archs,
                "logme": [round(scores[a], 4) for a in measured_archs],
                "best_top1": [round(v, 4) for v in accuracy],
                "best_strategy": [best[task.name][a][1] for a in measured_archs],
                "kendall_tau": float(tau),
                "p_value": float(p_value),
            }
        )
    return report
