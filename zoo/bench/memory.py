"""Peak memory of a training step and of inference, measured, with the method named.

Two measurements. :func:`measure_cpu` / :func:`measure_cuda`: a forward and backward pass of
the whole network (``zoo speed``'s figure). :func:`step_memory`: the step a strategy's phase
really runs (frozen stages in eval mode without stored activations, or their cached outputs
as its input; gradients for what it trains; the optimizer's state after its first step; its
loss penalty), measured and broken into parameters, gradients, optimizer state, activations
and inputs (:class:`StepMemory`).

* CUDA: the caching allocator's peak (``torch.cuda.max_memory_allocated``) around the step.
* CPU: PyTorch's CPU allocator has no peak counter, and a process that already ran the step
  reuses the pages it kept, so an in-process measurement would see almost nothing. zoo runs
  the step in a fresh Python process and reads the kernel's peak resident set size
  (``VmHWM`` in ``/proc/self/status``) against the resident size just before the step: the
  memory the step itself needed, allocator overhead included. Linux only; elsewhere the
  figure is ``None`` and the method says why.
"""

from __future__ import annotations

import hashlib
import json
import os
import shlex
import subprocess
import sys
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import torch
import torch.nn.functional as F
from torch import nn

from zoo.device import autocast
from zoo.paths import zoo_home
from zoo.train.loop import FUSED_SGD

if TYPE_CHECKING:
    from zoo.plugin.manager import PluginSet

CUDA_METHOD = "torch.cuda.max_memory_allocated around one step (after reset_peak_memory_stats)"
CPU_METHOD = "peak resident set size (Linux VmHWM) of a fresh process during one step, minus its resident size before it"
STATUS = Path("/proc/self/status")


@dataclass(frozen=True)
class MemoryFigure:
    bytes: int | None  # peak bytes the step needed; None where it cannot be measured
    method: str


def _status(key: str) -> int:
    for line in STATUS.read_text().splitlines():
        if line.startswith(key):
            return int(line.split()[1]) * 1024
    raise KeyError(key)


def _step(model: torch.nn.Module, images: torch.Tensor, train: bool) -> None:
    """One step in the engine's precision (bf16 activations need half the memory of fp32's)."""
    if train:
        model.train()
        with autocast(images.device):
            loss = F.cross_entropy(model(images), torch.zeros(len(images), dtype=torch.long, device=images.device))
        loss.backward()
    else:
        model.eval()
        with torch.no_grad(), autocast(images.device):
            model(images)


def measure_cuda(model: torch.nn.Module, images: torch.Tensor, train: bool) -> MemoryFigure:
    """Peak CUDA memory of one step, the model and its input included."""
    device = images.device
    torch.cuda.synchronize(device)
    torch.cuda.reset_peak_memory_stats(device)
    _step(model, images, train)
    torch.cuda.synchronize(device)
    return MemoryFigure(torch.cuda.max_memory_allocated(device), CUDA_METHOD)


def _run_probe(args: list[str], env: dict[str, str] | None = None) -> dict:
    """``python -m zoo.bench.memory ARGS`` in a fresh process, its JSON answer."""
    # -P: the probe must import the installed zoo, not a folder named zoo in the working directory.
    argv = [sys.executable, "-P", "-m", "zoo.bench.memory", *args]
    done = subprocess.run(argv, capture_output=True, text=True, check=False, env={**os.environ, **(env or {})})
    if done.returncode != 0:
        last = (done.stderr.strip().splitlines() or [f"exit status {done.returncode}"])[-1]
        shown = " ".join(f"{k}={v}" for k, v in (env or {}).items()) + (" " if env else "")
        raise RuntimeError(f"the memory probe failed ({last}); to see it fail, run: {shown}{shlex.join(argv)}")
    return json.loads(done.stdout)


def only_plugins_for(plugins: PluginSet, arch: str, strategy: str | None = None) -> dict[str, str]:
    """The environment that loads only the plugins a probe needs (the architecture's and the
    strategy's, as ``plugins`` has them) in its fresh process: importing every plugin took 3
    of a probe's 6 seconds."""
    from zoo.plugin.discovery import DISABLE_ENV

    base = strategy.split(":")[0] if strategy is not None else None
    if arch not in plugins.architectures or (base is not None and base not in plugins.strategies):
        return {}  # the probe itself says what is unknown
    needed = {plugins.architectures.plugin_of(arch)} | ({plugins.strategies.plugin_of(base)} if base else set())
    others = sorted(set(plugins.reports) - needed)
    disabled = [name for name in os.environ.get(DISABLE_ENV, "").split(",") if name.strip()] + others
    return {DISABLE_ENV: ",".join(disabled)} if disabled else {}


