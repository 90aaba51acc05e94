"""zoo bench: the grid, the results database, failures recorded, resume after SIGKILL."""

import dataclasses
import os
import signal
import sqlite3
import subprocess
import sys
import time

import pytest
import torch

from zoo.bench.grid import expand_grid
from zoo.bench.harness import LocalExecutor, forget, run_grid
from zoo.cli.main import main
from zoo.device import select_device
from zoo.errors import WeightsError
from zoo.results.store import ResultsStore
from zoo_plugins import datasets as offline

pytestmark = pytest.mark.skipif(
    not offline.digits_png().exists() or not (offline.fashion_mnist_dir() / "train-images-idx3-ubyte.gz").exists(),
    reason="the offline data sets are not installed: run `make test` as root",
)


@pytest.fixture
def executor(tiny_zoo):
    """A local executor running the cells of ``tiny_zoo``'s plugin set."""
    return LocalExecutor(tiny_zoo, select_device("cpu"))


def every_cell(groups) -> list:
    """All cells of groups without a sweep: seed 0, then the other seeds at the one rate."""
    return [cell for group in groups for cell in group.sweep() + group.seeded(group.lrs[0])]


def test_grid_keys_are_stable_and_distinct(tiny_zoo):
    suite = tiny_zoo.suites.get("tiny")
    cells = every_cell(expand_grid(tiny_zoo, suite, ["simple_cnn"], ["scratch", "linear_probe"], suite.tasks, seeds=2))
    assert len(cells) == 2 * 2 * 2 and len({c.key for c in cells}) == 8
    again = every_cell(expand_grid(tiny_zoo, suite, ["simple_cnn"], ["scratch", "linear_probe"], suite.tasks, seeds=2))
    assert [c.key for c in again] == [c.key for c in cells]
    scratch = next(c for c in cells if c.strategy == "scratch")
    probe = next(c for c in cells if c.strategy == "linear_probe")
    assert scratch.weights is None and probe.weights.startswith("simple_cnn.tiny-")
    longer = expand_grid(tiny_zoo, suite, ["simple_cnn"], ["scratch"], suite.tasks[:1], seeds=1, epochs=3)
    assert longer[0].base.epochs == 3 and longer[0].base.key != scratch.key
    bf16 = expand_grid(tiny_zoo, suite, ["simple_cnn"], ["scratch"], suite.tasks[:1], seeds=1, precision="bf16")
    assert bf16[0].base.recipe["precision"] == "bf16" and bf16[0].base.key != scratch.key
    # A change to the suite's data makes new cells: the task's images, and the source whose
    # statistics normalise a scratch cell (a pretrained cell's weights fingerprint their source).
    more = dataclasses.replace(suite.tasks[0], data=dataclasses.replace(suite.tasks[0].data, train_per_class=6))
    grown = expand_grid(tiny_zoo, dataclasses.replace(suite, tasks=(more,)), ["simple_cnn"], ["scratch"], [more], seeds=1)
    assert grown[0].base.key != scratch.key
    other_source = dataclasses.replace(suite, source=dataclasses.replace(suite.source, train_per_class=21))
    (renormalised,) = expand_grid(tiny_zoo, other_source, ["simple_cnn"], ["scratch"], suite.tasks[:1], seeds=1)
    assert renormalised.base.key != scratch.key and renormalised.base.data["normalised_by"]["train_per_class"] == 21
    assert probe.data["normalised_by"] is None and probe.data["selection"]["dataset"] == "digits"


def test_a_sweep_tries_each_rate_on_seed_0_and_the_other_seeds_train_at_one(tiny_zoo):
    suite = dataclasses.replace(tiny_zoo.suites.get("tiny"), lr_factors=(0.5, 1.0, 2.0))
    (group,) = expand_grid(tiny_zoo, suite, ["simple_cnn"], ["scratch"], suite.tasks[:1], seeds=3)
    sweep = group.sweep()
    assert [c.seed for c in sweep] == [0, 0, 0] and [c.recipe["lr"] for c in sweep] == [0.025, 0.05, 0.1]
    assert len({c.key for c in sweep}) == 3 and group.size == 3 + 2
    assert [(c.seed, c.recipe["lr"]) for c in group.seeded(0.1)] == [(1, 0.1), (2, 0.1)]


