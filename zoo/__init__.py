"""zoo: a plugin-based model zoo and evaluation harness for transfer learning.

The public API mirrors timm's::

    import zoo
    zoo.list_models("resnet*")
    model = zoo.create_model("resnet50", num_classes=4)
    zoo.stages(model), zoo.freeze_stages(model, 3)

Plugins implement the hooks of :mod:`zoo.plugin.hookspecs` with the :data:`hookimpl` marker.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING

import pluggy

from zoo.version import __version__ as __version__

hookimpl = pluggy.HookimplMarker("zoo")

if TYPE_CHECKING:
    from torch import nn

    from zoo.data.images import ImageSet
    from zoo.models.adapters import TimmInterface
    from zoo.models.architectures import HubWeights, PackageWeights
    from zoo.models.backbone import Stage, freeze_stages, run_stages, stage_module, stage_parameters, stages
    from zoo.plugin.architecture import ArchitectureSpec
    from zoo.plugin.dataset import DatasetSpec
    from zoo.plugin.manager import PluginSet
    from zoo.plugin.recipe import Recipe
    from zoo.plugin.strategy import Phase, Select, StrategySpec
    from zoo.plugin.suite import DataSelection, SuiteSpec, TaskSpec

# Imported on first use (PEP 562), so that `import zoo` and `zoo --help` do not pay for torch
# and timm: what needs them imports them.
_LAZY = {
    "ArchitectureSpec": "zoo.plugin.architecture",
    **dict.fromkeys(("HubWeights", "PackageWeights"), "zoo.models.architectures"),
    **dict.fromkeys(("Stage", "freeze_stages", "run_stages", "stage_module", "stage_parameters", "stages"), "zoo.models.backbone"),
    "TimmInterface": "zoo.models.adapters",
    "DatasetSpec": "zoo.plugin.dataset",
    "ImageSet": "zoo.data.images",
    **dict.fromkeys(("Phase", "Select", "StrategySpec"), "zoo.plugin.strategy"),
    "Recipe": "zoo.plugin.recipe",
    **dict.fromkeys(("DataSelection", "SuiteSpec", "TaskSpec"), "zoo.plugin.suite"),
}


def __getattr__(name: str):
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'zoo' has no attribute {name!r}")

__all__ = [
    "ArchitectureSpec",
    "DataSelection",
    "DatasetSpec",
    "HubWeights",
    "ImageSet",
    "PackageWeights",
    "Phase",
    "Recipe",
    "Select",
    "Stage",
    "StrategySpec",
    "SuiteSpec",
    "TaskSpec",
    "TimmInterface",
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
def get_zoo() -> PluginSet:
    """The process-wide plugin set, with every installed plugin loaded on first use."""
    from zoo.plugin.manager import load_plugins

    return load_plugins()


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
    from zoo.models.architectures import create_model as build

    arch, _, tag = name.partition(".")
    return build(get_zoo().architectures.get(arch), tag or pretrained, num_classes, weights_file, img_size=img_size)
