"""Leaderboards: the numbers against a results database filled with known values.

The database is written through ``ResultsStore.record`` as ``zoo bench`` writes it: two
quadrants of a suite that is no longer registered, two architectures (one named like an
HTML injection), several seeds in one quadrant and one in the other, failed cells and a
strategy no plugin registers. Its cells hold no per-image results (as older databases), so
their verdicts' intervals are over the seeds alone; the verdicts with per-image results are
tested on rows built in memory, whose every cell's correctness is known image by image.
"""

from __future__ import annotations

import csv
import dataclasses
import json
import sqlite3
import statistics

import numpy as np
import pytest
from scipy import stats

import zoo
from zoo.cli.main import main
from zoo.leaderboard.boards import build_leaderboard
from zoo.leaderboard.confidence import SeedRun
from zoo.leaderboard.pareto import pareto_front
from zoo.leaderboard.plots import leaderboard_plots
from zoo.leaderboard.tables import latest_cells
from zoo.leaderboard.verdict import OVERALL, Contender, decide
from zoo.leaderboard.writers import strategy_rule, write_leaderboards
from zoo.matrix import rule_of_thumb
from zoo.results.codec import decode_correct, encode_correct
from zoo.results.read import read_results
from zoo.results.schema import CellResult
from zoo.results.store import ResultsStore

EVIL = "<script>alert(1)</script>"
ENV = {"device": "cpu", "device_name": "Test CPU", "torch": "2.14.1", "zoo": "0.1.0", "git_revision": "abc1234", "threads": 2}
MIB = 2**20
PARAMS = {"resnet18": 11_178_564, EVIL: 545_098}
INFER = {"resnet18": (900.0, 1000.0, 1100.0), EVIL: (2900.0, 3000.0, 3100.0)}  # per seed

# (task, quadrant, epochs, architecture, strategy) -> top-1 per seed; None: the cell failed
Q4 = ("faces_small", "Q4", 5)
Q1 = ("digits_large", "Q1", 10)
TOP1 = {
    (*Q4, "resnet18", "linear_probe"): (0.80, 0.82, 0.84),  # 82 ± 2
    (*Q4, "resnet18", "full"): (0.70, 0.74, 0.72, None),  # 72 ± 2, and seed 3 ran out of memory
    (*Q4, EVIL, "linear_probe"): (0.60, 0.62, 0.64),  # 62 ± 2
    (*Q4, EVIL, "full"): (0.62, 0.63, 0.64),  # 63 ± 1
    (*Q1, "resnet18", "full"): (0.95,),
    (*Q1, "resnet18", "partial"): (0.97,),
    (*Q1, "resnet18", "scratch"): (0.90,),
    (*Q1, "resnet18", "retired_strategy"): (0.50,),
    (*Q1, EVIL, "full"): (0.93,),
    (*Q1, EVIL, "partial"): (None,),
}


def make_rows() -> list[CellResult]:
    rows, clock = [], 0
    for (task, quadrant, epochs, arch, strategy), top1s in TOP1.items():
        for seed, top1 in enumerate(top1s):
            clock += 1
            row = {
                "key": f"{task}/{arch}/{strategy}/{seed}", "suite": "lab", "task": task, "quadrant": quadrant,
                "architecture": arch, "strategy": strategy, "seed": seed, "epochs": epochs,
                "config": {"input_size": [3, 32, 32]}, "environment": ENV, "weights": None,
                "started": f"2025-03-01T10:{clock:02d}:00+00:00", "finished": f"2025-03-01T10:{clock:02d}:30+00:00",
                "wall_seconds": 30.0,
            }  # fmt: skip
            if top1 is None:
                status = "oom" if strategy == "full" else "error"
                row.update(status=status, reason=f"{status}: simulated for {arch}")
            else:
                trainable = 2052 if strategy == "linear_probe" else PARAMS[arch]
                row.update(
                    status="ok", reason=None, top1=top1, top5=min(1.0, top1 + 0.1), mean_per_class=top1 - 0.01,
                    per_class=[top1] * 4, train_images_per_second=(5000.0 if strategy == "linear_probe" else 800.0) + 100 * seed,
                    train_seconds=3.0, infer_images_per_second=INFER[arch][seed % 3], latency_ms_p50=2.0 + seed,
                    latency_ms_p95=3.0 + seed, train_peak_bytes=(100 + seed) * MIB, infer_peak_bytes=20 * MIB,
                    memory_method="peak RSS of a fresh process", params=PARAMS[arch], trainable_params=trainable,
                    macs=1_820_000_000 if arch == "resnet18" else 10_000_000,
                    phases=[{"frozen_stages": 5, "epochs": epochs, "cached_prefix": strategy == "linear_probe"}],
                )  # fmt: skip
                if arch == "resnet18":  # the other network's cells were stored before step memory was measured
                    peak = {"linear_probe": 50, "partial": 120}.get(strategy, 150) * MIB
                    row["step_memory"] = {
                        "peak_bytes": peak, "estimate": peak - MIB, "parameters": 43 * MIB, "gradients": 0, "optimizer": 0,
                        "activations": 0, "inputs": MIB, "phase": 1, "method": "fresh process", "batch_size": 32,
                    }  # fmt: skip
            rows.append(CellResult(**row))
    return rows