def test_each_task_brings_its_own_seeds_unless_overridden(tiny_zoo):
    suite = tiny_zoo.suites.get("tiny")
    tasks = [dataclasses.replace(suite.tasks[0], seeds=3), dataclasses.replace(suite.tasks[1], seeds=1)]
    cells = every_cell(expand_grid(tiny_zoo, suite, ["simple_cnn"], ["scratch"], tasks))
    assert [(c.task, c.seed) for c in cells] == [(tasks[0].name, 0), (tasks[0].name, 1), (tasks[0].name, 2), (tasks[1].name, 0)]
    assert len(every_cell(expand_grid(tiny_zoo, suite, ["simple_cnn"], ["scratch"], tasks, seeds=2))) == 4


def test_failing_cells_are_stored_with_status_and_reason_and_the_grid_goes_on(tiny_zoo, executor, tmp_path):
    suite = tiny_zoo.suites.get("tiny")
    strategies = ["test_oom", "linear_probe", "test_nan", "test_bug", "scratch"]
    cells = expand_grid(tiny_zoo, suite, ["simple_cnn"], strategies, suite.tasks[:1], seeds=1)
    store = ResultsStore(tmp_path / "results.sqlite")
    rows = {r.strategy: r for r in run_grid(cells, store, executor)}
    assert rows["test_oom"].status == "oom" and "out of memory" in rows["test_oom"].reason
    assert rows["test_nan"].status == "diverged" and "loss became nan" in rows["test_nan"].reason
    assert rows["test_bug"].status == "error"
    assert "ValueError: a bug in a strategy plugin (at zoo_harness_test.py" in rows["test_bug"].reason
    assert rows["test_bug"].reason.endswith(", while training") and rows["test_oom"].reason.endswith(", while training")
    for ok in ("linear_probe", "scratch"):
        row = rows[ok]
        assert row.status == "ok" and row.reason is None and 0 <= row.top1 <= 1
        assert row.train_images_per_second > 0 and row.infer_images_per_second > 0
        assert row.train_peak_bytes > 0 and row.params == 545_098 and row.macs > 0  # ten digits
        assert row.step_memory["batch_size"] == 128 and row.step_memory["peak_bytes"] > row.step_memory["parameters"]
    assert rows["linear_probe"].step_memory["gradients"] == (128 * 10 + 10) * 4  # the new head's, alone
    assert rows["linear_probe"].step_memory["cache_bytes"] == 50 * 128 * 4  # 50 images' 128 pooled features
    assert rows["scratch"].step_memory["cache_bytes"] == 0
    assert rows["linear_probe"].trainable_params == 128 * 10 + 10  # the new head for ten digits
    (phase,) = rows["linear_probe"].phases
    assert phase["frozen_stages"] == 3 and phase["cap"] == 1 and phase["epochs"] == 1 and phase["cached_prefix"]
    assert rows["linear_probe"].test_images == 50 and len(rows["linear_probe"].test_correct) == 2 * 7  # 50 bits
    assert rows["linear_probe"].val_top1 is not None and rows["linear_probe"].curve[0][0]["epoch"] == 1
    assert rows["scratch"].trainable_params == rows["scratch"].params
    stored = list(store.rows())
    assert len(stored) == 5 and stored[0].environment["device"] == "cpu"
    assert stored[0].config["architecture"] == "simple_cnn"


def test_a_rerun_retries_the_failed_cells_only_and_counts_their_attempts(tiny_zoo, executor, tmp_path):
    suite = tiny_zoo.suites.get("tiny")
    cells = expand_grid(tiny_zoo, suite, ["simple_cnn"], ["test_oom", "test_nan", "test_bug", "linear_probe"], suite.tasks[:1], seeds=1)
    store = ResultsStore(tmp_path / "results.sqlite")
    first = {r.strategy: r for r in run_grid(cells, store, executor)}
    assert run_grid(cells, store, executor, retry=False) == []
    again = run_grid(cells, store, executor)
    assert sorted(r.strategy for r in again) == ["test_bug", "test_nan", "test_oom"]  # ok cells are never recomputed
    stored = {r.strategy: r for r in store.rows()}
    assert {name: r.attempts for name, r in stored.items()} == {"test_oom": 2, "test_nan": 2, "test_bug": 2, "linear_probe": 1}
    assert stored["linear_probe"].finished == first["linear_probe"].finished and len(stored) == 4


def test_bench_without_arch_runs_the_suites_own_backbones(tiny_zoo, tmp_path):
    argv = ["bench", "--suite", "tiny", "--strategy", "linear_probe", "--task", "digits_tiny", "--out", str(tmp_path), "--no-leaderboard"]
    assert main(argv) == 0
    assert {r.architecture for r in ResultsStore(tmp_path / "results.sqlite").rows()} == {"simple_cnn"}


