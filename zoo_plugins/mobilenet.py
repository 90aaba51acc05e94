"""MobileNetV3, built by timm: the seeds' fourth family, networks made for small devices.

* Searching for MobileNetV3 — https://arxiv.org/abs/1905.02244

After global pooling MobileNetV3 widens the pooled features with a 1×1 convolution
(``conv_head``: 576 → 1024 in the small network, 960 → 1280 in the large one) before the
classifier, so a linear probe sees 1024 or 1280 features; ``zoo.stages`` puts that
convolution in the ``pre_logits`` stage, which a linear probe keeps frozen.
"""

from __future__ import annotations

from functools import partial

import timm
from torch import nn

from zoo import ArchitectureSpec, hookimpl
from zoo.models.architectures import timm_hub_weights

__all__ = ["ARCHITECTURES", "zoo_register_architectures"]

_PAPER = "Searching for MobileNetV3 (Howard et al., 2019) https://arxiv.org/abs/1905.02244"


def _create_mobilenet(name: str, num_classes: int = 1000) -> nn.Module:
    return timm.create_model(name, pretrained=False, num_classes=num_classes)


def _cfg(name: str, description: str) -> ArchitectureSpec:
    return ArchitectureSpec(
        name=name,
        family="mobilenet",
        build=partial(_create_mobilenet, name),
        default_input_size=(3, 224, 224),
        min_input_size=(3, 1, 1),  # torchvision's published minimum for MobileNetV3: global pooling takes any size
        paper=_PAPER,
        hub_weights=timm_hub_weights(name),
        description=description,
        # Pretrained on mini's source with resnet18's cap of 40 epochs, MobileNetV3-Small was still
        # improving at the 40th (87.2% source top-1, best epoch 40); timm trains it about twice as
        # long as its ResNets. Validation stops it; the cap only has to be out of its way.
        pretrain_epoch_scale=3.0,
    )


ARCHITECTURES = {
    "mobilenetv3_small_100": _cfg("mobilenetv3_small_100", "MobileNetV3-Small, width 1.0; 1024 features after conv_head"),
    "mobilenetv3_large_100": _cfg("mobilenetv3_large_100", "MobileNetV3-Large, width 1.0; 1280 features after conv_head"),
}


@hookimpl
def zoo_register_architectures(registry):
    for spec in ARCHITECTURES.values():
        registry.add(spec)
