"""Pretrained weights and building a backbone from its registered spec.

:func:`create_model` builds an :class:`zoo.plugin.architecture.ArchitectureSpec`'s network,
loads its pretrained weights from the local store, a file, or the timm / torchvision hubs,
and sizes its classifier.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import timm
import torchvision
from torch import nn

from zoo.errors import WeightsError
from zoo.models.weights import StateDict, WeightsStore, load_checked, read_weights_file

if TYPE_CHECKING:
    from zoo.plugin.architecture import ArchitectureSpec

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


@dataclass(frozen=True)
class HubWeights:
    """Pretrained weights published on the timm or torchvision hub (torchvision's ``Weights``)."""

    tag: str  # variant "<arch>.<tag>", as timm names them: "tv_in1k", "a1_in1k"
    hub: str  # "timm" or "torchvision"
    hub_name: str  # "resnet50.a1_in1k" for timm, "VGG16_Weights.IMAGENET1K_V1" for torchvision
    num_classes: int = 1000
    mean: tuple[float, ...] = IMAGENET_MEAN  # input normalisation the weights were trained with
    std: tuple[float, ...] = IMAGENET_STD
    dataset: str = "imagenet-1k"


def timm_hub_weights(name: str) -> tuple[HubWeights, ...]:
    """Every pretrained tag timm publishes for ``name``, timm's default first."""
    weights = []
    for full_name, cfg in timm.models.get_arch_pretrained_cfgs(name).items():
        weights.append(
            HubWeights(
                tag=full_name.split(".", 1)[1],
                hub="timm",
                hub_name=full_name,
                num_classes=cfg.num_classes,
                mean=tuple(cfg.mean),
                std=tuple(cfg.std),
                dataset=_dataset_of(full_name),
            )
        )
    return tuple(weights)


def _dataset_of(full_name: str) -> str:
    tag = full_name.split(".", 1)[1]
    return "imagenet-1k" if tag.endswith("in1k") else tag.rsplit("_", 1)[-1]


def torchvision_hub_weights(name: str, mean=IMAGENET_MEAN, std=IMAGENET_STD) -> tuple[HubWeights, ...]:
    """torchvision's ImageNet classification weights for ``name``, ``DEFAULT`` first.

    Tags follow timm's names for the same files (``IMAGENET1K_V1`` is ``tv_in1k``, ``_V2`` is
    ``tv2_in1k``). Feature-only weights without a classifier (VGG-16's ``IMAGENET1K_FEATURES``)
    are left out.
    """
    enum = torchvision.models.get_model_weights(name)
    ordered = [enum.DEFAULT] + [w for w in enum if w is not enum.DEFAULT]
    return tuple(
        HubWeights(
            tag="tv_in1k" if w.name == "IMAGENET1K_V1" else f"tv{w.name.removeprefix('IMAGENET1K_V')}_in1k",
            hub="torchvision",
            hub_name=f"{enum.__name__}.{w.name}",
            num_classes=len(w.meta["categories"]),
            mean=mean,
            std=std,
        )
        for w in ordered
        if w.name.startswith("IMAGENET1K_V")
    )


@dataclass
class LoadedWeights:
    """Where a model's weights came from, kept on the model as ``model.zoo_weights``."""

    variant: str  # "<arch>.<tag>", or the file path
    source: str  # "store", "file", "timm" or "torchvision"
    mean: tuple[float, ...] = IMAGENET_MEAN
    std: tuple[float, ...] = IMAGENET_STD
    metadata: dict = field(default_factory=dict)


def build_network(spec: ArchitectureSpec, num_classes: int = 1000, img_size: int | None = None) -> nn.Module:
    """``spec``'s network, randomly initialised; an ``input_sized`` one shaped for ``img_size``
    (default: its default input side), every other one the same whatever the size."""
    if spec.input_sized:
        return spec.build(num_classes=num_classes, img_size=img_size or spec.default_input_size[1])
    return spec.build(num_classes=num_classes)


def create_model(
    spec: ArchitectureSpec,
    pretrained: bool | str = False,
    num_classes: int | None = None,
    weights_file: str | Path | None = None,
    store: WeightsStore | None = None,
    img_size: int | None = None,
) -> nn.Module:
    """Build ``spec``'s network, load weights, and give it a ``num_classes`` classifier.

    :param pretrained: ``False`` for random initialisation, ``True`` for the default weights,
        or a tag. A tag is looked up in the local store first, then on the hubs.
    :param weights_file: a ``.safetensors`` or ``torch.save`` file to load instead.
    :param img_size: the input side an ``input_sized`` network is shaped for; by default the
        side its stored weights were trained at, else its default input side.
    """
    store = store or WeightsStore()
    if img_size is None and spec.input_sized and isinstance(pretrained, str):
        stored = store.find(spec.name, pretrained)
        img_size = stored.metadata.get("input_size", [None, None])[1] if stored else None
    net = build_network(spec, 1000, img_size)
    loaded = None
    if weights_file is not None:
        state = read_weights_file(weights_file)
        load_checked(net, state, f"file {weights_file}")
        loaded = LoadedWeights(str(weights_file), "file")
    elif pretrained:
        loaded = _load_pretrained(spec, net, pretrained, store)
    if num_classes is not None and num_classes != net.num_classes:
        net.reset_classifier(num_classes)
    net.zoo_weights = loaded
    return net


def _load_pretrained(spec: ArchitectureSpec, net: nn.Module, pretrained: bool | str, store: WeightsStore) -> LoadedWeights:
    if pretrained is True:
        if spec.default_weights is None:
            raise WeightsError(_no_weights_message(spec, store))
        tag = spec.default_weights.tag
    else:
        tag = pretrained
    stored = store.find(spec.name, tag)
    if stored is not None:
        load_checked(net, store.load(stored), f"file {stored.path}")
        meta = stored.metadata
        return LoadedWeights(
            f"{spec.name}.{tag}", "store", tuple(meta.get("mean", IMAGENET_MEAN)), tuple(meta.get("std", IMAGENET_STD)), meta
        )
    hub = next((w for w in spec.hub_weights if w.tag == tag), None)
    if hub is None:
        raise WeightsError(_no_weights_message(spec, store, tag))
    state = _download(spec, net, hub)
    load_checked(net, state, f"the {hub.hub} hub ({hub.hub_name})")
    return LoadedWeights(f"{spec.name}.{tag}", hub.hub, hub.mean, hub.std)


def _download(spec: ArchitectureSpec, net: nn.Module, hub: HubWeights) -> StateDict:
    """Fetch hub weights as the hub's own library does; offline this fails with advice."""
    try:
        if hub.hub == "timm":
            return timm.create_model(hub.hub_name, pretrained=True).state_dict()
        state = torchvision.models.get_weight(hub.hub_name).get_state_dict(progress=False, check_hash=True)
        return net.remap_state_dict(state)
    except Exception as exc:  # DNS, HTTP, hub and checksum errors alike: the download failed
        raise WeightsError(
            f"cannot download {spec.name}.{hub.tag} from the {hub.hub} hub ({type(exc).__name__}: {exc}); "
            "offline, load a weights file instead (--weights PATH)"
        ) from None


def _no_weights_message(spec: ArchitectureSpec, store: WeightsStore, tag: str | None = None) -> str:
    available = [w.tag for w in spec.hub_weights] + [e.tag for e in store.entries(spec.name)]
    what = f"no pretrained weights {spec.name}.{tag}" if tag else f"no pretrained weights for {spec.name}"
    listing = f"available tags: {', '.join(available)}" if available else f"none in {store.root} or on the hubs"
    return f"{what} ({listing}); use pretrained=False or load a weights file (--weights PATH)"
