"""zoo speed: throughput, latency and peak memory, measured for real on this machine."""

import json

import pytest
import torch

import zoo
from zoo.cli import main
import zoo.speed
from zoo.memory import CPU_METHOD, MemoryFigure, measure_cpu, measure_cuda
from zoo.speed import measure_speed
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
    assert (report["timing"], report["warmup"], report["steps"]) == ("timm", 10, 2)  # timm's method and warm-up


def test_speed_takes_the_timing_method_and_step_counts(capsys, monkeypatch):
    monkeypatch.setattr(zoo.speed, "measure_cpu", lambda *args, **kwargs: MemoryFigure(1, CPU_METHOD))  # no subprocesses
    argv = ["speed", "--arch", "simple_cnn", "--img-size", "32", "--batch-size", "8", "--warmup", "0", "--steps", "1"]
    assert main([*argv, "--timing", "after-training", "--json"]) == 0
    (report,) = json.loads(capsys.readouterr().out)
    assert (report["timing"], report["warmup"], report["steps"]) == ("after-training", 0, 1)
    assert report["infer_images_per_second"] > 0 and report["train_images_per_second"] > 0
    assert main(argv) == 0
    assert "timing:     timm, 0 warm-up and 1 timed steps" in capsys.readouterr().out


def test_speed_help_explains_the_timing_methods(capsys):
    with pytest.raises(SystemExit):
        main(["speed", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    assert "{timm,after-training}" in text and "timm benchmark.py's method" in text and "page-faults" in text
    with pytest.raises(SystemExit):
        main(["speed", "--arch", "simple_cnn", "--timing", "per-image"])
    assert "invalid choice: 'per-image'" in capsys.readouterr().err
    with pytest.raises(ValueError, match="not one of timm, after-training"):
        measure_speed(zoo.get_zoo().architectures.get("simple_cnn"), torch.device("cpu"), timing="per-image")


@pytest.mark.parametrize("timing", ["timm", "after-training"])
def test_timing_method_sets_the_order_and_the_step_counts(monkeypatch, timing):
    """timm: inference (under inference_mode) on a network that has not trained, then
    training; after-training: training first, then inference (no_grad). Every phase runs its
    warm-up steps and then its timed ones."""
    calls = []
    create = zoo.create_model

    def recording_model(*args, **kwargs):
        net = create(*args, **kwargs)
        net.register_forward_pre_hook(
            lambda module, inputs: calls.append(
                ("train" if module.training else "eval", len(inputs[0]), torch.is_inference_mode_enabled())
            )
        )
        return net

    monkeypatch.setattr(zoo, "create_model", recording_model)
    monkeypatch.setattr(zoo.speed, "measure_cpu", lambda *args, **kwargs: MemoryFigure(1, CPU_METHOD))  # no subprocesses
    spec = zoo.get_zoo().architectures.get("simple_cnn")
    report = measure_speed(spec, torch.device("cpu"), 4, (3, 32, 32), steps=3, warmup=2, latency_runs=5, timing=timing)
    assert report.timing == timing and (report.warmup, report.steps) == (2, 3)
    fresh = timing == "timm"
    infer = [("eval", 4, fresh)] * 5 + [("eval", 1, fresh)] * 7  # throughput, then batch-1 latency
    train = [("train", 4, False)] * 5
    assert calls == (infer + train if fresh else train + infer)


def test_cpu_memory_grows_with_the_batch():
    small = measure_cpu("simple_cnn", 8, (3, 32, 32), train=True).bytes
    large = measure_cpu("simple_cnn", 512, (3, 32, 32), train=True).bytes
    assert large > small + 8 * 2**20  # 512 images' activations need megabytes more


def test_the_memory_probe_imports_the_installed_zoo_from_any_working_directory(tmp_path, monkeypatch):
    (tmp_path / "zoo").mkdir()  # a checkout's parent folder: `python -m` would import this as zoo
    monkeypatch.chdir(tmp_path)
    assert measure_cpu("simple_cnn", 8, (3, 32, 32), train=False).bytes > 0


def test_a_failing_memory_probe_says_how_to_run_it_again():
    with pytest.raises(RuntimeError) as failed:
        measure_cpu("no_such_network", 8, (3, 32, 32), train=True)
    message = str(failed.value)
    assert message.startswith("the memory probe failed (zoo.errors.UnknownNameError: unknown architecture 'no_such_network'")
    assert message.endswith(" -P -m zoo.memory no_such_network 8 3 32 32 train")


def test_speed_refuses_a_size_below_the_minimum(capsys):
    assert main(["speed", "--arch", "inception_v3", "--img-size", "32"]) == 2
    assert "below inception_v3's minimum input size 75×75" in capsys.readouterr().err


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_cuda_peak_memory_counts_the_activations():
    model = zoo.create_model("simple_cnn", num_classes=10).cuda()
    small = measure_cuda(model, torch.randn(8, 3, 32, 32, device="cuda"), train=True).bytes
    large = measure_cuda(model, torch.randn(512, 3, 32, 32, device="cuda"), train=True).bytes
    assert large > small
