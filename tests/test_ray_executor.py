"""zoo bench --executor ray: the same rows as the local executor, stored once by the driver.

Needs Ray (``pip install 'zoo[ray]'``); without it the tests that run Ray are skipped and
only the one-line message for a missing Ray is checked. One local Ray instance serves the
in-process tests; the command-line test starts its own, as a user's ``zoo bench`` does.
"""

import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
import torch

import zoo
from zoo.bench.grid import expand_grid
from zoo.bench.harness import LocalExecutor, run_grid
from zoo.cli.main import main
from zoo.device import select_device
from zoo.results.schema import CellResult
from zoo.results.store import ResultsStore
from zoo_plugins import datasets as offline

STRATEGIES = ["test_oom", "linear_probe", "test_nan", "test_bug", "scratch"]
NO_RAY = "Ray is not installed: pip install 'zoo[ray]' to test the Ray executor"

pytestmark = [
    pytest.mark.skipif(
        not offline.digits_png().exists() or not (offline.fashion_mnist_dir() / "train-images-idx3-ubyte.gz").exists(),
        reason="the offline data sets are not installed: run `make test` as root",
    ),
]


@pytest.fixture(scope="module")
def ray_instance():
    """A local Ray instance for this module's in-process tests, as small as the tests allow."""
    ray = pytest.importorskip("ray", reason=NO_RAY)
    # "local" starts a new instance even if $RAY_ADDRESS or a `ray start` cluster is about;
    # log_to_driver off keeps workers' progress lines out of pytest's captured output.
    ray.init(address="local", num_cpus=2, num_gpus=0, object_store_memory=80 * 2**20,
             include_dashboard=False, log_to_driver=False)  # fmt: skip
    yield ray
    ray.shutdown()


@pytest.fixture
def tiny_zoo_for_workers(tiny_zoo, harness_plugin_site, monkeypatch):
    """The test plugin loaded in-process for the driver, and installed for Ray's workers.

    The workers load plugins through entry points, like any process, so the plugin is also
    installed in a directory put on this process's path: the executor must pass it on.
    """
    monkeypatch.syspath_prepend(str(harness_plugin_site))
    return tiny_zoo


def stored_rows(database: Path) -> list[tuple]:
    with sqlite3.connect(database) as conn:
        return sorted(conn.execute("SELECT key, strategy, status, reason, environment FROM cells"))


# Runs before Ray is started in this process: making `import ray` fail under a live Ray
# instance could break its background threads.
def test_without_ray_bench_says_how_to_get_it_in_one_line(monkeypatch, capsys, tmp_path):
    monkeypatch.setitem(sys.modules, "ray", None)  # `import ray` raises ImportError
    argv = ["bench", "--executor", "ray", "--arch", "simple_cnn", "--strategy", "scratch", "--out", str(tmp_path / "out")]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err == "zoo: error: the Ray executor needs Ray: pip install 'zoo[ray]'\n"
    assert not (tmp_path / "out").exists(), "nothing is touched before the executor is known to work"


def test_ray_address_without_the_ray_executor_is_refused(capsys):
    assert main(["bench", "--ray-address", "127.0.0.1:6379"]) == 2
    assert capsys.readouterr().err == "zoo: error: --ray-address goes with --executor ray\n"


def test_an_unreachable_ray_address_fails_at_once(tmp_path, capsys):
    pytest.importorskip("ray", reason=NO_RAY)
    argv = ["bench", "--executor", "ray", "--ray-address", "127.0.0.1:1", "--arch", "simple_cnn",
            "--strategy", "scratch", "--out", str(tmp_path / "out")]  # fmt: skip
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith("zoo: error: cannot reach the Ray cluster at 127.0.0.1:1: ") and err.count("\n") == 1
    assert not (tmp_path / "out").exists()


# First of the Ray tests, so its own Ray instance does not share the two cores with the
# module's instance.
def test_bench_with_the_ray_executor_from_the_command_line(tmp_path, harness_plugin_site):
    pytest.importorskip("ray", reason=NO_RAY)
    site = harness_plugin_site
    out, home = tmp_path / "out", tmp_path / "home"
    env = {k: v for k, v in os.environ.items() if k != "RAY_ADDRESS"}
    env.update(PYTHONPATH=str(site), ZOO_HOME=str(home))
    # Two cells that fail fast, after pretraining: a cell that succeeds spends most of its
    # time measuring speed on one thread, and the in-process test below covers those.
    argv = [sys.executable, "-m", "zoo.cli.main", "bench", "--suite", "tiny", "--arch", "simple_cnn",
            "--strategy", "test_oom,test_bug", "--task", "digits_tiny", "--out", str(out),
            "--executor", "ray", "--ray-address", "local", "--no-leaderboard"]  # fmt: skip
    done = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 1, done.stderr  # the run finished; its cells failed
    assert "2 cells: 2 run, 0 already stored, 2 failed" in done.stdout
    assert "simple_cnn/test_oom/digits_tiny/seed0: oom: out of memory" in done.stderr
    assert "simple_cnn/test_bug/digits_tiny/seed0: error: ValueError: a bug in a strategy plugin" in done.stderr
    rows = stored_rows(out / "results.sqlite")
    assert sorted((strategy, status) for _, strategy, status, *_ in rows) == [("test_bug", "error"), ("test_oom", "oom")]
    assert all('"executor": "ray"' in environment for *_, environment in rows)
    assert list(home.glob("weights/simple_cnn.tiny-*.safetensors")), "the worker pretrained into $ZOO_HOME"


