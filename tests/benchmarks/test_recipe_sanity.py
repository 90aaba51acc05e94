"""Recipe sanity: zoo's own training code against a published Fashion-MNIST figure.

ResNet-18 is trained from scratch by :func:`zoo.train.loop.fit` on all ten Fashion-MNIST classes
(60,000 training images) and scored on the 10,000 test images. The data set's own benchmark
table lists 94.9% for ResNet18 (https://github.com/zalandoresearch/fashion-mnist#benchmark).
The result goes to ``leaderboards/recipe_sanity.{json,md}``.

It trains for about 20 minutes on two CPU cores, so it runs only when asked:
``ZOO_RECIPE_SANITY=1 make benchmark`` (or ``make recipe-sanity``).
"""

import json
import os
import time
from datetime import date
from pathlib import Path

import pytest
import torch

import zoo
from zoo.data.preprocess import channel_stats, prepare
from zoo.device import device_name, select_device
from zoo.plugin.recipe import Recipe
from zoo.train.loop import evaluate, fit

PUBLISHED = 0.949
RECIPE = Recipe(epochs=12, batch_size=128, lr=0.05)
OUT = Path(__file__).resolve().parents[2] / "leaderboards"

pytestmark = pytest.mark.skipif(
    os.environ.get("ZOO_RECIPE_SANITY") != "1", reason="trains for ~20 minutes: set ZOO_RECIPE_SANITY=1 to run it"
)


def test_resnet18_from_scratch_on_fashion_mnist(benchmark):
    device = select_device()
    dataset = zoo.get_zoo().datasets.get("fashion_mnist")
    train, test = dataset.load("train"), dataset.load("test")
    mean, std = channel_stats(train)
    train_set = prepare(train, (3, 32, 32), mean, std, dataset.mirror_invariant).to(device)
    test_set = prepare(test, (3, 32, 32), mean, std, dataset.mirror_invariant).to(device)
    model = zoo.create_model("resnet18", num_classes=10).to(device)
    started = time.perf_counter()
    stats = benchmark.pedantic(lambda: fit(model, train_set, RECIPE, seed=0, device=device), rounds=1, iterations=1)
    accuracy = evaluate(model, test_set, device)
    result = {
        "architecture": "resnet18 (timm, ImageNet stem), from scratch",
        "data": "Fashion-MNIST, all 60,000 training and 10,000 test images, resized to 32×32",
        "recipe": RECIPE.__dict__,
        "epochs": RECIPE.epochs,
        "test_top1": round(accuracy.top1, 4),
        "published_top1": PUBLISHED,
        "gap": round(accuracy.top1 - PUBLISHED, 4),
        "train_seconds": round(stats.seconds, 1),
        "wall_seconds": round(time.perf_counter() - started, 1),
        "train_images_per_second": round(stats.images_per_second, 1),
        "device": str(device),
        "threads": torch.get_num_threads(),
        "machine": device_name(device),
        "torch": torch.__version__,
        "zoo": zoo.__version__,
        "date": date.today().isoformat(),
    }
    OUT.mkdir(exist_ok=True)
    (OUT / "recipe_sanity.json").write_text(json.dumps(result, indent=2) + "\n")
    (OUT / "recipe_sanity.md").write_text(render(result))
    assert accuracy.top1 > 0.85


def render(result: dict) -> str:
    """The Markdown page for a result: the figures, how they were made, and the gap explained."""
    recipe = result["recipe"]
    return (
        "# Recipe sanity: ResNet-18 from scratch on Fashion-MNIST\n\n"
        "| | top-1 |\n|---|---|\n"
        f"| zoo (`zoo.train.loop.fit`, {result['epochs']} epochs, 32×32) | {result['test_top1']:.2%} |\n"
        f"| Fashion-MNIST benchmark table, ResNet18 | {result['published_top1']:.1%} |\n"
        f"| gap | {result['gap'] * 100:+.1f} points |\n\n"
        f"Trained on {result['device']} ({result['threads']} threads, {result['machine']}) in "
        f"{result['train_seconds'] / 60:.1f} minutes of training steps, {result['train_images_per_second']:.0f} images/s; "
        f"torch {result['torch']}, {result['date']}. Recipe: SGD momentum {recipe['momentum']}, peak lr {recipe['lr']}, "
        f"batch {recipe['batch_size']}, weight decay {recipe['weight_decay']}, warm-up then cosine, random translation "
        "and flips. Reproduce with `make recipe-sanity`.\n\n"
        "Where the gap comes from: zoo's resnet18 is timm's ImageNet network, whose stem (a stride-2 7×7 "
        "convolution and a max-pool) shrinks a 32×32 image to 8×8 before the first residual stage, and it "
        f"trains for {result['epochs']} epochs to fit a CPU budget; the table's figure is a contributed result "
        "whose training recipe the table does not give. The check is that zoo's loop trains a network to within "
        "a few points of a published figure, not that it matches one network-for-network.\n"
    )
