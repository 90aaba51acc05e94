"""The GPU check (``scripts/gpu_check.py``), rehearsed on the CPU: every step it will run on
a GPU machine runs here at toy sizes, through ``make gpu-check REHEARSE=1``; its refusals are
one line with exit status 2; a step past its time is stopped and what it printed is kept."""

import importlib.util
import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

from zoo_plugins import datasets as offline

REPO = Path(__file__).resolve().parent.parent
SCRIPT = REPO / "scripts" / "gpu_check.py"
TIMM_BENCHMARK = os.environ.get("ZOO_TIMM_BENCHMARK", "")

needs_data = pytest.mark.skipif(
    not offline.digits_png().exists() or not (offline.fashion_mnist_dir() / "train-images-idx3-ubyte.gz").exists(),
    reason="the offline data sets are not installed: run `make test` as root",
)


def load_script():
    """``scripts/gpu_check.py`` as a module (registered first: its dataclasses look it up)."""
    if "gpu_check" not in sys.modules:
        spec = importlib.util.spec_from_file_location("gpu_check", SCRIPT)
        sys.modules["gpu_check"] = module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
    return sys.modules["gpu_check"]


def check(*args: str, python: list[str] | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([*(python or [sys.executable]), str(SCRIPT), *args], cwd=REPO, capture_output=True, text=True, check=False)


def one_line_refusal(done: subprocess.CompletedProcess) -> str:
    assert done.returncode == 2, done.stderr
    (line,) = done.stderr.splitlines()
    assert line.startswith("gpu-check: error: ") and "Traceback" not in done.stderr
    return line


@needs_data
def test_the_rehearsal_runs_every_step_on_the_cpu_and_writes_five_plain_files(tmp_path):
    data, out, home = tmp_path / "carried", tmp_path / "out", tmp_path / "home"
    packing = [sys.executable, str(SCRIPT), "--pack", str(data)] + (["--timm-benchmark", TIMM_BENCHMARK] if TIMM_BENCHMARK else [])
    subprocess.run(packing, cwd=REPO, check=True, capture_output=True)
    assert sorted(p.name for p in (data / "fashion-mnist").iterdir()) == sorted(load_script().FASHION_MNIST_FILES)
    args = f"--data {data} --home {home} --budget 240"
    done = subprocess.run(["make", "--no-print-directory", "gpu-check", "REHEARSE=1", f"GPU_CHECK_OUT={out}", f"GPU_CHECK_ARGS={args}"],
                          cwd=REPO, capture_output=True, text=True, check=False)  # fmt: skip
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert "== gpu-check: bench" in done.stdout and "== gpu-check: passed" in done.stdout  # printed as it goes

    figures = json.loads((out / "check.json").read_text())
    steps = figures["steps"]
    assert list(steps) == ["install", "environment", "tests", "speed", "memory", "timm", "pretrain", "bench"]
    assert all(s["status"] == ("skipped" if name == "timm" and not TIMM_BENCHMARK else "ok") for name, s in steps.items())
    assert figures["environment"]["device"] == "cpu" and figures["environment"]["precision"] == "bf16"
    assert "harness_test" in figures["environment"]["plugins"]  # the rehearsal's tiny suite, installed beside zoo
    tests = steps["tests"]
    assert tests["tests"] == tests["skipped"] >= 5 and tests["failures"] == tests["errors"] == 0  # no CUDA here
    (speed,) = steps["speed"]["reports"]
    assert speed["train_images_per_second"] > 0 and speed["precision"] == "bf16, channels_last"
    assert {r["strategy"] for r in steps["memory"]["rows"]} == {"linear_probe", "full"}
    assert all(r["predicted_bytes"] > 0 and r["measured_bytes"] > 0 and r["error"] is None for r in steps["memory"]["rows"])
    assert steps["pretrain"]["epochs"] == 1 and steps["pretrain"]["variant"].startswith("simple_cnn.tiny-")
    assert steps["bench"]["cells_ok"] == len(steps["bench"]["cells"]) == 4 and steps["bench"]["cells_per_minute"] > 0

    page = (out / "README.md").read_text()
    assert page.startswith(f"# rehearsal on the CPU at toy sizes: {figures['environment']['device_name']}")
    assert "| bench | ok |" in page and "Cells finished ok: 4 of 4 stored" in page
    # Five plain files in one folder, plainly named: few and small enough to copy back from a lent machine.
    written = sorted(p.relative_to(out) for p in out.rglob("*"))
    assert [str(p) for p in written] == ["README.md", "check.json", "log.txt", "results.sqlite", "tests.xml"]
    assert all(re.fullmatch(r"[A-Za-z0-9._-]+", p.name) for p in written)


def test_a_missing_data_folder_is_refused_in_one_line(tmp_path):
    line = one_line_refusal(check("--rehearse", "--out", str(tmp_path / "out"), "--data", str(tmp_path / "nothing")))
    assert f"the data folder {tmp_path / 'nothing'} does not exist" in line and "--pack" in line
    (tmp_path / "half" / "fashion-mnist").mkdir(parents=True)
    line = one_line_refusal(check("--rehearse", "--out", str(tmp_path / "out"), "--data", str(tmp_path / "half")))
    assert "train-images-idx3-ubyte.gz" in line and "digits.png are missing" in line
    assert not (tmp_path / "out").exists()  # nothing was started


def test_absent_packages_are_refused_in_one_line_naming_them(tmp_path):
    line = one_line_refusal(check("--rehearse", "--out", str(tmp_path), python=[sys.executable, "-S"]))  # no site-packages
    assert "torch, torchvision, timm, pluggy" in line and "are not installed" in line and "pip install torch" in line


@pytest.mark.skipif(torch.cuda.is_available(), reason="refuses only where there is no CUDA device")
@needs_data
def test_without_a_gpu_the_check_says_to_rehearse(tmp_path):
    line = one_line_refusal(check("--out", str(tmp_path)))
    assert "no CUDA device here" in line and "--rehearse" in line


def test_a_step_past_its_time_is_stopped_with_what_it_printed_kept(tmp_path):
    script = load_script()
    sleeper = [sys.executable, "-c", "import time; print('started', flush=True); time.sleep(60)"]
    with script.Log(tmp_path / "log.txt") as log:
        started = time.monotonic()
        result = script.run_step(sleeper, 2, log)
        assert result.status == "stopped at the budget" and result.stdout == "started\n"
        assert time.monotonic() - started < 2 + script.STOP_GRACE  # SIGINT ended it
        assert script.run_step([sys.executable, "-c", "raise SystemExit(3)"], 10, log).status == "failed"
        assert script.run_step(sleeper, 0, log).status == "stopped at the budget"  # no time left: never started
    assert "started" in (tmp_path / "log.txt").read_text()
