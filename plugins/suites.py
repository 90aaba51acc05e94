"""The built-in suites: ``mini`` (offline, CPU-sized, the default) and ``imagenet``.

``mini`` is the size–similarity matrix in miniature, on real images that install from
package registries. Its source domain is Fashion-MNIST clothing; the *similar* target is
Fashion-MNIST footwear and bags (same photographs, same studio, no class in common); the
*different* target is handwritten digits (pen strokes, not product photos). zoo pretrains
the backbones on the source itself (``zoo pretrain``).

``imagenet`` uses the ImageNet-1k weights of the timm and torchvision hubs and torchvision's
data sets, one per quadrant; it needs internet for both and is meant for a GPU.
"""

from __future__ import annotations

from zoo import hookimpl
from zoo.suites import DataSelection, SuiteSpec, TaskSpec
from zoo.training import Recipe

__all__ = ["default_cfgs", "zoo_register_suites"]

CLOTHING = ("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Shirt")
FOOTWEAR_AND_BAGS = ("Sandal", "Sneaker", "Bag", "Ankle boot")

MINI_SMALL_THRESHOLD = 100
MINI_SOURCE = 700  # training images per clothing class the backbones are pretrained on
MINI_SOURCE_EPOCHS = 5
MINI_DIGITS_LARGE = 150  # of the 400 per class there are
MINI_FOOTWEAR_LARGE = 200
MINI_SMALL = 10  # training images per class in the small tasks
MINI_LARGE_EPOCHS = 3
MINI_SMALL_EPOCHS = 15  # one step each: a small task's 40 or 100 images are one batch
MINI_SMALL_SEEDS = 3  # a few images per class vary most from draw to draw
MINI_NOTES = f"""\
Budgets are images per class, chosen by measurement so that the default benchmark (three
backbones, four strategies, pretraining included) runs in under 20 minutes on a 2-core CPU.
There vgg11_bn trains at about 115 images/s and every step of it costs at least 0.7 s (129M
parameters to update), so the budgets count steps as much as images. Source: {MINI_SOURCE}
training images per clothing class, {MINI_SOURCE_EPOCHS} epochs; scored on 500 test images per class.
Different tasks: handwritten digits, {MINI_DIGITS_LARGE} (large) or {MINI_SMALL} (small) training images per
class, 50 test images per class. Similar tasks: footwear and bags, {MINI_FOOTWEAR_LARGE} (large) or {MINI_SMALL}
(small) per class, 125 test images per class. A task is small below {MINI_SMALL_THRESHOLD} per class: the
rule of thumb's 1,000 is for ImageNet-sized images and networks, and at 32×32 a hundred
images per class make several batches of every class where ten make a fraction of one.
Large tasks train {MINI_LARGE_EPOCHS} epochs at batch 128; small ones {MINI_SMALL_EPOCHS} epochs, one step each,
with {MINI_SMALL_SEEDS} seeds (training draws), so the verdict can tell a margin from seed-to-seed
spread. Images are 32×32 (Inception v3 gets its minimum, 75×75); training subsets are drawn
per seed, test sets are fixed."""


def _mini() -> SuiteSpec:
    def small(name: str, data: DataSelection, similarity: str, why: str) -> TaskSpec:
        return TaskSpec(name, data, "small", similarity, why, epochs=MINI_SMALL_EPOCHS, seeds=MINI_SMALL_SEEDS)

    return SuiteSpec(
        name="mini",
        description="Fashion-MNIST clothing → footwear & bags (similar) and handwritten digits (different)",
        source=DataSelection("fashion_mnist", CLOTHING, MINI_SOURCE, 500),
        source_description="Fashion-MNIST clothing (6 classes)",
        tasks=(
            TaskSpec(
                "digits_large",
                DataSelection("digits", (), MINI_DIGITS_LARGE, 50),
                "large",
                "different",
                f"pen-written digits share neither objects nor imaging with photographed clothing; {MINI_DIGITS_LARGE} per class",
                epochs=MINI_LARGE_EPOCHS,
            ),
            TaskSpec(
                "fashion_footwear_large",
                DataSelection("fashion_mnist", FOOTWEAR_AND_BAGS, MINI_FOOTWEAR_LARGE, 125),
                "large",
                "similar",
                f"the same studio photographs as the source, of products it never saw; {MINI_FOOTWEAR_LARGE} per class",
                epochs=MINI_LARGE_EPOCHS,
            ),
            small("digits_small", DataSelection("digits", (), MINI_SMALL, 50), "different",
                  f"digits again, {MINI_SMALL} per class"),  # fmt: skip
            small("fashion_footwear_small", DataSelection("fashion_mnist", FOOTWEAR_AND_BAGS, MINI_SMALL, 125), "similar",
                  f"footwear and bags again, {MINI_SMALL} per class"),  # fmt: skip
        ),
        image_size=32,
        small_threshold=MINI_SMALL_THRESHOLD,
        pretrain_recipe=Recipe(epochs=MINI_SOURCE_EPOCHS, batch_size=128, lr=0.05),
        notes=MINI_NOTES,
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


default_cfgs = {"mini": _mini(), "imagenet": _imagenet()}


@hookimpl
def zoo_register_suites(registry):
    for spec in default_cfgs.values():
        registry.add(spec)
