"""A well-behaved external plugin: registers one small network, ``tinynet``."""

from torch import nn

from zoo import ArchitectureSpec, TimmInterface, hookimpl


class TinyNet(TimmInterface):
    """conv 8 → conv 16 → global pool → classes."""

    def __init__(self, num_classes: int = 10):
        super().__init__()
        self.conv1 = nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2))
        self.conv2 = nn.Sequential(nn.Conv2d(8, 16, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2))
        self._adopt_classifier([], [nn.AdaptiveAvgPool2d(1), nn.Flatten(1)], nn.Linear(16, num_classes))
        self.feature_info = [
            dict(module="conv1", num_chs=8, reduction=2),
            dict(module="conv2", num_chs=16, reduction=4),
        ]


@hookimpl
def zoo_register_architectures(registry):
    registry.add(
        ArchitectureSpec(
            name="tinynet",
            family="tinynet",
            build=TinyNet,
            default_input_size=(3, 32, 32),
            min_input_size=(3, 4, 4),
            paper="none: a test network",
            description="two convolutions, for zoo's plugin discovery tests",
        )
    )