def _cache_file(described: dict) -> Path:
    """Where a CPU measurement of the configuration ``described`` is kept: it depends on that
    configuration alone, and a probe costs a fresh process (seconds), so it is measured once
    across cells, runs and ``zoo speed`` calls."""
    return zoo_home() / "memory" / f"{hashlib.sha256(json.dumps(described, sort_keys=True).encode()).hexdigest()[:16]}.json"


def _store(path: Path, measured: dict) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(measured))


def measure_cpu(plugins: PluginSet, arch: str, batch_size: int, input_size: tuple[int, int, int], train: bool) -> MemoryFigure:
    """Peak extra resident memory of one step on the CPU, in a fresh process (kept in
    ``$ZOO_HOME/memory`` for the next call with the same configuration)."""
    if not STATUS.exists():
        return MemoryFigure(None, "not measured: needs Linux's /proc/self/status (VmHWM)")
    described = {"probe": "whole network", "arch": arch, "batch": batch_size, "size": list(input_size), "train": train,
                 "torch": torch.__version__}  # fmt: skip
    cached = _cache_file(described)
    if cached.exists():
        return MemoryFigure(**json.loads(cached.read_text()))
    args = [arch, str(batch_size), *map(str, input_size), "train" if train else "infer"]
    figure = MemoryFigure(_run_probe(args, only_plugins_for(plugins, arch))["bytes"], CPU_METHOD)
    _store(cached, asdict(figure))
    return figure


def _network(plugins: PluginSet, arch: str, side: int) -> nn.Module:
    """``arch`` with random weights and a 10-class head, for ``side``-pixel inputs."""
    from zoo.models.architectures import create_model

    torch.manual_seed(0)
    return create_model(plugins.architectures.get(arch), num_classes=10, img_size=side)


def _probe(plugins: PluginSet, arch: str, batch_size: int, input_size: tuple[int, int, int], train: bool) -> int:
    """In the fresh process: build, then measure one step against the resident size before it."""
    model = _network(plugins, arch, input_size[1])
    images = torch.randn(batch_size, *input_size)
    with open("/proc/self/clear_refs", "w") as f:  # reset VmHWM to the current resident size
        f.write("5")
    before = _status("VmRSS:")
    _step(model, images, train)
    return _status("VmHWM:") - before


# ---------------------------------------------------------------------------- a strategy's step

# glibc keeps freed blocks below its (self-raising) mmap threshold for reuse, so the resident
# size would not fall when the step frees its activations, and a later allocation would not
# raise it. Fixed low thresholds map every block of 64 KiB or more on its own and unmap it on
# free: the resident size then follows the tensors alive.
PROBE_MALLOC = {"MALLOC_MMAP_THRESHOLD_": "65536", "MALLOC_TRIM_THRESHOLD_": "131072"}
STEP_CPU_METHOD = (
    "fresh process per phase: the parameters and input resident before the step, plus the step's growth of the "
    "peak resident set size (Linux VmHWM), glibc mapping every block of 64 KiB or more on its own"
)
STEP_CUDA_METHOD = "torch.cuda.max_memory_allocated from before the network was built to the end of the step"


@dataclass(frozen=True)
class StepMemory:
    """One training step of a strategy, at its most memory-hungry phase: measured, and its parts."""

    peak_bytes: int | None  # measured; None where it cannot be (not Linux, on the CPU)
    parameters: int  # every parameter and buffer of the network, trained or not
    gradients: int  # of the parameters the phase trains
    optimizer: int  # SGD's momentum buffers after the first step
    activations: int  # what autograd saved for backward in the forward pass (not the parameters or input)
    inputs: int  # the batch the trained part reads: images, or the frozen prefix's cached outputs
    phase: int  # which phase (1-based) this is
    method: str

    @property
    def estimate(self) -> int:
        """The peak predicted from the parts: parameters and input stay; backward holds the
        saved activations while the gradients fill; the first optimizer step adds its state
        after backward freed them. Backward's temporary gradients are not counted: they are
        what a measured peak above this estimate is made of."""
        return self.parameters + self.inputs + max(self.activations + self.gradients, self.gradients + self.optimizer)

    def record(self, batch_size: int) -> dict:
        """The results database's ``step_memory``."""
        return {**asdict(self), "estimate": self.estimate, "batch_size": batch_size}


