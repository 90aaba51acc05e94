"""How sure a verdict is: a 95% confidence interval of the margin between two strategies.

A verdict says strategy A beat strategy B by some points of mean top-1. Two things make that
margin vary from one experiment to the next, and the interval counts both:

* the **seeds**: each seed trains on another subset of the task's training images (and starts
  from another initialisation), so a strategy's accuracy moves from seed to seed;
* the **test images**: the test set is a sample of the domain, so an accuracy measured on it
  moves with the images drawn.

The interval is **paired**: seed *s* is the same training subset for every strategy, and every
cell of a task is scored on the same test images, so it is built from the per-seed differences
``d_s`` (A's top-1 minus B's) and the per-image differences, which cancel what both share. Its
variance has two parts: the seeds', ``var(d_s) / S``, and the test images', the variance over
images of the per-image difference (averaged over the seeds) divided by the images, less the
part of it the seeds already count (an ANOVA split: ``var_i(D_i) - mean_i var_s(x_si) / S``);
never less than ``var_i(D_i) / n``, what the images alone give the models measured.
The interval is Student's *t* on those, with Welch–Satterthwaite's degrees of freedom: with
three seeds the seeds' spread is known only roughly, and a normal or bootstrap quantile would
treat it as known. (A hierarchical bootstrap that resampled three seeds drew one seed three
times in 3.7% of its replicates and held nowhere near its 95%: ``make benchmark``'s
calibration figures in the README.)

**Choosing the winner is part of the test.** A verdict compares the best of ``K`` strategies
with the rule's pick (or, when the pick won, with the runner-up); among equally good
strategies the best one leads by chance. The interval's tails are therefore ``(1 - LEVEL) / K``
each instead of ``(1 - LEVEL) / 2`` (a Bonferroni bound over the comparisons the choice could
have made), so that a null setting of ``K`` strategies is called decisive at most 5% of the
time whatever the winner. :mod:`zoo.leaderboard.calibration` checks that bound by simulation
on the noise of the committed database.

A scope of several architectures (a verdict's overall line) averages the per-architecture
differences, seed *s* and image *i* being the same data in each: it speaks for these
architectures, not for others. Where a cell lacks its per-image results (``test_correct``,
not stored by older versions), the interval is over the seeds alone; with a single seed there
is none (a seed's spread cannot be seen in one).

Per-image results are stored as :func:`zoo.results.codec.encode_correct` writes them.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
from scipy import stats

LEVEL = 0.95  # the interval's coverage for a fixed pair; with K contenders each tail is (1 - LEVEL) / K


@dataclass(frozen=True)
class SeedRun:
    """One cell's test results: what a strategy scored with one seed."""

    top1: float  # fraction of the test images classified correctly
    correct: np.ndarray | None = None  # bool per test image, in the task's fixed order; None where not stored


@dataclass(frozen=True)
class Interval:
    """A confidence interval of A's mean top-1 minus B's, in points."""

    low: float | None  # None: no interval (fewer than two seeds both strategies have)
    high: float | None
    seeds: int  # seeds both strategies have on every architecture: those it is over
    images: int | None  # test images whose sampling it counts; None: over the seeds alone (no per-image results)
    estimate: float | None = None  # A minus B on those seeds, the margin the interval is of; None without a common seed

    @property
    def known(self) -> bool:
        return self.low is not None


def margin_interval(
    a: Sequence[Mapping[int, SeedRun]], b: Sequence[Mapping[int, SeedRun]], *, contenders: int = 2
) -> Interval:
    """The interval of A's mean top-1 minus B's, in points, over one or more architectures.

    :param a: per architecture of the scope, A's runs by seed; ``b`` the same for B, the
        architectures in the same order. Only the seeds both have on every architecture count.
    :param contenders: the strategies the winner was chosen among: each tail of the interval
        is ``(1 - LEVEL) / contenders`` (2: a fixed pair, the plain 95% interval).
    """
    if len(a) != len(b):
        raise ValueError(f"{len(a)} architectures for one strategy, {len(b)} for the other")
    common = sorted(set.intersection(*(set(ra) & set(rb) for ra, rb in zip(a, b)))) if a else []
    if not common:
        return Interval(None, None, 0, None)
    seeds = len(common)
    per_seed = np.array([statistics.fmean(ra[s].top1 - rb[s].top1 for ra, rb in zip(a, b)) for s in common])
    estimate = 100 * float(per_seed.mean())
    pairs = [(ra[s], rb[s]) for ra, rb in zip(a, b) for s in common]
    sizes = {len(run.correct) if run.correct is not None else None for pair in pairs for run in pair}
    images = next(iter(sizes)) if None not in sizes and len(sizes) == 1 else None
    if seeds < 2:
        return Interval(None, None, seeds, images, estimate)
    seed_variance = float(per_seed.var(ddof=1)) / seeds
    variance = seed_variance
    if images is not None:
        x = np.zeros((seeds, images))  # per seed and image: A right minus B right, averaged over the architectures
        for ra, rb in zip(a, b):
            x += np.stack([ra[s].correct.astype(np.int8) - rb[s].correct.astype(np.int8) for s in common])
        x /= len(a)
        between_images = float(x.mean(axis=0).var(ddof=1))
        within = float(x.var(axis=0, ddof=1).mean()) / seeds  # the seeds' share of it, already in seed_variance
        # Never below what the images alone give these very models: a few seeds can agree by chance.
        variance = max(seed_variance + max(0.0, between_images - within) / images, between_images / images)
    dof = (seeds - 1) * variance**2 / seed_variance**2 if seed_variance > 0 else math.inf
    half = float(stats.t.ppf(1 - (1 - LEVEL) / max(2, contenders), dof)) * math.sqrt(variance) if variance > 0 else 0.0
    return Interval(estimate - 100 * half, estimate + 100 * half, seeds, images, estimate)
