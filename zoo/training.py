"""Training and evaluation: device choice, the optimisation loop, accuracy.

One loop serves source pretraining and, later, every transfer strategy: SGD with momentum,
linear warm-up then cosine decay per step, optional augmentation, bf16 autocast where the
hardware computes bf16 natively (see :func:`precision`) and channels_last on CUDA. A
non-finite loss stops training with :class:`Diverged` rather than wasting the rest of the
budget.
"""

from __future__ import annotations

import math
import os
import platform
import time
from collections.abc import Callable, Iterable, Iterator
import dataclasses
from dataclasses import dataclass
from functools import cache
from typing import Protocol

import torch
import torch.nn.functional as F
from torch import nn

from zoo.errors import ZooError


class Batched(Protocol):
    """Training data that hands out batches: prepared images, or cached features."""

    classes: tuple[str, ...]
    labels: torch.Tensor

    def __len__(self) -> int: ...

    def batches(
        self, batch_size: int, *, shuffle: bool = False, generator: torch.Generator | None = None, augmented: bool = False
    ) -> Iterator[tuple[torch.Tensor, torch.Tensor]]: ...


class Diverged(RuntimeError):
    """The loss became NaN or infinite."""


def device_name(device: torch.device) -> str:
    """The processor a figure was measured on: the GPU's name, else the CPU model."""
    if device.type == "cuda":
        return torch.cuda.get_device_name(device)
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return f"{line.split(':', 1)[1].strip()} ({os.cpu_count()} cores)"
    except OSError:
        pass
    return platform.processor() or platform.machine()


def select_device(requested: str | None = None) -> torch.device:
    """``requested`` if given and present, else CUDA, then Apple's MPS, then the CPU."""
    if requested:
        try:
            device = torch.device(requested)
        except RuntimeError:
            raise ZooError(f"unknown device {requested!r}; use cuda, cuda:N, mps or cpu") from None
        available = {
            "cuda": torch.cuda.is_available() and (device.index or 0) < torch.cuda.device_count(),
            "mps": torch.backends.mps.is_available(),
            "cpu": True,
        }.get(device.type, False)
        if not available:
            raise ZooError(f"device {requested!r} is not available here; use cpu, or leave --device out to pick one")
        return device
    if torch.cuda.is_available():
        return torch.device("cuda")
    if torch.backends.mps.is_available():
        return torch.device("mps")
    return torch.device("cpu")


@dataclass(frozen=True)
class Recipe:
    """How a network is trained (pretraining fingerprints it to name the weights it makes)."""

    epochs: int
    batch_size: int = 128
    lr: float = 0.05  # peak learning rate, reached after warm-up
    momentum: float = 0.9
    weight_decay: float = 5e-4
    warmup_fraction: float = 0.05  # of all steps, linear from lr/10 up to lr
    label_smoothing: float = 0.0
    augment: bool = True

    def at_lr_scale(self, scale: float) -> Recipe:
        """This recipe at ``scale`` times its learning rate (an architecture's ``lr_scale``)."""
        return dataclasses.replace(self, lr=self.lr * scale)


def lr_factor(step: int, total: int, warmup: int) -> float:
    """Linear warm-up from 0.1 to 1 over ``warmup`` steps, then cosine decay to 0."""
    if step < warmup:
        return 0.1 + 0.9 * step / warmup
    progress = (step - warmup) / max(1, total - warmup)
    return 0.5 * (1 + math.cos(math.pi * progress))


@dataclass
class TrainStats:
    epochs: int
    steps: int
    images: int  # images seen in training steps
    seconds: float  # wall time of the training steps alone
    final_loss: float

    @property
    def images_per_second(self) -> float:
        return self.images / self.seconds if self.seconds else 0.0


PRECISIONS = ("auto", "bf16", "fp32")
FUSED_SGD = ("cpu", "cuda")  # devices with a fused SGD kernel


@cache
def _native_bf16(device_type: str) -> bool:
    if device_type == "cuda":
        return torch.cuda.is_bf16_supported()
    if device_type == "cpu":  # AVX512-BF16 or AMX: oneDNN's bf16 kernels
        return torch.backends.mkldnn.is_available() and torch.ops.mkldnn._is_mkldnn_bf16_supported()
    return False


def precision(device: torch.device) -> str:
    """What the engine computes in on ``device``: ``"bf16"`` (autocast) or ``"fp32"``.

    bf16 wherever the hardware computes it natively: CUDA GPUs that support it, and CPUs
    with AVX512-BF16 or AMX, where training is 1.5× faster than fp32 for each default
    backbone (measured on a 2-core EPYC at 32×32: resnet18 745 against 506 images/s,
    googlenet 628 against 401, vgg11_bn 107 against 69). Elsewhere fp32. The environment
    variable ``ZOO_PRECISION`` (``auto``, ``bf16`` or ``fp32``) overrides the choice.
    """
    requested = os.environ.get("ZOO_PRECISION", "auto").strip().lower() or "auto"
    if requested not in PRECISIONS:
        raise ZooError(f"ZOO_PRECISION={requested!r} is not one of {', '.join(PRECISIONS)}")
    if requested == "auto":
        return "bf16" if _native_bf16(device.type) else "fp32"
    return requested


