"""Training and evaluation: the optimisation loop and accuracy.

One loop serves source pretraining and every transfer strategy: SGD with momentum, a linear
warm-up, optional augmentation, bf16 autocast where asked for (see :func:`zoo.device.precision`) and
channels_last on CUDA. A non-finite loss stops training with :class:`Diverged` rather than
wasting the rest of the budget.

How long it trains is decided by convergence, not by a time limit. Given a validation split
(images held out of the training images, never the test set), :func:`fit` evaluates it after
every epoch, divides the learning rate by ten when it has not improved for ``patience``
epochs, stops after the last such drop has stopped helping, and keeps the weights of the best
validation epoch. The schedule depends only on the validation curve, never on
``recipe.epochs``, which is a cap: a run that stopped before its cap gives the same weights,
bit for bit, with the cap doubled, so every such run has converged in the sense that more
budget would not change its answer. Without a validation split it trains exactly
``recipe.epochs`` epochs under a cosine decay (fixed-length runs: benchmarks, recipe checks).
"""

from __future__ import annotations

import dataclasses
import math
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Protocol

import torch
import torch.nn.functional as F
from torch import nn

from zoo.device import autocast
from zoo.plugin.recipe import Recipe
from zoo.train.checkpoint import Checkpoint


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


WARMUP_MIN_STEPS = 5  # a one-batch task still warms up over a few steps
DECAY = 0.1  # the learning-rate drop at a validation plateau


def warmup_factor(step: int, warmup: int) -> float:
    """Linear warm-up from 0.1 to 1 over ``warmup`` steps, then 1."""
    return 0.1 + 0.9 * step / warmup if step < warmup else 1.0


def lr_factor(step: int, total: int, warmup: int) -> float:
    """Linear warm-up from 0.1 to 1 over ``warmup`` steps, then cosine decay to 0 at ``total``
    (fixed-length runs, without a validation split)."""
    if step < warmup:
        return warmup_factor(step, warmup)
    progress = (step - warmup) / max(1, total - warmup)
    return 0.5 * (1 + math.cos(math.pi * progress))


@dataclass
class TrainStats:
    epochs: int  # epochs trained (fewer than the recipe's cap when validation stopped it)
    steps: int
    images: int  # images seen in training steps
    seconds: float  # wall time of the training steps alone
    final_loss: float
    cap: int | None = None  # the recipe's epochs: with a validation split, the most it could have trained
    best_epoch: int | None = None  # the epoch whose weights were kept (with a validation split)
    val_top1: float | None = None  # validation accuracy of those weights
    val_loss: float | None = None
    curve: list[dict] = dataclasses.field(default_factory=list)  # per epoch: lr factor, train and validation loss, top-1
    resumed_at: int = 0  # epochs a stopped run had finished before this one went on from its checkpoint
    earlier_seconds: float = 0.0  # the wall time of those epochs

    @property
    def images_per_second(self) -> float:
        return self.images / self.seconds if self.seconds else 0.0

    @property
    def stopped_early(self) -> bool:
        """Did validation end training before the cap (so a larger cap changes nothing)?"""
        return self.cap is not None and self.epochs < self.cap


FUSED_SGD = ("cpu", "cuda")  # devices with a fused SGD kernel


