"""ResNet, ResNeXt and Wide ResNet, built by timm.

* Deep Residual Learning for Image Recognition — https://arxiv.org/abs/1512.03385
* Aggregated Residual Transformations for Deep Neural Networks — https://arxiv.org/abs/1611.05431
* Wide Residual Networks — https://arxiv.org/abs/1605.07146

timm's networks are torchvision's layer for layer (its ``tv_in1k`` weights are torchvision's
own), so torchvision's published parameter and MAC counts apply unchanged.
"""

from __future__ import annotations

from functools import partial

import timm
from torch import nn

from zoo import ArchitectureSpec, hookimpl
from zoo.models.architectures import timm_hub_weights

__all__ = ["ARCHITECTURES", "zoo_register_architectures"]

_RESNET = "Deep Residual Learning for Image Recognition (He et al., 2015) https://arxiv.org/abs/1512.03385"
_RESNEXT = "Aggregated Residual Transformations for Deep Neural Networks (Xie et al., 2016) https://arxiv.org/abs/1611.05431"
_WIDE = "Wide Residual Networks (Zagoruyko & Komodakis, 2016) https://arxiv.org/abs/1605.07146"


def _create_resnet(name: str, num_classes: int = 1000) -> nn.Module:
    return timm.create_model(name, pretrained=False, num_classes=num_classes)


def _cfg(name: str, paper: str, description: str) -> ArchitectureSpec:
    return ArchitectureSpec(
        name=name,
        family="resnet",
        build=partial(_create_resnet, name),
        default_input_size=(3, 224, 224),
        min_input_size=(3, 1, 1),  # torchvision's published minimum: global pooling takes any size
        paper=paper,
        hub_weights=timm_hub_weights(name),
        reference=name,
        description=description,
    )


ARCHITECTURES = {
    "resnet18": _cfg("resnet18", _RESNET, "ResNet-18, basic blocks [2, 2, 2, 2]"),
    "resnet34": _cfg("resnet34", _RESNET, "ResNet-34, basic blocks [3, 4, 6, 3]"),
    "resnet50": _cfg("resnet50", _RESNET, "ResNet-50, bottleneck blocks [3, 4, 6, 3]"),
    "resnet101": _cfg("resnet101", _RESNET, "ResNet-101, bottleneck blocks [3, 4, 23, 3]"),
    "resnet152": _cfg("resnet152", _RESNET, "ResNet-152, bottleneck blocks [3, 8, 36, 3]"),
    "resnext50_32x4d": _cfg("resnext50_32x4d", _RESNEXT, "ResNeXt-50, cardinality 32, width 4"),
    "resnext101_32x8d": _cfg("resnext101_32x8d", _RESNEXT, "ResNeXt-101, cardinality 32, width 8"),
    "wide_resnet50_2": _cfg("wide_resnet50_2", _WIDE, "Wide ResNet-50, bottlenecks twice as wide"),
    "wide_resnet101_2": _cfg("wide_resnet101_2", _WIDE, "Wide ResNet-101, bottlenecks twice as wide"),
}


@hookimpl
def zoo_register_architectures(registry):
    for spec in ARCHITECTURES.values():
        registry.add(spec)
