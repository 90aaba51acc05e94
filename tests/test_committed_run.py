"""The committed default run (``leaderboards/results.sqlite``) holds what its boards promise.

The boards are written from this database; these checks read the database itself, so a run
committed half-trained, short of seeds or from two builds of one backbone fails here before
anyone reads its verdicts. They judge the cells the boards report: each (task, architecture,
strategy) at the learning rate its sweep chose. The sweep's other rates are scored on
validation only, and a rate that learns nothing is what a sweep exists to reject.
"""

from __future__ import annotations

import shutil
from collections import defaultdict
from pathlib import Path

import pytest

from zoo.leaderboard.tables import reported_cells
from zoo.results.schema import weights_builds
from zoo.results.store import ResultsStore

DATABASE = Path(__file__).resolve().parents[1] / "leaderboards" / "results.sqlite"
MIN_SEEDS = 3
ABOVE_CHANCE = 20.0  # points of top-1 every reported cell must clear chance by


@pytest.fixture(scope="module")
def stored(tmp_path_factory):
    copy = tmp_path_factory.mktemp("committed") / DATABASE.name  # read a copy: the committed file stays as it is
    shutil.copyfile(DATABASE, copy)
    return list(ResultsStore(copy).rows())


@pytest.fixture(scope="module")
def reported(stored):
    cells, _ = reported_cells(stored)
    return [c for c in cells if c.status == "ok"]


def test_every_reported_cell_beats_chance_by_twenty_points(reported):
    assert reported
    weak = [
        f"{c.architecture}/{c.strategy}/{c.task}/seed{c.seed}: {100 * c.top1:.1f}% against chance {100 / len(c.per_class):.1f}%"
        for c in reported
        if 100 * c.top1 < 100 / len(c.per_class) + ABOVE_CHANCE
    ]
    assert not weak


def test_every_reported_strategy_has_three_seeds_that_stopped_before_their_cap(reported):
    seeds = defaultdict(set)
    for cell in reported:
        seeds[cell.task, cell.architecture, cell.strategy].add(cell.seed)
    assert {group: len(s) for group, s in seeds.items() if len(s) < MIN_SEEDS} == {}
    at_cap = [f"{c.architecture}/{c.strategy}/{c.task}/seed{c.seed}" for c in reported if not c.stopped_early]
    assert not at_cap  # stopped by its validation split, so doubling the cap changes nothing


def test_each_backbone_started_from_one_weights_file(stored):
    assert {variant: builds for variant, builds in weights_builds(stored).items() if len(builds) > 1} == {}
