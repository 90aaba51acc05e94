"""The learning-rate sweep: chosen on validation, run in two waves, reported at the chosen rate."""

import dataclasses

import pytest

from zoo.bench.grid import CellGroup, expand_grid
from zoo.bench.harness import LocalExecutor, run_grid
from zoo.device import select_device
from zoo.leaderboard.boards import build_leaderboard
from zoo.leaderboard.budgets import PHASES, budget_rows, time_rows
from zoo.results.schema import CellResult
from zoo.results.store import ResultsStore
from zoo.results.sweep import choose_lr, edges, group_key, selected_rows, sweep_rows
from zoo_plugins import datasets as offline

RULE = {"linear_probe": ("Q4",), "full": ("Q1",)}


def row(seed, lr, val_top1, top1, strategy="full", status="ok", stopped=True, val_loss=0.5, **more):
    return CellResult(
        key=f"{strategy}-{seed}-{lr}", suite="s", task="t", quadrant="Q1", architecture="a",
        strategy=strategy, seed=seed, epochs=40, status=status, lr=lr, val_top1=val_top1,
        val_loss=val_loss, top1=top1, trained_epochs=12, stopped_early=stopped,
        phases=[{"best_epoch": 9, "epochs": 12, "cap": 40}],
        config={"task": "t", "architecture": "a", "strategy": strategy, "seed": seed, "recipe": {"lr": lr, "epochs": 40}},
        finished=f"2026-01-01T00:00:{seed:02d}", **more,
    )  # fmt: skip


def test_the_best_validation_score_chooses_then_the_loss_then_the_rate_nearest_the_recipes():
    assert choose_lr([row(0, 0.01, 0.8, 0.1), row(0, 0.03, 0.9, 0.0), row(0, 0.1, 0.7, 1.0)]) == 0.03  # test never counts
    assert choose_lr([row(0, 0.01, 0.9, 0, val_loss=0.4), row(0, 0.03, 0.9, 0, val_loss=0.5)]) == 0.01
    assert choose_lr([row(0, 0.01, 0.9, 0), row(0, 0.03, 0.9, 0), row(0, 0.1, 0.9, 0)], base_lr=0.03) == 0.03
    assert choose_lr([row(0, 0.1, 0.99, 0, status="diverged"), row(0, 0.03, 0.5, 0)]) == 0.03
    assert choose_lr([row(0, 0.1, None, 0, status="error")]) is None


def test_the_leaderboard_reports_the_chosen_rate_and_shows_the_sweep():
    rows = [row(0, 0.01, 0.80, 0.70), row(0, 0.03, 0.90, 0.80), row(0, 0.1, 0.85, 0.99),
            row(1, 0.03, 0.9, 0.82), row(2, 0.03, 0.9, 0.84)]  # fmt: skip
    chosen = selected_rows(rows)
    assert sorted((r.seed, r.lr) for r in chosen) == [(0, 0.03), (1, 0.03), (2, 0.03)]
    sweep = sweep_rows(rows)
    assert [(r["lr"], r["chosen"]) for r in sweep] == [(0.01, False), (0.03, True), (0.1, False)]
    assert [r["stopped_early"] for r in sweep] == [True] * 3  # a sweep cell that reached its cap shows as False
    board = build_leaderboard(rows, RULE)
    (accuracy,) = board.table("accuracy").rows
    assert accuracy["seeds"] == 3 and accuracy["top1_mean_pct"] == pytest.approx(82.0)  # not 0.99 from the test-best rate
    assert len(board.table("sweep").rows) == 3


