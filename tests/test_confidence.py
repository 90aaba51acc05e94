"""The verdict's confidence interval: a paired, hierarchical bootstrap over seeds and test images."""

from __future__ import annotations

import time

import numpy as np
import pytest

from zoo.leaderboard.confidence import SeedRun, bootstrap_means, margin_interval
from zoo.results.codec import decode_correct, encode_correct

N = 4000


def runs(correct_by_seed: dict[int, np.ndarray]) -> dict[int, SeedRun]:
    return {seed: SeedRun(float(c.mean()), c) for seed, c in correct_by_seed.items()}


def flip(correct: np.ndarray, images: np.ndarray) -> np.ndarray:
    flipped = correct.copy()
    flipped[images] = ~flipped[images]
    return flipped


@pytest.fixture
def base() -> dict[int, np.ndarray]:
    """Three seeds of a strategy right on about 80% of N test images."""
    rng = np.random.default_rng(7)
    return {seed: rng.random(N) < 0.8 for seed in range(3)}


def test_the_stored_bits_round_trip():
    correct = np.random.default_rng(0).random(13) < 0.5
    text = encode_correct(correct)
    assert text == np.packbits(correct, bitorder="little").tobytes().hex() and len(text) == 4  # 13 flags in 2 bytes
    assert np.array_equal(decode_correct(text, 13), correct)
    assert decode_correct(encode_correct([True] * 8), 8).all() and decode_correct("", 0).size == 0
    with pytest.raises(ValueError, match="fewer than the 17 test images"):
        decode_correct(text, 17)
    with pytest.raises(ValueError):
        decode_correct("not hex", 4)


def test_a_consistent_difference_has_an_interval_around_it_that_excludes_zero(base):
    rng = np.random.default_rng(1)
    better = {}
    for seed, correct in base.items():  # 120 images wrong for B become right for A: 3 points on every seed
        better[seed] = flip(correct, rng.choice(np.flatnonzero(~correct), 120, replace=False))
    interval = margin_interval([runs(better)], [runs(base)])
    assert interval.seeds == 3 and interval.images == N and interval.known
    assert 0 < interval.low < 3.0 < interval.high and interval.high - interval.low < 1.5


def test_seeds_that_disagree_in_sign_give_an_interval_across_zero(base):
    rng = np.random.default_rng(2)
    other = {}
    for seed, correct in base.items():  # A behind by 4 points on seeds 0 and 2, ahead by 6 on seed 1
        wrong, right = np.flatnonzero(~correct), np.flatnonzero(correct)
        changed = rng.choice(right, 240, replace=False) if seed == 1 else rng.choice(wrong, 160, replace=False)
        other[seed] = flip(correct, changed)
    interval = margin_interval([runs(base)], [runs(other)])
    assert interval.low < -1 and interval.high > 1  # the seeds alone spread it: one seed drawn thrice gives ±4–6


def test_identical_strategies_give_zero_and_the_same_interval_every_time(base):
    assert margin_interval([runs(base)], [runs(base)]) == margin_interval([runs(base)], [runs(base)])
    interval = margin_interval([runs(base)], [runs(base)])
    assert interval.low == interval.high == 0.0
    shifted = {s: np.roll(c, 1) for s, c in base.items()}
    assert margin_interval([runs(base)], [runs(shifted)]) == margin_interval([runs(base)], [runs(shifted)])


def test_only_seeds_both_strategies_have_count(base):
    a = runs(base)
    b = {0: a[0], 5: a[1]}
    assert margin_interval([a], [b]).seeds == 1  # seed 0 alone, its images still resampled
    assert margin_interval([a], [{9: a[0]}]) == margin_interval([a], [{}])
    assert not margin_interval([a], [{9: a[0]}]).known


def test_without_per_image_results_the_seeds_alone_are_resampled():
    a = {0: SeedRun(0.80), 1: SeedRun(0.82), 2: SeedRun(0.84)}
    b = {0: SeedRun(0.70), 1: SeedRun(0.74, np.ones(N, bool)), 2: SeedRun(0.72)}  # one cell's images are not enough
    interval = margin_interval([a], [b])
    assert interval.images is None and interval.seeds == 3
    assert interval.low == pytest.approx(8.0) and interval.high == pytest.approx(12.0)  # differences 10, 8, 12
    assert not margin_interval([{0: SeedRun(0.8)}], [{0: SeedRun(0.7)}]).known  # one seed, no images: unknown


def test_several_architectures_are_resampled_together(base):
    rng = np.random.default_rng(3)
    a1 = {s: flip(c, rng.choice(np.flatnonzero(~c), 80, replace=False)) for s, c in base.items()}  # +2 points
    second = {s: np.roll(c, 17) for s, c in base.items()}
    a2 = {s: flip(c, rng.choice(np.flatnonzero(c), 40, replace=False)) for s, c in second.items()}  # -1 point
    joint = margin_interval([runs(a1), runs(a2)], [runs(base), runs(second)])
    assert joint.seeds == 3 and joint.images == N
    assert joint.low < 0.5 < joint.high  # the mean of +2 and -1
    with pytest.raises(ValueError, match="2 architectures for one strategy, 1 for the other"):
        margin_interval([runs(a1), runs(a2)], [runs(base)])


@pytest.mark.parametrize("kinds", ["few", "many"])
def test_image_resampling_has_the_bootstrap_spread(kinds):
    """Resampled images: the mean's standard deviation is the differences' over √n, whether
    the draw goes through the few kinds of difference or through every image."""
    rng = np.random.default_rng(4)
    n = 4000 if kinds == "few" else 300
    differences = rng.integers(-1, 2, size=(1, n)) if kinds == "few" else rng.integers(-100, 101, size=(1, n))
    means = bootstrap_means(differences.astype(float), resample_images=True, replicates=4000)
    assert means.mean() == pytest.approx(differences.mean(), abs=3 * differences.std() / np.sqrt(n) / np.sqrt(4000) + 1e-12)
    assert means.std() == pytest.approx(differences.std() / np.sqrt(n), rel=0.08)


def test_three_seeds_of_four_thousand_images_take_well_under_a_second(base):
    a, b = runs(base), runs({s: np.roll(c, 5) for s, c in base.items()})
    margin_interval([a], [b])  # warm
    start = time.perf_counter()
    margin_interval([a], [b])
    assert time.perf_counter() - start < 0.5
