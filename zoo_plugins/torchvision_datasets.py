"""Torchvision's classification data sets by name, the target tasks of the ``imagenet`` suite.

Every loader builds the torchvision class on ``root`` (default ``$ZOO_HOME/data/<name>``) and
hands ``download`` to it unchanged, so torchvision fetches the files only when asked to and
keeps them in its own layout under ``root``:

* ``cifar10``, ``cifar100``: CIFAR-10/100 (Krizhevsky, 2009, https://www.cs.toronto.edu/~kriz/cifar.html),
  the python pickle batches; ``torchvision.datasets.CIFAR10`` / ``CIFAR100``.
* ``stl10``: STL-10 (Coates et al., 2011, https://cs.stanford.edu/~acoates/stl10/), the binary
  files; ``torchvision.datasets.STL10``. Only the 5,000 labelled training images, no folds.
* ``svhn``: SVHN cropped digits (Netzer et al., 2011, http://ufldl.stanford.edu/housenumbers/),
  the ``*_32x32.mat`` files; ``torchvision.datasets.SVHN`` (which already turns label 10 into 0).
* ``flowers102``: Oxford 102 Flowers (Nilsback & Zisserman, 2008); ``torchvision.datasets.Flowers102``.
* ``oxford_pets``: Oxford-IIIT Pet (Parkhi et al., 2012); ``torchvision.datasets.OxfordIIITPet``.
* ``dtd``: Describable Textures (Cimpoi et al., 2014); ``torchvision.datasets.DTD``, partition 1.
* ``eurosat``: EuroSAT RGB (Helber et al., 2019); ``torchvision.datasets.EuroSAT``.
* ``caltech101``: Caltech 101 (Fei-Fei et al., 2004); ``torchvision.datasets.Caltech101``.

Splits: zoo's "train" and "test" are the official ones where they exist; Flowers102 and DTD
train on their train and val splits together. EuroSAT and Caltech101 have no official split:
a fixed stratified split puts 20% of every class in test (seed 0).

Images come back as uint8 [N, 3, H, W]. The fixed-size sets keep their native size unless
``size`` is given (then each image is resized and centre-cropped to ``size``×``size``); the
others vary in size and need ``size``. CIFAR, STL-10 and SVHN are read from the arrays
torchvision holds, without a PIL image per picture.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import torch
import torchvision
from torchvision.transforms.functional import center_crop, resize

from zoo import DatasetSpec, ImageSet, hookimpl
from zoo.data.images import pil_to_uint8, stratified_split
from zoo.errors import ZooError
from zoo.models.weights import zoo_home

__all__ = ["default_root", "zoo_register_datasets"]

SPLITS = ("train", "test")
DIGIT_CLASSES = tuple(str(d) for d in range(10))
# Torchvision hard-codes the 102 flower names (older releases did not: then label numbers).
FLOWERS102_CLASSES = tuple(getattr(torchvision.datasets.Flowers102, "classes", None) or (str(i) for i in range(102)))
STL10_CLASSES_FALLBACK = tuple(str(i) for i in range(10))  # when class_names.txt is missing
SPLIT_SEED, TEST_FRACTION = 0, 0.2  # EuroSAT and Caltech101, which have no official split
_RESIZE_CHUNK = 1024  # images resized at once, to bound the float copy resizing makes


def default_root(name: str) -> Path:
    """Where a data set's torchvision files live unless ``root`` is given: ``$ZOO_HOME/data/<name>``."""
    return zoo_home() / "data" / name


def _root(name: str, root: str | Path | None) -> Path:
    return Path(root) if root else default_root(name)


def _check_split(name: str, split: str) -> None:
    if split not in SPLITS:
        raise ZooError(f"{name} has the splits {' and '.join(SPLITS)}, not {split!r}")


def _need_size(name: str, size: int | None) -> None:
    if size is None:
        raise ZooError(f"{name} images vary in size: pass size (e.g. size=224) to resize and centre-crop them")


def _not_there(name: str, root: Path, detail: str = "") -> ZooError:
    return ZooError(f"{name} is not in {root}: pass download=True (needs internet) or put torchvision's files there{detail}")


