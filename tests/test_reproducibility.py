"""A cell's result is a function of its config alone: the same key gives the same result, bit
for bit, alone, after other cells in the same process, and in a fresh process (the Ray case
is in tests/test_ray_executor.py, beside the other Ray tests)."""

import json
import os
import sqlite3
import subprocess
import sys

import pytest

from zoo.bench.grid import expand_grid
from zoo.bench.runner import CellRunner
from zoo.device import select_device
from zoo_plugins import datasets as offline

pytestmark = pytest.mark.skipif(
    not offline.digits_png().exists() or not (offline.fashion_mnist_dir() / "train-images-idx3-ubyte.gz").exists(),
    reason="the offline data sets are not installed: run `make test` as root",
)

CPU = select_device("cpu")
SAME = ("top1", "test_correct", "val_top1", "val_loss", "trained_epochs", "curve", "trainable_params")


def outcome(row: dict) -> dict:
    assert row["status"] == "ok", row["reason"]
    return {field: row[field] for field in SAME}


def test_a_cell_gives_the_same_result_alone_after_other_cells_and_in_a_fresh_process(
    tiny_zoo, harness_plugin_site, tmp_path
):
    suite = tiny_zoo.suites.get("tiny")
    task = suite.tasks[1]  # footwear: four classes, where a new classifier's draw shows at once
    partial, probe, scratch = (
        group.sweep()[0] for group in expand_grid(tiny_zoo, suite, ["simple_cnn"], ["partial", "linear_probe", "scratch"], [task], seeds=1)
    )

    alone = outcome(CellRunner(tiny_zoo, CPU).run(probe).row())

    # After other cells: the first built the pretrained network (drawing random numbers), the
    # second drew a scratch network; the probe copies the network and draws its classifier.
    runner = CellRunner(tiny_zoo, CPU)
    for other in (partial, scratch):
        assert runner.run(other).status == "ok"
    assert outcome(runner.run(probe).row()) == alone
    assert outcome(runner.run(probe).row()) == alone, "and again, with every cache warm"

    out = tmp_path / "fresh"
    env = {**os.environ, "PYTHONPATH": str(harness_plugin_site)}  # $ZOO_HOME is this test's: the same weights
    argv = [sys.executable, "-m", "zoo.cli.main", "bench", "--suite", "tiny", "--arch", "simple_cnn", "--strategy", "linear_probe",
            "--task", task.name, "--seeds", "1", "--out", str(out), "--no-leaderboard"]  # fmt: skip
    done = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    with sqlite3.connect(out / "results.sqlite") as conn:
        conn.row_factory = sqlite3.Row
        (row,) = [dict(r) for r in conn.execute("SELECT * FROM cells")]
    assert row["key"] == probe.key
    row["curve"] = json.loads(row["curve"])
    assert outcome(row) == alone