def test_a_choice_on_the_edge_of_the_rates_tried_is_marked_and_never_decisive():
    """linear_probe chose its highest rate: it may be under-tuned, so full's large lead over
    it is shown with its interval but not called decisive; once bracketed, it is."""
    probe = [row(0, 0.01, 0.5, 0.5, strategy="linear_probe"), row(0, 0.03, 0.6, 0.6, strategy="linear_probe")]
    probe += [row(s, 0.03, 0.6, 0.60 + 0.001 * s, strategy="linear_probe") for s in (1, 2)]
    full = [row(0, 0.01, 0.9, 0.90), row(0, 0.03, 0.95, 0.95), row(0, 0.1, 0.85, 0.85)]
    full += [row(s, 0.03, 0.95, 0.95 + 0.001 * s) for s in (1, 2)]
    for cell in probe + full:
        cell.quadrant = "Q4"
    assert edges(probe + full) == {group_key(probe[0].config): "highest tried"}
    assert [r["edge"] for r in sweep_rows(probe + full) if r["chosen"]] == ["highest tried", None]
    (verdict,) = build_leaderboard(probe + full, RULE).table("verdict").rows
    assert verdict["measured"] == "full" and verdict["recommended"] == "linear_probe" and verdict["ci_low_points"] > 0
    assert verdict["decisive"] is None
    assert verdict["verdict"].endswith("linear_probe on a at the highest rate tried, perhaps under-tuned: not called decisive")
    bracketed = probe + [row(0, 0.1, 0.55, 0.55, strategy="linear_probe")]
    for cell in bracketed:
        cell.quadrant = "Q4"
    (verdict,) = build_leaderboard(bracketed + full, RULE).table("verdict").rows
    assert verdict["decisive"] is True and edges(bracketed + full) == {}


def test_a_strategys_lr_scale_centres_its_sweep(tiny_zoo):
    suite = tiny_zoo.suites.get("tiny")
    (probe, whole) = expand_grid(tiny_zoo, suite, ["simple_cnn"], ["linear_probe", "full"], suite.tasks[:1])
    scale = tiny_zoo.strategies.get("linear_probe").lr_scale
    assert scale > 1 and probe.base.recipe["lr"] == pytest.approx(scale * whole.base.recipe["lr"])


def test_a_rate_at_which_a_seed_diverged_gives_way_to_the_next_best():
    rows = [row(0, 0.01, 0.80, 0.70), row(0, 0.03, 0.90, 0.80), row(0, 0.1, 0.85, 0.75),
            row(1, 0.03, 0.9, 0.9), row(2, 0.03, None, None, status="diverged"),
            row(1, 0.1, 0.85, 0.76), row(2, 0.1, 0.85, 0.77)]  # fmt: skip
    assert sorted((r.seed, r.lr) for r in selected_rows(rows)) == [(0, 0.1), (1, 0.1), (2, 0.1)]
    assert [(r["lr"], r["diverged_seeds"], r["chosen"]) for r in sweep_rows(rows)] == [
        (0.01, 0, False), (0.03, 1, False), (0.1, 0, True)]  # fmt: skip
    (accuracy,) = build_leaderboard(rows, RULE).table("accuracy").rows
    assert accuracy["seeds"] == 3 and accuracy["top1_mean_pct"] == pytest.approx(76.0)  # not 85 from the two survivors
    # Where every rate the sweep finished lost a seed, seed 0's choice stands.
    unstable = [*rows, row(2, 0.01, None, None, status="diverged"), row(1, 0.1, None, None, status="diverged")]
    assert {r.lr for r in selected_rows(unstable)} == {0.03}


class ScriptedExecutor:
    """Trains nothing: a cell's validation top-1 is its rate's score, and the (seed, rate)
    pairs listed diverge."""

    name = "scripted"

    def __init__(self, scores: dict[float, float], diverge: set[tuple[int, float]]):
        self.scores, self.diverge, self.ran = scores, diverge, []

    def run(self, cells, on_epoch=None):
        for cell in cells:
            lr = cell.recipe["lr"]
            self.ran.append((cell.seed, lr))
            status = "diverged" if (cell.seed, lr) in self.diverge else "ok"
            top1 = None if status == "diverged" else self.scores[lr]
            yield cell, cell.result(status=status, lr=lr, val_top1=top1, val_loss=0.5, top1=top1,
                                    finished=f"2026-01-01T00:00:{len(self.ran):02d}")  # fmt: skip


def test_the_harness_trains_the_next_best_rates_seeds_when_one_diverges(tiny_zoo, tmp_path):
    suite = dataclasses.replace(tiny_zoo.suites.get("tiny"), lr_factors=(0.2, 1.0, 5.0), lr_extensions=0)
    (group,) = expand_grid(tiny_zoo, suite, ["simple_cnn"], ["scratch"], suite.tasks[:1], seeds=3)
    low, mid, high = group.lrs
    executor = ScriptedExecutor({low: 0.7, mid: 0.9, high: 0.8}, {(2, mid)})
    done = []
    rows = run_grid([group], ResultsStore(tmp_path / "results.sqlite"), executor, on_cell=lambda *a: done.append(a[2:]))
    assert executor.ran == [(0, low), (0, mid), (0, high), (1, mid), (2, mid), (1, high), (2, high)]
    assert len(rows) == 7 and done[-1] == (7, 7)  # the progress total grew by the second choice's seeds
    assert {r.lr for r in selected_rows(rows)} == {high}
    executor.ran.clear()
    assert run_grid([group], ResultsStore(tmp_path / "results.sqlite"), executor) == [] and executor.ran == []


