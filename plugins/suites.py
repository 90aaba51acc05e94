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
MINI_SMALL = 10  # training images per class in the small tasks
MINI_LARGE_EPOCHS = 4  # a cell's epochs on a large task (4,000 images)
MINI_SMALL_EPOCHS = 30  # a cell's epochs on a small task (40 or 100 images)
MINI_NOTES = f"""\
Budgets are images per class. Source: 2,000 training images per clothing class (12,000 of the
36,000 Fashion-MNIST has), scored on all 1,000 test images per class. Similar tasks: 1,000
(large) or {MINI_SMALL} (small) training images per footwear/bag class, 500 test images. Different tasks:
all 400 training digits per class (large) or {MINI_SMALL} (small), all 100 test digits. A task is
small below {MINI_SMALL_THRESHOLD} per class: the rule of thumb's 1,000 is for ImageNet-sized
images and networks; at 32×32 the digits' 400 per class already train a network from scratch
well. Caps keep the default benchmark within its time on a 2-core CPU. Images are 32×32
(Inception v3 gets its minimum, 75×75); training subsets are drawn per seed, test sets are fixed."""


def _mini() -> SuiteSpec:
    return SuiteSpec(
        name="mini",
        description="Fashion-MNIST clothing → footwear & bags (similar) and handwritten digits (different)",
        source=DataSelection("fashion_mnist", CLOTHING, 2000, None),
        source_description="Fashion-MNIST clothing (6 classes)",
        tasks=(
            TaskSpec(
                "digits_large",
                DataSelection("digits", (), None, None),
                "large",
                "different",
                "pen-written digits share neither objects nor imaging with photographed clothing; all 400 per class",
                epochs=MINI_LARGE_EPOCHS,
            ),
            TaskSpec(
                "fashion_footwear_large",
                DataSelection("fashion_mnist", FOOTWEAR_AND_BAGS, 1000, 500),
                "large",
                "similar",
                "the same studio photographs as the source, of products it never saw; 1,000 per class",
                epochs=MINI_LARGE_EPOCHS,
            ),
            TaskSpec(
                "digits_small",
                DataSelection("digits", (), MINI_SMALL, None),
                "small",
                "different",
                f"digits again, {MINI_SMALL} per class",
                epochs=MINI_SMALL_EPOCHS,
            ),
            TaskSpec(
                "fashion_footwear_small",
                DataSelection("fashion_mnist", FOOTWEAR_AND_BAGS, MINI_SMALL, 500),
                "small",
                "similar",
                f"footwear and bags again, {MINI_SMALL} per class",
                epochs=MINI_SMALL_EPOCHS,
            ),
        ),
        image_size=32,
        small_threshold=MINI_SMALL_THRESHOLD,
        pretrain_recipe=Recipe(epochs=15, batch_size=128, lr=0.05),
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