def test_bench_exits_1_listing_the_failed_cells_and_0_once_they_pass(tiny_zoo, tmp_path, capsys, monkeypatch):
    argv = ["bench", "--suite", "tiny", "--arch", "simple_cnn", "--task", "digits_tiny", "--out", str(tmp_path), "--no-leaderboard"]
    assert main([*argv, "--strategy", "linear_probe,test_bug"]) == 1
    out = capsys.readouterr().out
    assert "2 cells: 2 run, 0 already stored, 1 failed" in out
    assert "  failed: simple_cnn/test_bug/digits_tiny/seed0: error: ValueError: a bug in a strategy plugin" in out
    assert main([*argv, "--strategy", "linear_probe,test_bug", "--no-retry"]) == 1
    assert "failed in an earlier run, kept (--no-retry): simple_cnn/test_bug/digits_tiny/seed0" in capsys.readouterr().out
    fixed = dataclasses.replace(tiny_zoo.strategies.get("test_bug"), setup=None)  # the bug is fixed
    monkeypatch.setitem(tiny_zoo.strategies._entries, "test_bug", fixed)
    assert main([*argv, "--strategy", "linear_probe,test_bug"]) == 0
    assert "2 cells: 1 run, 1 already stored, 0 failed" in capsys.readouterr().out
    # The fix lives in this process alone, where a fresh memory probe cannot see it: the cell
    # stands, its step memory says why it was not measured.
    fixed_row = next(r for r in ResultsStore(tmp_path / "results.sqlite").rows() if r.strategy == "test_bug")
    assert fixed_row.status == "ok" and fixed_row.step_memory["peak_bytes"] is None
    assert fixed_row.step_memory["method"].startswith("not measured: the memory probe failed")


def test_failure_statuses():
    from zoo.bench.runner import failure
    from zoo.train.loop import Diverged

    assert failure(Diverged("loss became nan at epoch 1, step 1")) == {
        "status": "diverged", "reason": "loss became nan at epoch 1, step 1"
    }
    cpu_oom = RuntimeError("[enforce fail at alloc_cpu.cpp:117] DefaultCPUAllocator: can't allocate memory: you tried to allocate 1 bytes")
    assert failure(cpu_oom)["status"] == "oom"
    assert failure(KeyError("x")) == {"status": "error", "reason": "KeyError: 'x'"}
    assert failure(KeyError("x"), "pretraining")["reason"] == "KeyError: 'x', while pretraining the backbone"


def test_rerunning_skips_stored_cells_and_fresh_forgets_only_the_cells_selected(tiny_zoo, executor, tmp_path):
    suite = tiny_zoo.suites.get("tiny")
    groups = expand_grid(tiny_zoo, suite, ["simple_cnn"], ["linear_probe"], suite.tasks, seeds=1)
    store = ResultsStore(tmp_path / "results.sqlite")
    assert len(run_grid(groups, store, executor)) == 2
    assert run_grid(groups, store, executor) == []
    kept = {r.key: r.finished for r in store.rows() if r.task != groups[0].base.task}
    assert forget(store, groups[:1]) == 1
    assert [r.task for r in run_grid(groups, store, executor)] == [groups[0].base.task]
    assert {r.key: r.finished for r in store.rows() if r.key in kept} == kept and len(list(store.rows())) == 2


def test_fresh_forgets_the_cells_a_folder_stored_under_its_former_quadrant(tiny_zoo, executor, tmp_path):
    suite = tiny_zoo.suites.get("tiny")
    groups = expand_grid(tiny_zoo, suite, ["simple_cnn"], ["linear_probe"], suite.tasks, seeds=1)
    store = ResultsStore(tmp_path / "results.sqlite")
    run_grid(groups, store, executor)
    # As if rebuilt weights had since placed the first task in another quadrant: its stored cell
    # is the same training run, now under a config the grid no longer makes.
    with sqlite3.connect(store.path) as conn:
        conn.execute("UPDATE cells SET config = json_set(config, '$.quadrant', 'Q9') WHERE task = ?", (groups[0].base.task,))
    assert forget(store, groups[:1]) == 1
    assert [r.task for r in store.rows()] == [groups[1].base.task]


