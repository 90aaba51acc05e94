"""zoo: a plugin-based model zoo and evaluation harness for transfer learning.

The public API mirrors timm's::

    import zoo
    zoo.list_models("resnet*")
    model = zoo.create_model("resnet50", num_classes=4)
    zoo.stages(model), zoo.freeze_stages(model, 3)

Plugins implement the hooks of :mod:`zoo.hookspecs` with the :data:`hookimpl` marker.
"""

from __future__ import annotations

from functools import cache
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import TYPE_CHECKING

import pluggy

hookimpl = pluggy.HookimplMarker("zoo")

try:
    __version__ = version("zoo")
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0+unknown"

from zoo.architectures import ArchitectureSpec, HubWeights, create_model as _create_model  # noqa: E402
from zoo.backbone import Stage, freeze_stages, run_stages, stage_module, stage_parameters, stages  # noqa: E402

if TYPE_CHECKING:
    from torch import nn

    from zoo.pluginmanager import Zoo

__all__ = [
    "ArchitectureSpec",
    "HubWeights",
    "Stage",
    "create_model",
    "freeze_stages",
    "get_zoo",
    "hookimpl",
    "list_models",
    "run_stages",
    "stage_module",
    "stage_parameters",
    "stages",
]


@cache
def get_zoo() -> Zoo:
    """The process-wide zoo, with every installed plugin loaded on first use."""
    from zoo.pluginmanager import load_zoo

    return load_zoo()


def list_models(filter: str = "", exclude_filters: str | list[str] = ()) -> list[str]:
    """Registered architecture names matching shell patterns, in natural order (timm's API)."""
    return get_zoo().architectures.names(filter, exclude_filters)


def create_model(
    name: str,
    pretrained: bool | str = False,
    num_classes: int | None = None,
    weights_file: str | Path | None = None,
    img_size: int | None = None,
) -> nn.Module:
    """Build a registered architecture by name; ``"arch.tag"`` selects pretrained weights.

    :param pretrained: ``True`` for the architecture's default weights, or a tag.
    :param num_classes: size of a fresh classifier; ``None`` keeps the weights' own.
    :param weights_file: a local ``.safetensors`` or ``torch.save`` file to load.
    :param img_size: the input side, for networks whose head depends on it (VGG below 224).
    """
    arch, _, tag = name.partition(".")
    return _create_model(get_zoo().architectures.get(arch), tag or pretrained, num_classes, weights_file, img_size=img_size)
