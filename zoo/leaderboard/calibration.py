"""Does a verdict's "decisive" hold its 5%? Simulated null experiments, with the noise of a
results database, through the verdict's whole procedure.

A *null* task setting has four strategies that are equally good: any verdict there that calls
a winner decisive is false. Each simulated setting draws what a bench would measure:

* a test set of ``images`` images, each with its own easiness ``a_i ~ N(mu, rho)``, shared by
  every cell (as a task's fixed test set is);
* per cell (strategy × seed) a shift ``m ~ N(0, tau²)``, what another training subset and
  initialisation do to a network's accuracy, the same in law for every strategy;
* per cell and image, noise ``e ~ N(0, 1 - rho)``; the cell is right on image *i* when
  ``a_i + m + e > 0``.

Three figures of the database fix ``mu``, ``rho`` and ``tau`` for each task
(:func:`fit_shape`): its mean top-1, how often two seeds of one (architecture, strategy) group
disagree on a test image, and the spread of a group's top-1 over its seeds. Then
:func:`false_decisive_rate` runs :func:`zoo.leaderboard.verdict.decide` on each draw, the
choice of the winner among the four included, one of them being the rule's pick, and counts
the decisive calls. ``make test`` runs it small (``tests/test_calibration.py``), ``make
benchmark`` at full size with its figures printed.
"""

from __future__ import annotations

import statistics
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from itertools import combinations

import numpy as np
from scipy import optimize, stats

from zoo.leaderboard.confidence import SeedRun
from zoo.leaderboard.verdict import Contender, decide
from zoo.results.codec import decode_correct
from zoo.results.schema import CellResult
from zoo.results.sweep import selected_rows

STRATEGIES = ("pick", "other_1", "other_2", "other_3")  # the null's four strategies; "pick" is the rule's
QUADRANT = "Q4"
NULL_RULE = {"pick": (QUADRANT,), "other_1": (), "other_2": (), "other_3": ()}


@dataclass(frozen=True)
class NoiseShape:
    """One task's noise: the test set's size, the accuracy level, and the two spreads."""

    task: str
    images: int
    top1: float  # mean top-1 of a group, a fraction
    disagreement: float  # share of test images on which two seeds of one group differ
    seed_sd: float  # standard deviation of a group's top-1 over its seeds, a fraction


@dataclass(frozen=True)
class NullModel:
    """The latent model of :mod:`zoo.leaderboard.calibration` fitted to a :class:`NoiseShape`."""

    shape: NoiseShape
    mu: float
    rho: float  # the share of an image's latent variance that every cell shares
    tau: float  # the standard deviation of a cell's shift

    def draw(self, rng: np.random.Generator, seeds: int) -> dict[str, dict[int, SeedRun]]:
        """One null task setting: per strategy, per seed, its run on one shared test set."""
        n = self.shape.images
        easiness = rng.normal(self.mu, np.sqrt(self.rho), n)
        runs: dict[str, dict[int, SeedRun]] = {}
        for strategy in STRATEGIES:
            shifts = rng.normal(0.0, self.tau, (seeds, 1))
            correct = easiness + shifts + rng.normal(0.0, np.sqrt(1 - self.rho), (seeds, n)) > 0
            runs[strategy] = {s: SeedRun(float(c.mean()), c) for s, c in enumerate(correct)}
        return runs


def shapes_from(cells: Iterable[CellResult]) -> list[NoiseShape]:
    """Each task's :class:`NoiseShape` from the groups the leaderboards report (each at its
    chosen rate, :func:`zoo.results.sweep.selected_rows`) with three seeds or more: the median
    over groups of the mean top-1, of the seed spread and of the disagreement of every two
    seeds, so that a typical group sets it."""
    groups: dict[tuple, dict[int, CellResult]] = defaultdict(dict)
    for cell in selected_rows(cells):
        if cell.status == "ok" and cell.test_correct and cell.test_images:
            groups[(cell.task, cell.architecture, cell.strategy)][cell.seed] = cell
    by_task: dict[str, dict[str, list[float]]] = defaultdict(lambda: defaultdict(list))
    images: dict[str, int] = {}
    for (task, _, _), seeds in groups.items():
        if len(seeds) < 3:
            continue
        tops = [c.top1 for c in seeds.values()]
        correct = [decode_correct(c.test_correct, c.test_images) for c in seeds.values()]
        by_task[task]["top1"].append(statistics.fmean(tops))
        # A sample's sd over three seeds is below the spread it estimates more often than not:
        # scaled by the median of chi² so that half of the groups' figures fall on each side.
        by_task[task]["sd"].append(statistics.stdev(tops) / np.sqrt(stats.chi2.median(len(tops) - 1) / (len(tops) - 1)))
        by_task[task]["disagreement"] += [float(np.mean(x != y)) for x, y in combinations(correct, 2)]
        images[task] = next(iter(seeds.values())).test_images
    return [
        NoiseShape(task, images[task], *(statistics.median(figures[k]) for k in ("top1", "disagreement", "sd")))
        for task, figures in sorted(by_task.items())
    ]