def t_interval(differences: list[float], contenders: int = 2) -> tuple[float, float]:
    """Student's t interval over per-seed differences in points, each tail 5% / ``contenders``:
    the verdict's interval where there are no per-image results."""
    mean, half = statistics.fmean(differences), statistics.stdev(differences) / len(differences) ** 0.5
    half *= stats.t.ppf(1 - 0.05 / contenders, len(differences) - 1)
    return mean - half, mean + half


def known(n: int, k: int, seed: int = 0) -> np.ndarray:
    """Per-image results of ``n`` test images, exactly ``k`` correct: the first ``k`` in an
    order fixed by ``seed``, so two strategies of one seed differ on exactly |k₁ − k₂| images."""
    correct = np.zeros(n, dtype=bool)
    correct[np.random.default_rng(seed).permutation(n)[:k]] = True
    return correct


def cell(task: str, quadrant: str, arch: str, strategy: str, seed: int, correct: np.ndarray | None, top1: float | None = None) -> CellResult:
    """A finished cell with its per-image results (``correct``; None: not stored) and the top-1 they give."""
    stored = correct is not None
    return CellResult(
        key=f"{task}/{arch}/{strategy}/{seed}", suite="lab", task=task, quadrant=quadrant, epochs=5,
        architecture=arch, strategy=strategy, seed=seed, status="ok",
        top1=float(correct.mean()) if top1 is None else top1,
        test_correct=encode_correct(correct) if stored else None, test_images=len(correct) if stored else None,
    )  # fmt: skip


@pytest.fixture
def results_dir(tmp_path):
    store = ResultsStore(tmp_path / "results.sqlite")
    for row in make_rows():
        store.record(row)
    return tmp_path


@pytest.fixture
def written(results_dir):
    return write_leaderboards(zoo.get_zoo(), results_dir)


def by(rows, **match):
    found = [r for r in rows if all(r[k] == v for k, v in match.items())]
    assert len(found) == 1, (match, found)
    return found[0]


# ---------------------------------------------------------------------------- pure functions


def test_pareto_front_keeps_the_undominated_points():
    points = [(82, 1000), (72, 1000), (62, 3000), (63, 3000), (82, 1000), (50, 5000)]
    assert pareto_front(points) == [True, False, False, True, True, True]
    assert pareto_front([]) == [] and pareto_front([(1, 1)]) == [True]


def test_the_rule_prefers_seed_strategies_and_survives_unregistered_names():
    rule = strategy_rule(zoo.get_zoo())

    def pick(quadrant, present, registered=rule):
        return rule_of_thumb(quadrant, registered, present)[0]

    assert pick("Q1", ["lp_ft", "discriminative", "full", "scratch"]) == "full"
    assert pick("Q3", ["gradual_unfreeze", "partial"]) == "partial"
    assert pick("Q2", ["lp_ft", "scratch"]) == "lp_ft"  # no seed strategy present
    assert pick("Q4", ["scratch", "full"]) is None
    assert pick("Q4", ["linear_probe"], {}) == "linear_probe"  # the rule of thumb's table when unregistered
    assert pick("Q2", ["partial:k=3"]) is None  # a variant is never the rule's pick
    assert rule_of_thumb("Q1", rule) == ("full", ["discriminative", "lp_ft"])  # every registered strategy: seed first, then by name


def test_a_plugin_strategy_naming_q4_does_not_displace_linear_probe():
    rule = {"aardvark": ("Q4",), **strategy_rule(zoo.get_zoo())}
    assert rule_of_thumb("Q4", rule) == ("linear_probe", ["aardvark", "bitfit", "norm_only"])  # the rest by name
    rows = [cell("t", "Q4", "resnet18", strategy, 0, correct) for strategy, correct in
            (("aardvark", known(100, 90)), ("linear_probe", known(100, 80)))]  # fmt: skip
    verdict = by(build_leaderboard(rows, rule).table("verdict").rows, scope="resnet18")
    assert verdict["recommended"] == "linear_probe" and verdict["measured"] == "aardvark" and verdict["agree"] is False


@pytest.mark.parametrize("quadrant", ["Q1", "Q2", "Q3", "Q4"])
def test_the_verdicts_rule_is_the_rule_of_thumb_in_every_quadrant(quadrant):
    """With every registered strategy measured, the verdict's pick is rule_of_thumb's (which
    ``zoo recommend`` calls too: see test_recommend)."""
    rule = strategy_rule(zoo.get_zoo())
    rows = [cell("t", quadrant, "resnet18", name, 0, known(100, 50 + i)) for i, name in enumerate(sorted(rule))]
    [verdict] = build_leaderboard(rows, rule).table("verdict").rows
    assert verdict["recommended"] == rule_of_thumb(quadrant, rule)[0] == {"Q1": "full", "Q4": "linear_probe"}.get(quadrant, "partial")


