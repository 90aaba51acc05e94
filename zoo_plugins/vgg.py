"""VGG 11/13/16/19, with and without batch normalisation, built by torchvision.

Very Deep Convolutional Networks for Large-Scale Image Recognition — https://arxiv.org/abs/1409.1556

torchvision's build is used rather than timm's: timm turns the fully connected layers into a
7×7 convolution (``ConvMlp``), slower to train at 32×32 on a CPU than the linear layers it
replaces, while the network, its parameter count and its ImageNet weights are the same. zoo splits torchvision's
``classifier`` into ``pre_logits`` (fc6, fc7) and ``head`` (fc8), so that a linear probe trains
fc8 alone; :meth:`~zoo.models.adapters.TimmInterface.remap_state_dict` reads torchvision checkpoints.

VGG trains at a tenth of a recipe's learning rate (``lr_scale``), as the reference recipes
have it (torchvision's and MMPretrain's: 0.01 for VGG, 0.1 for ResNet).

The head is shaped for the input size (``img_size``): torchvision pools the last feature map
to 7×7 whatever its size, so below 224×224, where the map is smaller, the pool repeats its
values into fc6 (at 32×32 each of the 512 values 49 times, and fc6 carries 103M of the
network's 129M parameters for a function that a 512→4096 layer computes). zoo pools to the
map's own side when that is below 7 (at 32×32: 1×1, fc6 512→4096, 28.1M parameters in
all), an fc6 with a 49th of the weights for the same function (``zoo speed --arch vgg11_bn
--img-size 32`` times the network it gives). At 224×224 and above the network is
torchvision's, parameter for parameter.
torchvision's 7×7 fc6 weights load into the smaller head exactly: fc6 after a pool that
repeats a k×k map is fc6 with its weight summed over the cells each map value feeds.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import partial

import torch
import torch.nn.functional as F
import torchvision
from torch import nn
from torchvision.models.vgg import cfgs, make_layers

from zoo import ArchitectureSpec, TimmInterface, hookimpl
from zoo.models.architectures import torchvision_hub_weights

__all__ = ["ARCHITECTURES", "VGG", "fold_fc6", "zoo_register_architectures"]

_PAPER = "Very Deep Convolutional Networks for Large-Scale Image Recognition (Simonyan & Zisserman, 2014) https://arxiv.org/abs/1409.1556"
_LAYOUTS = {"vgg11": "A", "vgg13": "B", "vgg16": "D", "vgg19": "E"}  # torchvision's config letters
VGG_LR_SCALE = 0.1
TORCHVISION_POOL = 7  # torchvision's head pools every feature map to 7×7
REDUCTION = 32  # five 2× max-pools


class VGG(TimmInterface, torchvision.models.VGG):
    """torchvision's VGG with timm's classifier interface; stages end at each max-pool; the
    head pools to the last feature map's own side when that is below 7 (``img_size`` < 224)."""

    def __init__(self, layout: str, batch_norm: bool, num_classes: int = 1000, img_size: int = 224):
        super().__init__(make_layers(cfgs[layout], batch_norm=batch_norm), num_classes=num_classes, init_weights=True)
        self.pool_size = max(1, min(TORCHVISION_POOL, img_size // REDUCTION))
        if self.pool_size != TORCHVISION_POOL:
            self.avgpool = nn.AdaptiveAvgPool2d(self.pool_size)
            fc6 = nn.Linear(512 * self.pool_size**2, 4096)
            nn.init.normal_(fc6.weight, 0, 0.01)  # torchvision's initialisation of its linear layers
            nn.init.zeros_(fc6.bias)
            self.classifier[0] = fc6
        fc6_to_drop7 = list(self.classifier)[:-1]
        self._adopt_classifier(
            ["avgpool", "classifier"], [self.avgpool, nn.Flatten(1), *fc6_to_drop7], self.classifier[-1]
        )
        self.feature_info = []
        channels, reduction = 3, 1
        for index, layer in enumerate(self.features):
            if isinstance(layer, nn.Conv2d):
                channels = layer.out_channels
            elif isinstance(layer, nn.MaxPool2d):
                reduction *= 2
                self.feature_info.append(dict(module=f"features.{index}", num_chs=channels, reduction=reduction))

    def remap_state_dict(self, state_dict: Mapping[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        """torchvision's checkpoint in this layout, its 7×7 fc6 folded onto this head's pool."""
        state = super().remap_state_dict(state_dict)
        key = "pre_logits.2.weight"
        if self.pool_size != TORCHVISION_POOL and key in state:
            state[key] = fold_fc6(state[key], self.pool_size)
        return state


def fold_fc6(weight: torch.Tensor, side: int) -> torch.Tensor:
    """fc6's [4096, 512·7·7] weight for a ``side``×``side`` map pooled to 7×7, as the weight of
    an fc6 that reads the map itself: the adaptive pool is linear, so the two compute the same."""
    cells = side * side
    basis = torch.eye(cells, dtype=weight.dtype).view(cells, 1, side, side)
    pool = F.adaptive_avg_pool2d(basis, TORCHVISION_POOL).view(cells, -1)  # [map cell, 7×7 cell]
    blocks = weight.view(weight.shape[0], -1, TORCHVISION_POOL**2)  # [out, channel, 7×7 cell]
    return torch.einsum("ocp,mp->ocm", blocks, pool).reshape(weight.shape[0], -1)


def _cfg(name: str) -> ArchitectureSpec:
    base = name.removesuffix("_bn")
    batch_norm = name.endswith("_bn")
    return ArchitectureSpec(
        name=name,
        family="vgg",
        build=partial(VGG, _LAYOUTS[base], batch_norm),
        default_input_size=(3, 224, 224),
        min_input_size=(3, 32, 32),  # five 2× max-pools
        paper=_PAPER,
        hub_weights=torchvision_hub_weights(name),
        reference=name,
        description=f"VGG-{base[3:]}{' with batch normalisation' if batch_norm else ''}",
        lr_scale=VGG_LR_SCALE,
        input_sized=True,
    )


ARCHITECTURES = {name: _cfg(name) for base in _LAYOUTS for name in (base, f"{base}_bn")}


@hookimpl
def zoo_register_architectures(registry):
    for spec in ARCHITECTURES.values():
        registry.add(spec)
