"""A tiny suite, three failing strategies and one that allocates 512 MiB in its step, for the
harness and memory tests.

Loaded in-process by ``tests/test_harness.py`` and, through a distribution the tests write,
by ``zoo bench`` subprocesses.
"""

import torch

from zoo import DataSelection, Phase, Recipe, StrategySpec, SuiteSpec, TaskSpec, hookimpl

CLOTHING = ("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Shirt")
FOOTWEAR = ("Sandal", "Sneaker", "Bag", "Ankle boot")


def _out_of_memory(model):
    raise torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 20.00 GiB (simulated by a test strategy)")


def _poison(model):
    with torch.no_grad():
        for param in model.parameters():
            param.fill_(float("nan"))


def _bug(model):
    raise ValueError("a bug in a strategy plugin")


ALLOCATED = 512 * 2**20


def _allocate(model):
    """A loss penalty that holds 512 MiB for a moment of every step, and adds nothing."""

    def penalty(net):
        block = torch.ones(ALLOCATED // 4)
        return block.sum() * 0

    return penalty


@hookimpl
def zoo_register_suites(registry):
    registry.add(
        SuiteSpec(
            name="tiny",
            description="a few images per class, one epoch: for tests",
            source=DataSelection("fashion_mnist", CLOTHING, 20, 10),
            source_description="Fashion-MNIST clothing",
            tasks=(
                TaskSpec("digits_tiny", DataSelection("digits", (), 5, 5), "small", "different", "test", epochs=1, seeds=1),
                TaskSpec("footwear_tiny", DataSelection("fashion_mnist", FOOTWEAR, 5, 5), "small", "similar", "test", epochs=1,
                         seeds=1),  # fmt: skip
            ),
            image_size=32,
            small_threshold=100,
            pretrain_recipe=Recipe(epochs=1, batch_size=32),
            architectures=("simple_cnn",),  # what zoo bench runs here without --arch
        )
    )


@hookimpl
def zoo_register_strategies(registry):
    for name, setup in (("test_oom", _out_of_memory), ("test_nan", _poison), ("test_bug", _bug)):
        registry.add(StrategySpec(name, f"fails on purpose ({setup.__name__})", (Phase("head"),), setup=setup))
    registry.add(StrategySpec("test_alloc_512", "a linear probe holding 512 MiB in each step", (Phase("head"),), penalty=_allocate))