def fit_shape(shape: NoiseShape) -> NullModel:
    """``mu``, ``rho`` and ``tau`` that give the shape's accuracy, disagreement and seed spread.

    The latent score of a cell on an image, ``a + m + e``, is normal with variance ``1 + tau²``,
    and two cells' scores on one image correlate by ``rho / (1 + tau²)``: that fixes the mean
    top-1 and the disagreement. A cell's top-1 varies over its shifts as ``Phi(mu + m)`` does,
    plus the binomial noise of its images given the shift.
    """
    z = stats.norm.ppf(shape.top1)
    nodes, weights = np.polynomial.hermite_e.hermegauss(40)
    weights = weights / weights.sum()

    def rho_for(tau: float) -> float:
        scale = 1 + tau**2
        target = shape.top1 - shape.disagreement / 2  # both right

        def both_right(rho: float) -> float:
            r = min(rho / scale, 0.999999)
            return stats.multivariate_normal([0, 0], [[1, r], [r, 1]]).cdf([z, z]) - target

        low, high = 1e-6, scale * 0.999
        if both_right(low) > 0:
            return low
        if both_right(high) < 0:
            return min(high, 0.999)
        return min(optimize.brentq(both_right, low, high, xtol=1e-6), 0.999)

    def seed_sd(tau: float) -> float:
        rho = rho_for(tau)
        mu = z * np.sqrt(1 + tau**2)
        level = stats.norm.cdf(mu + tau * nodes)  # top-1 given the shift, over the images' law
        between = float(weights @ (level - weights @ level) ** 2)
        a = mu + tau * nodes[:, None] + np.sqrt(rho) * nodes[None, :]
        within = float(weights @ (stats.norm.cdf(a / np.sqrt(1 - rho)) * stats.norm.sf(a / np.sqrt(1 - rho))) @ weights)
        return np.sqrt(between + within / shape.images) - shape.seed_sd

    tau = optimize.brentq(seed_sd, 1e-4, 3.0, xtol=1e-6) if seed_sd(1e-4) < 0 else 1e-4
    rho = rho_for(tau)
    return NullModel(shape, float(z * np.sqrt(1 + tau**2)), float(rho), float(tau))


@dataclass(frozen=True)
class Calibration:
    """The false "decisive" rate on one task shape."""

    task: str
    seeds: int
    simulations: int
    decisive: int  # false decisive calls among them
    above_zero: int  # intervals whose low end was above zero, called decisive or not (MIN_SEEDS)

    @property
    def rate(self) -> float:
        return self.decisive / self.simulations

    @property
    def interval_rate(self) -> float:
        """How often the interval alone would have called it: what chooses MIN_SEEDS."""
        return self.above_zero / self.simulations


def false_decisive_rate(model: NullModel, *, seeds: int, simulations: int, seed: int = 0) -> Calibration:
    """Run the verdict (:func:`zoo.leaderboard.verdict.decide`) on ``simulations`` null
    settings drawn from ``model`` with ``seeds`` seeds each; count its decisive calls."""
    rng = np.random.default_rng(seed)
    decisive = above_zero = 0
    for _ in range(simulations):
        runs = model.draw(rng, seeds)
        contenders = [
            Contender(name, 100 * statistics.fmean(r.top1 for r in by_seed.values()), seeds, (by_seed,)) for name, by_seed in runs.items()
        ]
        decision = decide(contenders, QUADRANT, NULL_RULE)
        decisive += bool(decision.decisive)
        above_zero += decision.ci_low_points is not None and decision.ci_low_points > 0
    return Calibration(model.shape.task, seeds, simulations, decisive, above_zero)