def test_decide_margin_interval_and_ties():
    n = 400
    lp = Contender("linear_probe", 72.0, 3, ({s: SeedRun(0.72, known(n, 288, s)) for s in range(3)},))
    full = Contender("full", 67.5, 3, ({s: SeedRun(0.675, known(n, 270, s)) for s in range(3)},))
    verdict = decide([full, lp], "Q4", strategy_rule(zoo.get_zoo()))
    assert verdict.measured == verdict.recommended == "linear_probe" and verdict.agree is True
    assert verdict.compared_with == "full" and verdict.margin_points == pytest.approx(4.5)
    assert 0 < verdict.ci_low_points < 4.5 < verdict.ci_high_points and verdict.decisive is True
    assert verdict.seeds == 3 and verdict.test_images == n
    tie = decide([Contender("full", 70.0, 1), Contender("linear_probe", 70.0, 1)], "Q4", strategy_rule(zoo.get_zoo()))
    assert tie.measured == "linear_probe" and tie.agree is True and tie.margin_points == 0
    assert tie.decisive is None and tie.ci_low_points is None and "interval unknown" in tie.verdict
    alone = decide([Contender("full", 93.0, 1)], "Q1", strategy_rule(zoo.get_zoo()))
    assert alone.margin_points is None and alone.decisive is None and alone.verdict == "only full was measured"


N = 1000  # test images of the rows built in memory


def verdicts_of(rows: list[CellResult]) -> list[dict]:
    return build_leaderboard(rows, strategy_rule(zoo.get_zoo())).table("verdict").rows


def test_the_cells_carry_their_per_image_results():
    correct = known(N, 803, seed=2)
    row = cell("t", "Q4", "resnet18", "full", 2, correct)
    assert row.test_correct == np.packbits(correct, bitorder="little").tobytes().hex()
    assert np.array_equal(decode_correct(row.test_correct, row.test_images), correct) and row.top1 == 0.803


def test_a_large_difference_on_every_seed_is_decisive():
    rows = [cell("t", "Q4", "resnet18", "linear_probe", s, known(N, 800 + s, s)) for s in range(3)]
    rows += [cell("t", "Q4", "resnet18", "full", s, known(N, 760 + s, s)) for s in range(3)]  # 40 images fewer on every seed
    verdict = by(verdicts_of(rows), scope="resnet18")
    assert verdict["margin_points"] == pytest.approx(4.0) and verdict["agree"] is True
    low, high = verdict["ci_low_points"], verdict["ci_high_points"]
    assert 0 < low < 4.0 < high and high - low < 3 and verdict["decisive"] is True
    assert verdict["seeds"] == 3 and verdict["test_images"] == N
    assert verdict["verdict"] == f"agree: linear_probe led full by 4.00 points (95% CI {low:.2f} to {high:.2f}): decisive"
    assert verdicts_of(rows) == verdicts_of(list(reversed(rows)))  # the same rows give the same interval


def test_seeds_that_disagree_in_sign_are_not_decisive():
    lp, full = (800, 700, 760), (740, 760, 750)  # linear_probe leads by 6, trails by 6, leads by 1 point
    rows = [cell("t", "Q4", "resnet18", "linear_probe", s, known(N, k, s)) for s, k in enumerate(lp)]
    rows += [cell("t", "Q4", "resnet18", "full", s, known(N, k, s)) for s, k in enumerate(full)]
    verdict = by(verdicts_of(rows), scope="resnet18")
    assert verdict["measured"] == "linear_probe" and verdict["margin_points"] == pytest.approx(1 / 3)
    assert verdict["ci_low_points"] < 0 < verdict["margin_points"] < verdict["ci_high_points"]
    assert verdict["decisive"] is False and verdict["verdict"].endswith("): not decisive")


def test_the_overall_interval_resamples_every_architecture_together():
    rows = []
    for arch, (lp, full) in {"resnet18": (800, 760), "vgg11_bn": (700, 690)}.items():
        rows += [cell("t", "Q4", arch, "linear_probe", s, known(N, lp + s, s)) for s in range(3)]
        rows += [cell("t", "Q4", arch, "full", s, known(N, full + s, s)) for s in range(3)]
    verdicts = verdicts_of(rows)
    overall = by(verdicts, scope=OVERALL)
    assert overall["margin_points"] == pytest.approx(2.5)  # (4 + 1) / 2
    assert 0 < overall["ci_low_points"] < 2.5 < overall["ci_high_points"] and overall["decisive"] is True
    assert overall["seeds"] == 3 and overall["test_images"] == N
    assert ", a mean over these 2 architectures; the best on 2 of 2 (95% CI" in overall["verdict"]
    vgg = by(verdicts, scope="vgg11_bn")
    assert vgg["margin_points"] == pytest.approx(1.0) and vgg["ci_low_points"] < overall["ci_low_points"]


