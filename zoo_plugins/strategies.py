"""The built-in transfer strategies.

The four seed strategies are the size–similarity matrix's rules of thumb (:mod:`zoo.matrix`).
Six more come from the fine-tuning literature, each naming its paper (``zoo info NAME``):
``lp_ft``, ``discriminative`` and ``gradual_unfreeze`` refine how a whole network is
fine-tuned; ``bitfit`` and ``norm_only`` train only a few parameters, and ``l2_sp`` keeps
them all near their start, for data too small to move a whole network far. In ResNet,
GoogLeNet and MobileNet the convolutions have no bias, so there ``bitfit`` trains the
normalisation layers' shifts (VGG's convolutions and fully connected layers have biases).

Pretrained stages train at a tenth of the head's learning rate ("a low learning rate for
pretrained layers"); ``scratch`` has nothing pretrained and trains everything at the full rate.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import nn

from zoo import Phase, Select, StrategySpec, hookimpl, stage_parameters, stages

__all__ = ["L2_SP_ALPHA", "PARTIAL_STAGES", "STRATEGIES", "l2_sp_penalty", "zoo_register_strategies"]

PRETRAINED_LR = 0.1  # multiplier for pretrained stages below the head
PARTIAL_STAGES = 2  # top body stages `partial` trains by default: about the upper half of a ResNet
L2_SP_ALPHA = 0.1  # Li et al.'s α for the pull toward the pretrained weights (their β is the recipe's weight decay)
# Where the learning-rate sweeps of the head-only strategies centre, times the recipe's rate. In
# the committed mini run, whose sweeps all started from the recipe's rate (⅓, 1, 3 and up to two
# steps of 3 beyond), 7 of the 12 linear probes and 5 of the 12 partial fine-tunings chose the
# highest rate tried, 27 times the recipe's (leaderboards/sweep.csv, edge "highest tried"); no
# full fine-tuning or scratch run did. Centred here, with mini's four steps each way, their
# sweeps reach 27 × 81 and 9 × 81 times the recipe's rate.
LINEAR_PROBE_LR_SCALE = 9
PARTIAL_LR_SCALE = 3
CLASSIFIER = Select("head")
ULMFIT = "Universal Language Model Fine-tuning for Text Classification (Howard & Ruder, 2018) https://arxiv.org/abs/1801.06146"


def l2_sp_penalty(alpha: float) -> Callable[[nn.Module], Callable[[nn.Module], torch.Tensor]]:
    """L2-SP's penalty: α/2 times the squared distance of every pretrained parameter (all
    but the classifier's) from its value when training started."""

    def start(model: nn.Module) -> Callable[[nn.Module], torch.Tensor]:
        classifier = set(stage_parameters(model, stages(model)[-1]))
        anchor = {name: p.detach().clone() for name, p in model.named_parameters() if name not in classifier}

        def penalty(net: nn.Module) -> torch.Tensor:
            moved = [(p - anchor[name]).pow(2).sum() for name, p in net.named_parameters() if name in anchor and p.requires_grad]
            return alpha / 2 * torch.stack(moved).sum()

        return penalty

    return start


def _l2_sp(alpha: float = L2_SP_ALPHA) -> StrategySpec:
    """``l2_sp`` pulling at strength ``alpha`` (``l2_sp:alpha=0.01``)."""
    if not isinstance(alpha, int | float) or alpha < 0:
        raise ValueError(f"alpha must be a number ≥ 0; got {alpha!r}")
    return StrategySpec(
        name="l2_sp",
        description=f"every stage fine-tuned, pretrained weights pulled toward their start (α = {alpha:g}) instead of toward 0",
        phases=(Phase("all", backbone_lr=PRETRAINED_LR, backbone_weight_decay=0.0),),
        quadrants=("Q3",),
        paper="Explicit Inductive Bias for Transfer Learning with Convolutional Networks (Li et al., 2018) "
        "https://arxiv.org/abs/1802.01483",
        penalty=l2_sp_penalty(alpha),
        configure=_l2_sp,
    )


