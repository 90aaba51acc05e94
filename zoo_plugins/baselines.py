"""Baselines: a small CNN trained from scratch, and AlexNet.

* ``simple_cnn`` is the two-convolution network of the classic CIFAR-10 tutorial
  (conv 32 → conv 64 → fc 128 → classes, each convolution followed by 2× max-pooling). It is
  the from-scratch yardstick every transfer strategy should beat, and the fast network of the
  tests.
* ``alexnet``: ImageNet Classification with Deep Convolutional Neural Networks (Krizhevsky et
  al., 2012), in torchvision's single-tower form ("One weird trick…", https://arxiv.org/abs/1404.5997).
"""

from __future__ import annotations

import torchvision
from torch import nn

from zoo import ArchitectureSpec, TimmInterface, hookimpl
from zoo.models.architectures import torchvision_hub_weights

__all__ = ["ARCHITECTURES", "AlexNet", "SimpleCNN", "zoo_register_architectures"]


class SimpleCNN(TimmInterface):
    """conv 32 → conv 64 → fc 128 → classes; 545,098 parameters for 10 classes at 32×32.

    The feature map is pooled to 8×8 (the identity at 32×32), so other input sizes keep the
    same fully connected layer.
    """

    def __init__(self, num_classes: int = 10):
        super().__init__()
        self.conv1 = nn.Sequential(nn.Conv2d(3, 32, 3, padding=1), nn.ReLU(inplace=True), nn.MaxPool2d(2))
        self.conv2 = nn.Sequential(nn.Conv2d(32, 64, 3, padding=1), nn.ReLU(inplace=True), nn.MaxPool2d(2))
        self._adopt_classifier(
            [],
            [nn.AdaptiveAvgPool2d(8), nn.Flatten(1), nn.Linear(64 * 8 * 8, 128), nn.ReLU(inplace=True)],
            nn.Linear(128, num_classes),
        )
        self.feature_info = [dict(module="conv1", num_chs=32, reduction=2), dict(module="conv2", num_chs=64, reduction=4)]


class AlexNet(TimmInterface, torchvision.models.AlexNet):
    """torchvision's AlexNet; ``pre_logits`` holds fc6 and fc7, ``head`` fc8."""

    def __init__(self, num_classes: int = 1000):
        super().__init__(num_classes=num_classes)
        fc6_to_relu7 = list(self.classifier)[:-1]
        self._adopt_classifier(
            ["avgpool", "classifier"], [self.avgpool, nn.Flatten(1), *fc6_to_relu7], self.classifier[-1]
        )
        self.feature_info = [
            dict(module="features.2", num_chs=64, reduction=8),
            dict(module="features.5", num_chs=192, reduction=16),
            dict(module="features.12", num_chs=256, reduction=32),
        ]


ARCHITECTURES = {
    "simple_cnn": ArchitectureSpec(
        name="simple_cnn",
        family="baselines",
        build=SimpleCNN,
        default_input_size=(3, 32, 32),
        min_input_size=(3, 4, 4),
        paper="the CIFAR-10 convolutional network of the Keras and PyTorch tutorials",
        description="two convolutions and two fully connected layers, trained from scratch",
    ),
    "alexnet": ArchitectureSpec(
        name="alexnet",
        family="baselines",
        build=AlexNet,
        default_input_size=(3, 224, 224),
        min_input_size=(3, 63, 63),
        paper="ImageNet Classification with Deep Convolutional Neural Networks (Krizhevsky et al., 2012) "
        "https://papers.nips.cc/paper/4824",
        hub_weights=torchvision_hub_weights("alexnet"),
        reference="alexnet",
        description="AlexNet, torchvision's single-tower variant",
    ),
}


@hookimpl
def zoo_register_architectures(registry):
    for spec in ARCHITECTURES.values():
        registry.add(spec)
