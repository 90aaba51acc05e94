"""Labelled images in memory, data-set metadata, and seeded stratified sampling.

A data set plugin registers a :class:`zoo.plugin.dataset.DatasetSpec` whose ``load`` returns
an :class:`ImageSet` per split: uint8 images and int64 labels held as tensors, the form every
later step (subsampling, resizing, normalising, training) works on without a DataLoader.
"""

from __future__ import annotations

import hashlib
import math
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import torch
from PIL import Image, ImageOps
from torchvision.transforms.functional import InterpolationMode, center_crop, pil_to_tensor, resize

from zoo.errors import ZooError


@dataclass
class ImageSet:
    """One split of a data set: ``images[i]`` is labelled ``classes[labels[i]]``."""

    images: torch.Tensor  # uint8 [N, C, H, W]
    labels: torch.Tensor  # int64 [N]
    classes: tuple[str, ...]  # class names, indexed by label
    name: str = ""  # where it came from, for messages ("fashion_mnist/train")

    def __post_init__(self) -> None:
        if self.images.dtype != torch.uint8 or self.images.ndim != 4:
            raise ValueError(f"{self.name}: images must be uint8 [N, C, H, W], got {self.images.dtype} {tuple(self.images.shape)}")
        if self.labels.shape != (len(self.images),):
            raise ValueError(f"{self.name}: {len(self.labels)} labels for {len(self.images)} images")

    def __len__(self) -> int:
        return len(self.labels)

    def counts(self) -> list[int]:
        """Images per class, indexed by label."""
        return torch.bincount(self.labels, minlength=len(self.classes)).tolist()

    def subset(self, indices: torch.Tensor) -> ImageSet:
        return ImageSet(self.images[indices], self.labels[indices], self.classes, self.name)

    def select_classes(self, names: Sequence[str]) -> ImageSet:
        """Only the images of ``names``, relabelled 0… in the order given."""
        unknown = [n for n in names if n not in self.classes]
        if unknown:
            raise ZooError(f"{self.name} has no class {', '.join(map(repr, unknown))}; its classes: {', '.join(self.classes)}")
        old = torch.tensor([self.classes.index(n) for n in names])
        keep = torch.isin(self.labels, old)
        remap = torch.full((len(self.classes),), -1, dtype=torch.int64)
        remap[old] = torch.arange(len(names))
        return ImageSet(self.images[keep], remap[self.labels[keep]], tuple(names), self.name)


def pil_to_uint8(image: Image.Image, size: int | None, channels: int) -> torch.Tensor:
    """A PIL image as a uint8 [C, H, W] tensor, upright as an image viewer shows it (EXIF
    orientation applied); with ``size``, its shorter side resized to ``size`` and the centre
    cropped square (torchvision's evaluation transform). Resizing happens in PIL, one image at
    a time, where torch's kernel would spend more on starting its threads than on one small image."""
    image = ImageOps.exif_transpose(image).convert("L" if channels == 1 else "RGB")
    if size is not None:
        image = center_crop(resize(image, size, interpolation=InterpolationMode.BILINEAR), [size, size])
    return pil_to_tensor(image)


def stratified_sample(labels: torch.Tensor, per_class: int | None, seed: int, num_classes: int | None = None) -> torch.Tensor:
    """Indices of exactly ``per_class`` images of every class, chosen by ``seed``.

    ``None`` keeps every image. Indices come back sorted, so the same seed gives the same
    subset in the same order. A class with fewer images than asked is an error naming it.
    """
    if per_class is None:
        return torch.arange(len(labels))
    generator = torch.Generator().manual_seed(seed)
    chosen = []
    for label in range(num_classes if num_classes is not None else int(labels.max()) + 1):
        members = torch.nonzero(labels == label).flatten()
        if len(members) < per_class:
            raise ZooError(f"class {label} has {len(members)} images, fewer than the {per_class} per class asked for")
        chosen.append(members[torch.randperm(len(members), generator=generator)[:per_class]])
    return torch.cat(chosen).sort().values


def stratified_split(labels: torch.Tensor, test_fraction: float, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Train and test indices with ``test_fraction`` of every class in test, rounded half up,
    and at least one image of every class on each side."""
    generator = torch.Generator().manual_seed(seed)
    train, test = [], []
    for label in labels.unique().tolist():
        members = torch.nonzero(labels == label).flatten()
        if len(members) < 2:
            raise ZooError(f"class {label} has {len(members)} image; a train/test split needs at least 2 per class")
        members = members[torch.randperm(len(members), generator=generator)]
        n_test = min(len(members) - 1, max(1, math.floor(len(members) * test_fraction + 0.5)))
        test.append(members[:n_test])
        train.append(members[n_test:])
    return torch.cat(train).sort().values, torch.cat(test).sort().values


def folder_fingerprint(root: Path) -> str:
    """A digest of every file's relative path, size and modification time: a folder whose
    images change makes new cells, while an unchanged one is recognised without reading a
    single image."""
    digest = hashlib.sha256()
    for folder, dirs, files in os.walk(root):
        dirs.sort()
        for name in sorted(files):
            path = Path(folder, name)
            stat = path.stat()
            digest.update(f"{path.relative_to(root)}\0{stat.st_size}\0{stat.st_mtime_ns}\n".encode())
    return digest.hexdigest()[:16]
