"""The verdict's false "decisive" rate, by simulation on the committed run's own noise: at most
5% on every task shape, the winner's choice included (``zoo.leaderboard.calibration``).

Expected before running: the construction bounds the rate by a Bonferroni sum, so a little
under 5% (3–4%); an interval that treats the best of four as a fixed pair above 5% somewhere.
"""

import statistics
from pathlib import Path

import numpy as np
import pytest

from zoo.leaderboard import calibration
from zoo.leaderboard.confidence import margin_interval
from zoo.results.read import read_results

COMMITTED = Path(__file__).resolve().parent.parent / "leaderboards" / "results.sqlite"
SIMULATIONS = 300  # per shape: a false rate of 5% would be called 15 times, give or take 4
SHAPES = calibration.shapes_from(read_results(COMMITTED))


def test_the_committed_run_gives_a_shape_per_task():
    assert [s.task for s in SHAPES] == ["digits_large", "digits_small", "fashion_footwear_large", "fashion_footwear_small"]
    assert [s.images for s in SHAPES] == [1000, 1000, 4000, 4000]
    small, large = SHAPES[1], SHAPES[0]
    assert small.seed_sd > 2 * large.seed_sd and small.disagreement > 2 * large.disagreement  # 20 images a class against 150


@pytest.mark.parametrize("shape", SHAPES, ids=lambda s: s.task)
def test_the_null_model_reproduces_its_shape(shape):
    model = calibration.fit_shape(shape)
    rng = np.random.default_rng(1)
    draws = [model.draw(rng, 5)["pick"] for _ in range(200)]
    tops = [r.top1 for runs in draws for r in runs.values()]
    assert statistics.fmean(tops) == pytest.approx(shape.top1, abs=0.005)
    assert statistics.fmean(statistics.stdev(r.top1 for r in runs.values()) ** 2 for runs in draws) ** 0.5 == pytest.approx(shape.seed_sd, rel=0.15)
    assert statistics.fmean(float(np.mean(runs[0].correct != runs[1].correct)) for runs in draws) == pytest.approx(shape.disagreement, rel=0.1)


@pytest.mark.parametrize("shape", SHAPES, ids=lambda s: s.task)
def test_equally_good_strategies_are_called_decisive_at_most_5_percent_of_the_time(shape):
    result = calibration.false_decisive_rate(calibration.fit_shape(shape), seeds=3, simulations=SIMULATIONS)
    assert result.rate <= 0.05, f"{shape.task}: {result.decisive} of {result.simulations} null settings called decisive"


def test_the_best_of_four_tested_as_a_fixed_pair_is_not_calibrated():
    """The same interval without the winner's choice in it: the test above can fail."""
    rates = []
    for shape in SHAPES:
        model, rng, called = calibration.fit_shape(shape), np.random.default_rng(0), 0
        for _ in range(SIMULATIONS):
            runs = model.draw(rng, 3)
            best = max((name for name in runs if name != "pick"), key=lambda n: statistics.fmean(r.top1 for r in runs[n].values()))
            called += margin_interval([runs[best]], [runs["pick"]], contenders=2).low > 0
        rates.append(called / SIMULATIONS)
    assert max(rates) > 0.05, rates


def test_the_readme_quotes_the_committed_calibration_figures():
    """The README's table is ``make benchmark``'s, as written to leaderboards/calibration.md."""
    root = COMMITTED.parent.parent
    written = (root / "leaderboards" / "calibration.md").read_text().split("\n\n", 2)[2].strip()
    readme = (root / "README.md").read_text()
    quoted = readme.split("<!-- leaderboards/calibration.md -->\n", 1)[1].split("\n<!-- /leaderboards/calibration.md -->", 1)[0]
    assert quoted == written
