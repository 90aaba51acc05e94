"""Peak memory of a training step and of inference, measured, with the method named.

* CUDA: the caching allocator's peak (``torch.cuda.max_memory_allocated``) around the step.
* CPU: PyTorch's CPU allocator has no peak counter, and a process that already ran the step
  reuses the pages it kept, so an in-process measurement would see almost nothing. zoo runs
  the step in a fresh Python process and reads the kernel's peak resident set size
  (``VmHWM`` in ``/proc/self/status``) against the resident size just before the step: the
  memory the step itself needed, allocator overhead included. Linux only; elsewhere the
  figure is ``None`` and the method says why.
"""

from __future__ import annotations

import json
import shlex
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import torch
import torch.nn.functional as F

from zoo.training import autocast

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


def measure_cpu(arch: str, batch_size: int, input_size: tuple[int, int, int], train: bool) -> MemoryFigure:
    """Peak extra resident memory of one step on the CPU, in a fresh process."""
    if not STATUS.exists():
        return MemoryFigure(None, "not measured: needs Linux's /proc/self/status (VmHWM)")
    # -P: the probe must import the installed zoo, not a folder named zoo in the working directory.
    argv = [sys.executable, "-P", "-m", "zoo.memory", arch, str(batch_size), *map(str, input_size), "train" if train else "infer"]
    done = subprocess.run(argv, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        last = (done.stderr.strip().splitlines() or [f"exit status {done.returncode}"])[-1]
        raise RuntimeError(f"the memory probe failed ({last}); to see it fail, run: {shlex.join(argv)}")
    return MemoryFigure(json.loads(done.stdout)["bytes"], CPU_METHOD)


def _probe(arch: str, batch_size: int, input_size: tuple[int, int, int], train: bool) -> int:
    """In the fresh process: build, then measure one step against the resident size before it."""
    import zoo

    torch.manual_seed(0)
    model = zoo.create_model(arch, num_classes=10, img_size=input_size[1])
    images = torch.randn(batch_size, *input_size)
    with open("/proc/self/clear_refs", "w") as f:  # reset VmHWM to the current resident size
        f.write("5")
    before = _status("VmRSS:")
    _step(model, images, train)
    return _status("VmHWM:") - before


if __name__ == "__main__":
    name, batch, channels, height, width, mode = sys.argv[1:7]
    print(json.dumps({"bytes": _probe(name, int(batch), (int(channels), int(height), int(width)), mode == "train")}))