def test_the_margin_is_over_the_seeds_its_interval_resamples():
    """A strategy short of a seed: the means differ over unlike seeds (linear_probe's 2 points
    ahead on seed 2 alone), but the margin is the paired difference the interval is about."""
    rows = [cell("t", "Q4", "resnet18", "linear_probe", s, known(N, k, s)) for s, k in enumerate((800, 800, 900))]
    rows += [cell("t", "Q4", "resnet18", "full", s, known(N, 780, s)) for s in range(2)]
    verdict = by(verdicts_of(rows), scope="resnet18")
    assert verdict["seeds"] == 2 and verdict["margin_points"] == pytest.approx(2.0)  # not 83.33 - 78.00
    assert verdict["ci_low_points"] < verdict["margin_points"] < verdict["ci_high_points"]
    assert verdict["decisive"] is None and verdict["verdict"].endswith(", on the 2 seeds both have): 2 seeds, too few to call it decisive")


def test_without_per_image_results_the_interval_is_over_the_seeds_or_unknown():
    rows = [cell("t", "Q4", "resnet18", "linear_probe", s, known(N, 800 + 10 * s, s)) for s in range(3)]
    rows += [cell("t", "Q4", "resnet18", "full", s, known(N, 760, s)) for s in range(2)]
    rows.append(cell("t", "Q4", "resnet18", "full", 2, None, top1=0.76))  # an older cell: top-1 alone
    verdict = by(verdicts_of(rows), scope="resnet18")
    assert verdict["margin_points"] == pytest.approx(5.0) and verdict["test_images"] is None and verdict["seeds"] == 3
    low, high = t_interval([4, 5, 6])
    assert (verdict["ci_low_points"], verdict["ci_high_points"]) == pytest.approx((low, high))
    assert f"(95% CI {low:.2f} to {high:.2f}, seeds alone: no per-image results): decisive" in verdict["verdict"]

    one_seed = [cell("t", "Q1", "resnet18", "full", 0, None, top1=0.8), cell("t", "Q1", "resnet18", "partial", 0, None, top1=0.9)]
    verdict = by(verdicts_of(one_seed), scope="resnet18")
    assert verdict["ci_low_points"] is None and verdict["decisive"] is None
    assert verdict["verdict"] == "disagree: partial beat the rule's full by 10.00 points; one seed: interval unknown"

    with_images = [cell("t", "Q1", "resnet18", "full", 0, known(N, 800)), cell("t", "Q1", "resnet18", "partial", 0, known(N, 900))]
    verdict = by(verdicts_of(with_images), scope="resnet18")  # one seed: how far another seed would move it cannot be seen
    assert verdict["ci_low_points"] is None and verdict["decisive"] is None and verdict["test_images"] == N
    assert verdict["verdict"].endswith("; one seed: interval unknown")


def test_per_image_results_from_the_database_give_the_same_files_twice(tmp_path):
    store = ResultsStore(tmp_path / "results.sqlite")
    for s in range(3):
        store.record(cell("t", "Q4", "resnet18", "linear_probe", s, known(N, 800 + s, s)))
        store.record(cell("t", "Q4", "resnet18", "full", s, known(N, 760 + s, s)))
    first = write_leaderboards(zoo.get_zoo(), tmp_path)
    verdict = by(first.leaderboard.table("verdict").rows, scope="resnet18")
    assert verdict["test_images"] == N and verdict["seeds"] == 3 and verdict["decisive"] is True
    before = {path: path.read_bytes() for path in first.files}
    write_leaderboards(zoo.get_zoo(), tmp_path)
    assert {path: path.read_bytes() for path in before} == before


def test_a_rerun_of_the_same_seed_supersedes_the_older_cell():
    old = make_rows()[0]
    new = dataclasses.replace(old, key="again", top1=0.10, finished="2025-03-02T00:00:00+00:00")
    kept, superseded = latest_cells([new, old])
    assert superseded == 1 and [r.key for r in kept] == ["again"]
    board = build_leaderboard([old, new], strategy_rule(zoo.get_zoo()))
    assert by(board.table("accuracy").rows, architecture="resnet18")["top1_mean_pct"] == pytest.approx(10.0)
    assert "1 older cells were superseded" in board.board("accuracy").notes[0]


# ---------------------------------------------------------------------------- the numbers


def test_accuracy_means_stds_and_failures(written):
    accuracy = written.leaderboard.table("accuracy").rows
    lp = by(accuracy, task="faces_small", architecture="resnet18", strategy="linear_probe")
    assert lp["seeds"] == 3 and lp["top1_mean_pct"] == pytest.approx(82.0) and lp["top1_std_pct"] == pytest.approx(2.0)
    assert lp["top5_mean_pct"] == pytest.approx(92.0) and lp["mean_per_class_mean_pct"] == pytest.approx(81.0)
    full = by(accuracy, task="faces_small", architecture="resnet18", strategy="full")
    assert full["seeds"] == 3 and full["failed"] == 1 and full["top1_mean_pct"] == pytest.approx(72.0)
    assert by(accuracy, task="faces_small", architecture=EVIL, strategy="full")["top1_std_pct"] == pytest.approx(
        statistics.stdev([62, 63, 64])
    )
    single = by(accuracy, task="digits_large", architecture="resnet18", strategy="partial")
    assert single["seeds"] == 1 and single["top1_std_pct"] is None
    assert not [r for r in accuracy if r["architecture"] == EVIL and r["strategy"] == "partial"]  # only failed: never averaged
    failed = written.leaderboard.table("accuracy_failed").rows
    assert {(r["architecture"], r["strategy"], r["status"]) for r in failed} == {("resnet18", "full", "oom"), (EVIL, "partial", "error")}
    assert by(failed, status="oom")["reason"] == "oom: simulated for resnet18" and by(failed, status="oom")["seed"] == 3
    q4 = [r for r in accuracy if r["task"] == "faces_small"]
    assert [r["top1_mean_pct"] for r in q4] == sorted((r["top1_mean_pct"] for r in q4), reverse=True)


