"""The verdict's confidence interval: paired Student's t over the seeds, with the test images'
variance added, widened for the choice of the winner."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

from zoo.leaderboard.confidence import SeedRun, margin_interval
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
    assert interval.low < -1 and interval.high > 1  # the seeds' spread: -4, +6, -4


def test_identical_strategies_give_zero_and_the_same_interval_every_time(base):
    assert margin_interval([runs(base)], [runs(base)]) == margin_interval([runs(base)], [runs(base)])
    interval = margin_interval([runs(base)], [runs(base)])
    assert interval.low == interval.high == 0.0
    shifted = {s: np.roll(c, 1) for s, c in base.items()}
    assert margin_interval([runs(base)], [runs(shifted)]) == margin_interval([runs(base)], [runs(shifted)])


def test_only_seeds_both_strategies_have_count(base):
    a = runs(base)
    b = {0: a[0], 5: a[1]}
    one = margin_interval([a], [b])
    assert one.seeds == 1 and not one.known and one.estimate == 0.0  # seed 0 alone: its spread cannot be seen
    assert margin_interval([a], [{9: a[0]}]) == margin_interval([a], [{}])
    assert not margin_interval([a], [{9: a[0]}]).known


def test_without_per_image_results_it_is_students_t_over_the_seeds():
    a = {0: SeedRun(0.80), 1: SeedRun(0.82), 2: SeedRun(0.84)}
    b = {0: SeedRun(0.70), 1: SeedRun(0.74, np.ones(N, bool)), 2: SeedRun(0.72)}  # one cell's images are not enough
    interval = margin_interval([a], [b])
    assert interval.images is None and interval.seeds == 3 and interval.estimate == pytest.approx(10.0)
    half = stats.t.ppf(0.975, 2) * 2 / math.sqrt(3)  # differences 10, 8, 12 points: sd 2, two degrees of freedom
    assert interval.low == pytest.approx(10 - half) and interval.high == pytest.approx(10 + half)
    among_four = margin_interval([a], [b], contenders=4)  # each tail 5% / 4
    assert among_four.high - 10 == pytest.approx(stats.t.ppf(1 - 0.05 / 4, 2) * 2 / math.sqrt(3))
    assert not margin_interval([{0: SeedRun(0.8)}], [{0: SeedRun(0.7)}]).known  # one seed: unknown


def test_several_architectures_are_resampled_together(base):
    rng = np.random.default_rng(3)
    a1 = {s: flip(c, rng.choice(np.flatnonzero(~c), 80, replace=False)) for s, c in base.items()}  # +2 points
    second = {s: np.roll(c, 17) for s, c in base.items()}
    a2 = {s: flip(c, rng.choice(np.flatnonzero(c), 40, replace=False)) for s, c in second.items()}  # -1 point
    joint = margin_interval([runs(a1), runs(a2)], [runs(base), runs(second)])
    assert joint.seeds == 3 and joint.images == N
    assert joint.low < 0.5 < joint.high and joint.estimate == pytest.approx(0.5)  # the mean of +2 and -1
    with pytest.raises(ValueError, match="2 architectures for one strategy, 1 for the other"):
        margin_interval([runs(a1), runs(a2)], [runs(base)])


def test_the_test_images_variance_counts_what_the_seeds_do_not():
    """Every seed's models the same, B right on 3,000 of 4,000 images and A on 120 more: the
    seeds agree exactly, and what is left is the images'. The paired variance over images of
    a difference of 0/1 flags is p(1 - p) / n, p the share of images that differ."""
    rng = np.random.default_rng(5)
    b = np.zeros(N, bool)
    b[rng.choice(N, 3000, replace=False)] = True
    a = flip(b, rng.choice(np.flatnonzero(~b), 120, replace=False))
    interval = margin_interval([runs({s: a for s in range(3)})], [runs({s: b for s in range(3)})])
    p = 120 / N
    se = math.sqrt(p * (1 - p) / (N - 1))  # the sample variance of the 0/1 differences over n
    assert interval.estimate == pytest.approx(3.0) and interval.high - 3.0 == pytest.approx(100 * stats.norm.ppf(0.975) * se, rel=1e-3)
