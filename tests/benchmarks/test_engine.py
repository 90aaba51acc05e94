"""The training engine against a hand-written loop, and the cached frozen prefix.

Each benchmark times both sides in the same run, alternating them, and asserts the ratio the
harness promises: the engine within 5% of a minimal PyTorch loop; a 10-epoch linear probe at
least 5× faster, and a partial fine-tune of the top stage at least 2× faster, with the frozen
prefix computed once than recomputed every step. Figures go to ``extra_info``.
"""

import time

import torch
import torch.nn.functional as F

import zoo
from zoo.data import ImageSet
from zoo.preprocess import prepare
from zoo.strategies import Phase, StrategySpec
from zoo.training import Recipe, fit
from zoo.transfer import run_strategy

CPU = torch.device("cpu")
ARCH, SIZE, BATCH = "resnet18", 32, 128


def data(n: int) -> "zoo.preprocess.PreparedSet":
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
    prepared = data(1280)
    images = torch.cat([x for x, _ in prepared.batches(BATCH)])  # the hand loop gets normalised floats for free
    labels = prepared.labels
    recipe = Recipe(epochs=1, batch_size=BATCH, lr=0.01, augment=False)
    engine_model, hand_model = model(), model()
    optimizer = torch.optim.SGD(hand_model.parameters(), lr=0.01, momentum=0.9, weight_decay=5e-4)

    def hand_loop():
        hand_model.train()
        order = torch.randperm(len(labels))
        for start in range(0, len(labels), BATCH):
            index = order[start : start + BATCH]
            loss = F.cross_entropy(hand_model(images[index]), labels[index])
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()

    def engine():
        fit(engine_model, prepared, recipe, seed=0, device=CPU)

    hand_loop(), engine()  # warm-up
    hand = engine_time = float("inf")
    for _ in range(3):
        hand = min(hand, best_of(1, hand_loop))
        engine_time = min(engine_time, best_of(1, engine))
    benchmark.pedantic(engine, rounds=1, iterations=1)
    ratio = hand / engine_time
    benchmark.extra_info.update(
        hand_images_per_second=round(1280 / hand, 1), engine_images_per_second=round(1280 / engine_time, 1), ratio=round(ratio, 3)
    )
    assert ratio >= 0.95, f"engine at {ratio:.2f}× the hand loop's throughput"


def compare_cached(benchmark, strategy: StrategySpec, minimum: float) -> None:
    prepared, recipe = data(1024), Recipe(epochs=10, batch_size=BATCH, augment=False)

    def run(cached: bool) -> None:
        run_strategy(model(), strategy, prepared, recipe, seed=0, device=CPU, cache_prefixes=cached)

    recomputed = best_of(1, lambda: run(False))
    cached = best_of(2, lambda: run(True))
    benchmark.pedantic(lambda: run(True), rounds=1, iterations=1)
    speedup = recomputed / cached
    benchmark.extra_info.update(recomputed_seconds=round(recomputed, 2), cached_seconds=round(cached, 2), speedup=round(speedup, 2))
    assert speedup >= minimum, f"cached prefix only {speedup:.1f}× faster"


def test_linear_probe_with_a_cached_base(benchmark):
    compare_cached(benchmark, zoo.get_zoo().strategies.get("linear_probe"), 5.0)


def test_partial_top_stage_with_a_cached_prefix(benchmark):
    compare_cached(benchmark, StrategySpec("top_stage", "the top stage and the head", (Phase(1, backbone_lr=0.1),)), 2.0)
