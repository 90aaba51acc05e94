"""Training and inference speed, timed the way timm's ``benchmark.py`` times them.

Fixed batch size and resolution, random input already on the device, untimed warm-up steps,
then throughput in images per second and batch-1 latency percentiles. The network runs as zoo
trains it: in the engine's precision (:func:`zoo.device.precision`: bf16 autocast where the
hardware has it natively), with channels_last memory on CUDA, and with the same fused SGD step.

Two timing methods (``zoo speed --timing``):

``timm`` (the default)
    timm's ``benchmark.py``: 10 untimed warm-up steps, then 40 steps whose loop is timed as a
    whole (the device synchronised after each step, as timm does), throughput = images / that
    wall time. Inference is measured first, under ``torch.inference_mode``, on a network that
    has not trained yet; training after it, the same way. On resnet18 at batch 32, 224×224,
    fp32 on a 2-core CPU it reads the same as ``benchmark.py --bench inference`` to within 5%.

``after-training``
    zoo's earlier method: training first, then inference in the same process (``no_grad``),
    each step synchronised and timed alone, throughput = images / the sum of the step times.
    On the CPU its inference figure reads faster than the ``timm`` one (``zoo speed --arch
    resnet18 --batch-size 32 --img-size 224 --timing after-training`` beside ``--timing
    timm``). The timer is not why: on the CPU, summing the steps and timing the loop agree.
    The memory allocator is. In a process that has not trained, glibc gives the activations'
    memory back to the kernel after every forward pass (large blocks are mmap-ed and unmapped,
    and the top of the heap is trimmed), and the next pass faults it in again, zeroed. After
    training, the memory training left allocated keeps the heap from shrinking; only blocks
    above glibc's 32 MiB mmap ceiling still fault (resnet18's first convolution at batch 32
    writes 64 × 112 × 112 × 32 floats, 103 MB). A fresh process run with
    ``MALLOC_MMAP_MAX_=0 MALLOC_TRIM_THRESHOLD_=<large>`` faults almost never and reads as
    fast as after training. So this figure is the network's arithmetic without that kernel
    cost, as in a process that has just trained; it is not comparable with timm's figures.
"""

from __future__ import annotations

import statistics
import time
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING

import torch
import torch.nn.functional as F

from zoo.bench.memory import measure_cpu, measure_cuda
from zoo.bench.timing import STEPS, TIMINGS, WARMUP
from zoo.device import autocast, device_name, precision
from zoo.models.architectures import create_model
from zoo.models.complexity import build_meta, measure
from zoo.plugin.architecture import ArchitectureSpec
from zoo.train.loop import FUSED_SGD

if TYPE_CHECKING:
    from zoo.plugin.manager import PluginSet




@dataclass(frozen=True)
class SpeedReport:
    """What ``zoo speed`` reports for one architecture."""

    architecture: str
    device: str
    device_name: str
    precision: str  # "bf16" (autocast) or "fp32", plus ", channels_last" when timed in that memory format
    batch_size: int
    input_size: tuple[int, int, int]
    train_images_per_second: float  # forward, backward and SGD step
    infer_images_per_second: float  # forward in eval mode without gradients
    latency_ms_p50: float  # batch of one, eval mode
    latency_ms_p95: float
    train_peak_bytes: int | None
    infer_peak_bytes: int | None
    memory_method: str
    params: int
    macs: int  # per image at input_size
    torch_version: str
    threads: int
    timing: str = "timm"  # one of TIMINGS
    warmup: int = WARMUP  # untimed steps before each measurement
    steps: int = STEPS  # timed steps of each throughput measurement

    def as_dict(self) -> dict:
        return asdict(self)


