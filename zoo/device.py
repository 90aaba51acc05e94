"""Where and in what precision zoo computes: the device chosen, bf16 autocast on CUDA.

Every engine (training, pretraining, speed, memory, ``zoo recommend``) asks here, so that a
cell's precision is decided once and recorded in its config.
"""

from __future__ import annotations

import os
import platform

import torch

from zoo.errors import ZooError


def device_name(device: torch.device) -> str:
    """The processor a figure was measured on: the GPU's name, else the CPU model."""
    if device.type == "cuda":
        return torch.cuda.get_device_name(device)
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return f"{line.split(':', 1)[1].strip()} ({os.cpu_count()} cores)"
    except OSError:
        pass
    return platform.processor() or platform.machine()


def select_device(requested: str | None = None) -> torch.device:
    """``requested`` if given and present, else CUDA, then Apple's MPS, then the CPU."""
    if requested:
        try:
            device = torch.device(requested)
        except RuntimeError:
            raise ZooError(f"unknown device {requested!r}; use cuda, cuda:N, mps or cpu") from None
        available = {
            "cuda": torch.cuda.is_available() and (device.index or 0) < torch.cuda.device_count(),
            "mps": torch.backends.mps.is_available(),
            "cpu": True,
        }.get(device.type, False)
        if not available:
            raise ZooError(f"device {requested!r} is not available here; use cpu, or leave --device out to pick one")
        return device
    if torch.cuda.is_available():
        return torch.device("cuda")
    if torch.backends.mps.is_available():
        return torch.device("mps")
    return torch.device("cpu")


PRECISIONS = ("auto", "bf16", "fp32")


def precision(device: torch.device) -> str:
    """What the engine computes in on ``device`` unless told otherwise: ``"bf16"`` (autocast)
    on CUDA GPUs that support it, ``"fp32"`` elsewhere.

    CPUs stay in fp32 by default even where they compute bf16 natively (AVX512-BF16 or AMX,
    where training is faster: ``ZOO_PRECISION=bf16 zoo speed --arch resnet18`` beside the
    default says by how much on a machine): results must not depend on which machine a run
    landed on, and a results database filled on two kinds of CPU would otherwise mix two
    precisions. ``ZOO_PRECISION`` (``auto``, ``bf16`` or ``fp32``) overrides the choice; the
    precision is part of every cell's config and of the pretrained weights' fingerprint.
    """
    requested = os.environ.get("ZOO_PRECISION", "auto").strip().lower() or "auto"
    if requested not in PRECISIONS:
        raise ZooError(f"ZOO_PRECISION={requested!r} is not one of {', '.join(PRECISIONS)}")
    if requested == "auto":
        return "bf16" if device.type == "cuda" and torch.cuda.is_bf16_supported() else "fp32"
    return requested


def autocast(device: torch.device, mode: str | None = None):
    """bf16 autocast when ``mode`` (default: :func:`precision`) is bf16; a no-op context otherwise."""
    return torch.autocast(device.type, dtype=torch.bfloat16, enabled=(mode or precision(device)) == "bf16")
