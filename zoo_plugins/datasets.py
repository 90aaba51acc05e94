"""Data sets that install from package registries, for machines without internet.

* ``fashion_mnist``: Fashion-MNIST (Xiao et al., 2017, https://arxiv.org/abs/1708.07747) from
  Debian's ``dataset-fashion-mnist``: the gzip IDX files as shipped, checked on reading. With
  ``download=True`` (and internet) torchvision fetches them instead into ``root``.
* ``digits``: OpenCV's ``digits.png`` (from Debian's ``opencv-doc``): 5000 handwritten digits
  of 20×20 pixels, 50 rows × 100 columns, five rows per digit.
* ``sklearn_digits``: scikit-learn's bundled 8×8 digits (UCI optical recognition), 1797 images.

``$ZOO_DATA``, where set, is a folder that stands in for the Debian packages on a machine
without them (a GPU machine the files are carried to): ``$ZOO_DATA/fashion-mnist/`` with the
four gzip IDX files, and ``$ZOO_DATA/digits.png``. ``scripts/gpu_check.py --pack DIR`` makes one.
"""

from __future__ import annotations

import gzip
import os
import struct
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from zoo import DatasetSpec, ImageSet, hookimpl
from zoo.data.images import stratified_split
from zoo.errors import ZooError

__all__ = ["DATA_ENV", "digits_png", "fashion_mnist_dir", "read_idx", "zoo_register_datasets"]

FASHION_MNIST_DIR = Path("/usr/share/datasets/fashion-mnist")
FASHION_MNIST_CLASSES = (
    "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot",
)  # fmt: skip
DIGITS_PNG = Path("/usr/share/doc/opencv-doc/examples/data/digits.png")
DATA_ENV = "ZOO_DATA"
DIGIT_CLASSES = tuple(str(d) for d in range(10))
_IDX_TYPES = {0x08: np.uint8}


def fashion_mnist_dir() -> Path:
    """Where Fashion-MNIST's gzip files are read from: ``$ZOO_DATA/fashion-mnist``, else Debian's folder."""
    return Path(os.environ[DATA_ENV]) / "fashion-mnist" if os.environ.get(DATA_ENV) else FASHION_MNIST_DIR


def digits_png() -> Path:
    """Where OpenCV's ``digits.png`` is read from: ``$ZOO_DATA/digits.png``, else opencv-doc's path."""
    return Path(os.environ[DATA_ENV]) / "digits.png" if os.environ.get(DATA_ENV) else DIGITS_PNG


def read_idx(path: Path) -> np.ndarray:
    """An IDX file (gzip or plain) as an array, after checking its header against its size."""
    opener = gzip.open if path.suffix == ".gz" else open
    try:
        with opener(path, "rb") as f:
            data = f.read()
    except (OSError, EOFError) as exc:
        raise ZooError(f"cannot read {path}: {exc}; reinstall it (apt-get install --reinstall dataset-fashion-mnist)") from None
    if len(data) < 4 or data[:2] != b"\0\0" or data[2] not in _IDX_TYPES:
        raise ZooError(f"{path} is not an unsigned-byte IDX file (bad magic number {data[:4].hex()})")
    ndim = data[3]
    shape = struct.unpack(f">{ndim}I", data[4 : 4 + 4 * ndim])
    body = data[4 + 4 * ndim :]
    if len(body) != int(np.prod(shape)):
        raise ZooError(f"{path} is truncated or corrupt: its header promises {shape}, it holds {len(body)} bytes")
    return np.frombuffer(body, dtype=_IDX_TYPES[data[2]]).reshape(shape)


def load_fashion_mnist(split: str, *, root: Path | None = None, download: bool = False, size: int | None = None) -> ImageSet:
    """60,000 training or 10,000 test images, 28×28 grayscale, 10 classes."""
    prefix = {"train": "train", "test": "t10k"}[split]
    directory = Path(root) if root else fashion_mnist_dir()
    if download:
        import torchvision

        directory = Path(torchvision.datasets.FashionMNIST(root or Path.home() / ".cache/zoo/data", download=True).raw_folder)
    images_path = directory / f"{prefix}-images-idx3-ubyte.gz"
    labels_path = directory / f"{prefix}-labels-idx1-ubyte.gz"
    if not images_path.exists() or not labels_path.exists():
        raise ZooError(
            f"Fashion-MNIST is not in {directory}: install Debian's dataset-fashion-mnist "
            f"(`make test` does it as root), point ${DATA_ENV} at a folder holding fashion-mnist/, "
            "or pass download=True when online"
        )
    images, labels = read_idx(images_path), read_idx(labels_path)
    if images.ndim != 3 or labels.shape != images.shape[:1] or labels.max() >= len(FASHION_MNIST_CLASSES):
        raise ZooError(f"{images_path} and {labels_path} do not match: {images.shape} images, {labels.shape} labels")
    return ImageSet(
        torch.from_numpy(images.copy()).unsqueeze(1),
        torch.from_numpy(labels.astype(np.int64)),
        FASHION_MNIST_CLASSES,
        f"fashion_mnist/{split}",
    )