def _synchronize(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def _timed(step, device: torch.device, warmup: int, repeats: int) -> list[float]:
    """Seconds of each of ``repeats`` steps, after ``warmup`` untimed ones."""
    for _ in range(warmup):
        step()
    times = []
    for _ in range(repeats):
        _synchronize(device)
        start = time.perf_counter()
        step()
        _synchronize(device)
        times.append(time.perf_counter() - start)
    return times


def _loop_seconds(step, device: torch.device, warmup: int, repeats: int) -> float:
    """Wall time of ``repeats`` steps run back to back after ``warmup`` untimed ones, the
    device synchronised after each step: what timm's ``benchmark.py`` divides by."""
    for _ in range(warmup):
        step()
        _synchronize(device)
    start = time.perf_counter()
    for _ in range(repeats):
        step()
        _synchronize(device)
    return time.perf_counter() - start


def _throughput(step, device: torch.device, batch_size: int, timing: str, warmup: int, steps: int) -> float:
    """Images per second of ``step``, timed as ``timing`` says."""
    if timing == "timm":
        seconds = _loop_seconds(step, device, warmup, steps)
    else:
        seconds = sum(_timed(step, device, warmup, steps))
    return round(batch_size * steps / seconds, 1)


def _setup(spec: ArchitectureSpec, device: torch.device, batch_size: int, size: tuple[int, int, int], channels_last: bool):
    """The network (10-class head) and a batch of random input, on ``device``."""
    torch.manual_seed(0)
    model = create_model(spec, num_classes=10, img_size=size[1]).to(device)
    images = torch.randn(batch_size, *size, device=device)
    if channels_last:
        model = model.to(memory_format=torch.channels_last)
        images = images.contiguous(memory_format=torch.channels_last)
    return model, images


def _check(timing: str, warmup: int, steps: int) -> None:
    if timing not in TIMINGS:
        raise ValueError(f"timing {timing!r} is not one of {', '.join(TIMINGS)}")
    if warmup < 0 or steps < 1:
        raise ValueError(f"need warmup >= 0 and steps >= 1, not {warmup} and {steps}")


def _inference_mode(timing: str):
    return torch.inference_mode() if timing == "timm" else torch.no_grad()


def measure_inference(
    spec: ArchitectureSpec,
    device: torch.device,
    batch_size: int = 128,
    input_size: tuple[int, int, int] | None = None,
    timing: str = "timm",
    warmup: int = WARMUP,
    steps: int = STEPS,
) -> float:
    """Inference images per second alone: with ``timing="timm"``, the figure
    :func:`measure_speed` reports, which it measures first, on a network like this one."""
    _check(timing, warmup, steps)
    model, images = _setup(spec, device, batch_size, input_size or spec.default_input_size, channels_last=device.type == "cuda")
    model.eval()

    def infer() -> None:
        with autocast(device):
            model(images)

    with _inference_mode(timing):
        return _throughput(infer, device, batch_size, timing, warmup, steps)


def measure_speed(
    plugins: PluginSet,
    spec: ArchitectureSpec,
    device: torch.device,
    batch_size: int = 128,
    input_size: tuple[int, int, int] | None = None,
    steps: int = STEPS,
    warmup: int = WARMUP,
    latency_runs: int = 50,
    timing: str = "timm",
    channels_last: bool | None = None,
) -> SpeedReport:
    """Speed and memory of ``spec`` with a 10-class head at ``input_size`` (default: its own).
    ``plugins``, the loaded set, tells the CPU memory probe which plugins its process needs.

    ``timing`` is ``"timm"`` (inference, then training, each loop timed whole) or
    ``"after-training"`` (training, then inference, each step timed alone); see the module
    docstring for why their inference figures differ on the CPU. ``channels_last`` times the
    network and its input in that memory format; by default on CUDA, where zoo trains in it.
    """
    _check(timing, warmup, steps)
    size = input_size or spec.default_input_size
    channels_last = device.type == "cuda" if channels_last is None else channels_last
    model, images = _setup(spec, device, batch_size, size, channels_last)
    labels = torch.randint(0, 10, (batch_size,), device=device)
    optimizer = torch.optim.SGD(model.parameters(), lr=1e-3, momentum=0.9, fused=device.type in FUSED_SGD)

    def train_step() -> None:
        with autocast(device):
            loss = F.cross_entropy(model(images), labels)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()

    def infer(batch: torch.Tensor) -> None:
        with autocast(device):
            model(batch)

    def training() -> float:
        model.train()
        return _throughput(train_step, device, batch_size, timing, warmup, steps)

    def inference() -> tuple[float, list[float]]:
        model.eval()
        with _inference_mode(timing):
            images_per_second = _throughput(lambda: infer(images), device, batch_size, timing, warmup, steps)
            single = images[:1]
            latencies = sorted(t * 1000 for t in _timed(lambda: infer(single), device, warmup, latency_runs))
        return images_per_second, latencies

    if timing == "timm":  # timm's order: a network that has not trained yet, then training
        infer_ips, latencies = inference()
        train_ips = training()
    else:
        train_ips = training()
        infer_ips, latencies = inference()

    if device.type == "cuda":
        train_memory = measure_cuda(model, images, train=True)
        infer_memory = measure_cuda(model, images, train=False)
    else:
        train_memory = measure_cpu(plugins, spec.name, batch_size, size, train=True)
        infer_memory = measure_cpu(plugins, spec.name, batch_size, size, train=False)
    complexity = measure(build_meta(spec, 10, size[1]), size)
    return SpeedReport(
        architecture=spec.name,
        device=str(device),
        device_name=device_name(device),
        precision=precision(device) + (", channels_last" if channels_last else ""),
        batch_size=batch_size,
        input_size=tuple(size),
        train_images_per_second=train_ips,
        infer_images_per_second=infer_ips,
        latency_ms_p50=round(statistics.median(latencies), 3),
        latency_ms_p95=round(latencies[min(len(latencies) - 1, round(0.95 * (len(latencies) - 1)))], 3),
        train_peak_bytes=train_memory.bytes,
        infer_peak_bytes=infer_memory.bytes,
        memory_method=train_memory.method,
        params=complexity.params,
        macs=complexity.macs,
        torch_version=torch.__version__,
        threads=torch.get_num_threads(),
        timing=timing,
        warmup=warmup,
        steps=steps,
    )


__all__ = ["TIMINGS", "SpeedReport", "measure_inference", "measure_speed"]
