"""How close a target data set is to a suite's source domain, calibrated on the suite's tasks.

The statistic
-------------
The squared maximum mean discrepancy (Gretton et al., "A Kernel Two-Sample Test", JMLR 2012)
between the target's and the source's *stem features*: each image's stem output (stage 0 of
:func:`zoo.stages`) averaged per channel, standardised with the source's per-channel mean and
standard deviation, under a Gaussian kernel whose width is the median distance between source
images (the median heuristic). It is 0 when the two distributions are the same and at most 2.

Why MMD: its unbiased estimate (the U-statistic below) has the same expectation whatever the
number of images, so a team's 40 images and a suite task's 4,000 are measured on one scale,
and a threshold calibrated on large tasks holds for small ones. A domain classifier (proxy
A-distance) saturates instead: on mini, logistic regression tells *every* task from the source
with 95–100% cross-validated accuracy, similar ones included. The Fréchet distance is biased
upwards by a few dozen images in 128 or 512 dimensions and needs a matrix square root.

Why the stem: the size–similarity rule is about the imaging domain ("ImageNet has cats and
dogs, not cancer cells"), which the lowest layers encode, while the top layers specialise to
the source's own classes (Yosinski et al., 2014). Measured with simple_cnn and resnet18
pretrained on mini (MMD², similar tasks / different tasks, up to 300 images per task; resnet18
from an earlier recipe of 2,000 source images per class):

==========================  ====================  ====================
features                    simple_cnn            resnet18
==========================  ====================  ====================
stem                        0.31–0.32 / 0.61      0.29–0.34 / 0.79–0.80
every body stage, joined    0.45–0.46 / 0.67–0.68 0.34–0.36 / 0.47–0.48
pooled (pre-logits)         0.15–0.18 / 0.07      0.19 / 0.15
==========================  ====================  ====================

The pooled features the classifier sees even put footwear *further* from clothing than
handwritten digits (what a clothing classifier's last layer encodes is which garment, and a
shoe is none); the stem separates the two kinds of task by a factor of 2–2.4.

Validation on held-out folders
------------------------------
Four calibration points cannot test a threshold set between them, so the statistic is
checked on the folders of :mod:`zoo.studies.heldout` (``make heldout``, report in
``leaderboards/placement.md``), named similar or different before any measurement. Round 1,
eight folders, chose how to combine backbones: with the first resnet18 build the statistic
put 7 of 8 on the named side, simple_cnn 6, and the mean of the two backbones' positions 5
(positions are in units of each backbone's own calibration gap, and simple_cnn's reach ±8
where resnet18's stay within ±3, so the mean follows simple_cnn). ``zoo recommend`` therefore
places a folder through one backbone, the one it recommends (highest LogME). Round 2, six
folders named after that change and before measuring, is its held-out test.

Through the five backbones of the current builds (googlenet, resnet18, resnet34, simple_cnn,
vgg11_bn), round 2 is 6 of 6, and every backbone alone would also place all six. Round 1 is 5
of 8: footwear through another camera (grey background, blur) lands on the different side
through every backbone; scikit-learn's upsampled 8×8 digits, blurred bright strokes on black
whose stem statistics resemble the clothing photographs', on the similar side through all but
simple_cnn (the stem sees the imaging conditions, not what is drawn); and low-resolution
footwear is right through googlenet and the resnets but not through simple_cnn or vgg11_bn,
which LogME picks for it.

The statistic was fixed before those folders existed. Alternatives were scored the same way
(the first resnet18 build; threshold from the four calibration tasks; right of round 1's 8 folders):

=====================================================================  ==========  =========
statistic                                                              calibration held out
=====================================================================  ==========  =========
MMD² of stem channel means (this module)                               separated   7
MMD² of stem channel means and standard deviations                     separated   5
MMD² of stage 1, 2 or 3 channel means; of stem and stage 1 joined      separated   3–5
MMD² of the pooled features                                            overlapping 3
BatchNorm statistics gap (KL of the target's batch statistics from     overlapping 4
each layer's running statistics; needs no source images)
kNN accuracy on pooled features minus kNN accuracy on pixels           separated   5
ridge accuracy, pooled features minus pixels                           overlapping 4
kNN or LogME, pretrained features minus randomly initialised ones      overlapping 2–5
kNN accuracy of the pooled features minus that of a lower stage        separated   5
=====================================================================  ==========  =========

The probes answer "do these features fit the labels?", which the rule of thumb's similarity
is about, but they also answer "is this task easy?": gratings and shapes are learnt from
any features, and pixels beat every network on upsampled digits, so no threshold set on
the suite's tasks carried over to the held-out ones.

Without source images
---------------------
ImageNet's images are never on hand, but a network trained on them carries a summary of them:
each BatchNorm layer's running mean and variance are its input's statistics over the source
(Ishii & Sugiyama, "Source-free Domain Adaptation via Distributional Alignment by Matching
Batch Normalization Statistics", 2021, arXiv 2101.10842, use them in place of the source).
Where a suite has no source data set (``imagenet_offline``, ``imagenet``), the statistic is
the divergence of the target from them at the stem's first BatchNorm layer, the lowest one,
for the reason the stem is read above: :func:`recorded_gap`, the Gaussian KL divergence of
the target's per-channel mean and variance (over every pixel) from the recorded ones,
averaged over channels, jackknifed over images so that its expectation does not depend on
the number of images. It was fixed, from that reasoning alone, before it measured any
held-out folder; calibration and threshold are as below. The jackknife was added after the
first measurement, when a test on synthetic images showed the plug-in estimate reading ten
images of the source itself as 0.044 away; it moved no calibrated value by more than a few
thousandths. A backbone whose stem has no BatchNorm (simple_cnn, AlexNet) cannot be read
this way, and the error says so.

Through the three EfficientNet-Lites, calibrated on imagenet_offline's Fashion-MNIST
(similar) and digits (different), it places 12 of the 14 held-out folders on the side named
for them against ImageNet before measuring (``make placement SUITE=imagenet_offline``,
``leaderboards/imagenet_offline/placement.md``; all 14 held out here): the natural-photograph
patches land well inside the similar side; scikit-learn's blurred, upsampled digits and the
mid-grey gratings land on the similar side too, wrongly, the digits as they do under MMD²
through mini's backbones.

The same statistic could serve mini, whose backbones have BatchNorm stems too (all but
simple_cnn), and one method for both sources would be worth more than two; but where mini's
source images are on hand, MMD² measures better. Through resnet18 (the committed build,
1176cc3d13), calibrated on mini's tasks, the BatchNorm statistics place 10 of the 14
held-out folders on their named side, MMD² 11 (``ZOO_HELDOUT_ARCHS=resnet18
ZOO_HELDOUT_OUT=runs/heldout/placement-resnet18 make placement``,
``runs/heldout/placement-resnet18/placement.md``): they get the gratings right and lose the
recaptured and the low-resolution footwear and the printed digits. So a suite with a source
data set keeps MMD².

Both read the imaging domain, which is what the rule of thumb's examples are about, and not
whether the pretrained features fit the task: over ten held-out folders benched through
resnet18, Spearman's ρ between the position and how far the linear probe falls behind the
best strategy is −0.15 (p = 0.68) for MMD² and −0.16 for the BatchNorm statistics, where a
positive ρ was expected (``make heldout``, ``leaderboards/similarity_gap.md``).

Calibration
-----------
Every task of a suite declares whether it is similar to the source. :func:`calibrate`
measures the statistic on each task's training images (at most :data:`SAMPLE`) and puts the
threshold halfway between the largest value of a similar task and the smallest of a
different one. A target's *position* is its distance from the threshold in units of half that
gap: -1 is as far from the source as the least similar "similar" task, +1 as close as the
most similar "different" one. When the tasks overlap (the statistic cannot tell them apart
for this backbone) the threshold is halfway between the two groups' means and the
calibration says it is not separated. A calibration depends only on the backbone's weights
and the suite, so it is stored under ``$ZOO_HOME/similarity/<suite>/`` and computed once.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import tempfile
from dataclasses import asdict, dataclass
from pathlib import Path

import torch

from zoo.bench.features import Stem, SuiteBackbone
from zoo.errors import ZooError
from zoo.models.backbone import stem_batchnorm
from zoo.paths import zoo_home
from zoo.plugin.dataset import DatasetSpec
from zoo.plugin.registry import Registry
from zoo.plugin.suite import SuiteSpec, load_selection
from zoo.progress import progress

__all__ = [
    "Calibration", "CalibrationPoint", "Recorded", "Reference", "SimilarityReading", "calibrate", "mmd2", "read", "recorded",
    "recorded_gap", "reference", "statistic",
]  # fmt: skip

STATISTIC = "mmd2 of standardised stem channel means, Gaussian kernel, median bandwidth"
RECORDED = "Gaussian KL divergence of the stem's first BatchNorm input from its running statistics, mean over channels, jackknifed over images"
VERSION = 3  # bump when a statistic changes: stored calibrations are then recomputed
SOURCE_PER_CLASS = 100  # source images per class in the reference sample
SAMPLE = 500  # at most this many target images enter the statistic
SEED = 0  # draws the samples


def mmd2(x: torch.Tensor, y: torch.Tensor, bandwidth2: float) -> float:
    """Unbiased MMD² between the rows of ``x`` and of ``y`` (each at least two) under the
    kernel ``exp(-‖a - b‖² / 2 bandwidth2)``."""
    x, y = x.double(), y.double()

    def kernel(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        return torch.exp(-torch.cdist(a, b).pow(2) / (2 * bandwidth2))

    n, m = len(x), len(y)
    kxx, kyy = kernel(x, x), kernel(y, y)
    within_x = (kxx.sum() - kxx.diagonal().sum()) / (n * (n - 1))
    within_y = (kyy.sum() - kyy.diagonal().sum()) / (m * (m - 1))
    return float(within_x + within_y - 2 * kernel(x, y).mean())


def _sample(count: int, seed: int = SEED) -> torch.Tensor:
    """Indices of at most :data:`SAMPLE` of ``count`` items, drawn by ``seed``."""
    generator = torch.Generator().manual_seed(seed)
    return torch.randperm(count, generator=generator)[:SAMPLE].sort().values


@dataclass(frozen=True)
class Reference:
    """The source domain as one backbone's stem sees it, from a sample of its images: what
    every target is compared to where the suite has its source data set."""

    mean: torch.Tensor  # per-channel mean of the source's stem features
    std: torch.Tensor  # and their standard deviation
    features: torch.Tensor  # the source sample's stem features, standardised
    bandwidth2: float  # squared median distance between the standardised source images
    statistic: str = STATISTIC
    kind: str = "stem-mmd"  # names its stored calibrations

    def standardise(self, stem: torch.Tensor) -> torch.Tensor:
        return (stem - self.mean) / self.std

    def distance(self, stem: Stem) -> float:
        """The statistic for images with this stem view (at most :data:`SAMPLE` used)."""
        _at_least_two(stem)
        return mmd2(self.standardise(stem.means[_sample(len(stem))]), self.features, self.bandwidth2)


@dataclass(frozen=True)
class Recorded:
    """The source domain as the stem's first BatchNorm layer recorded it: its running mean and
    variance, what every target is compared to where no source image is on hand."""

    mean: torch.Tensor  # [C] running mean of the BatchNorm's input over the source
    var: torch.Tensor  # [C] running variance, plus the layer's eps
    eps: float
    statistic: str = RECORDED
    kind: str = "stem-batchnorm"

    def distance(self, stem: Stem) -> float:
        """:func:`recorded_gap` for images with this stem view (at most :data:`SAMPLE` used)."""
        _at_least_two(stem)
        return recorded_gap(stem.moments[_sample(len(stem))], self.mean, self.var, self.eps)


def recorded_gap(moments: torch.Tensor, mean: torch.Tensor, var: torch.Tensor, eps: float) -> float:
    """Mean over channels of KL(N(m, v) ‖ N(mean, var)), where m and v are the target's mean and
    variance of the BatchNorm's input over every pixel of every image, from ``moments``
    [N, 2, C] (each image's per-channel mean and mean square), and ``var`` includes the
    layer's ``eps``, as v then does.

    The plug-in estimate reads a few images as farther from the source than many of the same
    images (m and v are noisy, and the divergence is smallest at the truth), by a bias of
    order 1/N. The jackknife over images removes it, so that a folder of 20 images and a task
    of 500 are measured on one scale.
    """
    moments = moments.double()
    n = len(moments)
    total = moments.sum(0)  # [2, C]
    whole = _gaussian_kl(total[None] / n, mean, var, eps)
    left_out = _gaussian_kl((total[None] - moments) / (n - 1), mean, var, eps)  # [N]: without each image
    return float(n * whole[0] - (n - 1) * left_out.mean())


def _gaussian_kl(moments: torch.Tensor, mean: torch.Tensor, var: torch.Tensor, eps: float) -> torch.Tensor:
    """[K] mean over channels of KL(N(m, v) ‖ N(mean, var)) for K pooled [2, C] first and second moments."""
    m = moments[:, 0]
    v = (moments[:, 1] - m.pow(2)).clamp_min(0) + eps
    ratio = v / var.double()
    return (0.5 * (ratio + (m - mean.double()).pow(2) / var.double() - 1 - ratio.log())).mean(1)


def _at_least_two(stem: Stem) -> None:
    if len(stem) < 2:
        raise ZooError("similarity needs at least two images")


def statistic(datasets: Registry[DatasetSpec], backbone: SuiteBackbone) -> Reference | Recorded:
    """What ``backbone``'s targets are compared to: a sample of the source's images when its
    suite has a source data set (loaded from ``datasets``, the plugin set's registry), else the
    statistics its stem's BatchNorm recorded on the source."""
    suite = backbone.suite
    if suite.source is not None:
        return reference(datasets, backbone)
    found = recorded(backbone)
    if found is None:
        raise ZooError(
            f"suite {suite.name!r} has no source images ({suite.source_description}) and {backbone.arch.name}'s stem has no "
            f"BatchNorm statistics to stand in for them, so its similarity cannot be measured; leave {backbone.arch.name} out "
            "with --arch, or use a suite with a source data set, such as mini"
        )
    return found


def recorded(backbone: SuiteBackbone) -> Recorded | None:
    """The source statistics ``backbone``'s stem BatchNorm recorded, or None without one."""
    norm = stem_batchnorm(backbone.model)
    if norm is None:
        return None
    return Recorded(norm.running_mean.detach().float().cpu(), (norm.running_var.detach().float() + norm.eps).cpu(), norm.eps)


def reference(datasets: Registry[DatasetSpec], backbone: SuiteBackbone) -> Reference:
    """The source sample of ``backbone``'s suite (:data:`SOURCE_PER_CLASS` images per class),
    loaded from ``datasets``, the plugin set's registry."""
    suite = backbone.suite
    budget = suite.source.train_per_class
    per_class = SOURCE_PER_CLASS if budget is None else min(SOURCE_PER_CLASS, budget)
    source, _ = load_selection(datasets, dataclasses.replace(suite.source, train_per_class=per_class), seed=SEED)
    stem = backbone.stem_features(source).means
    mean, std = stem.mean(0), stem.std(0).clamp_min(1e-6)
    features = (stem - mean) / std
    distances = torch.pdist(features.double())
    return Reference(mean, std, features, float(distances.median()) ** 2)


@dataclass(frozen=True)
class CalibrationPoint:
    """The statistic on one of the suite's tasks."""

    task: str
    similarity: str  # what the task declares: "similar" or "different"
    size: str  # "large" or "small"
    images: int  # training images the statistic was measured on
    value: float


@dataclass(frozen=True)
class Calibration:
    """One backbone's threshold between a suite's similar and different tasks."""

    suite: str
    variant: str  # the backbone's weights, "<arch>.<tag>"
    points: tuple[CalibrationPoint, ...]
    threshold: float  # below: similar
    scale: float  # half the gap between the groups: a position of ±1 is that far from the threshold
    separated: bool  # every similar task lies below every different one

    @classmethod
    def from_points(cls, suite: str, variant: str, points: list[CalibrationPoint]) -> Calibration:
        similar = [p.value for p in points if p.similarity == "similar"]
        different = [p.value for p in points if p.similarity == "different"]
        if not similar or not different:
            missing = "similar" if not similar else "different"
            raise ZooError(f"suite {suite!r} has no {missing} task, so similarity to its source cannot be calibrated")
        separated = max(similar) < min(different)
        if separated:
            low, high = max(similar), min(different)
        else:
            low, high = sum(similar) / len(similar), sum(different) / len(different)
        return cls(suite, variant, tuple(points), (low + high) / 2, max(abs(high - low) / 2, 1e-12), separated)

    def position(self, value: float) -> float:
        """Where ``value`` lies: negative similar, positive different; ±1 at the nearest tasks."""
        return (value - self.threshold) / self.scale


def _key(backbone: SuiteBackbone, ref: Reference | Recorded) -> str:
    suite = backbone.suite
    described = {
        "version": VERSION,
        "statistic": ref.statistic,
        "weights": backbone.checksum,
        "input_size": backbone.input_size,
        "source": asdict(suite.source) if suite.source is not None else suite.source_description,
        "tasks": [[t.name, t.similarity, t.size, asdict(t.data)] for t in suite.tasks],
        "source_per_class": SOURCE_PER_CLASS,
        "sample": SAMPLE,
        "seed": SEED,
    }
    return hashlib.sha256(json.dumps(described, sort_keys=True).encode()).hexdigest()


def _cache_path(suite: SuiteSpec, variant: str, kind: str) -> Path:
    return zoo_home() / "similarity" / suite.name / f"{variant}.{kind}.json"


def calibrate(datasets: Registry[DatasetSpec], backbone: SuiteBackbone, ref: Reference | Recorded) -> Calibration:
    """The backbone's calibration on its suite's tasks, from ``$ZOO_HOME`` when stored there
    for these very weights, tasks and statistic; otherwise measured (the tasks' images loaded
    from ``datasets``) and stored."""
    suite = backbone.suite
    path, key = _cache_path(suite, backbone.variant, ref.kind), _key(backbone, ref)
    try:
        stored = json.loads(path.read_text())
        if stored["key"] == key:
            points = [CalibrationPoint(**p) for p in stored["points"]]
            return Calibration.from_points(suite.name, backbone.variant, points)
    except (OSError, ValueError, KeyError, TypeError):
        pass  # absent, unreadable or stale: measure again
    points = []
    with progress(f"calibrate similarity of {backbone.variant} on {suite.name}", len(suite.tasks)) as bar:
        for done, task in enumerate(suite.tasks, 1):
            train, _ = load_selection(datasets, task.data, seed=SEED)
            sample = train.subset(_sample(len(train)))
            value = ref.distance(backbone.stem_features(sample))
            points.append(CalibrationPoint(task.name, task.similarity, task.size, len(sample), round(value, 6)))
            bar.update(done, f"{task.name}: {value:.4f}")
    calibration = Calibration.from_points(suite.name, backbone.variant, points)
    _write_atomic(path, {"key": key, "statistic": ref.statistic, "points": [asdict(p) for p in points]})
    return calibration


def _write_atomic(path: Path, data: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile("w", dir=path.parent, suffix=".tmp", delete=False) as tmp:
        tmp.write(json.dumps(data, indent=2) + "\n")
    os.replace(tmp.name, path)


@dataclass(frozen=True)
class SimilarityReading:
    """One backbone's measurement of a target's similarity to the source."""

    variant: str
    value: float
    calibration: Calibration
    statistic: str  # what ``value`` is, in words

    @property
    def position(self) -> float:
        return self.calibration.position(self.value)

    @property
    def verdict(self) -> str:
        return "similar" if self.value < self.calibration.threshold else "different"


def read(datasets: Registry[DatasetSpec], backbone: SuiteBackbone, stem: Stem) -> SimilarityReading:
    """The statistic for a target with this stem view, with the backbone's calibration (the
    suite's images loaded from ``datasets``)."""
    ref = statistic(datasets, backbone)
    return SimilarityReading(backbone.variant, ref.distance(stem), calibrate(datasets, backbone, ref), ref.statistic)
