"""zoo speed: throughput, latency and peak memory, measured for real on this machine."""

import json

import pytest
import torch

import zoo
from zoo.cli import main
from zoo.memory import CPU_METHOD, measure_cpu, measure_cuda
from zoo.training import precision


def test_speed_json_reports_every_figure(capsys):
    code = main(["speed", "--arch", "simple_cnn", "--img-size", "32", "--batch-size", "16", "--steps", "2", "--json"])
    assert code == 0
    (report,) = json.loads(capsys.readouterr().out)
    assert report["architecture"] == "simple_cnn" and report["input_size"] == [3, 32, 32]
    assert report["train_images_per_second"] > 0 and report["infer_images_per_second"] > 0
    assert 0 < report["latency_ms_p50"] <= report["latency_ms_p95"]
    assert report["params"] == 545_098 and report["macs"] > 0
    assert report["precision"] == precision(torch.device("cpu")) and report["device"] == "cpu"
    assert report["memory_method"] == CPU_METHOD
    assert report["train_peak_bytes"] > 0 and report["infer_peak_bytes"] > 0


def test_cpu_memory_grows_with_the_batch():
    small = measure_cpu("simple_cnn", 8, (3, 32, 32), train=True).bytes
    large = measure_cpu("simple_cnn", 512, (3, 32, 32), train=True).bytes
    assert large > small + 8 * 2**20  # 512 images' activations need megabytes more


def test_speed_refuses_a_size_below_the_minimum(capsys):
    assert main(["speed", "--arch", "inception_v3", "--img-size", "32"]) == 2
    assert "below inception_v3's minimum input size 75×75" in capsys.readouterr().err


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_cuda_peak_memory_counts_the_activations():
    model = zoo.create_model("simple_cnn", num_classes=10).cuda()
    small = measure_cuda(model, torch.randn(8, 3, 32, 32, device="cuda"), train=True).bytes
    large = measure_cuda(model, torch.randn(512, 3, 32, 32, device="cuda"), train=True).bytes
    assert large > small