def test_speed_and_memory_are_medians_per_architecture_and_strategy(written):
    board = written.leaderboard
    inference = by(board.table("speed_inference").rows, architecture="resnet18")
    assert inference["infer_images_per_second"] == 900.0  # 900, 1000, 1100 twice in Q4; 900 in the four Q1 cells
    assert inference["device"] == "Test CPU"
    assert inference["input_size"] == "3x32x32" and inference["macs"] == 1_820_000_000
    assert by(board.table("speed_inference").rows, architecture=EVIL)["infer_images_per_second"] == 3000.0
    training = board.table("speed_training").rows
    assert by(training, architecture="resnet18", strategy="linear_probe")["train_images_per_second"] == 5100.0
    assert by(training, architecture="resnet18", strategy="linear_probe")["cached_prefix"] is True
    assert by(training, architecture="resnet18", strategy="full")["train_images_per_second"] == 850.0  # 800, 900, 1000 in Q4 (seed 3 failed), 800 in Q1
    memory = by(board.table("memory").rows, architecture="resnet18")
    assert memory["train_peak_bytes"] == 100 * MIB and memory["infer_peak_bytes"] == 20 * MIB
    assert memory["params"] == PARAMS["resnet18"] and memory["memory_method"] == "peak RSS of a fresh process"
    trainable = by(board.table("memory_trainable").rows, architecture="resnet18", strategy="linear_probe")
    assert trainable["trainable_params"] == 2052
    assert trainable["trainable_share_pct"] == pytest.approx(100 * 2052 / PARAMS["resnet18"])


def test_the_memory_board_has_each_strategys_step_memory_and_its_pareto_front():
    board = build_leaderboard(make_rows(), strategy_rule(zoo.get_zoo()))
    steps = board.table("memory_step").rows
    assert {(r["architecture"], r["strategy"], r["batch_size"]) for r in steps} == {
        ("resnet18", s, 32) for s in ("linear_probe", "full", "partial", "scratch", "retired_strategy")
    }  # cells without a step memory are left out
    probe = by(steps, architecture="resnet18", strategy="linear_probe")
    assert (probe["peak_bytes"], probe["estimate"], probe["parameters"], probe["phase"]) == (50 * MIB, 49 * MIB, 43 * MIB, 1)
    front = {(r["task"], r["strategy"]): r["on_front"] for r in board.table("memory_pareto").rows}
    assert front == {
        ("faces_small", "linear_probe"): True, ("faces_small", "full"): False,  # less memory and more accurate
        ("digits_large", "partial"): True, ("digits_large", "full"): False, ("digits_large", "scratch"): False,
        ("digits_large", "retired_strategy"): False,
    }  # fmt: skip


def test_the_verdict_per_architecture_and_overall(written):
    """Without per-image results, the intervals are over the seeds alone."""
    verdicts = written.leaderboard.table("verdict").rows
    resnet = by(verdicts, task="faces_small", scope="resnet18")
    assert resnet["measured"] == resnet["recommended"] == "linear_probe" and resnet["agree"] is True
    assert resnet["margin_points"] == pytest.approx(10.0)  # seeds 0-2: 10, 8 and 12 points
    assert (resnet["ci_low_points"], resnet["ci_high_points"]) == pytest.approx(t_interval([10, 8, 12]))
    assert resnet["decisive"] is True and resnet["seeds"] == 3 and resnet["test_images"] is None
    assert resnet["verdict"] == (
        f"agree: linear_probe led full by 10.00 points (95% CI {resnet['ci_low_points']:.2f} to "
        f"{resnet['ci_high_points']:.2f}, seeds alone: no per-image results): decisive"
    )
    evil = by(verdicts, task="faces_small", scope=EVIL)
    assert evil["measured"] == "full" and evil["recommended"] == "linear_probe" and evil["agree"] is False
    assert evil["margin_points"] == pytest.approx(1.0)  # seeds: 2, 1 and 0 points
    assert (evil["ci_low_points"], evil["ci_high_points"]) == pytest.approx(t_interval([2, 1, 0]))
    assert evil["decisive"] is False and evil["verdict"].endswith("): not decisive")
    overall = by(verdicts, task="faces_small", scope=OVERALL)
    assert overall["measured"] == "linear_probe" and overall["agree"] is True
    assert overall["measured_top1_pct"] == pytest.approx(72.0) and overall["recommended_top1_pct"] == pytest.approx(72.0)
    assert overall["margin_points"] == pytest.approx(4.5)  # (82 + 62) / 2 against (72 + 63) / 2
    assert (overall["ci_low_points"], overall["ci_high_points"]) == pytest.approx(t_interval([4, 3.5, 6]))  # per seed, over both
    assert overall["decisive"] is True
    q1 = by(verdicts, task="digits_large", scope="resnet18")
    assert q1["measured"] == "partial" and q1["recommended"] == "full" and q1["agree"] is False
    assert q1["margin_points"] == pytest.approx(2.0) and q1["decisive"] is None and q1["ci_low_points"] is None
    assert q1["verdict"] == "disagree: partial beat the rule's full by 2.00 points; one seed: interval unknown"
    assert by(verdicts, task="digits_large", scope=OVERALL)["verdict"] == "only full was measured"
    notes = written.leaderboard.board("verdict").notes
    assert any("leaves out partial, retired_strategy, scratch" in n for n in notes)
    assert "strategy 'retired_strategy' is no longer registered; the rule of thumb recommends it nowhere" in notes


