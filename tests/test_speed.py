"""zoo speed: throughput, latency and peak memory, measured for real on this machine."""

import json

import pytest
import torch

import zoo
import zoo.bench.memory
import zoo.bench.speed
from zoo.bench.memory import CPU_METHOD, STEP_CPU_METHOD, MemoryFigure, StepMemory, measure_cpu, step_memory
from zoo.bench.speed import measure_speed
from zoo.cli.main import main
from zoo.device import precision


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
    monkeypatch.setattr(zoo.bench.speed, "measure_cpu", lambda *args, **kwargs: MemoryFigure(1, CPU_METHOD))  # no subprocesses
    argv = ["speed", "--arch", "simple_cnn", "--img-size", "32", "--batch-size", "8", "--warmup", "0", "--steps", "1"]
    assert main([*argv, "--timing", "after-training", "--json"]) == 0
    (report,) = json.loads(capsys.readouterr().out)
    assert (report["timing"], report["warmup"], report["steps"]) == ("after-training", 0, 1)
    assert report["infer_images_per_second"] > 0 and report["train_images_per_second"] > 0
    assert main(argv) == 0
    assert "timing:     timm, 0 warm-up and 1 timed steps" in capsys.readouterr().out


def test_speed_times_channels_last_on_the_cpu_when_asked(capsys, monkeypatch):
    monkeypatch.setattr(zoo.bench.speed, "measure_cpu", lambda *args, **kwargs: MemoryFigure(1, CPU_METHOD))  # no subprocesses
    argv = ["speed", "--arch", "simple_cnn", "--img-size", "32", "--batch-size", "8", "--warmup", "0", "--steps", "1", "--json"]
    for flag, suffix in ((), ""), (("--channels-last",), ", channels_last"), (("--no-channels-last",), ""):
        assert main([*argv, *flag]) == 0
        (report,) = json.loads(capsys.readouterr().out)
        assert report["precision"] == precision(torch.device("cpu")) + suffix and report["train_images_per_second"] > 0