@contextmanager
def _files_of(name: str, root: Path) -> Iterator[None]:
    """Torchvision's "Dataset not found" (and EuroSAT's empty folder) as a ZooError naming ``root``."""
    try:
        yield
    except RuntimeError as exc:
        if "not found" not in str(exc):
            raise
        checksum = " (torchvision also refuses files whose MD5 checksum is wrong)" if "corrupted" in str(exc) else ""
        raise _not_there(name, root, checksum) from None
    except FileNotFoundError as exc:  # ImageFolder (EuroSAT) on a folder without class folders
        raise _not_there(name, root, f" ({exc})") from None


def _open(name: str, root: Path, download: bool, build: Callable[[str], object]) -> object:
    if not download and not root.is_dir():  # before torchvision, which may create folders (Caltech101)
        raise _not_there(name, root)
    with _files_of(name, root):
        return build(str(root))


def _resized(images: torch.Tensor, size: int | None) -> torch.Tensor:
    """A uint8 [N, C, H, W] batch resized (shorter side) and centre-cropped to ``size``, in chunks."""
    if size is None or images.shape[-2:] == (size, size):
        return images.contiguous()
    out = torch.empty((len(images), images.shape[1], size, size), dtype=torch.uint8)
    for start in range(0, len(images), _RESIZE_CHUNK):
        chunk = images[start : start + _RESIZE_CHUNK]
        out[start : start + len(chunk)] = center_crop(resize(chunk, size, antialias=True), [size, size])
    return out


def _from_arrays(name: str, split: str, images: np.ndarray, labels, classes: Sequence[str], size: int | None) -> ImageSet:
    """An ImageSet from a uint8 [N, 3, H, W] array (any strides) and its labels."""
    tensor = torch.from_numpy(np.ascontiguousarray(images))
    labels = torch.as_tensor(np.asarray(labels, dtype=np.int64))
    return ImageSet(_resized(tensor, size), labels, tuple(classes), f"{name}/{split}")


def _from_pil(
    name: str, split: str, parts: Sequence[tuple[object, Sequence[int]]], classes: Sequence[str], size: int | None
) -> ImageSet:
    """An ImageSet from torchvision data sets that return (PIL image, label), items ``indices`` of each.

    Images decode in a few threads (PIL and torch release the GIL); order is kept.
    """
    items = [(dataset, index) for dataset, indices in parts for index in indices]

    def one(item):
        dataset, index = item
        try:
            image, label = dataset[index]
        except OSError as exc:  # a missing or unreadable file (Caltech101 expects image_0001… without gaps)
            raise ZooError(f"{name}/{split}: cannot read an image ({exc}); put torchvision's files back complete") from None
        try:
            return pil_to_uint8(image, size, channels=3), label
        finally:
            image.close()

    with ThreadPoolExecutor(max_workers=min(8, os.cpu_count() or 1)) as pool:
        loaded = list(pool.map(one, items))
    if not loaded:
        raise ZooError(f"{name}/{split} has no images")
    shapes = {tuple(t.shape) for t, _ in loaded}
    if len(shapes) > 1:
        examples = ", ".join(map(str, sorted(shapes)[:3]))
        raise ZooError(f"{name}/{split} images differ in size ({examples}…): pass size to resize them")
    images = torch.stack([t for t, _ in loaded])
    labels = torch.tensor([label for _, label in loaded], dtype=torch.int64)
    return ImageSet(images, labels, tuple(classes), f"{name}/{split}")


def _fixed_split(labels: Sequence[int], split: str) -> list[int]:
    train, test = stratified_split(torch.as_tensor(labels, dtype=torch.int64), test_fraction=TEST_FRACTION, seed=SPLIT_SEED)
    return (train if split == "train" else test).tolist()


def _loader(name: str, load_split: Callable[..., ImageSet], *, needs_size: bool) -> Callable[..., ImageSet]:
    def load(split: str, *, root: str | Path | None = None, download: bool = False, size: int | None = None) -> ImageSet:
        _check_split(name, split)
        if needs_size:
            _need_size(name, size)
        return load_split(split, _root(name, root), download, size)

    load.__name__ = load.__qualname__ = f"load_{name}"
    load.__doc__ = load_split.__doc__
    return load