def test_an_unregistered_seed_strategy_keeps_its_place_in_the_rule():
    rule = {k: v for k, v in strategy_rule(zoo.get_zoo()).items() if k != "full"}
    board = build_leaderboard(make_rows(), rule)
    assert by(board.table("verdict").rows, task="digits_large", scope="resnet18")["recommended"] == "full"
    assert any("'full' is no longer registered; it keeps the rule of thumb's place for it (Q1)" in n for n in board.board("verdict").notes)


def test_the_pareto_front_per_quadrant(written):
    pareto = [r for r in written.leaderboard.table("pareto").rows if r["task"] == "faces_small"]
    front = {(r["architecture"], r["strategy"]) for r in pareto if r["on_front"]}
    assert front == {("resnet18", "linear_probe"), (EVIL, "full")}
    assert by(pareto, architecture=EVIL, strategy="full")["infer_images_per_second"] == 3000.0


def test_throughputs_of_two_machines_are_not_compared():
    """A run resumed on a machine five times faster: resnet18's cells there read 5,000 images/s,
    which would push the other network (3,000 on the slower machine) off a common front."""
    fast = ENV | {"device_name": "Fast CPU"}
    rows = [dataclasses.replace(r, environment=fast, infer_images_per_second=5 * (r.infer_images_per_second or 0))
            if r.architecture == "resnet18" else r for r in make_rows()]  # fmt: skip
    board = build_leaderboard(rows, strategy_rule(zoo.get_zoo()))
    pareto = [r for r in board.table("pareto").rows if r["task"] == "faces_small"]
    assert {(r["device"], r["architecture"], r["strategy"]): r["on_front"] for r in pareto} == {
        ("Fast CPU", "resnet18", "linear_probe"): True, ("Fast CPU", "resnet18", "full"): False,
        ("Test CPU", EVIL, "linear_probe"): False, ("Test CPU", EVIL, "full"): True,
    }  # fmt: skip
    plots = {p.filename for p in leaderboard_plots(board)}
    assert {"accuracy_speed_lab_faces_small_5ep_Fast_CPU.png", "accuracy_speed_lab_faces_small_5ep_Test_CPU.png"} <= plots


def test_environment_suite_and_plugins(written):
    env = written.leaderboard.environment
    assert env["devices"] == ["Test CPU"] and env["torch"] == ["2.14.1"] and env["git_revisions"] == ["abc1234"]
    assert env["first_started"] == "2025-03-01T10:01:00+00:00" and env["cells"] == 19 and env["ok"] == 17
    assert env["suites"] == [
        {"name": "lab", "registered": False, "note": "suite 'lab' is not registered any more: its per-class counts and threshold are omitted"}
    ]
    assert {"name": "strategies", "distribution": "zoo", "version": "0.1.0", "status": "loaded"} in env["plugins"]


def test_a_registered_suite_shows_its_counts_and_threshold(tiny_zoo, tmp_path):
    store = ResultsStore(tmp_path / "results.sqlite")
    for row in make_rows()[:3]:
        store.record(dataclasses.replace(row, suite="tiny"))
    (suite,) = write_leaderboards(tiny_zoo, tmp_path).leaderboard.environment["suites"]
    assert suite["registered"] and suite["small_threshold"] == 100
    assert [t["name"] for t in suite["tasks"]] == ["digits_tiny", "footwear_tiny"]
    md = (tmp_path / "leaderboard.md").read_text()
    assert "Small: fewer than 100 training images per class" in md


# ---------------------------------------------------------------------------- the files