def fit(
    model: nn.Module,
    data: Batched,
    recipe: Recipe,
    *,
    seed: int,
    device: torch.device,
    validation: Batched | None = None,
    param_groups: Iterable[dict] | None = None,
    eval_modules: Iterable[nn.Module] = (),
    penalty: Callable[[], torch.Tensor] | None = None,
    on_epoch: Callable[[int, float], None] | None = None,
    checkpoint: Checkpoint | None = None,
) -> TrainStats:
    """Train ``model`` on ``data`` (already on ``device``) following ``recipe``.

    :param validation: held-out training images: train until they stop improving (see the
        module docstring) and keep the best epoch's weights. None: exactly ``recipe.epochs``.
    :param param_groups: optimizer groups (each may carry its own ``lr``, scaled by the
        schedule like the rest); default: every parameter that requires a gradient.
    :param eval_modules: parts kept in eval mode while the rest trains (frozen stages: their
        dropout stays off and their statistics fixed).
    :param penalty: a term added to every step's loss (a regulariser), computed in fp32
        outside autocast; the training loss reported includes it, validation losses do not.
    :param on_epoch: called with (epoch, mean loss) after each epoch, for progress display.
    :param checkpoint: where to keep the state after each epoch and to go on from (see
        :mod:`zoo.train.checkpoint`); the caller removes it once the result is safe.
    """
    started = time.perf_counter()
    torch.manual_seed(seed)
    generator = torch.Generator().manual_seed(seed)
    groups = list(param_groups) if param_groups is not None else [{"params": [p for p in model.parameters() if p.requires_grad]}]
    for group in groups:
        group.setdefault("lr", recipe.lr)
        group["peak_lr"] = group["lr"]
    # The fused kernel updates each parameter in one pass, where the default makes several; on a
    # CPU the update dominates small batches of networks with many parameters (VGG's 129M).
    optimizer = torch.optim.SGD(
        groups, lr=recipe.lr, momentum=recipe.momentum, weight_decay=recipe.weight_decay, fused=device.type in FUSED_SGD
    )
    if device.type == "cuda":
        model = model.to(memory_format=torch.channels_last)
    eval_modules = list(eval_modules)
    steps_per_epoch = math.ceil(len(data) / recipe.batch_size)
    total = steps_per_epoch * recipe.epochs
    warmup = max(WARMUP_MIN_STEPS, round(recipe.warmup_epochs * steps_per_epoch))
    plateau = _Plateau(recipe) if validation is not None else None
    step, seconds, seen, loss_value, epochs_run, earlier = 0, 0.0, 0, float("nan"), 0, 0.0
    saved = checkpoint.load() if checkpoint is not None else None
    if saved is not None:
        model.load_state_dict(saved["model"])
        optimizer.load_state_dict(saved["optimizer"])
        generator.set_state(saved["generator"])
        torch.set_rng_state(saved["torch_rng"])
        if device.type == "cuda":
            torch.cuda.set_rng_state_all(saved["cuda_rng"])
        if plateau is not None:
            vars(plateau).update(saved["plateau"])
        step, seconds, seen, loss_value, epochs_run, earlier = (saved[k] for k in ("step", "seconds", "seen", "loss", "epochs", "wall"))
    resumed_at = epochs_run
    for epoch in range(resumed_at, recipe.epochs):
        model.train()
        for module in eval_modules:
            module.eval()
        epoch_loss, epoch_batches = 0.0, 0
        scale = plateau.scale if plateau else None
        for images, labels in data.batches(recipe.batch_size, shuffle=True, generator=generator, augmented=recipe.augment):
            start = time.perf_counter()
            factor = warmup_factor(step, warmup) * scale if plateau else lr_factor(step, total, warmup)
            for group in optimizer.param_groups:
                group["lr"] = group["peak_lr"] * factor
            if device.type == "cuda":
                images = images.contiguous(memory_format=torch.channels_last)
            with autocast(device, recipe.precision):
                loss = F.cross_entropy(model(images), labels, label_smoothing=recipe.label_smoothing)
            if penalty is not None:
                loss = loss + penalty()
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
        epochs_run = epoch + 1
        train_loss = epoch_loss / max(1, epoch_batches)
        if on_epoch is not None:
            on_epoch(epochs_run, train_loss)
        if plateau is not None:
            val_loss, val_top1 = validation_score(model, validation, device, recipe.precision)
            if not plateau.update(model, epochs_run, scale, train_loss, val_loss, val_top1):
                break
        if checkpoint is not None:
            checkpoint.save({
                "model": model.state_dict(), "optimizer": optimizer.state_dict(), "generator": generator.get_state(),
                "torch_rng": torch.get_rng_state(), "cuda_rng": torch.cuda.get_rng_state_all() if device.type == "cuda" else [],
                "plateau": vars(plateau) if plateau is not None else None, "step": step, "seconds": seconds, "seen": seen,
                "loss": loss_value, "epochs": epochs_run, "wall": earlier + time.perf_counter() - started,
            })  # fmt: skip
    stats = TrainStats(epochs_run, step, seen, seconds, loss_value, cap=recipe.epochs, resumed_at=resumed_at, earlier_seconds=earlier)
    if plateau is not None:
        plateau.restore(model)
        stats.best_epoch, stats.val_top1, stats.val_loss, stats.curve = plateau.best_epoch, plateau.best_top1, plateau.best_loss, plateau.curve
    return stats


