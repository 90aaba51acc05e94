"""``zoo recommend``: a backbone and a transfer strategy for a team's own image folder.

The folder is placed in the suite's size–similarity matrix by forward passes only
(:mod:`zoo.recommend.placement`), and the backbones are ranked by LogME on the team's own
labels. The strategy is the one the rule of thumb names for the quadrant
(:func:`zoo.matrix.rule_of_thumb`, the function the leaderboard's verdict uses), checked
against the results database: where the suite's task in the same quadrant was measured, the
leaderboard's verdict over all architectures decides. Its measured winner is recommended when
the verdict is decisive (the 95% confidence interval of its margin lies above zero), and the
rule of thumb's pick otherwise; the reasons quote the margin and its interval.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import torch

from zoo.data.images import ImageSet
from zoo.errors import ZooError
from zoo.leaderboard.boards import build_leaderboard
from zoo.leaderboard.verdict import OVERALL, Verdict, deciding_verdicts
from zoo.leaderboard.writers import strategy_rule
from zoo.matrix import rule_of_thumb
from zoo.plugin.suite import SuiteSpec
from zoo.recommend import DEFAULT_SUITE
from zoo.recommend.placement import Placement, place, prepare
from zoo.recommend.similarity import RECORDED
from zoo.results.read import read_results

if TYPE_CHECKING:
    from zoo.plugin.manager import PluginSet

__all__ = ["Measured", "Recommendation", "default_results", "measured", "recommend"]

DEFAULT_RESULTS = Path("leaderboards/results.sqlite")  # the default benchmark's: mini's committed run


def default_results(suite: SuiteSpec) -> Path:
    """The results database of ``suite``'s committed run: :data:`DEFAULT_RESULTS` for mini,
    ``leaderboards/<suite>/results.sqlite`` for the others."""
    return DEFAULT_RESULTS if suite.name == "mini" else DEFAULT_RESULTS.parent / suite.name / DEFAULT_RESULTS.name


@dataclass(frozen=True)
class Evidence:
    """A leaderboard verdict as ``zoo recommend`` quotes it: deciding, or shown beside."""

    verdict: Verdict
    deciding: bool  # the verdict that answers its task setting (over all architectures, or the only one measured)

    def as_dict(self) -> dict:
        return {**self.verdict.row(), "deciding": self.deciding}


@dataclass(frozen=True)
class Measured:
    """What the leaderboard of the results database says about the suite's task in a quadrant."""

    path: Path
    verdicts: list[Evidence]  # per task setting: the deciding verdict, then the chosen backbone's own

    @property
    def deciding(self) -> list[Verdict]:
        """Per task setting, its verdict over all architectures (or on the only one measured)."""
        return [e.verdict for e in self.verdicts if e.deciding]

    @property
    def winner(self) -> str | None:
        """The measured winner when every deciding verdict is decisive and names it; else None."""
        winners = {v.measured for v in self.deciding}
        if len(winners) == 1 and all(v.decisive for v in self.deciding):
            return winners.pop()
        return None


def measured(
    plugins: PluginSet, results: Path, suite: SuiteSpec, quadrant: str, architecture: str | None = None
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
    verdicts = build_leaderboard(rows, strategy_rule(plugins)).verdicts if rows else []
    deciding = deciding_verdicts(verdicts)
    shown = []
    for key in dict.fromkeys(v.setting for v in verdicts):
        answer = [v for v in deciding if v.setting == key]
        shown += [Evidence(v, True) for v in answer]
        shown += [Evidence(v, False) for v in verdicts if v.setting == key and v.scope == architecture and v not in answer]
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
                "verdicts": [e.as_dict() for e in self.measured.verdicts],
            },
            "results": str(self.results),
            "reasons": self.reasons,
        }


def recommend(
    plugins: PluginSet,
    data: Path | str | ImageSet,
    suite: SuiteSpec | str = DEFAULT_SUITE,
    *,
    archs: Sequence[str] | None = None,
    device: torch.device | None = None,
    small_threshold: int | None = None,
    skip_corrupt: bool = False,
    results: Path | None = None,
) -> Recommendation:
    """A backbone (highest LogME) and a transfer strategy for ``data``; see the module docstring.

    Arguments are those of :func:`measure_quadrant`, plus ``results``: the results database
    whose measured winners check the rule of thumb (default :func:`default_results`; absent:
    the rule of thumb alone).
    """
    suite = plugins.suites.get(suite) if isinstance(suite, str) else suite
    results = default_results(suite) if results is None else Path(results)
    name = data.name if isinstance(data, ImageSet) else str(data)
    data, backbones = prepare(plugins, data, suite, archs, device, skip_corrupt)
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
    if placement.decided_by.statistic == RECORDED:
        reasons.append(
            f"Similarity is read from the statistics each backbone's first BatchNorm layer recorded on {suite.source_description} "
            "during its training, so no source image is needed: the further these images' statistics lie from them, the less similar."
        )
    else:
        reasons.append(f"Similarity compares the stem features of these images with those of a sample of {suite.source_description}.")
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
        command = "zoo bench" if suite.name == "mini" else f"zoo bench --suite {suite.name} --out {rec.results.parent}"
        reasons.append(f"No measured results for {placement.quadrant} in {rec.results}; run `{command}` to check the rule of thumb.")
        return reasons
    for e in rec.measured.verdicts:
        v = e.verdict
        if e.deciding:
            scope = "over the architectures measured" if v.scope == OVERALL else f"on {v.scope}, the only architecture measured"
        else:
            scope = f"on {v.scope} alone"
        reasons.append(f"Measured on {v.task} ({rec.measured.path}) {scope}: {v.verdict}.")
    winner, deciding = rec.measured.winner, rec.measured.deciding
    if winner == rec.rule_of_thumb:
        reasons.append(f"The verdict is decisive and agrees with the rule of thumb: {winner} is recommended.")
    elif winner is not None:
        reasons.append(
            f"The verdict is decisive, so the measured winner {winner} is recommended over the rule of thumb's {rec.rule_of_thumb}."
        )
    elif not deciding:
        reasons.append(f"No strategy was measured on every architecture, so the rule of thumb's {rec.rule_of_thumb} is recommended.")
    elif all(v.decisive for v in deciding):
        reasons.append(f"The task settings measured disagree on the winner, so the rule of thumb's {rec.rule_of_thumb} is recommended.")
    else:
        reasons.append(f"The verdict is not decisive, so the rule of thumb's {rec.rule_of_thumb} is recommended.")
    return reasons