def _nbytes(tensors) -> int:
    return sum(t.numel() * t.element_size() for t in tensors)


def _strategy_step(model: nn.Module, strategy, phase_index: int, images: torch.Tensor, precision: str):
    """Set ``model`` up for the phase as the engine does, and return the step to run: it
    returns the parts of :class:`StepMemory` it saw (all but the peak)."""
    from zoo.models.backbone import run_stages, stage_module, stages
    from zoo.train.transfer import prepare_phase, start_strategy

    held, penalty = start_strategy(model, strategy)
    ready = prepare_phase(model, strategy.phases[phase_index], held, lr=1e-3)
    model.eval()
    with torch.no_grad(), autocast(images.device, precision):  # the cached prefix, computed once before training
        inputs = run_stages(model, images, 0, ready.frozen).float() if ready.frozen else images
    suffix = nn.Sequential(*(stage_module(model, s) for s in stages(model)[ready.frozen :]))
    optimizer = torch.optim.SGD(ready.groups, lr=1e-3, momentum=0.9, weight_decay=5e-4, fused=images.device.type in FUSED_SGD)
    suffix.train()
    for module in ready.held_stats:
        module.eval()
    labels = torch.zeros(len(images), dtype=torch.long, device=images.device)

    def step() -> dict:
        resident = {t.untyped_storage().data_ptr() for t in (*model.parameters(), *model.buffers(), inputs)}
        saved: dict[int, int] = {}

        def pack(t: torch.Tensor) -> torch.Tensor:
            storage = t.untyped_storage()
            if storage.data_ptr() not in resident:
                saved[storage.data_ptr()] = storage.nbytes()
            return t

        with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t), autocast(images.device, precision):
            loss = F.cross_entropy(suffix(inputs), labels)
        if penalty is not None:
            loss = loss + penalty(model)
        loss.backward()
        optimizer.step()
        return {
            "parameters": _nbytes([*model.parameters(), *model.buffers()]),
            "gradients": _nbytes(p.grad for p in model.parameters() if p.grad is not None),
            "optimizer": _nbytes(t for state in optimizer.state.values() for t in state.values() if torch.is_tensor(t)),
            "activations": sum(saved.values()),
            "inputs": _nbytes([inputs]),
        }

    return step


def _step_probe(plugins: PluginSet, arch: str, strategy_name: str, batch: int, size: tuple[int, int, int], precision: str, phase: int) -> dict:
    """In the fresh process: the phase's step against the resident size just before it."""
    from zoo.plugin.strategy import resolve_strategy

    model = _network(plugins, arch, size[1])
    images = torch.randn(batch, *size)
    step = _strategy_step(model, resolve_strategy(plugins.strategies, strategy_name), phase, images, precision)
    with open("/proc/self/clear_refs", "w") as f:  # reset VmHWM to the current resident size
        f.write("5")
    before = _status("VmRSS:")
    parts = step()
    return {"peak_bytes": parts["parameters"] + parts["inputs"] + _status("VmHWM:") - before, **parts}


def _step_cuda(plugins: PluginSet, arch: str, strategy, batch: int, size: tuple[int, int, int], precision: str, phase: int, device) -> dict:
    torch.cuda.synchronize(device)
    start = torch.cuda.memory_allocated(device)
    torch.cuda.reset_peak_memory_stats(device)
    model = _network(plugins, arch, size[1]).to(device)
    images = torch.randn(batch, *size, device=device)
    parts = _strategy_step(model, strategy, phase, images, precision)()
    torch.cuda.synchronize(device)
    return {"peak_bytes": torch.cuda.max_memory_allocated(device) - start, **parts}


