"""An external plugin whose hook registers one valid architecture, then raises."""

from torch import nn

from zoo import ArchitectureSpec, hookimpl


@hookimpl
def zoo_register_architectures(registry):
    registry.add(
        ArchitectureSpec(
            name="raising_hook_net",
            family="raising_hook",
            build=lambda num_classes=1000: nn.Linear(3, num_classes),
            default_input_size=(3, 32, 32),
            min_input_size=(3, 32, 32),
            paper="none",
        )
    )
    raise ValueError("zoo_test_raising_hook fails half-way on purpose")
