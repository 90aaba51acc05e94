"""The data set kind: what a data set plugin registers, and how ``zoo info`` and ``zoo list``
show one."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from zoo.errors import ZooError

if TYPE_CHECKING:
    from zoo.data.images import ImageSet
    from zoo.plugin.manager import PluginSet


@dataclass(frozen=True)
class DatasetSpec:
    """A registered data set (what torchvision's dataset classes know, as data)."""

    name: str  # registry name ("fashion_mnist")
    description: str  # one line for listings
    load: Callable[..., ImageSet]  # load(split, *, root=None, download=False, size=None) -> ImageSet
    classes: tuple[str, ...]  # class names in label order; empty when the user's folder decides
    channels: int  # 1 grayscale, 3 colour
    native_size: tuple[int, int] | None  # (H, W) as stored; None when images vary
    source: str  # where the files come from, and how to get them
    splits: tuple[str, ...] = ("train", "test")
    split_note: str = ""  # how the splits are made when the data set has no official ones
    mirror_invariant: bool = True  # may augmentation flip images left-right? (not for digits)
    reads_folders: bool = False  # load(split, root=PATH) reads a team's own image folder (zoo recommend, zoo bench --data)
    extra: dict = field(default_factory=dict)  # anything else worth showing in `zoo info`


def validate_dataset_spec(spec: DatasetSpec) -> str | None:
    if not callable(spec.load):
        return "load is not callable"
    if spec.channels not in (1, 3):
        return f"channels must be 1 or 3, got {spec.channels!r}"
    if not spec.splits:
        return "a data set needs at least one split"
    return None


def describe(plugins: PluginSet, spec: DatasetSpec, plugin: str) -> dict:
    """What ``zoo info`` reports about a data set, with per-class counts when its files are here."""
    info = {
        "name": spec.name,
        "kind": "dataset",
        "plugin": plugin,
        "description": spec.description,
        "source": spec.source,
        "classes": list(spec.classes),
        "channels": spec.channels,
        "native_size": list(spec.native_size) if spec.native_size else None,
        "splits": list(spec.splits),
        "split_note": spec.split_note,
        "mirror_invariant": spec.mirror_invariant,
        "per_class_counts": None,
        "unavailable": None,
    }
    if spec.classes:  # a user's folder has no counts until it is pointed at
        try:
            info["per_class_counts"] = {split: spec.load(split).counts() for split in spec.splits}
        except ZooError as exc:
            info["unavailable"] = str(exc)
    return info


def render(info: dict) -> str:
    """``zoo info``'s text for a data set, from :func:`describe`'s data."""
    lines = [
        f"{info['name']} — {info['description']}",
        f"  plugin:       {info['plugin']}",
        f"  source:       {info['source']}",
        f"  images:       {info['channels']} channel(s), "
        + ("×".join(map(str, info["native_size"])) if info["native_size"] else "sizes vary"),
        f"  splits:       {', '.join(info['splits'])}" + (f" ({info['split_note']})" if info["split_note"] else ""),
        f"  classes:      {', '.join(info['classes']) or 'the folder’s sub-folders'}",
    ]
    if info["per_class_counts"]:
        lines += [f"  {split + ':':<13} {counts} per class" for split, counts in info["per_class_counts"].items()]
    if info["unavailable"]:
        lines.append(f"  not available here: {info['unavailable']}")
    return "\n".join(lines)


def summary(spec: DatasetSpec) -> dict:
    """The columns ``zoo list`` shows for a data set besides its name and plugin."""
    return {"description": spec.description}