def _partial(k: int = PARTIAL_STAGES) -> StrategySpec:
    """``partial`` with its top ``k`` body stages trained (``partial:k=3``)."""
    if not isinstance(k, int) or k < 1:
        raise ValueError(f"k must be a whole number of stages, at least 1; got {k!r}")
    return StrategySpec(
        name="partial",
        description=f"top {k} stages and the classifier trained, the lower stages frozen",
        phases=(Phase(k, backbone_lr=PRETRAINED_LR),),
        quadrants=("Q2", "Q3"),
        configure=_partial,
        lr_scale=PARTIAL_LR_SCALE,
    )


STRATEGIES = {
    "scratch": StrategySpec(
        name="scratch",
        description="random initialisation, every stage trained: the yardstick for transfer",
        phases=(Phase("all"),),
        pretrained=False,
    ),
    "linear_probe": StrategySpec(
        name="linear_probe",
        description="frozen pretrained base, a new classifier trained on its pooled features",
        phases=(Phase("head"),),
        quadrants=("Q4",),
        lr_scale=LINEAR_PROBE_LR_SCALE,
    ),
    "partial": _partial(),
    "full": StrategySpec(
        name="full",
        description="every stage fine-tuned from the pretrained weights, pretrained stages at a tenth of the rate",
        phases=(Phase("all", backbone_lr=PRETRAINED_LR),),
        quadrants=("Q1",),
    ),
    "lp_ft": StrategySpec(
        name="lp_ft",
        description="linear probe for half the epochs, then full fine-tuning from that classifier",
        phases=(Phase("head", share=0.5), Phase("all", share=0.5, backbone_lr=PRETRAINED_LR)),
        quadrants=("Q1", "Q2"),
        paper="Fine-Tuning can Distort Pretrained Features and Underperform Out-of-Distribution (Kumar et al., 2022) "
        "https://arxiv.org/abs/2202.10054",
    ),
    "discriminative": StrategySpec(
        name="discriminative",
        description="every stage fine-tuned, the learning rate halving with each stage further from the head",
        phases=(Phase("all", backbone_lr=0.5, layer_decay=0.5),),
        quadrants=("Q1",),
        paper=ULMFIT,
    ),
    "gradual_unfreeze": StrategySpec(
        name="gradual_unfreeze",
        description="the classifier first, then one more stage per phase from the top, finally all",
        phases=(
            Phase("head", share=0.25),
            Phase(1, share=0.25, backbone_lr=PRETRAINED_LR),
            Phase(2, share=0.25, backbone_lr=PRETRAINED_LR),
            Phase("all", share=0.25, backbone_lr=PRETRAINED_LR),
        ),
        quadrants=("Q3",),
        paper=ULMFIT,
    ),
    # The few parameters these two train are all there is to adapt, so they train at the head's
    # rate (BitFit's own rates are larger than full fine-tuning's); the sweep then chooses.
    "bitfit": StrategySpec(
        name="bitfit",
        description="biases alone fine-tuned, and a new classifier",
        phases=(Phase((Select(names=("bias",)), CLASSIFIER)),),
        quadrants=("Q4",),
        paper="BitFit: Simple Parameter-efficient Fine-tuning for Transformer-based Masked Language-models "
        "(Ben Zaken et al., 2022) https://arxiv.org/abs/2106.10199",
    ),
    "norm_only": StrategySpec(
        name="norm_only",
        description="normalisation layers' scales and shifts alone fine-tuned, and a new classifier",
        phases=(Phase((Select(modules=("norm",)), CLASSIFIER)),),
        quadrants=("Q3", "Q4"),
        paper="Training BatchNorm and Only BatchNorm: On the Expressive Power of Random Features in CNNs "
        "(Frankle et al., 2021) https://arxiv.org/abs/2003.00152",
    ),
    "l2_sp": _l2_sp(),
}


@hookimpl
def zoo_register_strategies(registry):
    for spec in STRATEGIES.values():
        registry.add(spec)
