"""Training and inference speed, timed the way timm's ``benchmark.py`` times them.

Fixed batch size and resolution, random input already on the device, a few untimed warm-up
steps, device synchronisation around every timed step, then throughput in images per second
and batch-1 latency percentiles. The network runs as zoo trains it: in the engine's precision
(:func:`zoo.training.precision`: bf16 autocast where the hardware has it natively), with
channels_last memory on CUDA, and with the same fused SGD step.
"""

from __future__ import annotations

import statistics
import time
from dataclasses import asdict, dataclass

import torch
import torch.nn.functional as F

import zoo
from zoo.architectures import ArchitectureSpec
from zoo.complexity import build_meta, measure
from zoo.memory import measure_cpu, measure_cuda
from zoo.training import FUSED_SGD, autocast, device_name, precision


@dataclass(frozen=True)
class SpeedReport:
    """What ``zoo speed`` reports for one architecture."""

    architecture: str
    device: str
    device_name: str
    precision: str  # "bf16" (autocast) or "fp32", plus ", channels_last" on CUDA
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


def measure_speed(
    spec: ArchitectureSpec,
    device: torch.device,
    batch_size: int = 128,
    input_size: tuple[int, int, int] | None = None,
    steps: int = 10,
    warmup: int = 3,
    latency_runs: int = 50,
) -> SpeedReport:
    """Speed and memory of ``spec`` with a 10-class head at ``input_size`` (default: its own)."""
    size = input_size or spec.default_input_size
    torch.manual_seed(0)
    model = zoo.create_model(spec.name, num_classes=10).to(device)
    images = torch.randn(batch_size, *size, device=device)
    labels = torch.randint(0, 10, (batch_size,), device=device)
    if device.type == "cuda":
        model = model.to(memory_format=torch.channels_last)
        images = images.contiguous(memory_format=torch.channels_last)
    optimizer = torch.optim.SGD(model.parameters(), lr=1e-3, momentum=0.9, fused=device.type in FUSED_SGD)

    def train_step() -> None:
        with autocast(device):
            loss = F.cross_entropy(model(images), labels)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()

    @torch.no_grad()
    def infer(batch: torch.Tensor) -> None:
        with autocast(device):
            model(batch)

    model.train()
    train_times = _timed(train_step, device, warmup, steps)
    model.eval()
    infer_times = _timed(lambda: infer(images), device, warmup, steps)
    single = images[:1]
    latencies = sorted(t * 1000 for t in _timed(lambda: infer(single), device, warmup, latency_runs))

    if device.type == "cuda":
        train_memory = measure_cuda(model, images, train=True)
        infer_memory = measure_cuda(model, images, train=False)
    else:
        train_memory = measure_cpu(spec.name, batch_size, size, train=True)
        infer_memory = measure_cpu(spec.name, batch_size, size, train=False)
    complexity = measure(build_meta(spec, num_classes=10), size)
    return SpeedReport(
        architecture=spec.name,
        device=str(device),
        device_name=device_name(device),
        precision=precision(device) + (", channels_last" if device.type == "cuda" else ""),
        batch_size=batch_size,
        input_size=tuple(size),
        train_images_per_second=round(batch_size * steps / sum(train_times), 1),
        infer_images_per_second=round(batch_size * steps / sum(infer_times), 1),
        latency_ms_p50=round(statistics.median(latencies), 3),
        latency_ms_p95=round(latencies[min(len(latencies) - 1, round(0.95 * (len(latencies) - 1)))], 3),
        train_peak_bytes=train_memory.bytes,
        infer_peak_bytes=infer_memory.bytes,
        memory_method=train_memory.method,
        params=complexity.params,
        macs=complexity.macs,
        torch_version=torch.__version__,
        threads=torch.get_num_threads(),
    )


__all__ = ["SpeedReport", "measure_speed"]
