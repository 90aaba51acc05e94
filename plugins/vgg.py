"""VGG 11/13/16/19, with and without batch normalisation, built by torchvision.

Very Deep Convolutional Networks for Large-Scale Image Recognition — https://arxiv.org/abs/1409.1556

torchvision's build is used rather than timm's: timm turns the fully connected layers into a
7×7 convolution (``ConvMlp``) that is 2.5× slower to train at 32×32 on a CPU, while the
network, its parameter count and its ImageNet weights are the same. zoo splits torchvision's
``classifier`` into ``pre_logits`` (fc6, fc7) and ``head`` (fc8), so that a linear probe trains
fc8 alone; :meth:`~zoo.adapters.TimmInterface.remap_state_dict` reads torchvision checkpoints.

VGG trains at a tenth of a recipe's learning rate (``lr_scale``), as the reference recipes
have it (torchvision's and MMPretrain's: 0.01 for VGG, 0.1 for ResNet). Below 224×224 it
needs that even more: the last feature map is smaller than 7×7, so the adaptive pool repeats
each value up to 49 times into fc6, whose every copy then takes the same gradient step.
"""

from __future__ import annotations

from functools import partial

import torchvision
from torch import nn
from torchvision.models.vgg import cfgs, make_layers

from zoo import hookimpl
from zoo.adapters import TimmInterface
from zoo.architectures import ArchitectureSpec, torchvision_hub_weights

__all__ = ["VGG", "default_cfgs", "zoo_register_architectures"]

_PAPER = "Very Deep Convolutional Networks for Large-Scale Image Recognition (Simonyan & Zisserman, 2014) https://arxiv.org/abs/1409.1556"
_LAYOUTS = {"vgg11": "A", "vgg13": "B", "vgg16": "D", "vgg19": "E"}  # torchvision's config letters
VGG_LR_SCALE = 0.1


class VGG(TimmInterface, torchvision.models.VGG):
    """torchvision's VGG with timm's classifier interface; stages end at each max-pool."""

    def __init__(self, layout: str, batch_norm: bool, num_classes: int = 1000):
        super().__init__(make_layers(cfgs[layout], batch_norm=batch_norm), num_classes=num_classes, init_weights=True)
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
    )


default_cfgs = {name: _cfg(name) for base in _LAYOUTS for name in (base, f"{base}_bn")}


@hookimpl
def zoo_register_architectures(registry):
    for spec in default_cfgs.values():
        registry.add(spec)