def test_one_database_never_holds_two_networks_under_one_weights_name(tiny_zoo, executor, tmp_path):
    suite = tiny_zoo.suites.get("tiny")
    groups = expand_grid(tiny_zoo, suite, ["simple_cnn"], ["linear_probe"], suite.tasks, seeds=1)
    store = ResultsStore(tmp_path / "results.sqlite")
    run_grid(groups, store, executor)
    # As if the stored cells had started from another machine's build of the same weights.
    with sqlite3.connect(store.path) as conn:
        conn.execute("UPDATE cells SET pretraining = json_set(pretraining, '$.sha256', ?)", ("f" * 64,))
    forget(store, groups[:1])
    before = [r.row() for r in store.rows()]
    with pytest.raises(WeightsError, match=r"started from simple_cnn\.tiny-\w+ with sha256 ffffffff…, but .* --strategy linear_probe --fresh") as raised:
        run_grid(groups, store, executor)
    assert f"--suite tiny --arch simple_cnn --strategy linear_probe --fresh --out {tmp_path}`" in str(raised.value)
    assert [r.row() for r in store.rows()] == before  # the other build's cell is kept, the new one not stored
    forget(store, groups)  # the remedy the message gives: the architecture's cells again, with these weights
    assert len(run_grid(groups, store, executor)) == 2
    assert len({r.pretraining["sha256"] for r in store.rows()}) == 1


def test_the_remedy_for_another_build_names_the_folders_its_cells_trained_on(tiny_zoo, executor, tmp_path):
    suite = tiny_zoo.suites.get("tiny")
    groups = expand_grid(tiny_zoo, suite, ["simple_cnn"], ["linear_probe"], suite.tasks, seeds=1)
    store = ResultsStore(tmp_path / "results.sqlite")
    run_grid(groups[:1], store, executor)
    # As if that cell had trained on a team's folder, from another machine's build.
    with sqlite3.connect(store.path) as conn:
        conn.execute("UPDATE cells SET pretraining = json_set(pretraining, '$.sha256', ?), "
                     "config = json_set(config, '$.data_root', '/data/my folder')", ("f" * 64,))  # fmt: skip
    with pytest.raises(WeightsError) as raised:
        run_grid(groups[1:], store, executor)
    # --data alone runs the folders alone: the suite's task the new cell is of is named beside it
    assert f"zoo bench --suite tiny --task {groups[1].base.task} --data '/data/my folder' --arch simple_cnn" in str(raised.value)


@pytest.mark.parametrize(
    "argv, message",
    [
        (["bench", "--arch", "resnet1"], "unknown architecture 'resnet1': did you mean resnet18"),
        (["bench", "--strategy", "linear_prob"], "unknown strategy 'linear_prob': did you mean linear_probe"),
        (["bench", "--task", "digits_larg"], "unknown task 'digits_larg': did you mean digits_large"),
        (["bench", "--suite", "mini2"], "unknown suite 'mini2': did you mean mini"),
        (["bench", "--quadrant", "Q5"], "unknown quadrant Q5"),
    ],
)
def test_bench_names_exit_2_with_close_matches(capsys, argv, message):
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"zoo: error: {message}") and "Traceback" not in err


def test_a_corrupt_results_file_is_refused_untouched(tmp_path, capsys):
    bad = tmp_path / "results.sqlite"
    bad.write_bytes(b"not a database at all" * 100)
    assert main(["bench", "--out", str(tmp_path), "--arch", "simple_cnn", "--strategy", "scratch"]) == 2
    assert f"{bad} is not a zoo results database" in capsys.readouterr().err
    assert bad.read_bytes() == b"not a database at all" * 100


def test_a_killed_bench_resumes_without_repeating_or_losing_a_cell(tmp_path, harness_plugin_site):
    site = harness_plugin_site
    out = tmp_path / "out"
    env = {**os.environ, "PYTHONPATH": str(site)}  # $ZOO_HOME: this test's, with the session's step memory figures
    argv = [sys.executable, "-m", "zoo.cli.main", "bench", "--suite", "tiny", "--arch", "simple_cnn",
            "--strategy", "linear_probe,scratch", "--seeds", "2", "--out", str(out), "--no-leaderboard"]  # fmt: skip
    database = out / "results.sqlite"

    def stored() -> list[tuple]:
        try:
            with sqlite3.connect(f"file:{database}?mode=ro", uri=True) as conn:
                return sorted(conn.execute("SELECT key, finished, wall_seconds FROM cells"))
        except sqlite3.OperationalError:  # not created yet, or its table not yet
            return []

    first = subprocess.Popen(argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 240
    while len(stored()) < 2 and time.monotonic() < deadline and first.poll() is None:
        time.sleep(0.02)
    first.send_signal(signal.SIGKILL)
    first.wait()
    before = stored()
    assert 2 <= len(before) < 8, "the kill should land in the middle of the grid"

    second = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=600)
    assert second.returncode == 0, second.stderr
    after = stored()
    assert len(after) == 8 and len({key for key, *_ in after}) == 8
    assert set(before) <= set(after), "a finished cell was recomputed or lost"
    assert second.stderr.count(": stored") == len(before)
    assert f"8 cells: {8 - len(before)} run, {len(before)} already stored, 0 failed" in second.stdout