def autocast(device: torch.device):
    """bf16 autocast where :func:`precision` says bf16; a no-op context otherwise."""
    return torch.autocast(device.type, dtype=torch.bfloat16, enabled=precision(device) == "bf16")


def fit(
    model: nn.Module,
    data: Batched,
    recipe: Recipe,
    *,
    seed: int,
    device: torch.device,
    param_groups: Iterable[dict] | None = None,
    eval_modules: Iterable[nn.Module] = (),
    on_epoch: Callable[[int, float], None] | None = None,
) -> TrainStats:
    """Train ``model`` on ``data`` (already on ``device``) following ``recipe``.

    :param param_groups: optimizer groups (each may carry its own ``lr``, scaled by the
        schedule like the rest); default: every parameter that requires a gradient.
    :param eval_modules: parts kept in eval mode while the rest trains (frozen stages: their
        dropout stays off and their statistics fixed).
    :param on_epoch: called with (epoch, mean loss) after each epoch, for progress display.
    """
    torch.manual_seed(seed)
    generator = torch.Generator().manual_seed(seed)
    groups = list(param_groups) if param_groups is not None else [{"params": [p for p in model.parameters() if p.requires_grad]}]
    for group in groups:
        group.setdefault("lr", recipe.lr)
        group["peak_lr"] = group["lr"]
    # The fused kernel updates each parameter in one pass: 6× faster than the default on a CPU
    # for VGG's 129M parameters (0.04 against 0.22 s a step), where the update dominates small batches.
    optimizer = torch.optim.SGD(
        groups, lr=recipe.lr, momentum=recipe.momentum, weight_decay=recipe.weight_decay, fused=device.type in FUSED_SGD
    )
    if device.type == "cuda":
        model = model.to(memory_format=torch.channels_last)
    steps_per_epoch = math.ceil(len(data) / recipe.batch_size)
    total = steps_per_epoch * recipe.epochs
    warmup = max(1, int(total * recipe.warmup_fraction))
    step, seconds, seen, loss_value = 0, 0.0, 0, float("nan")
    model.train()
    for module in eval_modules:
        module.eval()
    for epoch in range(recipe.epochs):
        epoch_loss, epoch_batches = 0.0, 0
        for images, labels in data.batches(recipe.batch_size, shuffle=True, generator=generator, augmented=recipe.augment):
            start = time.perf_counter()
            for group in optimizer.param_groups:
                group["lr"] = group["peak_lr"] * lr_factor(step, total, warmup)
            if device.type == "cuda":
                images = images.contiguous(memory_format=torch.channels_last)
            with autocast(device):
                loss = F.cross_entropy(model(images), labels, label_smoothing=recipe.label_smoothing)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            loss_value = loss.item()  # synchronises, so the timing below is the step's own
            seconds += time.perf_counter() - start
            if not math.isfinite(loss_value):
                raise Diverged(f"loss became {loss_value} at epoch {epoch + 1}, step {step + 1}")
            seen += len(labels)
            step += 1
            epoch_loss += loss_value
            epoch_batches += 1
        if on_epoch is not None:
            on_epoch(epoch + 1, epoch_loss / max(1, epoch_batches))
    return TrainStats(recipe.epochs, step, seen, seconds, loss_value)


@dataclass
class Evaluation:
    top1: float  # fraction of test images classified right
    top5: float | None  # only with more than 5 classes
    per_class: list[float]  # accuracy of each class
    mean_per_class: float
    count: int


@torch.no_grad()
def evaluate(model: nn.Module, data: Batched, device: torch.device, batch_size: int = 512) -> Evaluation:
    """Accuracy of ``model`` on ``data`` (already on ``device``)."""
    model.eval()
    num_classes = len(data.classes)
    hits1 = torch.zeros(num_classes, device=device)
    hits5 = torch.zeros((), device=device)
    totals = torch.bincount(data.labels, minlength=num_classes).float()
    for images, labels in data.batches(batch_size):
        with autocast(device):
            logits = model(images).float()
        hits1 += torch.bincount(labels[logits.argmax(1) == labels], minlength=num_classes)
        if num_classes > 5:
            hits5 += (logits.topk(5, dim=1).indices == labels[:, None]).any(1).sum()
    per_class = (hits1 / totals.clamp(min=1)).tolist()
    return Evaluation(
        top1=hits1.sum().item() / len(data),
        top5=hits5.item() / len(data) if num_classes > 5 else None,
        per_class=per_class,
        mean_per_class=sum(per_class) / num_classes,
        count=len(data),
    )