def load_digits(split: str, *, root: Path | None = None, download: bool = False, size: int | None = None) -> ImageSet:
    """OpenCV's 5000 digits; columns 0–79 of every row are training images, 80–99 test."""
    path = Path(root) / "digits.png" if root else digits_png()
    if not path.exists():
        raise ZooError(
            f"OpenCV's digits.png is not at {path}: run scripts/install-data.sh as root "
            f"(it takes the file out of Debian's opencv-doc), or point ${DATA_ENV} at a folder holding it"
        )
    try:
        sheet = np.asarray(Image.open(path).convert("L"))
    except OSError as exc:
        raise ZooError(f"cannot read {path}: {exc}") from None
    if sheet.shape != (1000, 2000):
        raise ZooError(f"{path} is {sheet.shape[1]}×{sheet.shape[0]} pixels, expected 2000×1000 (100 × 50 digits of 20×20)")
    cells = sheet.reshape(50, 20, 100, 20).transpose(0, 2, 1, 3)  # [row, column, 20, 20]
    columns = slice(0, 80) if split == "train" else slice(80, 100)
    chosen = cells[:, columns]
    labels = np.repeat(np.arange(50) // 5, chosen.shape[1])
    return ImageSet(
        torch.from_numpy(chosen.reshape(-1, 1, 20, 20).copy()),
        torch.from_numpy(labels.astype(np.int64)),
        DIGIT_CLASSES,
        f"digits/{split}",
    )


def load_sklearn_digits(split: str, *, root: Path | None = None, download: bool = False, size: int | None = None) -> ImageSet:
    """scikit-learn's 1797 digits, 8×8 with values 0–16 scaled to 0–255; a fixed stratified
    split puts 20% of every class in test (seed 0)."""
    from sklearn.datasets import load_digits as sklearn_load_digits

    bunch = sklearn_load_digits()
    images = torch.from_numpy(np.round(bunch.images * 255 / 16).astype(np.uint8)).unsqueeze(1)
    labels = torch.from_numpy(bunch.target.astype(np.int64))
    train, test = stratified_split(labels, test_fraction=0.2, seed=0)
    indices = train if split == "train" else test
    return ImageSet(images[indices], labels[indices], DIGIT_CLASSES, f"sklearn_digits/{split}")


DATASETS = {
    "fashion_mnist": DatasetSpec(
        name="fashion_mnist",
        description="Fashion-MNIST: Zalando clothing, shoes and bags, 28×28 grayscale",
        load=load_fashion_mnist,
        classes=FASHION_MNIST_CLASSES,
        channels=1,
        native_size=(28, 28),
        source="Debian package dataset-fashion-mnist (/usr/share/datasets/fashion-mnist), or $ZOO_DATA/fashion-mnist; torchvision when online",
    ),
    "digits": DatasetSpec(
        name="digits",
        description="OpenCV's handwritten digits, 20×20 grayscale, 500 per class",
        load=load_digits,
        classes=DIGIT_CLASSES,
        channels=1,
        native_size=(20, 20),
        source="digits.png from Debian package opencv-doc (scripts/install-data.sh extracts it alone), or $ZOO_DATA/digits.png",
        split_note="columns 0–79 of each row are train (400 per class), columns 80–99 test (100 per class)",
        mirror_invariant=False,
    ),
    "sklearn_digits": DatasetSpec(
        name="sklearn_digits",
        description="scikit-learn's bundled 8×8 handwritten digits",
        load=load_sklearn_digits,
        classes=DIGIT_CLASSES,
        channels=1,
        native_size=(8, 8),
        source="scikit-learn (bundled with the package)",
        split_note="fixed stratified split, 20% of each class in test (seed 0)",
        mirror_invariant=False,
    ),
}


@hookimpl
def zoo_register_datasets(registry):
    for spec in DATASETS.values():
        registry.add(spec)