def test_two_benches_on_one_directory_store_every_cell_once(tmp_path, harness_plugin_site):
    out = tmp_path / "out"
    env = {**os.environ, "PYTHONPATH": str(harness_plugin_site)}  # $ZOO_HOME: this test's, as above
    argv = [sys.executable, "-m", "zoo.cli.main", "bench", "--suite", "tiny", "--arch", "simple_cnn", "--strategy", "scratch",
            "--task", "digits_tiny", "--seeds", "2", "--out", str(out), "--wait", "--no-leaderboard"]  # fmt: skip
    store = ResultsStore(out / "results.sqlite")
    # Both queue behind this test's hold on the directory, then race for it when it lets go.
    with store.lock():
        both = [subprocess.Popen(argv, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for _ in range(2)]
        waiting = [run.stderr.readline() for run in both]
    finished = [(run.wait(timeout=600), *run.communicate()) for run in both]
    assert [code for code, *_ in finished] == [0, 0], [err for *_, err in finished]
    assert all(line.startswith(f"zoo: waiting for zoo bench (pid {os.getpid()} on ") for line in waiting), waiting
    with sqlite3.connect(out / "results.sqlite") as conn:
        keys = [key for (key,) in conn.execute("SELECT key FROM cells")]
    assert len(keys) == len(set(keys)) == 2
    summaries = sorted(out_text.strip().splitlines()[0] for _, out_text, _ in finished)
    assert summaries[0].startswith("2 cells: 0 run, 2 already stored") and summaries[1].startswith("2 cells: 2 run, 0 already stored")


def test_a_bench_on_a_directory_in_use_names_the_holder(tiny_zoo, tmp_path, capsys):
    store = ResultsStore(tmp_path / "results.sqlite")
    with store.lock():
        argv = ["bench", "--suite", "tiny", "--arch", "simple_cnn", "--strategy", "scratch", "--out", str(tmp_path)]
        assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"zoo: error: {tmp_path} is in use by zoo bench (pid {os.getpid()} on ")
    assert "add --wait to queue behind it" in err and "Traceback" not in err
    assert list(store.rows()) == []


def test_scratch_cells_without_a_pretrained_reference_normalise_by_their_own_images():
    """A suite on hub weights (no source) and a network with no hub weights: no pretrained
    backbone's normalisation to match, so the training images' own statistics."""
    from zoo.bench.runner import _reference_stats
    from zoo.data.images import ImageSet
    from zoo.plugin.architecture import ArchitectureSpec
    from zoo.plugin.suite import SuiteSpec

    images = torch.zeros(4, 1, 8, 8, dtype=torch.uint8)
    images[:2] = 255  # half white, half black: mean 0.5, std 0.5 · √(256 / 255) over the 256 pixels
    train = ImageSet(images, torch.tensor([0, 1, 0, 1]), ("a", "b"), "toy")
    suite = SuiteSpec("hub", "hub weights", None, "ImageNet-1k", (), 8, 10)
    bare = ArchitectureSpec("bare", "test", lambda num_classes=10: None, (3, 8, 8), (3, 8, 8))
    mean, std = _reference_stats(None, suite, bare, train)  # no source: the plugin set is not asked
    assert mean == (0.5,) * 3 and std == pytest.approx((0.5 * (256 / 255) ** 0.5,) * 3, abs=1e-4)


def test_a_bench_fills_in_the_step_memory_stored_cells_lack_and_nothing_else(tiny_zoo, executor, tmp_path, capsys):
    suite = tiny_zoo.suites.get("tiny")
    store = ResultsStore(tmp_path / "results.sqlite")
    run_grid(expand_grid(tiny_zoo, suite, ["simple_cnn"], ["linear_probe"], suite.tasks[:1], seeds=1), store, executor)
    [before] = store.rows()
    with sqlite3.connect(store.path) as db:  # as a database written before step memory was measured
        db.execute("UPDATE cells SET step_memory = NULL")
    assert main(["bench", "--suite", "tiny", "--arch", "simple_cnn", "--strategy", "linear_probe", "--task", "digits_tiny",
                 "--seeds", "1", "--out", str(tmp_path), "--no-leaderboard"]) == 0  # fmt: skip
    out = capsys.readouterr().out
    assert "0 run, 1 already stored" in out and "step memory measured for 1 stored cells that lacked it" in out
    [after] = store.rows()
    cached_prefix = before.step_memory.pop("cache_bytes")  # known only to the training run, not measured again
    assert cached_prefix > 0 and after == before  # the same figures (from the cache), the rest of the row untouched