def test_ray_and_local_executors_give_the_same_cells_and_statuses(ray_instance, tiny_zoo_for_workers, zoo_home, tmp_path, monkeypatch):
    from zoo.bench.ray_executor import RayExecutor

    suite = tiny_zoo_for_workers.suites.get("tiny")
    groups = expand_grid(zoo.get_zoo(), suite, ["simple_cnn"], STRATEGIES, suite.tasks[:1], seeds=1)
    keys = {cell.key for group in groups for cell in group.sweep()}
    recorded = []
    record = ResultsStore.record
    monkeypatch.setattr(ResultsStore, "record", lambda store, row: (recorded.append(row.key), record(store, row)))

    # Ray first: its workers pretrain the backbone, into this test's $ZOO_HOME.
    ray_store = ResultsStore(tmp_path / "ray" / "results.sqlite")
    ray_rows = {r.key: r for r in run_grid(groups, ray_store, RayExecutor(select_device("cpu")))}
    assert list((zoo_home / "weights").glob("simple_cnn.tiny-*.safetensors")), "workers must use the driver's $ZOO_HOME"
    local_store = ResultsStore(tmp_path / "local" / "results.sqlite")
    local_rows = {r.key: r for r in run_grid(groups, local_store, LocalExecutor(zoo.get_zoo(), select_device("cpu")))}

    assert set(ray_rows) == set(local_rows) == keys
    for key, local in local_rows.items():
        ray_row = ray_rows[key]
        assert (ray_row.strategy, ray_row.status) == (local.strategy, local.status)
        if local.status != "ok":  # the same failure, with the same reason
            assert ray_row.reason == local.reason
        else:  # a cell's result is its config's: the same on a Ray worker, bit for bit
            assert (ray_row.top1, ray_row.test_correct, ray_row.val_loss) == (local.top1, local.test_correct, local.val_loss)
        assert ray_row.environment["executor"] == "ray" and ray_row.environment["device"] == "cpu"
    assert {r.strategy: r.status for r in ray_rows.values()} == {
        "test_oom": "oom", "linear_probe": "ok", "test_nan": "diverged", "test_bug": "error", "scratch": "ok",
    }  # fmt: skip
    # Every row stored once, and by this process (a worker writing one would make the
    # driver's insert of that key fail).
    stored = stored_rows(ray_store.path)
    assert sorted(key for key, *_ in stored) == sorted(ray_rows) and len(stored) == len(keys)
    assert sorted(recorded) == sorted([*ray_rows, *local_rows])
    assert run_grid(groups, ray_store, RayExecutor(select_device("cpu")), retry=False) == []  # all stored: nothing runs


def test_a_dead_worker_or_an_escaped_exception_becomes_an_error_row(ray_instance, tiny_zoo_for_workers, tmp_path, monkeypatch):
    import zoo.bench.ray_executor as ray_executor

    def task(cell, device, threads):  # pickled by value for the workers (it is local to this test)
        if cell.strategy == "test_bug":
            os._exit(3)  # the worker dies, as under the kernel's OOM killer
        if cell.strategy == "test_nan":
            raise RuntimeError("escaped the cell runner")
        return CellResult(key=cell.key, strategy=cell.strategy, status="ok")  # no training: fast

    monkeypatch.setattr(ray_executor, "_run_cell", task)
    suite = tiny_zoo_for_workers.suites.get("tiny")
    groups = expand_grid(zoo.get_zoo(), suite, ["simple_cnn"], ["test_bug", "test_nan", "scratch"], suite.tasks[:1], seeds=1)
    store = ResultsStore(tmp_path / "results.sqlite")
    rows = {r.strategy: r for r in run_grid(groups, store, ray_executor.RayExecutor("cpu", max_retries=0))}
    assert rows["scratch"].status == "ok", "the grid goes on"
    assert rows["test_bug"].status == "error"
    assert rows["test_bug"].reason.startswith("WorkerCrashedError from Ray: The worker died")
    assert rows["test_nan"].status == "error"
    assert rows["test_nan"].reason == "RayTaskError(RuntimeError) from Ray: escaped the cell runner"
    assert rows["test_bug"].config == groups[0].base.config() and rows["test_bug"].wall_seconds >= 0
    assert len(stored_rows(store.path)) == 3


def test_tasks_ask_for_a_gpu_on_a_gpu_cluster_and_carry_the_drivers_plugins_and_home(
    ray_instance, tiny_zoo_for_workers, zoo_home, tmp_path, monkeypatch
):
    from zoo.bench.ray_executor import RayExecutor

    executor = RayExecutor("cpu")
    options = executor.task_options()
    assert options["num_cpus"] == min(torch.get_num_threads(), 2) and "num_gpus" not in options  # this instance has no GPU
    env = options["runtime_env"]["env_vars"]
    assert env["ZOO_HOME"] == str(zoo_home)
    assert env["PYTHONPATH"].split(os.pathsep) == [str(tmp_path / "site"), "${PYTHONPATH}"]
    monkeypatch.setattr(ray_instance, "cluster_resources", lambda: {"CPU": 8.0, "GPU": 2.0})
    options = executor.task_options()
    assert options["num_gpus"] == 1 and "num_cpus" not in options
