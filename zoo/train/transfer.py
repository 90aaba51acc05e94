"""Carrying out a strategy: freezing, learning rates per stage, and cached frozen prefixes.

A phase that freezes the lower stages and trains without augmentation never needs their
outputs twice: :func:`run_strategy` computes the frozen prefix once over the training images
(a :class:`FeatureSet`) and trains the remaining stages on it. A :class:`PrefixCache` keeps
those outputs across cells, so ``linear_probe`` and ``partial`` on the same backbone weights
and task compute each prefix once.
"""

from __future__ import annotations

import dataclasses
from collections import OrderedDict
from collections.abc import Callable, Hashable, Iterator
from dataclasses import dataclass

import torch
from torch import nn

from zoo.data.preprocess import PreparedSet
from zoo.device import autocast
from zoo.models.backbone import Stage, set_trainable_from, stage_module, stage_parameters, stages
from zoo.plugin.recipe import Recipe
from zoo.plugin.strategy import Phase, StrategySpec, frozen_prefix, is_norm
from zoo.train.loop import TrainStats, fit


@dataclass
class FeatureSet:
    """Outputs of a frozen prefix, with their labels: training data for the stages above it."""

    features: torch.Tensor
    labels: torch.Tensor
    classes: tuple[str, ...]

    def __len__(self) -> int:
        return len(self.labels)

    def batches(
        self, batch_size: int, *, shuffle: bool = False, generator: torch.Generator | None = None, augmented: bool = False
    ) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        """Batches in the same order :meth:`PreparedSet.batches` draws for the same generator."""
        if augmented:
            raise ValueError("cached features cannot be augmented: train on the images instead")
        order = torch.randperm(len(self), generator=generator) if shuffle else torch.arange(len(self))
        order = order.to(self.features.device)
        for start in range(0, len(self), batch_size):
            index = order[start : start + batch_size]
            yield self.features[index], self.labels[index]


@torch.no_grad()
def compute_prefix(
    model: nn.Module, data: PreparedSet, count: int, device: torch.device, mode: str | None = None, batch_size: int = 256
) -> FeatureSet:
    """The outputs of the lowest ``count`` stages for every image of ``data``, in eval mode
    and precision ``mode``."""
    prefix = nn.Sequential(*(stage_module(model, s) for s in stages(model)[:count])).eval()
    outputs = []
    for images, _ in data.batches(batch_size):
        with autocast(device, mode):
            outputs.append(prefix(images).float())
    return FeatureSet(torch.cat(outputs), data.labels, data.classes)


class PrefixCache:
    """Frozen-prefix outputs by key, the least recently used dropped beyond ``max_bytes``.

    The key must name everything the outputs depend on: the backbone's weights, the training
    images (task and seed), the input size and the number of frozen stages. The budget is in
    bytes because entries differ by orders of magnitude: a 32×32 task's cached stage fits in
    megabytes, a 224×224 one in gigabytes. An entry larger than the whole budget is used once
    and not kept.
    """

    def __init__(self, max_bytes: int = 2 * 2**30):
        self.max_bytes = max_bytes
        self._entries: OrderedDict[Hashable, FeatureSet] = OrderedDict()
        self.computed = 0  # how many prefixes were actually computed

    @property
    def bytes(self) -> int:
        return sum(f.features.nbytes for f in self._entries.values())

    def get(self, key: Hashable, compute: Callable[[], FeatureSet]) -> FeatureSet:
        if key in self._entries:
            self._entries.move_to_end(key)
            return self._entries[key]
        self.computed += 1
        features = compute()
        if features.features.nbytes <= self.max_bytes:
            self._entries[key] = features
            while self.bytes > self.max_bytes:
                self._entries.popitem(last=False)
        return features