def step_memory(
    plugins: PluginSet,
    arch: str,
    strategy: str,
    batch_size: int,
    input_size: tuple[int, int, int],
    device: torch.device,
    precision: str = "fp32",
) -> StepMemory:
    """The training-step memory of ``strategy`` on ``arch``: its most memory-hungry phase.

    On the CPU each phase runs in a fresh process (:data:`STEP_CPU_METHOD`) and the answer
    is kept in ``$ZOO_HOME/memory``, keyed by everything that shapes it, so it is measured
    once per configuration across cells and runs. On CUDA it is measured in this process.
    """
    from zoo.plugin.strategy import resolve_strategy

    spec = resolve_strategy(plugins.strategies, strategy)
    described = {
        "arch": arch, "strategy": strategy, "phases": repr(spec.phases), "setup": getattr(spec.setup, "__qualname__", None),
        "penalty": getattr(spec.penalty, "__qualname__", None), "batch": batch_size, "size": list(input_size),
        "precision": precision, "device": device.type, "torch": torch.__version__,
    }  # fmt: skip
    cached = _cache_file(described)
    if device.type != "cuda" and cached.exists():
        return StepMemory(**json.loads(cached.read_text()))
    readings, probe_env = [], {**PROBE_MALLOC, **only_plugins_for(plugins, arch, strategy)}
    for phase in range(len(spec.phases)):
        if device.type == "cuda":
            reading = _step_cuda(plugins, arch, spec, batch_size, input_size, precision, phase, device)
        elif STATUS.exists():
            args = ["step", arch, strategy, str(batch_size), *map(str, input_size), precision, str(phase)]
            reading = _run_probe(args, probe_env)
        else:
            return StepMemory(None, 0, 0, 0, 0, 0, 1, "not measured: needs Linux's /proc/self/status (VmHWM)")
        readings.append({**reading, "phase": phase + 1})
    peak = max(readings, key=lambda r: r["peak_bytes"])
    result = StepMemory(**peak, method=STEP_CUDA_METHOD if device.type == "cuda" else STEP_CPU_METHOD)
    if device.type != "cuda":
        _store(cached, asdict(result))
    return result


def step_memory_record(
    plugins: PluginSet, arch: str, strategy: str, batch_size: int, input_size: tuple[int, int, int], device: torch.device, precision: str
) -> dict:
    """A cell's ``step_memory`` in the results database. A probe that fails (a strategy
    registered in the measuring process alone, which a fresh process cannot see) leaves the
    reason instead: the cell's results stand without it."""
    try:
        return step_memory(plugins, arch, strategy, batch_size, input_size, device, precision).record(batch_size)
    except RuntimeError as exc:
        parts = ("peak_bytes", "parameters", "gradients", "optimizer", "activations", "inputs", "phase", "estimate")
        return {**dict.fromkeys(parts), "method": f"not measured: {exc}", "batch_size": batch_size}


CUDA_PREDICTION_METHOD = (
    "the estimate from the parts, with the activations counted under bf16 autocast (as zoo trains on a GPU with "
    "bf16, Ampere or newer) by the CPU probe; the CUDA allocator's block rounding, cuDNN workspaces and backward's "
    "temporary gradients are not in it"
)


def predict_cuda(plugins: PluginSet, arch: str, strategy: str, batch_size: int, input_size: tuple[int, int, int], mode: str = "bf16") -> int:
    """The training step peak ``strategy`` would need on a CUDA GPU computing in ``mode``
    (bf16 on Ampere or newer, else fp32), predicted without one: :attr:`StepMemory.estimate`
    of a probe on the CPU in that mode (:data:`CUDA_PREDICTION_METHOD`)."""
    return step_memory(plugins, arch, strategy, batch_size, input_size, torch.device("cpu"), mode).estimate


if __name__ == "__main__":  # a probe's fresh process: it loads its own plugin set (ZOO_DISABLE_PLUGINS trims it)
    from zoo.plugin.manager import load_plugins

    if sys.argv[1] == "step":
        arch, strategy, batch, channels, height, width, precision, phase = sys.argv[2:10]
        size = (int(channels), int(height), int(width))
        print(json.dumps(_step_probe(load_plugins(), arch, strategy, int(batch), size, precision, int(phase))))
    else:
        name, batch, channels, height, width, mode = sys.argv[1:7]
        print(json.dumps({"bytes": _probe(load_plugins(), name, int(batch), (int(channels), int(height), int(width)), mode == "train")}))