def test_every_file_is_written_and_deterministic(written, results_dir):
    names = {p.relative_to(results_dir).as_posix() for p in written.files}
    for board in ("accuracy", "speed", "memory", "verdict"):
        assert {f"{board}.md", f"{board}.json"} <= names
    assert {"accuracy.csv", "accuracy_failed.csv", "speed_inference.csv", "speed_training.csv", "memory.csv",
            "memory_step.csv", "memory_trainable.csv", "memory_pareto.csv", "verdict.csv", "pareto.csv", "leaderboard.json",
            "leaderboard.md", "index.html"} <= names  # fmt: skip
    plots = sorted(n for n in names if n.startswith("plots/"))
    kinds = ("accuracy_speed", "accuracy_memory", "heatmap")
    per_task = [f"plots/{kind}_lab_{task}.png" for kind in kinds for task in ("digits_large_10ep", "faces_small_5ep")]
    assert plots == sorted(["plots/matrix_lab.png", *per_task])
    assert all((results_dir / p).read_bytes().startswith(b"\x89PNG") for p in plots)
    before = {n: (results_dir / n).read_bytes() for n in names}
    again = write_leaderboards(zoo.get_zoo(), results_dir)
    assert {n: (results_dir / n).read_bytes() for n in names} == before
    assert len(again.files) == len(written.files)


def test_csv_json_and_markdown_contents(written, results_dir):
    with open(results_dir / "accuracy.csv", newline="") as f:
        records = list(csv.DictReader(f))
    row = next(r for r in records if r["architecture"] == "resnet18" and r["strategy"] == "linear_probe")
    assert float(row["top1_mean_pct"]) == pytest.approx(82.0) and float(row["top1_std_pct"]) == pytest.approx(2.0)
    assert next(r for r in records if r["strategy"] == "partial")["top1_std_pct"] == ""  # one seed: empty, not 0
    assert any(r["architecture"] == EVIL for r in records)
    combined = json.loads((results_dir / "leaderboard.json").read_text())
    assert combined == json.loads(json.dumps(written.combined))
    assert set(combined) >= {"environment", "accuracy", "speed", "memory", "verdict", "plots"}
    overall = by(combined["verdict"]["tables"]["verdict"]["rows"], scope=OVERALL, task="faces_small")
    assert overall["margin_points"] == pytest.approx(4.5) and overall["decisive"] is True
    assert overall["ci_low_points"] < 4.5 < overall["ci_high_points"] and overall["seeds"] == 3
    with open(results_dir / "verdict.csv", newline="") as f:
        verdict_csv = by(list(csv.DictReader(f)), scope=OVERALL, task="faces_small")
    assert float(verdict_csv["ci_low_points"]) == pytest.approx(overall["ci_low_points"]) and verdict_csv["decisive"] == "True"
    verdict_json = json.loads((results_dir / "verdict.json").read_text())
    assert verdict_json["environment"]["plugins"] and verdict_json["tables"]["pareto"]["rows"]
    md = (results_dir / "accuracy.md").read_text()
    assert "| 82.00 | 2.00 |" in md and "&lt;script&gt;alert(1)&lt;/script&gt;" in md and EVIL not in md
    assert "oom: simulated for resnet18" in md and "Plugins: baselines 0.1.0" in md
    readme = (results_dir / "leaderboard.md").read_text()
    assert "# zoo leaderboard" in readme and "disagree: partial beat the rule's full by 2.00 points" in readme
    assert "![Q4 faces\\_small" not in readme and "(plots/heatmap_lab_faces_small_5ep.png)" in readme
    assert "Won: the highest mean top-1" in readme and "Test CPU" in readme and EVIL not in readme
    assert "| 95% CI low | 95% CI high | decisive |" in readme and "paired Student's t over the seeds" in readme
    assert readme.index("(plots/matrix_lab.png)") < readme.index("| 95% CI low")  # the answer first


def test_the_html_page_escapes_names_and_loads_nothing(written, results_dir):
    page = (results_dir / "index.html").read_text()
    assert EVIL not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert page.count("<script>") == 1 and "http://" not in page and "https://" not in page
    assert "default-src 'none'; img-src data:; style-src 'unsafe-inline'; script-src 'unsafe-inline'" in page
    assert page.count('<img src="data:image/png;base64,') == 7  # the matrix; per task: accuracy–speed, accuracy–memory, heatmap
    assert '<th scope="col" aria-sort="none" data-key="ci_low_points" data-type="number">' in page


# ---------------------------------------------------------------------------- the command line


def test_zoo_leaderboard_prints_the_headline_and_writes_the_files(results_dir, capsys):
    assert main(["leaderboard", "--out", str(results_dir)]) == 0
    out = capsys.readouterr().out
    assert "faces_small" in out and "82.00" in out and "linear_probe" in out
    assert "disagree: partial beat the rule's full by 2.00 points; one seed: interval unknown" in out
    assert (results_dir / "index.html").is_file() and f"written to {results_dir}" in out


