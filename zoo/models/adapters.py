"""timm's classifier interface for networks that timm does not build.

torchvision's VGG, AlexNet and GoogLeNet end in a ``classifier`` Sequential (or ``avgpool``,
``dropout`` and ``fc`` applied around a functional flatten). :class:`TimmInterface` reorganises
such a network, after torchvision has built and initialised it, into the shape zoo relies on:

* body modules registered in forward order, with ``feature_info`` naming each stage's end;
* ``pre_logits``: pooling, flattening and any layers before the classifier, giving the
  ``num_features``-wide vector that a linear probe sees;
* ``head``: the classifier alone, replaced by ``reset_classifier``.

Parameters keep their modules; only their names change, and :meth:`remap_state_dict`
translates a checkpoint written for the original layout (torchvision's hub weights).
"""

from __future__ import annotations

from collections.abc import Mapping

import torch
from torch import nn


class TimmInterface(nn.Module):
    """Mixin giving a torchvision network timm's ``forward_features``/``forward_head`` API.

    Subclasses call :meth:`_adopt_classifier` at the end of ``__init__`` and set
    ``feature_info`` (a list of ``dict(module=..., num_chs=..., reduction=...)``).
    """

    feature_info: list[dict]
    num_features: int
    num_classes: int
    _renamed: dict[str, str]  # original module path -> new path, for remap_state_dict
    checkpoint_only: tuple[str, ...] = ()  # key prefixes of original checkpoints to drop

    def _adopt_classifier(self, removed: list[str], pre_logits: list[nn.Module], head: nn.Linear) -> None:
        """Replace the ``removed`` children by ``pre_logits`` layers and a ``head`` classifier."""
        before = {id(m): name for name, m in self.named_modules() if name}
        for name in removed:
            delattr(self, name)
        self.pre_logits = nn.Sequential(*pre_logits)
        self.head = head
        self.num_features = head.in_features
        self.num_classes = head.out_features
        self._renamed = {
            before[id(m)]: name for name, m in self.named_modules() if id(m) in before and before[id(m)] != name
        }

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        for name, module in self.named_children():
            if name in ("pre_logits", "head"):
                break
            x = module(x)
        return x

    def forward_head(self, x: torch.Tensor, pre_logits: bool = False) -> torch.Tensor:
        x = self.pre_logits(x)
        return x if pre_logits else self.head(x)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.forward_head(self.forward_features(x))

    def get_classifier(self) -> nn.Module:
        return self.head

    def reset_classifier(self, num_classes: int) -> None:
        """A fresh classifier for ``num_classes`` (0 leaves the pooled features)."""
        self.num_classes = num_classes
        self.head = nn.Linear(self.num_features, num_classes) if num_classes > 0 else nn.Identity()

    def remap_state_dict(self, state_dict: Mapping[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        """Rename a checkpoint of the original torchvision layout to this layout.

        Keys under ``checkpoint_only`` prefixes (modules this layout leaves out, such as
        GoogLeNet's auxiliary classifiers) are dropped; any other key is kept, renamed, so
        that a checkpoint for a different network still fails a strict load.
        """
        renamed = {}
        for key, value in state_dict.items():
            if key.startswith(self.checkpoint_only):
                continue
            module, _, leaf = key.rpartition(".")
            renamed[f"{self._renamed.get(module, module)}.{leaf}"] = value
        return renamed
