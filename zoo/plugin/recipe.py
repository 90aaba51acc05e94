"""How a network is trained: the recipe a suite's pretraining and every cell train with.

Part of the plugin contract, since a suite declares its pretraining recipe; the loop that
carries it out is :func:`zoo.train.loop.fit`.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass


@dataclass(frozen=True)
class Recipe:
    """How a network is trained. Every field shapes the result, so cells hash it into their
    key and pretraining into the weights' fingerprint."""

    epochs: int  # with a validation split, the most it may train (a cap); without, exactly this many
    batch_size: int = 128
    lr: float = 0.05  # peak learning rate, reached after warm-up
    momentum: float = 0.9
    weight_decay: float = 5e-4
    warmup_epochs: float = 1.0  # linear from lr/10 up to lr over this many epochs' steps (at least :data:`zoo.train.loop.WARMUP_MIN_STEPS`)
    label_smoothing: float = 0.0
    augment: bool = True
    patience: int = 3  # epochs without a better validation score before the learning rate drops ×0.1
    decays: int = 2  # drops before training stops at the next plateau
    precision: str = "fp32"  # "fp32", or "bf16" autocast (see :func:`zoo.device.precision`)

    def at_lr_scale(self, scale: float) -> Recipe:
        """This recipe at ``scale`` times its learning rate (an architecture's ``lr_scale``)."""
        return dataclasses.replace(self, lr=self.lr * scale)
