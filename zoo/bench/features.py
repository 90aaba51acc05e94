"""Pooled features of a suite's pretrained backbones, without training anything.

``zoo recommend`` looks at a team's images only through the backbones a suite pretrained:
how far their features lie from the source domain's (:mod:`zoo.recommend.similarity`) and how well
they explain the labels (:mod:`zoo.recommend.logme`). Both read the ``num_features``-wide vector the
classifier sees, timm's ``forward_head(x, pre_logits=True)``, so VGG's fc7, ResNet's pooled
stage 4 and simple_cnn's fc 128 play the same part; the similarity also reads the stem's
feature maps, averaged per channel (why: :mod:`zoo.recommend.similarity`). Images are brought to the suite's input
size for the architecture and normalised with the weights' own statistics, exactly as a
transfer cell would see them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import torch
from torch import nn

from zoo.bench.pretraining import plan
from zoo.data.images import ImageSet
from zoo.data.preprocess import PreparedSet, prepare
from zoo.device import autocast, precision
from zoo.errors import WeightsError, ZooError
from zoo.models.architectures import create_model
from zoo.models.backbone import stage_module, stages
from zoo.models.weights import WeightsStore
from zoo.plugin.architecture import ArchitectureSpec
from zoo.plugin.strategy import CLASSIFIER_SIDE
from zoo.plugin.suite import SuiteSpec

if TYPE_CHECKING:
    from zoo.plugin.manager import PluginSet

BATCH_SIZE = 256  # images per forward pass


@dataclass
class SuiteBackbone:
    """One architecture with the weights a suite pretrains it to, ready for forward passes."""

    suite: SuiteSpec
    arch: ArchitectureSpec
    variant: str  # "<arch>.<tag>" of the weights
    checksum: str  # sha256 of the stored weights file; the hub variant's name for hub weights
    model: nn.Module  # in eval mode, on ``device``
    device: torch.device

    @property
    def input_size(self) -> tuple[int, int, int]:
        return self.suite.input_size(self.arch)

    def _prepared(self, data: ImageSet) -> PreparedSet:
        weights = self.model.zoo_weights
        return prepare(data, self.input_size, weights.mean, weights.std).to(self.device)

    @torch.no_grad()
    def stem_features(self, data: ImageSet) -> torch.Tensor:
        """float32 [N, C] per-channel means of the stem's output (stage 0), on the CPU."""
        stem = stage_module(self.model, stages(self.model)[0])
        out = []
        for images, _ in self._prepared(data).batches(BATCH_SIZE):
            with autocast(self.device):
                out.append(stem(images).float().mean((2, 3)).cpu())
        return torch.cat(out)

    @torch.no_grad()
    def features(self, data: ImageSet) -> Features:
        """The stem's per-channel means, the pooled features and the source classifier's logits
        of ``data``, in one pass."""
        stage_list = stages(self.model)
        stem = stage_module(self.model, stage_list[0])
        body = [stage_module(self.model, s) for s in stage_list[1:] if s.name not in CLASSIFIER_SIDE]
        stem_out, pooled, logits = [], [], []
        for images, _ in self._prepared(data).batches(BATCH_SIZE):
            with autocast(self.device):
                x = stem(images)
                stem_out.append(x.float().mean((2, 3)).cpu())
                for stage in body:
                    x = stage(x)
                pooled.append(self.model.forward_head(x, pre_logits=True).float().cpu())
                logits.append(self.model.forward_head(x).float().cpu())
        return Features(torch.cat(stem_out), torch.cat(pooled), torch.cat(logits))


@dataclass(frozen=True)
class Features:
    """What :mod:`zoo.recommend.placement` reads of a backbone's view of some images."""

    stem: torch.Tensor  # [N, C] per-channel means of the stem's feature maps: the imaging domain
    pooled: torch.Tensor  # [N, num_features] what the classifier sees: the labels' fit
    logits: torch.Tensor  # [N, source classes] the source classifier's outputs (zoo.studies.transferability)


def weights_variant(suite: SuiteSpec, arch: ArchitectureSpec, precision: str = "fp32") -> str:
    """The pretrained variant ``arch`` has in ``suite``: ``zoo pretrain``'s tag for a suite
    with a source data set (pretrained in ``precision``), the default hub weights otherwise."""
    if suite.source is not None:
        return f"{arch.name}.{plan(suite, arch, precision).tag}"
    if arch.default_weights is None:
        raise WeightsError(f"{arch.name} has no hub weights, so suite {suite.name!r} has no pretrained {arch.name}")
    return f"{arch.name}.{arch.default_weights.tag}"


def stored_architectures(plugins: PluginSet, suite: SuiteSpec, store: WeightsStore | None = None, precision: str = "fp32") -> list[str]:
    """Architectures of ``plugins`` whose weights for ``suite`` (pretrained in ``precision``)
    are in the local weights store, by name."""
    store = store or WeightsStore()
    registry = plugins.architectures
    found = []
    for name in registry.names():
        arch = registry.get(name)
        try:
            tag = weights_variant(suite, arch, precision).partition(".")[2]
        except ZooError:
            continue
        if store.find(name, tag) is not None:
            found.append(name)
    return found


def load_backbone(suite: SuiteSpec, arch: ArchitectureSpec, device: torch.device, store: WeightsStore | None = None) -> SuiteBackbone:
    """``arch`` with ``suite``'s pretrained weights, in eval mode on ``device``.

    Suites with a source data set never train here: missing weights are an error that says
    how to make them (forward passes only is the point of recommending without training).
    """
    store = store or WeightsStore()
    variant = weights_variant(suite, arch, precision(device))
    tag = variant.partition(".")[2]
    if suite.source is not None:
        entry = store.find(arch.name, tag)
        if entry is None:
            raise WeightsError(
                f"no {suite.name} weights for {arch.name} in {store.root} (expected {variant}); "
                f"run `zoo pretrain --suite {suite.name} --arch {arch.name}` first"
            )
        checksum = entry.sha256
    else:
        checksum = variant
    model = create_model(arch, tag, store=store).to(device).eval()
    return SuiteBackbone(suite, arch, variant, checksum, model, device)
