"""The training engine against a hand-written loop, and the cached frozen prefix.

Each benchmark times both sides in the same run, alternating them, and asserts the ratio the
harness promises: the engine within 5% of a minimal PyTorch loop; a 10-epoch linear probe at
least 5× faster, and a partial fine-tune of the top stage at least 2× faster, with the frozen
prefix computed once than recomputed every step. Figures go to ``extra_info``, with the bound
the network's MAC split puts on the gain.
"""

import statistics
import time

import pytest
import torch
import torch.nn.functional as F
from torch.utils.flop_counter import FlopCounterMode

import zoo
from zoo.data.images import ImageSet
from zoo.data.preprocess import prepare
from zoo.device import precision
from zoo.models.complexity import build_meta
from zoo.plugin.recipe import Recipe
from zoo.plugin.strategy import Phase, StrategySpec
from zoo.train.loop import fit
from zoo.train.transfer import run_strategy

CPU = torch.device("cpu")
ARCH, SIZE, BATCH = "resnet18", 32, 128
IMAGES, ROUNDS = 1280, 9  # per round of the overhead benchmark, and rounds


def data(n: int) -> "zoo.data.preprocess.PreparedSet":
    generator = torch.Generator().manual_seed(0)
    images = torch.randint(0, 256, (n, 1, SIZE, SIZE), dtype=torch.uint8, generator=generator)
    return prepare(ImageSet(images, torch.arange(n) % 10, tuple("0123456789")), (3, SIZE, SIZE), (0.5,) * 3, (0.25,) * 3)


def model():
    torch.manual_seed(0)
    return zoo.create_model(ARCH, num_classes=10)


def best_of(rounds: int, fn) -> float:
    times = []
    for _ in range(rounds):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def test_engine_overhead_against_a_hand_written_loop(benchmark):
    prepared = data(IMAGES)
    images = torch.cat([x for x, _ in prepared.batches(BATCH)])  # the hand loop gets normalised floats for free
    labels = prepared.labels
    recipe = Recipe(epochs=1, batch_size=BATCH, lr=0.01, augment=False)
    engine_model, hand_model = model(), model()
    # The same arithmetic as the engine (its precision, fused SGD), so the ratio is its overhead alone.
    optimizer = torch.optim.SGD(hand_model.parameters(), lr=0.01, momentum=0.9, weight_decay=5e-4, fused=True)
    bf16 = precision(CPU) == "bf16"

    def hand_loop():
        hand_model.train()
        order = torch.randperm(len(labels))
        for start in range(0, len(labels), BATCH):
            index = order[start : start + BATCH]
            with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
                loss = F.cross_entropy(hand_model(images[index]), labels[index])
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()

    def engine():
        fit(engine_model, prepared, recipe, seed=0, device=CPU)

    hand_loop(), engine()  # warm-up
    # Each round times both sides back to back and keeps their ratio; the median over rounds
    # holds up where a best-of-each would reward whichever side met a quiet moment (rounds
    # vary by ±20% on a shared 2-core VM).
    hand_times, engine_times = [], []
    for _ in range(ROUNDS):
        hand_times.append(best_of(1, hand_loop))
        engine_times.append(best_of(1, engine))
    benchmark.pedantic(engine, rounds=1, iterations=1)
    ratio = statistics.median(h / e for h, e in zip(hand_times, engine_times))
    benchmark.extra_info.update(
        hand_images_per_second=round(IMAGES / statistics.median(hand_times), 1),
        engine_images_per_second=round(IMAGES / statistics.median(engine_times), 1),
        ratio=round(ratio, 3),
    )
    assert ratio >= 0.95, f"engine at {ratio:.2f}× the hand loop's throughput"


def compare_cached(benchmark, strategy: StrategySpec, minimum: float | None, arch: str = ARCH) -> None:
    prepared, recipe = data(1024), Recipe(epochs=10, batch_size=BATCH, augment=False)

    def run(cached: bool) -> None:
        torch.manual_seed(0)
        net = zoo.create_model(arch, num_classes=10)
        run_strategy(net, strategy, prepared, recipe, seed=0, device=CPU, cache_prefixes=cached)

    recomputed = cached = float("inf")
    for _ in range(3):  # alternated, best of three each: the two sides see the same machine
        recomputed = min(recomputed, best_of(1, lambda: run(False)))
        cached = min(cached, best_of(1, lambda: run(True)))
    benchmark.pedantic(lambda: run(True), rounds=1, iterations=1)
    speedup = recomputed / cached
    benchmark.extra_info.update(recomputed_seconds=round(recomputed, 2), cached_seconds=round(cached, 2), speedup=round(speedup, 2))
    if minimum is not None:
        assert speedup >= minimum, f"cached prefix only {speedup:.1f}× faster"


def test_linear_probe_with_a_cached_base(benchmark):
    compare_cached(benchmark, zoo.get_zoo().strategies.get("linear_probe"), 5.0)


def caching_bound(arch: str, frozen: int) -> float:
    """The most caching can gain: (prefix forward + suffix training) / suffix training, in MACs,
    counting a training step as three forward passes."""
    spec = zoo.get_zoo().architectures.get(arch)
    net = build_meta(spec, num_classes=10)
    stage_list = zoo.stages(net)
    x = torch.empty(1, 3, SIZE, SIZE, device="meta")
    with FlopCounterMode(display=False) as prefix:
        x = zoo.run_stages(net, x, 0, frozen)
    with FlopCounterMode(display=False) as suffix:
        zoo.run_stages(net, x, frozen, len(stage_list))
    return (prefix.get_total_flops() + 3 * suffix.get_total_flops()) / (3 * suffix.get_total_flops())


@pytest.mark.parametrize("arch, minimum", [("googlenet", 2.0), ("resnet18", None)])
def test_partial_top_stage_with_a_cached_prefix(benchmark, arch, minimum):
    """At least 2× for GoogLeNet. ResNet-18 is measured and reported, not held to 2×: at
    32×32 its stage4 holds most of the training compute, so even a free prefix could make it
    at most ``bound`` (2.14×, by MACs) faster, and its 1×1 maps run slower per MAC."""
    strategy = StrategySpec("top_stage", "the top stage and the head", (Phase(1, backbone_lr=0.1),))
    frozen = strategy.phases[0].frozen_count(build_meta(zoo.get_zoo().architectures.get(arch)))
    benchmark.extra_info["bound"] = round(caching_bound(arch, frozen), 2)
    compare_cached(benchmark, strategy, minimum, arch)
