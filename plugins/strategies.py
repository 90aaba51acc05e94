"""The built-in transfer strategies.

The four seed strategies are the size–similarity matrix's rules of thumb (DESIGN's table);
the other three are refinements from the fine-tuning literature:

* ``lp_ft``: Fine-Tuning can Distort Pretrained Features and Underperform Out-of-Distribution
  (Kumar et al., 2022) https://arxiv.org/abs/2202.10054
* ``discriminative``: layer-wise learning-rate decay, Universal Language Model Fine-tuning
  (Howard & Ruder, 2018) https://arxiv.org/abs/1801.06146
* ``gradual_unfreeze``: the same paper's gradual unfreezing, one stage more per phase.

Pretrained stages train at a tenth of the head's learning rate ("a low learning rate for
pretrained layers"); ``scratch`` has nothing pretrained and trains everything at the full rate.
"""

from __future__ import annotations

from zoo import hookimpl
from zoo.strategies import Phase, StrategySpec

__all__ = ["PARTIAL_STAGES", "default_cfgs", "zoo_register_strategies"]

PRETRAINED_LR = 0.1  # multiplier for pretrained stages below the head
PARTIAL_STAGES = 2  # top body stages `partial` trains by default: about the upper half of a ResNet


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
    )


default_cfgs = {
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
    ),
    "discriminative": StrategySpec(
        name="discriminative",
        description="every stage fine-tuned, the learning rate halving with each stage further from the head",
        phases=(Phase("all", backbone_lr=0.5, layer_decay=0.5),),
        quadrants=("Q1",),
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
    ),
}


@hookimpl
def zoo_register_strategies(registry):
    for spec in default_cfgs.values():
        registry.add(spec)
