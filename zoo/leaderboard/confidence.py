"""How sure a verdict is: a 95% confidence interval of the margin between two strategies.

A verdict says strategy A beat strategy B by some points of mean top-1. Two things make that
margin vary from one experiment to the next, and the interval counts both:

* the **seeds**: each seed trains on another subset of the task's training images (and starts
  from another initialisation), so a strategy's accuracy moves from seed to seed;
* the **test images**: the test set is a sample of the domain, so an accuracy measured on it
  moves with the images drawn.

The bootstrap is **paired**, because both strategies saw the same data: seed *s* is the same
training subset for every architecture and strategy, and every cell of a task is scored on
the same test images in the same order. Resampling the seeds and the images once for both
strategies, instead of each on its own, cancels what they share (a hard seed, hard images)
and keeps only what tells them apart, which makes the interval as narrow as the evidence
allows and no narrower. It is **hierarchical**: each replicate resamples the seeds with
replacement and, independently, the test images with replacement (the same image indices
for every seed of that replicate), and computes the mean over the resampled seeds of
(A's accuracy − B's accuracy) on the resampled images. The interval is the 2.5th to 97.5th
percentile of :data:`REPLICATES` replicates, drawn from a generator seeded with :data:`SEED`
so the same results always give the same interval.

A scope of several architectures (a verdict's overall line) resamples the seeds and images
jointly for all of them, seed *s* and image *i* being the same data in each, and averages the
per-architecture differences. Where a cell lacks its per-image results (``test_correct``,
not stored by older versions), the images cannot be resampled and the bootstrap is over the
seeds alone, on the cells' top-1; with a single seed as well there is no interval.

Per-image results are stored as :func:`encode_correct` writes them: the hex string of the
correctness bits, packed little-endian; :func:`decode_correct` reads them back, given the
number of test images.
"""

from __future__ import annotations

import statistics
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

REPLICATES = 2000  # bootstrap replicates per interval
SEED = 0  # of the generator every interval draws from: the same results give the same interval
LEVEL = 0.95  # the interval's coverage
FEW_KINDS = 8  # images per distinct kind of difference above which a multinomial over the kinds is the faster draw


@dataclass(frozen=True)
class SeedRun:
    """One cell's test results: what a strategy scored with one seed."""

    top1: float  # fraction of the test images classified correctly
    correct: np.ndarray | None = None  # bool per test image, in the task's fixed order; None where not stored


@dataclass(frozen=True)
class Interval:
    """A confidence interval of A's mean top-1 minus B's, in points."""

    low: float | None  # None: no interval (one seed and no per-image results, or no seed both have)
    high: float | None
    seeds: int  # seeds both strategies have on every architecture: those resampled
    images: int | None  # test images resampled; None when the bootstrap was over the seeds alone
    estimate: float | None = None  # A minus B on those seeds, the margin the interval is of; None without a common seed

    @property
    def known(self) -> bool:
        return self.low is not None


def bootstrap_means(differences: np.ndarray, *, resample_images: bool, replicates: int = REPLICATES, seed: int = SEED) -> np.ndarray:
    """Replicates of the mean difference under the paired, hierarchical bootstrap.

    :param differences: seeds × test images: per seed, per image, A's correctness minus B's
        (summed over the scope's architectures); with ``resample_images`` False, one column
        per seed of differences that are not resampled (the cells' top-1).
    :returns: ``replicates`` values of the mean over resampled seeds of the mean over
        resampled images.
    """
    seeds, images = differences.shape
    rng = np.random.default_rng(seed)
    seed_counts = rng.multinomial(seeds, np.full(seeds, 1 / seeds), size=replicates)  # how often each seed was drawn
    if resample_images:
        per_seed = _image_sums(rng, differences, replicates)
    else:
        per_seed = np.broadcast_to(differences.sum(axis=1), (replicates, seeds))
    return (seed_counts * per_seed).sum(axis=1) / (seeds * images)


def _image_sums(rng: np.random.Generator, differences: np.ndarray, replicates: int) -> np.ndarray:
    """Replicates × seeds: each seed's differences summed over one draw of the test images
    with replacement per replicate, the same draw for every seed.

    Images whose differences are the same on every seed are interchangeable, so a draw only
    needs how many images of each kind it took: a multinomial over the distinct kinds, with
    their shares as probabilities. That is the same distribution as drawing image indices,
    and fast while the kinds are few (with -1, 0, 1 per seed, at most 3 ** seeds). Where
    nearly every image is a kind of its own, the counts per image come from the indices.
    The counts and differences are whole numbers, so every sum is exact.
    """
    images = differences.shape[1]
    kinds, sizes = np.unique(differences.T, axis=0, return_counts=True)
    if len(kinds) * FEW_KINDS <= images:
        return rng.multinomial(images, sizes / images, size=replicates) @ kinds
    sums = np.empty((replicates, differences.shape[0]))
    for replicate in range(replicates):
        sums[replicate] = np.bincount(rng.integers(0, images, images), minlength=images) @ differences.T
    return sums


def margin_interval(
    a: Sequence[Mapping[int, SeedRun]],
    b: Sequence[Mapping[int, SeedRun]],
    *,
    replicates: int = REPLICATES,
    seed: int = SEED,
) -> Interval:
    """The 95% interval of A's mean top-1 minus B's, in points, over one or more architectures.

    :param a: per architecture of the scope, A's runs by seed; ``b`` the same for B, the
        architectures in the same order. Only the seeds both have on every architecture count.
    """
    if len(a) != len(b):
        raise ValueError(f"{len(a)} architectures for one strategy, {len(b)} for the other")
    common = sorted(set.intersection(*(set(ra) & set(rb) for ra, rb in zip(a, b)))) if a else []
    if not common:
        return Interval(None, None, 0, None)
    top1_differences = [sum(ra[s].top1 - rb[s].top1 for ra, rb in zip(a, b)) for s in common]  # per seed, summed over architectures
    # The margin the interval is about: over the seeds both have, which a mean over all of a
    # strategy's seeds is not when one of them lacks a seed.
    estimate = 100 * statistics.fmean(top1_differences) / len(a)
    pairs = [(ra[s], rb[s]) for ra, rb in zip(a, b) for s in common]
    sizes = {len(run.correct) if run.correct is not None else None for pair in pairs for run in pair}
    if None not in sizes and len(sizes) == 1:
        (images,) = sizes
        differences = np.zeros((len(common), images))
        for ra, rb in zip(a, b):
            differences += np.stack([ra[s].correct.astype(np.int8) - rb[s].correct.astype(np.int8) for s in common])
        means = bootstrap_means(differences, resample_images=True, replicates=replicates, seed=seed)
    elif len(common) > 1:
        images = None
        differences = np.array(top1_differences)[:, None]
        means = bootstrap_means(differences, resample_images=False, replicates=replicates, seed=seed)
    else:
        return Interval(None, None, len(common), None, estimate)
    tail = 100 * (1 - LEVEL) / 2
    low, high = np.percentile(100 * means / len(a), [tail, 100 - tail])
    return Interval(float(low), float(high), len(common), images, estimate)
