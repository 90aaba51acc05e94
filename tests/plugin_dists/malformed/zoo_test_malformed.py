"""An external plugin registering malformed entries between two valid ones."""

from dataclasses import replace

from torch import nn

from zoo import ArchitectureSpec, hookimpl

VALID = ArchitectureSpec(
    name="malformed_ok_first",
    family="malformed",
    build=lambda num_classes=1000: nn.Linear(3, num_classes),
    default_input_size=(3, 32, 32),
    min_input_size=(3, 32, 32),
    paper="none",
)


@hookimpl
def zoo_register_architectures(registry):
    registry.add(VALID)
    registry.add({"name": "malformed_dict"})  # not an ArchitectureSpec
    registry.add(replace(VALID, name="Malformed-Name"))  # not lowercase/digits/underscores
    registry.add(replace(VALID, name="malformed_size", default_input_size=(3, 0, 32)))  # zero height
    registry.add(replace(VALID, name="malformed_ok_last"))
