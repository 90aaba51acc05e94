"""Pooled features of a suite's pretrained backbones, without training anything.

``zoo recommend`` looks at a team's images only through the backbones a suite pretrained:
how far their features lie from the source domain's (:mod:`zoo.recommend.similarity`) and how well
they explain the labels (:mod:`zoo.recommend.logme`). Both read the ``num_features``-wide vector the
classifier sees, timm's ``forward_head(x, pre_logits=True)``, so VGG's fc7, ResNet's pooled
stage 4 and simple_cnn's fc 128 play the same part; the similarity also reads the stem's
feature maps, averaged per channel, and what its first BatchNorm layer normalises (why:
:mod:`zoo.recommend.similarity`). Images are brought to the suite's input
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
from zoo.models.backbone import stage_module, stages, stem_batchnorm
from zoo.models.weights import WeightsStore
from zoo.plugin.architecture import ArchitectureSpec, present_weights
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
    def stem_features(self, data: ImageSet) -> Stem:
        """What the stem makes of ``data`` (:class:`Stem`), on the CPU."""
        return self._pass(data, through_body=False)[0]

    @torch.no_grad()
    def features(self, data: ImageSet) -> Features:
        """The stem's view, the pooled features and the source classifier's logits of ``data``,
        in one pass."""
        stem, pooled, logits = self._pass(data, through_body=True)
        return Features(stem, pooled, logits)

    def _pass(self, data: ImageSet, through_body: bool) -> tuple[Stem, torch.Tensor | None, torch.Tensor | None]:
        """The stem's view of ``data`` from hooks on the stem, and with ``through_body`` the
        network's own ``forward_features`` and ``forward_head`` (whatever its stages hold)."""
        stem = stages(self.model)[0]
        means: list[torch.Tensor] = []
        moments: list[torch.Tensor] = []
        last = self.model.get_submodule(stem.modules[-1])
        hooks = [last.register_forward_hook(lambda _m, _i, out: means.append(out.float().mean((2, 3)).cpu()))]
        norm = stem_batchnorm(self.model)
        if norm is not None:  # per image and channel, the mean and mean square of what the BatchNorm normalises
            hooks.append(norm.register_forward_hook(lambda _m, inputs, _o: moments.append(_moments(inputs[0]))))
        run_stem = stage_module(self.model, stem)
        pooled, logits = [], []
        try:
            for images, _ in self._prepared(data).batches(BATCH_SIZE):
                images = images.contiguous(memory_format=torch.channels_last)
                with autocast(self.device):
                    if not through_body:
                        run_stem(images)
                        continue
                    x = self.model.forward_features(images)
                    pooled.append(self.model.forward_head(x, pre_logits=True).float().cpu())
                    logits.append(self.model.forward_head(x).float().cpu())
        finally:
            for hook in hooks:
                hook.remove()
        view = Stem(torch.cat(means), torch.cat(moments) if moments else None)
        return view, (torch.cat(pooled) if pooled else None), (torch.cat(logits) if logits else None)


def _moments(x: torch.Tensor) -> torch.Tensor:
    """[N, 2, C]: each image's per-channel mean and mean square of ``x`` [N, C, H, W], float32 on the CPU."""
    x = x.float()
    return torch.stack((x.mean((2, 3)), x.pow(2).mean((2, 3))), 1).cpu()


@dataclass(frozen=True)
class Stem:
    """What the stem makes of some images: the imaging domain (:mod:`zoo.recommend.similarity`)."""

    means: torch.Tensor  # [N, C] per-channel means of the stem's output feature maps
    # [N, 2, C] per-channel mean and mean square of the input to the stem's first BatchNorm
    # (zoo.models.backbone.stem_batchnorm), comparable with its running statistics; None without one
    moments: torch.Tensor | None

    def __len__(self) -> int:
        return len(self.means)


@dataclass(frozen=True)
class Features:
    """What :mod:`zoo.recommend.placement` reads of a backbone's view of some images."""

    stem: Stem  # the imaging domain
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


def available_architectures(plugins: PluginSet, suite: SuiteSpec, store: WeightsStore | None = None, precision: str = "fp32") -> list[str]:
    """Architectures of ``plugins`` whose weights for ``suite`` load here without the internet,
    by name: for a suite with a source data set, those ``zoo pretrain`` stored (pretrained in
    ``precision``); otherwise the default ImageNet weights, from the local store, an installed
    package or the hubs' cache of an earlier download."""
    store = store or WeightsStore()
    registry = plugins.architectures
    found = []
    for name in registry.names():
        arch = registry.get(name)
        try:
            variant = weights_variant(suite, arch, precision)
        except ZooError:
            continue
        if store.find(name, variant.partition(".")[2]) is not None:
            found.append(name)
        elif suite.source is None and variant in {row["variant"] for row in present_weights(arch)}:
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
    # channels_last: on the 2-core EPYC, inference at 64×64, batch 256, ran at 700 images/s against
    # 351 contiguous for efficientnet_lite0 and 733 against 633 for resnet18 (`zoo speed --arch
    # efficientnet_lite0,resnet18 --img-size 64 --batch-size 256 [--no-]channels-last`)
    model = create_model(arch, tag, store=store).to(device, memory_format=torch.channels_last).eval()
    return SuiteBackbone(suite, arch, variant, checksum, model, device)
