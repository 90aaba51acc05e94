"""Parameter, MAC and FLOP counts, measured by running the network.

Counts come from ``torch.utils.flop_counter.FlopCounterMode`` on a batch of one, with the
network and input on the ``meta`` device: shapes propagate, nothing is computed, so even
VGG-19 at 224×224 is counted in well under a second. FlopCounterMode counts multiply-adds of
convolutions and matrix products as two FLOPs; MACs are half the FLOPs. torchvision's
"GFLOPS" metadata are MACs in this sense.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import torch
from torch import nn
from torch.utils.flop_counter import FlopCounterMode

from zoo.models.architectures import build_network

if TYPE_CHECKING:
    from zoo.plugin.architecture import ArchitectureSpec

METHOD = "torch.utils.flop_counter.FlopCounterMode, batch 1, meta device; MACs = FLOPs / 2"


@dataclass(frozen=True)
class Complexity:
    params: int  # all parameters, classifier included
    macs: int  # multiply-accumulates of one forward pass of one image
    flops: int  # floating-point operations of the same pass (2 per MAC)
    input_size: tuple[int, int, int]
    method: str = METHOD


def build_meta(spec: ArchitectureSpec, num_classes: int = 1000, img_size: int | None = None) -> nn.Module:
    """``spec``'s network (shaped for ``img_size`` where that matters) with shapes but no
    storage: instant to build, even for VGG."""
    with torch.device("meta"):
        return build_network(spec, num_classes, img_size).eval()


def measure(net: nn.Module, input_size: tuple[int, int, int]) -> Complexity:
    """Count a network's parameters and per-image MACs/FLOPs at ``input_size`` (C, H, W).

    ``net`` may live on any device; pass one from :func:`build_meta` to count without computing.
    """
    param = next(net.parameters())
    x = torch.empty(1, *input_size, device=param.device, dtype=param.dtype)
    with FlopCounterMode(display=False) as counter, torch.no_grad():
        net(x)
    flops = counter.get_total_flops()
    return Complexity(sum(p.numel() for p in net.parameters()), flops // 2, flops, tuple(input_size))
