"""Benchmarks of the foundation: plugin loading, complexity counting, a training step.

Run with ``make benchmark``; the default test run skips them. Throughputs are reported in
``extra_info`` (images/s), and the CPU thread count is recorded beside them.
"""

import pytest
import torch
from torch import nn

import zoo
from zoo.models.complexity import build_meta, measure
from zoo.plugin.manager import load_plugins

BATCH, SIZE = 128, 32


def test_load_every_plugin(benchmark):
    result = benchmark(load_plugins)
    assert len(result.architectures) >= 23


def test_count_macs_of_vgg19_bn_on_the_meta_device(benchmark):
    spec = zoo.get_zoo().architectures.get("vgg19_bn")
    result = benchmark(lambda: measure(build_meta(spec), spec.default_input_size))
    assert result.params == 143_678_248


@pytest.mark.parametrize("name", ["simple_cnn", "resnet18", "googlenet", "vgg11_bn"])
def test_training_step_at_32px(benchmark, name):
    """One SGD step on a batch of 128 images at 32×32, the mini suite's working size."""
    torch.manual_seed(0)
    model = zoo.create_model(name, num_classes=10).train()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    images, labels = torch.randn(BATCH, 3, SIZE, SIZE), torch.randint(0, 10, (BATCH,))

    def step():
        optimizer.zero_grad(set_to_none=True)
        loss = nn.functional.cross_entropy(model(images), labels)
        loss.backward()
        optimizer.step()
        return loss

    rounds = 3 if name == "vgg11_bn" else 10
    loss = benchmark.pedantic(step, rounds=rounds, warmup_rounds=1)
    assert torch.isfinite(loss)
    benchmark.extra_info["images_per_second"] = round(BATCH / benchmark.stats.stats.median, 1)
    benchmark.extra_info["threads"] = torch.get_num_threads()