class _Plateau:
    """The validation curve of one :func:`fit`: when to drop the learning rate, when to stop,
    and the weights of the best epoch.

    An epoch is better when its validation top-1 is higher, or equal with a loss lower by more
    than a thousandth: small validation splits tie on accuracy for many epochs while their
    loss still tells progress from memorising.
    """

    def __init__(self, recipe: Recipe):
        self.patience, self.decays_left = recipe.patience, recipe.decays
        self.scale = 1.0
        self.best_epoch, self.best_top1, self.best_loss = 0, -1.0, math.inf
        self.best_state: dict[str, torch.Tensor] | None = None
        self.waited = 0
        self.curve: list[dict] = []

    def update(self, model: nn.Module, epoch: int, scale: float, train_loss: float, val_loss: float, val_top1: float) -> bool:
        """Record an epoch; False once training should stop."""
        self.curve.append(
            {"epoch": epoch, "lr_factor": round(scale, 8), "train_loss": round(train_loss, 5),
             "val_loss": round(val_loss, 5), "val_top1": round(val_top1, 5)}  # fmt: skip
        )
        if val_top1 > self.best_top1 or (val_top1 == self.best_top1 and val_loss < self.best_loss * (1 - 1e-3)):
            self.best_epoch, self.best_top1, self.best_loss = epoch, val_top1, val_loss
            self.best_state = {k: v.detach().clone() for k, v in model.state_dict().items()}
            self.waited = 0
            return True
        self.waited += 1
        if self.waited < self.patience:
            return True
        if self.decays_left == 0:
            return False
        self.decays_left -= 1
        self.scale *= DECAY
        self.waited = 0
        return True

    def restore(self, model: nn.Module) -> None:
        if self.best_state is not None:
            model.load_state_dict(self.best_state)


@torch.no_grad()
def validation_score(model: nn.Module, data: Batched, device: torch.device, mode: str | None = None, batch_size: int = 512) -> tuple[float, float]:
    """Mean cross-entropy and top-1 of ``model`` on ``data``, in eval mode."""
    model.eval()
    loss, hits = 0.0, 0
    for images, labels in data.batches(batch_size):
        with autocast(device, mode):
            logits = model(images).float()
        loss += F.cross_entropy(logits, labels, reduction="sum").item()
        hits += (logits.argmax(1) == labels).sum().item()
    return loss / len(data), hits / len(data)


@dataclass
class Evaluation:
    top1: float  # fraction of test images classified right
    top5: float | None  # only with more than 5 classes
    per_class: list[float]  # accuracy of each class
    mean_per_class: float
    count: int
    correct: torch.Tensor  # bool [count], on the CPU: was each test image classified right?


@torch.no_grad()
def evaluate(model: nn.Module, data: Batched, device: torch.device, mode: str | None = None, batch_size: int = 512) -> Evaluation:
    """Accuracy of ``model`` on ``data`` (already on ``device``), in precision ``mode``."""
    model.eval()
    num_classes = len(data.classes)
    hits1 = torch.zeros(num_classes, device=device)
    hits5 = torch.zeros((), device=device)
    totals = torch.bincount(data.labels, minlength=num_classes).float()
    correct = []
    for images, labels in data.batches(batch_size):
        with autocast(device, mode):
            logits = model(images).float()
        right = logits.argmax(1) == labels
        correct.append(right.cpu())
        hits1 += torch.bincount(labels[right], minlength=num_classes)
        if num_classes > 5:
            hits5 += (logits.topk(5, dim=1).indices == labels[:, None]).any(1).sum()
    per_class = (hits1 / totals.clamp(min=1)).tolist()
    return Evaluation(
        top1=hits1.sum().item() / len(data),
        top5=hits5.item() / len(data) if num_classes > 5 else None,
        per_class=per_class,
        mean_per_class=sum(per_class) / num_classes,
        count=len(data),
        correct=torch.cat(correct),
    )
