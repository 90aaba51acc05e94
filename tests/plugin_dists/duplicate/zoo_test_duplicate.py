"""An external plugin registering ``resnet18``, a name the built-in ``resnet`` plugin owns."""

from dataclasses import replace

from torch import nn

from zoo import ArchitectureSpec, hookimpl

VALID = ArchitectureSpec(
    name="duplicate_ok",
    family="duplicate",
    build=lambda num_classes=1000: nn.Linear(3, num_classes),
    default_input_size=(3, 32, 32),
    min_input_size=(3, 32, 32),
    paper="none",
)


@hookimpl
def zoo_register_architectures(registry):
    registry.add(replace(VALID, name="resnet18", description="an impostor resnet18"))
    registry.add(VALID)