def split_epochs(epochs: int, shares: list[float]) -> list[int]:
    """Whole epochs per phase adding up to ``epochs``: one each when there are enough, the
    rest in proportion to ``shares`` (largest remainders first)."""
    base = 1 if epochs >= len(shares) else 0
    rest = epochs - base * len(shares)
    raw = [rest * share for share in shares]
    counts = [int(r) for r in raw]
    for i in sorted(range(len(raw)), key=lambda i: raw[i] - counts[i], reverse=True)[: rest - sum(counts)]:
        counts[i] += 1
    return [base + count for count in counts]


def param_groups(
    model: nn.Module,
    trained: list[Stage],
    lr: float,
    backbone_lr: float,
    layer_decay: float | None,
    backbone_weight_decay: float | None = None,
) -> list[dict]:
    """One optimizer group per trained stage, of its parameters that require a gradient: the
    head at ``lr``; below it, ``lr × backbone_lr``, times ``layer_decay`` once more for every
    stage further from the head, and ``backbone_weight_decay`` when given (else the optimizer's)."""
    groups = []
    for depth, stage in enumerate(reversed(trained)):
        scale = 1.0 if stage.name == "head" else backbone_lr * (layer_decay or 1.0) ** depth
        params = [p for p in stage_parameters(model, stage).values() if p.requires_grad]
        if params:
            group = {"params": params, "lr": lr * scale, "stage": stage.name}
            if stage.name != "head" and backbone_weight_decay is not None:
                group["weight_decay"] = backbone_weight_decay
            groups.append(group)
    return groups


def start_strategy(model: nn.Module, strategy: StrategySpec) -> tuple[set[str], Callable[[nn.Module], torch.Tensor] | None]:
    """Run ``strategy``'s setup on ``model``. Returns the parameters it left without a
    gradient (held frozen in every phase) and the strategy's loss penalty for this model, if any."""
    if strategy.setup is not None:
        strategy.setup(model)
    held = {name for name, param in model.named_parameters() if not param.requires_grad}
    return held, strategy.penalty(model) if strategy.penalty is not None else None


@dataclass
class PhaseSetup:
    """A model made ready for one phase (:func:`prepare_phase`)."""

    frozen: int  # stages in the frozen prefix
    trained: dict[str, int]  # the parameters it trains, by full name, with their sizes
    groups: list[dict]  # the optimizer's parameter groups (:func:`param_groups`)
    held_stats: list[nn.Module]  # normalisation layers above the prefix that keep their running statistics (eval mode)


def prepare_phase(model: nn.Module, phase: Phase, held: set[str], lr: float) -> PhaseSetup:
    """Make ``model`` train what ``phase`` selects, except the ``held`` parameters: the lowest
    stages holding none of it frozen (their normalisation statistics included), every other
    parameter requiring a gradient exactly when selected; its optimizer groups at peak rate ``lr``."""
    set_trainable_from(model, 0)  # thawed, so that a selection sees every normalisation layer's parameters
    trained = {name for name in phase.trained_parameters(model) if name not in held}
    if not trained:
        raise ValueError("trains no parameter of this network")
    frozen = frozen_prefix(model, trained)
    set_trainable_from(model, frozen)
    for name, param in model.named_parameters():
        param.requires_grad_(name in trained)
    above = stages(model)[frozen:]
    held_stats = [m for s in above for m in stage_module(model, s).modules() if is_norm(m)] if phase.norm_stats == "frozen" else []
    return PhaseSetup(
        frozen,
        {name: param.numel() for name, param in model.named_parameters() if param.requires_grad},
        param_groups(model, above, lr, phase.backbone_lr, phase.layer_decay, phase.backbone_weight_decay),
        held_stats,
    )


@dataclass
class PhaseRun:
    """What one phase did, for the results."""

    frozen_stages: int
    epochs: int
    cached_prefix: bool  # trained on cached outputs of the frozen stages
    stats: TrainStats
    trained: dict[str, int]  # the parameters it trained, by full name, with their sizes
    cache_bytes: int = 0  # the cached prefix outputs it trained on (training and validation images), held all phase