def _cifar(name: str, cls: type) -> Callable[..., ImageSet]:
    def load_split(split: str, root: Path, download: bool, size: int | None) -> ImageSet:
        """50,000 training or 10,000 test images, 32×32; class names from the meta file."""
        dataset = _open(name, root, download, lambda r: cls(r, train=split == "train", download=download))
        images = dataset.data.transpose(0, 3, 1, 2)  # torchvision holds [N, H, W, C]
        return _from_arrays(name, split, images, dataset.targets, dataset.classes, size)

    return load_split


def _stl10(split: str, root: Path, download: bool, size: int | None) -> ImageSet:
    """5,000 labelled training or 8,000 test images, 96×96 (the unlabelled ones are not used)."""
    dataset = _open("stl10", root, download, lambda r: torchvision.datasets.STL10(r, split=split, download=download))
    classes = getattr(dataset, "classes", None) or STL10_CLASSES_FALLBACK  # from class_names.txt, if present
    return _from_arrays("stl10", split, dataset.data, dataset.labels, classes, size)


def _svhn(split: str, root: Path, download: bool, size: int | None) -> ImageSet:
    """73,257 training or 26,032 test digits, 32×32 (not the 531,131 "extra" ones)."""
    dataset = _open("svhn", root, download, lambda r: torchvision.datasets.SVHN(r, split=split, download=download))
    return _from_arrays("svhn", split, dataset.data, dataset.labels, DIGIT_CLASSES, size)


def _flowers102(split: str, root: Path, download: bool, size: int | None) -> ImageSet:
    """train + val (2,040 images, 20 per class) or test (6,149)."""
    names = ("train", "val") if split == "train" else ("test",)
    parts = [
        _open("flowers102", root, download, lambda r, s=s: torchvision.datasets.Flowers102(r, split=s, download=download))
        for s in names
    ]
    return _from_pil("flowers102", split, [(p, range(len(p))) for p in parts], FLOWERS102_CLASSES, size)


def _oxford_pets(split: str, root: Path, download: bool, size: int | None) -> ImageSet:
    """trainval (3,680 images) or test (3,669); class names from the annotation files."""
    tv_split = "trainval" if split == "train" else "test"
    dataset = _open(
        "oxford_pets", root, download, lambda r: torchvision.datasets.OxfordIIITPet(r, split=tv_split, download=download)
    )
    return _from_pil("oxford_pets", split, [(dataset, range(len(dataset)))], dataset.classes, size)


def _dtd(split: str, root: Path, download: bool, size: int | None) -> ImageSet:
    """Partition 1: train + val (3,760 images) or test (1,880); class names from the label files."""
    names = ("train", "val") if split == "train" else ("test",)
    parts = [
        _open("dtd", root, download, lambda r, s=s: torchvision.datasets.DTD(r, split=s, partition=1, download=download))
        for s in names
    ]
    classes = parts[0].classes
    if any(p.classes != classes for p in parts):  # torchvision numbers the classes of each split file on its own
        raise ZooError(f"dtd in {root}: labels/train1.txt and labels/val1.txt name different classes; reinstall the files")
    return _from_pil("dtd", split, [(p, range(len(p))) for p in parts], classes, size)


def _eurosat(split: str, root: Path, download: bool, size: int | None) -> ImageSet:
    """27,000 images of 64×64, split 80/20 within every class (seed 0)."""
    dataset = _open("eurosat", root, download, lambda r: torchvision.datasets.EuroSAT(r, download=download))
    return _from_pil("eurosat", split, [(dataset, _fixed_split(dataset.targets, split))], dataset.classes, size)


def _caltech101(split: str, root: Path, download: bool, size: int | None) -> ImageSet:
    """8,677 images of 101 categories (BACKGROUND_Google left out), split 80/20 within every class
    (seed 0); grayscale images are made RGB."""
    dataset = _open("caltech101", root, download, lambda r: torchvision.datasets.Caltech101(r, download=download))
    return _from_pil("caltech101", split, [(dataset, _fixed_split(dataset.y, split))], dataset.categories, size)


