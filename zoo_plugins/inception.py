"""GoogLeNet (Inception v1) from torchvision; Inception v3, v4 and Inception-ResNet v2 from timm.

* Going Deeper with Convolutions — https://arxiv.org/abs/1409.4842
* Rethinking the Inception Architecture for Computer Vision — https://arxiv.org/abs/1512.00567
* Inception-v4, Inception-ResNet and the Impact of Residual Connections — https://arxiv.org/abs/1602.07261

Both GoogLeNet and Inception v3 are built without their auxiliary classifiers. These only
add a training loss in the papers' ImageNet recipes, never run at inference, and would be an
extra head for every transfer strategy to handle. For GoogLeNet that is also torchvision's
published network; for Inception v3 torchvision counts ``AuxLogits`` in its parameters, so
zoo's count is lower by that head (see ``differences``).
"""

from __future__ import annotations

from functools import partial

import timm
import torchvision
from torch import nn

from zoo import ArchitectureSpec, TimmInterface, hookimpl
from zoo.models.architectures import timm_hub_weights, torchvision_hub_weights

__all__ = ["ARCHITECTURES", "GoogLeNet", "INCEPTION_V3_AUX_PARAMS", "zoo_register_architectures"]

INCEPTION_V3_AUX_PARAMS = 3_326_696  # torchvision's AuxLogits head, absent from zoo's inception_v3


class GoogLeNet(TimmInterface, torchvision.models.GoogLeNet):
    """torchvision's GoogLeNet without auxiliary heads, with timm's classifier interface.

    ``transform_input`` stays off: torchvision's ImageNet weights expect it on, which is the
    same as normalising with mean = std = 0.5, and that is what their :class:`HubWeights`
    record, so the forward pass is the plain sequence of stages.

    Convolutions start from He initialisation (fan-out, as torchvision's and timm's ResNets),
    not torchvision's GoogLeNet default, a truncated normal of σ = 0.01. Every convolution
    here feeds a BatchNorm, which undoes the weights' scale, so weights that small only make
    each step large relative to them. Trained from scratch on 160 digits at 32×32 (the mini
    suite's ``digits_small``), the σ = 0.01 network's training loss stayed near chance for ten
    epochs and it scored 17–49% at learning rates 0.15–0.017; with He initialisation the same
    60 epochs at 0.05 reached 86%. Pretrained weights replace either.
    """

    checkpoint_only = ("aux1.", "aux2.")

    def __init__(self, num_classes: int = 1000):
        super().__init__(num_classes=num_classes, aux_logits=False, transform_input=False, init_weights=False)
        for module in self.modules():
            if isinstance(module, nn.Conv2d):
                nn.init.kaiming_normal_(module.weight, mode="fan_out", nonlinearity="relu")
        self._adopt_classifier(["avgpool", "dropout", "fc"], [self.avgpool, nn.Flatten(1), self.dropout], self.fc)
        self.feature_info = [
            dict(module="conv1", num_chs=64, reduction=2),
            dict(module="conv3", num_chs=192, reduction=4),
            dict(module="inception3b", num_chs=480, reduction=8),
            dict(module="inception4e", num_chs=832, reduction=16),
            dict(module="inception5b", num_chs=1024, reduction=32),
        ]


def _create_timm(name: str, num_classes: int = 1000) -> nn.Module:
    return timm.create_model(name, pretrained=False, num_classes=num_classes)


def _timm_cfg(name: str, paper: str, description: str, **kwargs) -> ArchitectureSpec:
    return ArchitectureSpec(
        name=name,
        family="inception",
        build=partial(_create_timm, name),
        default_input_size=(3, 299, 299),
        min_input_size=(3, 75, 75),
        paper=paper,
        hub_weights=timm_hub_weights(name),
        description=description,
        **kwargs,
    )


ARCHITECTURES = {
    "googlenet": ArchitectureSpec(
        name="googlenet",
        family="inception",
        build=GoogLeNet,
        default_input_size=(3, 224, 224),
        min_input_size=(3, 15, 15),
        paper="Going Deeper with Convolutions (Szegedy et al., 2014) https://arxiv.org/abs/1409.4842",
        hub_weights=torchvision_hub_weights("googlenet", mean=(0.5, 0.5, 0.5), std=(0.5, 0.5, 0.5)),
        reference="googlenet",
        description="GoogLeNet / Inception v1, without auxiliary classifiers (as torchvision publishes it)",
    ),
    "inception_v3": _timm_cfg(
        "inception_v3",
        "Rethinking the Inception Architecture for Computer Vision (Szegedy et al., 2015) https://arxiv.org/abs/1512.00567",
        "Inception v3, without the auxiliary classifier",
        reference="inception_v3",
        differences=(
            f"no auxiliary classifier: {INCEPTION_V3_AUX_PARAMS:,} fewer parameters than torchvision's "
            "published count, which includes AuxLogits; MACs are equal, as AuxLogits never runs at inference"
        ),
    ),
    "inception_v4": _timm_cfg(
        "inception_v4",
        "Inception-v4, Inception-ResNet and the Impact of Residual Connections (Szegedy et al., 2016) https://arxiv.org/abs/1602.07261",
        "Inception v4",
    ),
    "inception_resnet_v2": _timm_cfg(
        "inception_resnet_v2",
        "Inception-v4, Inception-ResNet and the Impact of Residual Connections (Szegedy et al., 2016) https://arxiv.org/abs/1602.07261",
        "Inception-ResNet v2",
    ),
}


@hookimpl
def zoo_register_architectures(registry):
    for spec in ARCHITECTURES.values():
        registry.add(spec)
