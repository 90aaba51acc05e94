"""The architecture kind: what an architecture plugin registers (a constructor plus what the
harness needs to treat every network alike), and how ``zoo info`` and ``zoo list`` show one."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from torch import nn

from zoo.errors import WeightsError
from zoo.models.architectures import HubWeights, PackageWeights
from zoo.models.backbone import classifier_width, stage_parameters
from zoo.models.backbone import stages as stages_of
from zoo.models.complexity import build_meta, measure
from zoo.models.weights import WeightsStore

if TYPE_CHECKING:
    from zoo.plugin.manager import PluginSet


@dataclass(frozen=True)
class ArchitectureSpec:
    """A registered architecture (timm's ``PretrainedCfg`` plus the builder)."""

    name: str  # registry name: lowercase, digits, underscores ("resnet50")
    family: str  # the plugin file it belongs to ("resnet", "vgg", "inception", …)
    build: Callable[..., nn.Module]  # build(num_classes=N) -> network with timm's classifier API
    default_input_size: tuple[int, int, int]  # (C, H, W) it was designed and pretrained for
    min_input_size: tuple[int, int, int]  # smallest (C, H, W) its forward pass accepts
    paper: str = ""  # title and link of the paper that introduced it; empty for a network of your own
    hub_weights: tuple[HubWeights, ...] = ()  # on the timm or torchvision hub; the first is the default without package_weights
    package_weights: tuple[PackageWeights, ...] = ()  # carried by installed packages; the first is the default
    reference: str | None = None  # torchvision model with the same published network, if any
    differences: str = ""  # how and why zoo's network differs from ``reference``
    description: str = ""  # one line for listings
    lr_scale: float = 1.0  # multiplier on a recipe's learning rate: reference recipes train some networks slower (VGG)
    pretrain_epoch_scale: float = 1.0  # multiplier on a suite's pretraining epoch cap: some networks learn for longer (MobileNetV3)
    input_sized: bool = False  # build(num_classes=…, img_size=side) shapes its head for that input side (VGG)

    @property
    def default_weights(self) -> PackageWeights | HubWeights | None:
        """What ``pretrained=True`` loads: the first weights a package carries, else the first on the hubs."""
        published = (*self.package_weights, *self.hub_weights)
        return published[0] if published else None


def validate_spec(spec: ArchitectureSpec) -> str | None:
    """Why a registered spec is malformed, or None (used by the registry)."""
    if not callable(spec.build):
        return "build is not callable"
    for field_name in ("default_input_size", "min_input_size"):
        size = getattr(spec, field_name)
        if not (isinstance(size, tuple) and len(size) == 3 and all(type(v) is int and v > 0 for v in size)):
            return f"{field_name} must be a (channels, height, width) tuple of positive ints, got {size!r}"
    for field_name in ("lr_scale", "pretrain_epoch_scale"):
        scale = getattr(spec, field_name)
        if not (isinstance(scale, (int, float)) and scale > 0):
            return f"{field_name} must be a positive number, got {scale!r}"
    if spec.min_input_size[0] != spec.default_input_size[0]:
        return "min_input_size and default_input_size have different channel counts"
    if any(m > d for m, d in zip(spec.min_input_size[1:], spec.default_input_size[1:])):
        return "min_input_size is larger than default_input_size"
    if not all(isinstance(w, HubWeights) for w in spec.hub_weights):
        return "hub_weights must hold HubWeights"
    for w in spec.package_weights:
        if not isinstance(w, PackageWeights):
            return "package_weights must hold PackageWeights"
        if not re.fullmatch(r"[0-9a-f]{64}", w.sha256):
            return f"package weights {w.tag!r}: sha256 must be 64 lowercase hex digits, got {w.sha256!r}"
        if w.keys not in ("names", "order"):
            return f"package weights {w.tag!r}: keys must be 'names' or 'order', got {w.keys!r}"
    return None


def describe(plugins: PluginSet, spec: ArchitectureSpec, plugin: str) -> dict:
    """Everything ``zoo info`` reports about an architecture, under snake_case keys."""
    model = build_meta(spec)
    complexity = measure(model, spec.default_input_size)
    stages = [
        {
            "name": stage.name,
            "modules": list(stage.modules),
            "params": sum(p.numel() for p in stage_parameters(model, stage).values()),
        }
        for stage in stages_of(model)
    ]
    weights = [_package_weights_info(spec, w) for w in spec.package_weights] + [
        {"variant": f"{spec.name}.{w.tag}", "source": w.hub, "dataset": w.dataset, "default": w is spec.default_weights}
        for w in spec.hub_weights
    ] + [
        {"variant": f"{spec.name}.{e.tag}", "source": "store", "dataset": e.metadata.get("dataset", ""), "default": False}
        for e in WeightsStore().entries(spec.name)
    ]
    return {
        "name": spec.name,
        "kind": "architecture",
        "family": spec.family,
        "plugin": plugin,
        "description": spec.description,
        "paper": spec.paper,
        "params": complexity.params,
        "macs": complexity.macs,
        "flops": complexity.flops,
        "complexity_input_size": list(complexity.input_size),
        "complexity_method": complexity.method,
        "num_features": classifier_width(model),
        "default_input_size": list(spec.default_input_size),
        "min_input_size": list(spec.min_input_size),
        "stages": stages,
        "pretrained_weights": weights,
        "reference": spec.reference,
        "differences": spec.differences,
        "lr_scale": spec.lr_scale,
        "pretrain_epoch_scale": spec.pretrain_epoch_scale,
    }


def _package_weights_info(spec: ArchitectureSpec, w: PackageWeights) -> dict:
    """Where a package's weights are, whether they are here, how to prepare images for them,
    their checksum and the publisher's accuracy."""
    try:
        location, installed = str(w.locate()), True
    except WeightsError as exc:
        location, installed = str(exc), False
    return {
        "variant": f"{spec.name}.{w.tag}",
        "source": "package",
        "dataset": w.dataset,
        "default": w is spec.default_weights,
        "distribution": w.distribution,
        "installed": installed,
        "location": location,
        "sha256": w.sha256,
        "preprocessing": {"input_size": list(w.input_size), "interpolation": w.interpolation, "crop_pct": w.crop_pct,
                          "mean": list(w.mean), "std": list(w.std)},  # fmt: skip
        "publisher_top1": w.publisher_top1,
        "publisher": w.publisher,
    }


def _package_lines(w: dict) -> list[str]:
    pre = w["preprocessing"]
    size = "×".join(map(str, pre["input_size"][1:]))
    lines = [
        f"      from the package {w['distribution']}: {w['location']}",
        f"      sha256 {w['sha256']} (checked on every load)",
        f"      preprocessing: {pre['interpolation']} resize, centre crop {pre['crop_pct']:g} to {size}, "
        f"mean {tuple(pre['mean'])}, std {tuple(pre['std'])}",
    ]
    if w["publisher_top1"] is not None:
        lines.append(f"      ImageNet-1k top-1 {w['publisher_top1']:.1f}%, the publisher's figure, not zoo's measurement ({w['publisher']})")
    return lines


def render(info: dict) -> str:
    """``zoo info``'s text for an architecture, from :func:`describe`'s data."""
    size = "×".join(map(str, info["complexity_input_size"][1:]))
    lines = [
        f"{info['name']} — {info['description']}",
        f"  family:             {info['family']} (plugin {info['plugin']})",
        f"  paper:              {info['paper'] or '–'}",
        f"  params:             {info['params']:,}",
        f"  MACs:               {info['macs'] / 1e9:.3f} G at {size} (FLOPs {info['flops'] / 1e9:.3f} G)",
        f"  measured with:      {info['complexity_method']}",
        f"  features:           {info['num_features']}",
        f"  default input size: {tuple(info['default_input_size'])}",
        f"  min input size:     {tuple(info['min_input_size'])}",
    ]
    if info["lr_scale"] != 1:
        lines.append(f"  learning rate:      ×{info['lr_scale']:g} of a recipe's (its reference recipes train it slower)")
    if info["pretrain_epoch_scale"] != 1:
        lines.append(f"  pretraining cap:    ×{info['pretrain_epoch_scale']:g} of a suite's epochs (it learns for longer)")
    if info["reference"]:
        lines.append(f"  torchvision:        {info['reference']}" + (f" — differs: {info['differences']}" if info["differences"] else " (same network)"))
    lines.append("  stages:")
    lines += [f"    {s['name']:<10} {s['params']:>12,}  {', '.join(s['modules'])}" for s in info["stages"]]
    lines.append("  pretrained weights:" + ("" if info["pretrained_weights"] else " none"))
    for w in info["pretrained_weights"]:
        lines.append(f"    {w['variant']:<40} {w['source']:<12} {w['dataset']}{'  (default)' if w['default'] else ''}")
        if w["source"] == "package":
            lines += _package_lines(w)
    if "weights_file" in info:
        w = info["weights_file"]
        lines.append(f"  weights file:       {w['path']} loads ({w['tensors']} tensors, {w['num_classes']} classes)")
    return "\n".join(lines)


def present_weights(spec: ArchitectureSpec) -> list[dict]:
    """The pretrained weights of ``spec`` that load without the internet, where each is: the
    local store's, the installed packages', and the hubs' files an earlier download cached."""
    rows = [{"variant": f"{spec.name}.{e.tag}", "source": "store", "location": str(e.path)} for e in WeightsStore().entries(spec.name)]
    for w in spec.package_weights:
        path = w.located()
        if path is not None:
            rows.append({"variant": f"{spec.name}.{w.tag}", "source": "package", "location": str(path)})
    for w in spec.hub_weights:
        cached = w.cached()
        if cached is not None:
            rows.append({"variant": f"{spec.name}.{w.tag}", "source": w.hub, "location": str(cached)})
    return rows


def summary(spec: ArchitectureSpec) -> dict:
    """The columns ``zoo list`` shows for an architecture besides its name and plugin."""
    return {"family": spec.family, "description": spec.description}