def test_speed_help_explains_the_timing_methods(capsys):
    with pytest.raises(SystemExit):
        main(["speed", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    assert "{timm,after-training}" in text and "timm benchmark.py's method" in text and "page-faults" in text
    with pytest.raises(SystemExit):
        main(["speed", "--arch", "simple_cnn", "--timing", "per-image"])
    assert "invalid choice: 'per-image'" in capsys.readouterr().err
    with pytest.raises(ValueError, match="not one of timm, after-training"):
        measure_speed(zoo.get_zoo(), zoo.get_zoo().architectures.get("simple_cnn"), torch.device("cpu"), timing="per-image")


@pytest.mark.parametrize("timing", ["timm", "after-training"])
def test_timing_method_sets_the_order_and_the_step_counts(monkeypatch, timing):
    """timm: inference (under inference_mode) on a network that has not trained, then
    training; after-training: training first, then inference (no_grad). Every phase runs its
    warm-up steps and then its timed ones."""
    calls = []
    create = zoo.bench.speed.create_model

    def recording_model(*args, **kwargs):
        net = create(*args, **kwargs)
        net.register_forward_pre_hook(
            lambda module, inputs: calls.append(
                ("train" if module.training else "eval", len(inputs[0]), torch.is_inference_mode_enabled())
            )
        )
        return net

    monkeypatch.setattr(zoo.bench.speed, "create_model", recording_model)
    monkeypatch.setattr(zoo.bench.speed, "measure_cpu", lambda *args, **kwargs: MemoryFigure(1, CPU_METHOD))  # no subprocesses
    spec = zoo.get_zoo().architectures.get("simple_cnn")
    report = measure_speed(zoo.get_zoo(), spec, torch.device("cpu"), 4, (3, 32, 32), steps=3, warmup=2, latency_runs=5, timing=timing)
    assert report.timing == timing and (report.warmup, report.steps) == (2, 3)
    fresh = timing == "timm"
    infer = [("eval", 4, fresh)] * 5 + [("eval", 1, fresh)] * 7  # throughput, then batch-1 latency
    train = [("train", 4, False)] * 5
    assert calls == (infer + train if fresh else train + infer)


def test_cpu_memory_grows_with_the_batch():
    small = measure_cpu(zoo.get_zoo(), "simple_cnn", 8, (3, 32, 32), train=True).bytes
    large = measure_cpu(zoo.get_zoo(), "simple_cnn", 512, (3, 32, 32), train=True).bytes
    assert large > small + 8 * 2**20  # 512 images' activations need megabytes more


def test_the_memory_probe_imports_the_installed_zoo_from_any_working_directory(tmp_path, monkeypatch):
    (tmp_path / "zoo").mkdir()  # a checkout's parent folder: `python -m` would import this as zoo
    monkeypatch.chdir(tmp_path)
    assert measure_cpu(zoo.get_zoo(), "simple_cnn", 8, (3, 32, 32), train=False).bytes > 0


def test_a_failing_memory_probe_says_how_to_run_it_again():
    with pytest.raises(RuntimeError) as failed:
        measure_cpu(zoo.get_zoo(), "no_such_network", 8, (3, 32, 32), train=True)
    message = str(failed.value)
    assert message.startswith("the memory probe failed (zoo.errors.UnknownNameError: unknown architecture 'no_such_network'")
    assert message.endswith(" -P -m zoo.bench.memory no_such_network 8 3 32 32 train")


def test_speed_refuses_a_size_below_the_minimum(capsys):
    assert main(["speed", "--arch", "inception_v3", "--img-size", "32"]) == 2
    assert "below inception_v3's minimum input size 75×75" in capsys.readouterr().err


# ---------------------------------------------------------------------------- a strategy's training step

CPU = torch.device("cpu")
MIB = 2**20
needs_proc = pytest.mark.skipif(not zoo.bench.memory.STATUS.exists(), reason="the CPU probe reads Linux's /proc/self/status")


@needs_proc
def test_a_step_that_holds_512_mib_measures_512_mib_more(tiny_zoo, harness_plugin_site, tmp_path, monkeypatch):
    """Expected before running: the allocation happens while the linear probe's step holds
    almost nothing else, so the measured peak grows by the block's size, within 5%."""
    monkeypatch.setenv("PYTHONPATH", str(harness_plugin_site))  # the probe process finds the test strategy
    monkeypatch.setenv("ZOO_HOME", str(tmp_path))
    base = step_memory(tiny_zoo, "simple_cnn", "linear_probe", 8, (3, 32, 32), CPU)
    allocating = step_memory(tiny_zoo, "simple_cnn", "test_alloc_512", 8, (3, 32, 32), CPU)
    assert allocating.peak_bytes - base.peak_bytes == pytest.approx(512 * MIB, rel=0.05)
    assert allocating.method == STEP_CPU_METHOD


@needs_proc
def test_frozen_stages_save_memory_and_the_parts_add_up_to_the_measured_peak(tmp_path, monkeypatch):
    """resnet18 at 64×64, batch 64: a linear probe holds no activations, gradients or momentum
    for the base, partial only for its top stages. The estimate leaves out backward's
    temporary gradients; on this network it came within 11% below the measurement."""
    monkeypatch.setenv("ZOO_HOME", str(tmp_path))
    probe, partial, full = (step_memory(zoo.get_zoo(), "resnet18", s, 64, (3, 64, 64), CPU) for s in ("linear_probe", "partial", "full"))
    assert probe.peak_bytes < partial.peak_bytes < full.peak_bytes
    assert probe.gradients == probe.optimizer == (512 * 10 + 10) * 4  # the new classifier alone
    assert full.gradients == full.optimizer == 11_181_642 * 4  # every parameter (resnet18, ten classes)
    for memory in (probe, partial, full):
        assert memory.estimate == pytest.approx(memory.peak_bytes, rel=0.15)


def test_step_memory_is_measured_once_per_configuration(tmp_path, monkeypatch):
    monkeypatch.setenv("ZOO_HOME", str(tmp_path))
    calls = []

    def probe(args, env=None):
        calls.append(args)
        return {"peak_bytes": 10 * MIB, "parameters": 4, "gradients": 3, "optimizer": 3, "activations": 2, "inputs": 1}

    monkeypatch.setattr(zoo.bench.memory, "_run_probe", probe)
    first = step_memory(zoo.get_zoo(), "simple_cnn", "lp_ft", 8, (3, 32, 32), CPU)
    assert len(calls) == 2 and first.phase == 1  # one probe per phase; equal peaks: the first phase
    assert step_memory(zoo.get_zoo(), "simple_cnn", "lp_ft", 8, (3, 32, 32), CPU) == first and len(calls) == 2
    step_memory(zoo.get_zoo(), "simple_cnn", "lp_ft", 16, (3, 32, 32), CPU)
    assert len(calls) == 4  # another batch size is another configuration


def test_zoo_speed_reports_each_strategys_step_memory_and_its_parts(capsys, monkeypatch):
    monkeypatch.setattr(zoo.bench.speed, "measure_cpu", lambda *args, **kwargs: MemoryFigure(1, CPU_METHOD))  # no subprocesses
    seen = []

    def measured(plugins, arch, strategy, batch, size, device, precision="fp32"):
        seen.append((strategy, batch, size, precision))
        activations = 60 * MIB if precision == "bf16" else 120 * MIB
        return StepMemory(300 * MIB, 100 * MIB, 50 * MIB, 50 * MIB, activations, 8 * MIB, 1, STEP_CPU_METHOD)

    monkeypatch.setattr(zoo.bench.memory, "step_memory", measured)
    argv = ["speed", "--arch", "simple_cnn", "--img-size", "32", "--batch-size", "8", "--warmup", "0", "--steps", "1"]
    assert main([*argv, "--strategy", "full,partial:k=1"]) == 0
    out = capsys.readouterr().out
    cpu = precision(torch.device("cpu"))
    assert seen == [(s, 8, (3, 32, 32), p) for s in ("full", "partial:k=1") for p in (cpu, "bf16")]  # bf16: the CUDA prediction
    assert "full             300 MiB measured; estimate 278 = parameters 100 + input 8 + the larger of activations 120" in out
    assert "; on a CUDA GPU about 218 MiB" in out and "on a CUDA GPU: the estimate from the parts" in out
    assert main([*argv, "--strategy", "partail"]) == 2
    assert "did you mean partial" in capsys.readouterr().err


def test_a_probe_loads_only_the_plugins_of_its_network_and_strategy(monkeypatch):
    monkeypatch.setenv("ZOO_DISABLE_PLUGINS", "someone_elses")
    disabled = zoo.bench.memory.only_plugins_for(zoo.get_zoo(), "resnet18", "partial:k=1")["ZOO_DISABLE_PLUGINS"].split(",")
    loaded = set(zoo.get_zoo().reports) - set(disabled)
    assert loaded == {"resnet", "strategies"} and disabled[0] == "someone_elses"  # the user's choice kept
    assert zoo.bench.memory.only_plugins_for(zoo.get_zoo(), "no_such_network") == {}  # the probe names the unknown network itself