_FIXED_SPLIT_NOTE = (
    f"no official split: a fixed stratified split puts {TEST_FRACTION:.0%} of every class in test (seed {SPLIT_SEED})"
)


def _spec(name: str, tv_class: str, folder: str, load_split, *, native_size, classes=(), **fields) -> DatasetSpec:
    return DatasetSpec(
        name=name,
        load=_loader(name, load_split, needs_size=native_size is None),
        classes=tuple(classes),
        channels=3,
        native_size=native_size,
        source=(
            f"torchvision.datasets.{tv_class}: its files in {folder} under root (default $ZOO_HOME/data/{name}); "
            "download=True lets torchvision fetch them (needs internet)"
        ),
        extra={"torchvision": f"torchvision.datasets.{tv_class}", "folder": folder},
        **fields,
    )


DATASETS = {
    "cifar10": _spec(
        "cifar10", "CIFAR10", "cifar-10-batches-py/", _cifar("cifar10", torchvision.datasets.CIFAR10),
        description="CIFAR-10: 10 classes of small colour photographs, 32×32 (class names come from its batches.meta)",
        native_size=(32, 32),
    ),
    "cifar100": _spec(
        "cifar100", "CIFAR100", "cifar-100-python/", _cifar("cifar100", torchvision.datasets.CIFAR100),
        description="CIFAR-100: 100 fine classes of small colour photographs, 32×32 (class names come from its meta file)",
        native_size=(32, 32),
    ),
    "stl10": _spec(
        "stl10", "STL10", "stl10_binary/", _stl10,
        description="STL-10: 10 classes of ImageNet-like photographs, 96×96, 500 training images per class "
        "(class names come from its class_names.txt)",
        native_size=(96, 96),
    ),
    "svhn": _spec(
        "svhn", "SVHN", "train_32x32.mat and test_32x32.mat directly", _svhn,
        description="SVHN: street-view house-number digits, 32×32 colour crops",
        native_size=(32, 32),
        classes=DIGIT_CLASSES,
        mirror_invariant=False,
    ),
    "flowers102": _spec(
        "flowers102", "Flowers102", "flowers-102/", _flowers102,
        description="Oxford 102 Flowers: 102 flower species common in the UK, photographs of varying size",
        native_size=None,
        classes=FLOWERS102_CLASSES,
        split_note="train is the official train and val splits together (20 images per class), test the official test split",
    ),
    "oxford_pets": _spec(
        "oxford_pets", "OxfordIIITPet", "oxford-iiit-pet/", _oxford_pets,
        description="Oxford-IIIT Pet: 37 cat and dog breeds, photographs of varying size "
        "(class names come from its annotation files)",
        native_size=None,
        split_note="train is the official trainval split, test the official test split",
    ),
    "dtd": _spec(
        "dtd", "DTD", "dtd/dtd/", _dtd,
        description="Describable Textures: 47 texture classes, photographs of varying size "
        "(class names come from its label files)",
        native_size=None,
        split_note="partition 1 of 10: train is its train and val splits together, test its test split",
    ),
    "eurosat": _spec(
        "eurosat", "EuroSAT", "eurosat/2750/", _eurosat,
        description="EuroSAT RGB: Sentinel-2 satellite patches of 10 land-use classes, 64×64 "
        "(class names come from its folder names)",
        native_size=(64, 64),
        split_note=_FIXED_SPLIT_NOTE,
    ),
    "caltech101": _spec(
        "caltech101", "Caltech101", "caltech101/101_ObjectCategories/", _caltech101,
        description="Caltech 101: 101 object categories, photographs of varying size, some grayscale "
        "(class names come from its folder names)",
        native_size=None,
        split_note=_FIXED_SPLIT_NOTE,
    ),
}  # fmt: skip


@hookimpl
def zoo_register_datasets(registry):
    for spec in DATASETS.values():
        registry.add(spec)