def test_the_budget_board_says_what_doubling_the_cap_changes():
    converged = budget_rows([row(0, 0.03, 0.9, 0.8), row(1, 0.03, 0.9, 0.8)])
    assert converged[0]["doubling_changes"].startswith("0.00 points") and converged[0]["stopped_early"] == "2 of 2"
    assert converged[0]["trained_epochs"] == "12" and converged[0]["best_epoch"] == "9"
    capped = budget_rows([row(0, 0.03, 0.9, 0.8), row(1, 0.03, 0.9, 0.8, stopped=False)])
    assert capped[0]["doubling_changes"].startswith("not shown: 1 seed(s) reached the cap")


@pytest.mark.skipif(
    not offline.digits_png().exists() or not (offline.fashion_mnist_dir() / "train-images-idx3-ubyte.gz").exists(),
    reason="the offline data sets are not installed: run `make test` as root",
)
def test_the_other_seeds_train_at_the_rate_seed_0_chose(tiny_zoo, tmp_path):
    suite = dataclasses.replace(tiny_zoo.suites.get("tiny"), lr_factors=(0.2, 1.0, 5.0), lr_extensions=0)
    groups = expand_grid(tiny_zoo, suite, ["simple_cnn"], ["linear_probe"], suite.tasks[:1], seeds=2)
    store = ResultsStore(tmp_path / "results.sqlite")
    rows = run_grid(groups, store, LocalExecutor(tiny_zoo, select_device("cpu")))
    sweep = [r for r in rows if r.seed == 0]
    centre = 0.05 * tiny_zoo.strategies.get("linear_probe").lr_scale  # a head-only sweep centres on a higher rate
    assert centre > 0.05 and sorted(r.lr for r in sweep) == pytest.approx([0.2 * centre, centre, 5 * centre]) and len(rows) == 4
    (other,) = [r for r in rows if r.seed == 1]
    assert other.lr == choose_lr(sweep, centre) and other.config["recipe"]["lr"] == other.lr
    # Each phase and the wall time are rounded to 0.01 s: their sum may exceed it by that much each.
    assert set(other.seconds) == set(PHASES) and 0 < sum(other.seconds.values()) <= other.wall_seconds + 0.03
    assert run_grid(groups, store, LocalExecutor(tiny_zoo, select_device("cpu"))) == [], "a rerun finds every cell stored"


def test_cells_of_one_weights_variant_from_two_files_are_flagged():
    from zoo.leaderboard.budgets import pretraining_notes, pretraining_rows

    first, second = (row(s, 0.03, 0.9, 0.8, weights="a.s-123", pretraining={"sha256": "aa", "source_test_accuracy": 0.9, "epochs": 12})
                     for s in (0, 1))  # fmt: skip
    assert pretraining_notes([first, second]) == []
    assert pretraining_rows([first, second])[0]["source_test_top1_pct"] == 90.0
    second.pretraining = {**second.pretraining, "sha256": "bb"}
    (note,) = pretraining_notes([first, second])
    assert note.startswith("a.s-123: its cells started from 2 different weights files")


def test_the_time_table_splits_each_architectures_wall_time_by_phase():
    timed = row(0, 0.03, 0.9, 0.8, wall_seconds=130.0, environment={"device_name": "cpu X"},
                pretraining={"sha256": "aa", "seconds": 600.0},
                seconds={"setup": 6.0, "pretraining": 60.0, "training": 54.0, "evaluation": 6.0, "measurement": 3.0})
    untimed = row(1, 0.03, 0.9, 0.8, wall_seconds=50.0, environment={"device_name": "cpu X"})  # before phases were timed
    other = dataclasses.replace(row(0, 0.03, 0.9, 0.8, wall_seconds=60.0, environment={"device_name": "cpu Y"}, seconds={"setup": 60.0}),
                                architecture="b", status="error")  # fmt: skip
    first, second, total = time_rows([timed, untimed, other])
    assert (first["architecture"], first["cells"], first["timed_cells"]) == ("a", 2, 1)
    assert first["wall_minutes"] == pytest.approx(3.0) and first["pretraining_minutes"] == pytest.approx(1.0)
    assert first["weights_minutes"] == pytest.approx(10.0) and second["weights_minutes"] is None
    assert second["training_minutes"] == 0.0 and second["setup_minutes"] == pytest.approx(1.0)
    assert total["cells"] == 3 and total["wall_minutes"] == pytest.approx(4.0) and total["machine"] == "cpu X; cpu Y"