def run_strategy(
    model: nn.Module,
    strategy: StrategySpec,
    data: PreparedSet,
    recipe: Recipe,
    *,
    seed: int,
    device: torch.device,
    validation: PreparedSet | None = None,
    cache: PrefixCache | None = None,
    cache_key: Hashable | None = None,
    cache_prefixes: bool = True,
    on_epoch: Callable[[int, int], None] | None = None,
) -> list[PhaseRun]:
    """Train ``model`` (classifier already sized for ``data``) on ``data`` as ``strategy`` says.

    ``recipe.epochs`` is the cell's whole budget, shared out between the phases; with a
    ``validation`` split each phase's share is a cap and the phase stops when the split stops
    improving (:func:`zoo.train.loop.fit`), keeping its best epoch's weights. Each phase trains
    the parameters its selections name (and that the strategy's ``setup`` left requiring a
    gradient: a setup's freezing holds in every phase); the lowest stages holding none of them
    are frozen, normalisation statistics included. A phase trains on the cached outputs of
    that frozen prefix when it does not augment and none of those stages has trained yet in
    this cell (so their outputs are still those of the starting weights); ``cache`` and
    ``cache_key`` let other cells reuse them. ``cache_prefixes=False`` runs the frozen stages
    at every step instead (for comparison). ``on_epoch(done, total)`` is called after every
    epoch of every phase, for progress.
    """
    held, penalty = start_strategy(model, strategy)
    # A setup may change any weights, so its prefixes are not those the cache key names.
    shared = cache if cache_key is not None and strategy.setup is None else None
    runs = []
    lowest_trained = len(stages(model))  # no stage has trained yet
    done = 0
    for number, (phase, epochs) in enumerate(zip(strategy.phases, split_epochs(recipe.epochs, [p.share for p in strategy.phases]))):
        if epochs == 0:
            continue

        def report(epoch: int, _loss: float, before: int = done) -> None:
            if on_epoch is not None:
                on_epoch(before + epoch, recipe.epochs)

        try:
            ready = prepare_phase(model, phase, held, recipe.lr)
        except ValueError as exc:
            raise ValueError(f"phase {number + 1} of strategy {strategy.name!r} {exc}") from None
        frozen, stage_list = ready.frozen, stages(model)
        phase_recipe = dataclasses.replace(recipe, epochs=epochs, augment=phase.augment)
        step_penalty = (lambda: penalty(model)) if penalty is not None else None
        cached = cache_prefixes and frozen > 0 and not phase.augment and frozen <= lowest_trained
        if cached:

            def prefix_of(images: PreparedSet, part: str, count: int = frozen) -> FeatureSet:
                def compute() -> FeatureSet:
                    return compute_prefix(model, images, count, device, recipe.precision)

                return shared.get((cache_key, part, count), compute) if shared is not None else compute()

            features = prefix_of(data, "train")
            held_out = prefix_of(validation, "validation") if validation is not None else None
            cache_bytes = features.features.nbytes + (held_out.features.nbytes if held_out is not None else 0)
            suffix = nn.Sequential(*(stage_module(model, s) for s in stage_list[frozen:]))
            stats = fit(
                suffix, features, phase_recipe, seed=seed, device=device, validation=held_out, param_groups=ready.groups,
                eval_modules=ready.held_stats, penalty=step_penalty, on_epoch=report,
            )  # fmt: skip
        else:
            cache_bytes = 0
            frozen_modules = [stage_module(model, s) for s in stage_list[:frozen]]
            stats = fit(
                model, data, phase_recipe, seed=seed, device=device, validation=validation, param_groups=ready.groups,
                eval_modules=frozen_modules + ready.held_stats, penalty=step_penalty, on_epoch=report,
            )  # fmt: skip
        lowest_trained = min(lowest_trained, frozen)
        done += epochs
        runs.append(PhaseRun(frozen, epochs, cached, stats, ready.trained, cache_bytes))
    return runs