def test_zoo_leaderboard_fills_the_marked_sections_of_a_readme(results_dir, tmp_path, capsys):
    readme = tmp_path / "README.md"
    text = ("# Results\n\n<!-- zoo leaderboard: verdict -->\nold verdict\n<!-- /zoo leaderboard -->\n\nprose stays\n\n"
            "<!-- zoo leaderboard: accuracy -->\n<!-- /zoo leaderboard -->\n")  # fmt: skip
    readme.write_text(text)
    assert main(["leaderboard", "--out", str(results_dir), "--readme", str(readme)]) == 0
    filled = readme.read_text()
    assert "old verdict" not in filled and "prose stays" in filled and filled.startswith("# Results\n")
    verdict = filled.split("<!-- zoo leaderboard: verdict -->\n")[1].split("<!-- /zoo leaderboard -->")[0]
    assert verdict.startswith("| quadrant | task | architecture | won | rule | verdict |") and "partial beat the rule's full" in verdict
    assert "| faces_small |" in filled.split("<!-- zoo leaderboard: accuracy -->")[1]
    assert main(["leaderboard", "--out", str(results_dir), "--readme", str(readme)]) == 0 and readme.read_text() == filled

    readme.write_text("# no markers\n")
    capsys.readouterr()
    assert main(["leaderboard", "--out", str(results_dir), "--readme", str(readme)]) == 2
    assert f"{readme} has no section to fill" in capsys.readouterr().err and readme.read_text() == "# no markers\n"


def test_zoo_leaderboard_json(results_dir, capsys):
    assert main(["leaderboard", "--out", str(results_dir), "--json"]) == 0
    captured = capsys.readouterr()
    data = json.loads(captured.out)
    assert data["accuracy"]["tables"]["accuracy"]["rows"] and data["cells"] == 19
    assert f"written to {results_dir}" in captured.err


@pytest.mark.parametrize("stored", [True, False])
def test_zoo_bench_writes_the_leaderboards_at_the_end(tmp_path, capsys, monkeypatch, stored):
    """The grid itself is tested in test_harness; here it stores the known rows at once."""
    import zoo.bench.harness

    def run_grid(cells, store, executor, **callbacks):
        rows = make_rows() if stored else []
        for row in rows:
            store.record(row)
        return rows

    monkeypatch.setattr(zoo.bench.harness, "run_grid", run_grid)
    argv = ["bench", "--arch", "simple_cnn", "--strategy", "scratch", "--task", "digits_small", "--device", "cpu", "--out", str(tmp_path)]
    assert main([*argv, "--no-leaderboard"]) == 1
    assert "leaderboard files written" not in capsys.readouterr().out
    assert not (tmp_path / "leaderboard.json").exists() and not (tmp_path / "index.html").exists()
    assert main(argv) == 1  # the known rows hold failed cells; without them, the grid's cells did not run
    captured = capsys.readouterr()
    if stored:
        assert f"leaderboard files written to {tmp_path}" in captured.out
        assert json.loads((tmp_path / "leaderboard.json").read_text())["cells"] == 19
    else:
        assert "holds no cells yet" in captured.err and "no leaderboards written" in captured.err
        assert not (tmp_path / "index.html").exists()


def test_missing_foreign_and_empty_databases_are_one_line_errors(tmp_path, capsys):
    missing = tmp_path / "nowhere"
    assert main(["leaderboard", "--out", str(missing)]) == 2
    err = capsys.readouterr().err
    assert err == f"zoo: error: no results database at {missing / 'results.sqlite'}: run `zoo bench --out {missing}` first, or point --out at the directory it wrote\n"
    assert not missing.exists()

    foreign = tmp_path / "foreign"
    foreign.mkdir()
    with sqlite3.connect(foreign / "results.sqlite") as conn:
        conn.execute("CREATE TABLE photos (id INTEGER)")
    before = (foreign / "results.sqlite").read_bytes()
    assert main(["leaderboard", "--out", str(foreign)]) == 2
    assert "without zoo's cells table" in capsys.readouterr().err
    assert (foreign / "results.sqlite").read_bytes() == before and sorted(p.name for p in foreign.iterdir()) == ["results.sqlite"]

    garbage = tmp_path / "garbage"
    garbage.mkdir()
    (garbage / "results.sqlite").write_bytes(b"not a database" * 100)
    assert main(["leaderboard", "--out", str(garbage)]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"zoo: error: {garbage / 'results.sqlite'} is not a zoo results database") and "Traceback" not in err

    empty = tmp_path / "empty"
    ResultsStore(empty / "results.sqlite")
    assert main(["leaderboard", "--out", str(empty)]) == 2
    assert f"holds no cells yet: run `zoo bench --out {empty}`" in capsys.readouterr().err


def test_read_results_checks_the_columns(tmp_path):
    path = tmp_path / "results.sqlite"
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE cells (key TEXT, top1 REAL)")
    with pytest.raises(Exception, match="another version of zoo wrote it"):
        read_results(path)


def test_plots_of_results_no_longer_there_are_removed_and_other_files_kept(results_dir):
    from zoo.leaderboard.writers import write_leaderboards

    plots = results_dir / "plots"
    plots.mkdir(exist_ok=True)
    for name in ("learning_curves_mini_gone_60ep.png", "pretraining_gone.png", "heatmap_gone.png", "my_own.png"):
        (plots / name).write_bytes(b"old")
    write_leaderboards(zoo.get_zoo(), results_dir)
    assert sorted(p.name for p in plots.glob("*gone*")) == [] and (plots / "my_own.png").read_bytes() == b"old"