def test_a_sweep_whose_best_rate_is_on_its_edge_tries_one_step_further(tiny_zoo):
    (group,) = expand_grid(tiny_zoo, tiny_zoo.suites.get("tiny"), ["simple_cnn"], ["linear_probe"], tiny_zoo.suites.get("tiny").tasks[:1])
    group = CellGroup(group.base, (0.01, 0.03, 0.09), seeds=3, extensions=2)

    def next_rate(tried, chosen):
        cell = group.beyond_edge(tried, chosen)
        return None if cell is None else (cell.seed, round(cell.recipe["lr"], 6))

    assert next_rate([0.01, 0.03, 0.09], 0.03) is None  # bracketed
    assert next_rate([0.01, 0.03, 0.09], 0.09) == (0, 0.27)
    assert next_rate([0.01, 0.03, 0.09, 0.27], 0.27) == (0, 0.81)
    assert next_rate([0.01, 0.03, 0.09, 0.27, 0.81], 0.81) is None  # its steps are spent
    assert next_rate([0.01, 0.03, 0.09, 0.27], 0.09) is None  # the step past the edge did worse
    assert next_rate([0.01, 0.03, 0.09], 0.01) == (0, round(0.01 / 3, 6))
    assert CellGroup(group.base, (0.03,), seeds=3, extensions=2).beyond_edge([0.03], 0.03) is None


@pytest.mark.skipif(
    not offline.digits_png().exists() or not (offline.fashion_mnist_dir() / "train-images-idx3-ubyte.gz").exists(),
    reason="the offline data sets are not installed: run `make test` as root",
)
def test_the_harness_extends_a_sweep_past_its_edge_before_training_the_other_seeds(tiny_zoo, tmp_path):
    # Expected before running: at a thousandth of the recipe's rate a linear probe barely
    # moves, so the highest rate wins on validation and the sweep goes one step past it.
    suite = dataclasses.replace(tiny_zoo.suites.get("tiny"), lr_factors=(0.0003, 0.001), lr_extensions=1)
    groups = expand_grid(tiny_zoo, suite, ["simple_cnn"], ["linear_probe"], suite.tasks[:1], seeds=2)
    store = ResultsStore(tmp_path / "results.sqlite")
    totals = []
    rows = run_grid(groups, store, LocalExecutor(tiny_zoo, select_device("cpu")), on_cell=lambda cell, row, done, total: totals.append(total))
    rates = sorted(round(r.lr / groups[0].base.recipe["lr"], 6) for r in rows if r.seed == 0)
    assert rates == [0.0003, 0.001, round(0.001 * 0.001 / 0.0003, 6)]
    assert totals[0] == 3 and totals[-1] == 4 and len(rows) == 4
    (other,) = [r for r in rows if r.seed == 1]
    assert other.lr == choose_lr([r for r in rows if r.seed == 0])
    (chosen,) = [r for r in sweep_rows(rows) if r["chosen"]]
    assert chosen["edge"] in (None, "highest tried")  # still on the edge only if the extra step won too
    told = []  # a rerun runs nothing and counts every stored cell, the step past the edge included
    again = run_grid(groups, store, LocalExecutor(tiny_zoo, select_device("cpu")), on_cell=lambda cell, row, done, total: told.append((row, done, total)))
    assert again == [] and told[-1][1:] == (4, 4) and {row for row, _, _ in told} == {None}


def test_a_strategy_with_a_rate_scale_that_is_not_positive_is_refused():
    from zoo.plugin.strategy import Phase, StrategySpec, validate_strategy_spec

    for bad in (0, -1.0, True, "9"):
        assert "lr_scale must be a positive number" in validate_strategy_spec(StrategySpec("s", "d", (Phase("head"),), lr_scale=bad))
    assert validate_strategy_spec(StrategySpec("s", "d", (Phase("head"),), lr_scale=9)) is None
