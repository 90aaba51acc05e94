"""Bringing images to a network: channels, size, normalisation and augmentation.

Prepared images stay uint8 at the network's input size, in memory (on the GPU when there is
one): a quarter of the memory of float32, and no DataLoader workers for data that fits.
Normalisation and augmentation happen per batch, on the device.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import torch
import torch.nn.functional as F

from zoo.data.images import ImageSet

RESIZE_CHUNK = 4096  # images resized at once, to bound the float32 working memory


@dataclass
class PreparedSet:
    """Images ready for one network: uint8 [N, C, H, W] at its input size, with their labels."""

    images: torch.Tensor
    labels: torch.Tensor
    classes: tuple[str, ...]
    mean: tuple[float, ...]  # normalisation of the data the backbone was pretrained on
    std: tuple[float, ...]
    mirror_invariant: bool = True  # may augmentation flip left-right?

    def __len__(self) -> int:
        return len(self.labels)

    def to(self, device: torch.device) -> PreparedSet:
        return PreparedSet(
            self.images.to(device), self.labels.to(device), self.classes, self.mean, self.std, self.mirror_invariant
        )

    def batches(
        self,
        batch_size: int,
        *,
        shuffle: bool = False,
        generator: torch.Generator | None = None,
        augmented: bool = False,
    ) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        """Normalised float batches and their labels, on the device the data live on.

        Shuffling and augmentation draw from ``generator`` (a CPU generator), so a seed fixes them.
        """
        order = torch.randperm(len(self), generator=generator) if shuffle else torch.arange(len(self))
        order = order.to(self.images.device)
        for start in range(0, len(self), batch_size):
            index = order[start : start + batch_size]
            images = self.images[index]
            if augmented:
                images = augment(images, generator, self.mirror_invariant)
            yield normalise(images, self.mean, self.std), self.labels[index]


def prepare(
    data: ImageSet,
    input_size: tuple[int, int, int],
    mean: tuple[float, ...],
    std: tuple[float, ...],
    mirror_invariant: bool = True,
) -> PreparedSet:
    """``data`` at ``input_size`` (C, H, W): grayscale repeated to three channels, then resized
    with antialiased bilinear interpolation."""
    channels, height, width = input_size
    images = data.images
    if images.shape[1] != channels:
        if images.shape[1] != 1:
            raise ValueError(f"{data.name}: cannot turn {images.shape[1]} channels into {channels}")
        images = images.expand(-1, channels, -1, -1)
    if images.shape[-2:] != (height, width):
        images = torch.cat(
            [
                F.interpolate(chunk.float(), size=(height, width), mode="bilinear", antialias=True, align_corners=False)
                .round_()
                .clamp_(0, 255)
                .to(torch.uint8)
                for chunk in images.split(RESIZE_CHUNK)
            ]
        )
    return PreparedSet(images.contiguous(), data.labels, data.classes, tuple(mean), tuple(std), mirror_invariant)


def channel_stats(data: ImageSet, channels: int = 3) -> tuple[tuple[float, ...], tuple[float, ...]]:
    """Per-channel mean and std of ``data`` in [0, 1], repeated for grayscale: the
    normalisation a backbone pretrained on it expects."""
    pixels = data.images.float().div_(255)
    mean = pixels.mean(dim=(0, 2, 3))
    std = pixels.std(dim=(0, 2, 3))
    if len(mean) == 1:
        mean, std = mean.repeat(channels), std.repeat(channels)
    return tuple(round(v, 4) for v in mean.tolist()), tuple(round(v, 4) for v in std.tolist())


def normalise(images: torch.Tensor, mean: tuple[float, ...], std: tuple[float, ...]) -> torch.Tensor:
    """uint8 images to float, scaled to [0, 1] and normalised per channel."""
    m = torch.tensor(mean, device=images.device).view(1, -1, 1, 1)
    s = torch.tensor(std, device=images.device).view(1, -1, 1, 1)
    return images.float().div_(255).sub_(m).div_(s)


def augment(images: torch.Tensor, generator: torch.Generator, mirror: bool) -> torch.Tensor:
    """Random translation by up to 1/8 of the side (zero padding, then a random crop) and,
    where the data allow it, random left-right flips: the CIFAR recipe, on uint8 tensors.
    The random draws come from a CPU ``generator``; the images stay on their device."""
    n, channels, height, width = images.shape
    pad = max(1, height // 8)
    padded = F.pad(images, (pad, pad, pad, pad))
    dy = torch.randint(0, 2 * pad + 1, (n, 1), generator=generator).to(images.device)
    dx = torch.randint(0, 2 * pad + 1, (n, 1), generator=generator).to(images.device)
    rows = (dy + torch.arange(height, device=images.device))[:, None, :, None]
    cols = (dx + torch.arange(width, device=images.device))[:, None, None, :]
    batch = torch.arange(n, device=images.device)[:, None, None, None]
    out = padded[batch, torch.arange(channels, device=images.device)[None, :, None, None], rows, cols]
    if mirror:
        flip = (torch.rand(n, generator=generator) < 0.5).to(images.device)
        out[flip] = out[flip].flip(-1)
    return out
