"""An external plugin implementing a misspelled hook (and the real one, which must not run)."""

from torch import nn

from zoo import ArchitectureSpec, hookimpl


@hookimpl
def zoo_register_architecturez(registry):
    raise AssertionError("an unknown hook is never called")


@hookimpl
def zoo_register_architectures(registry):
    registry.add(
        ArchitectureSpec(
            name="unknown_hook_net",
            family="unknown_hook",
            build=lambda num_classes=1000: nn.Linear(3, num_classes),
            default_input_size=(3, 32, 32),
            min_input_size=(3, 32, 32),
            paper="none",
        )
    )
