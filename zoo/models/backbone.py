"""The uniform backbone interface: stages, freezing and the classifier.

zoo treats every network the way timm treats its own: ``forward_features`` gives the final
feature map, ``forward_head(x, pre_logits=True)`` the pooled features, ``reset_classifier``
swaps the classifier, and ``feature_info`` names the module that ends each stage. From those
module names zoo derives an ordered list of :class:`Stage` s, stem to classifier, such that

* running the stages one after another is the network's forward pass, so a frozen prefix can
  be computed once and cached, and
* every parameter belongs to exactly one stage, so "freeze the lower k stages" is exact.

Networks that timm does not have get the same interface from :mod:`zoo.models.adapters`.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from timm.utils.model import freeze as timm_freeze
from timm.utils.model import unfreeze as timm_unfreeze
from torch import nn


@dataclass(frozen=True)
class Stage:
    """A contiguous slice of the network, named and given as module paths in forward order."""

    name: str  # "stem", "stage1" … "stageN", "pre_logits" (only when it has weights), "head"
    modules: tuple[str, ...]  # dotted paths of the modules, as in ``net.get_submodule``


def stages(net: nn.Module) -> list[Stage]:
    """Split a network with timm's interface into stages at its ``feature_info`` points.

    The body is the sequence of top-level children up to the one holding the last feature
    point; a child holding a point is opened one level so the split can fall inside it (as in
    timm's ``inception_v4``, whose blocks live in one ``features`` Sequential). What follows
    the body is the classifier side: a ``head`` stage (pooling and the classifier), preceded by
    a ``pre_logits`` stage when the layers between pooling and classifier carry weights
    (VGG's and AlexNet's fully connected layers), so a linear probe trains only the classifier.
    """
    points = [info["module"] for info in net.feature_info]
    children = [name for name, _ in net.named_children()]
    last = children.index(points[-1].split(".")[0])
    body: list[str] = []
    for name in children[: last + 1]:
        if any(p.startswith(name + ".") for p in points):
            body += [f"{name}.{child}" for child, _ in net.get_submodule(name).named_children()]
        else:
            body.append(name)
    missing = [p for p in points if p not in body]
    if missing:
        raise ValueError(f"feature_info points {missing} are not top-level modules or their children")

    result: list[Stage] = []
    current: list[str] = []
    for path in body:
        current.append(path)
        if path in points:
            result.append(Stage("stem" if not result else f"stage{len(result)}", tuple(current)))
            current = []
    if current:  # modules after the last point that still belong to the body
        result[-1] = Stage(result[-1].name, result[-1].modules + tuple(current))

    tail = children[last + 1 :]
    if any(_has_params(net.get_submodule(n)) for n in tail[:-1]):
        result += [Stage("pre_logits", tuple(tail[:-1])), Stage("head", (tail[-1],))]
    else:
        result.append(Stage("head", tuple(tail)))
    return result


def classifier_width(net: nn.Module) -> int:
    """The width of the vector the classifier reads, ``forward_head(x, pre_logits=True)``'s:
    timm's ``head_hidden_size`` where layers after pooling widen it (MobileNetV3's
    ``conv_head``, 576 → 1024), else ``num_features``."""
    return getattr(net, "head_hidden_size", None) or net.num_features


def _has_params(module: nn.Module) -> bool:
    return any(True for _ in module.parameters())


def stage_module(net: nn.Module, stage: Stage) -> nn.Sequential:
    """The stage as a callable, sharing the network's modules (and so its weights)."""
    return nn.Sequential(*(net.get_submodule(path) for path in stage.modules))


def stem_batchnorm(net: nn.Module) -> nn.BatchNorm2d | None:
    """The first BatchNorm layer of the stem, in forward order, or None when the stem has none.

    Its running mean and variance are what the source's images made of the stem's first
    convolution: a summary of the source domain the weights carry with them
    (:mod:`zoo.recommend.similarity` compares a target with it when no source image is on hand).
    """
    for path in stages(net)[0].modules:
        for module in net.get_submodule(path).modules():
            if isinstance(module, nn.BatchNorm2d):
                return module
    return None


def stage_parameters(net: nn.Module, stage: Stage) -> dict[str, nn.Parameter]:
    """The stage's parameters by their full name in ``net``."""
    return {
        f"{path}.{name}": param
        for path in stage.modules
        for name, param in net.get_submodule(path).named_parameters()
    }


def run_stages(net: nn.Module, x: torch.Tensor, start: int = 0, stop: int | None = None) -> torch.Tensor:
    """Run stages ``start`` to ``stop`` (exclusive) of the network on ``x``."""
    for stage in stages(net)[start:stop]:
        x = stage_module(net, stage)(x)
    return x


def freeze_stages(net: nn.Module, count: int) -> list[Stage]:
    """Freeze the lowest ``count`` stages and return them.

    Their parameters stop requiring gradients and their BatchNorm layers become
    ``FrozenBatchNorm2d`` (timm's ``freeze``), which keeps the running statistics however
    ``train()`` is later called. A negative ``count`` freezes all but the top ``-count``.
    The replacement layers are created on the network's own device (CUDA, or ``meta``).
    """
    frozen = stages(net)[:count]
    paths = [path for stage in frozen for path in stage.modules]
    if paths:
        with torch.device(next(net.parameters()).device):
            timm_freeze(net, paths)
    return frozen


def set_trainable_from(net: nn.Module, count: int) -> None:
    """Freeze exactly the lowest ``count`` stages and unfreeze the rest.

    Unlike :func:`freeze_stages`, which only adds frozen stages, this also thaws stages frozen
    earlier (their ``FrozenBatchNorm2d`` become ``BatchNorm2d`` again with the same
    statistics), as strategies that unfreeze in phases need.
    """
    all_stages = stages(net)
    thawed = [path for stage in all_stages[count:] for path in stage.modules]
    with torch.device(next(net.parameters()).device):
        if thawed:
            timm_unfreeze(net, thawed)
    freeze_stages(net, count)
