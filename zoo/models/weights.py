"""The local weights store and safe loading of weight files.

Weights live under ``$ZOO_HOME/weights`` (default ``~/.cache/zoo/weights``) as
``<arch>.<tag>.safetensors`` beside ``<arch>.<tag>.json``, whose ``sha256`` is checked on
every load. Files are read with safetensors or ``torch.load(weights_only=True)``: nothing
executes pickled code, and a corrupt, tampered or mismatched file is refused whole, with a
message naming it.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

import torch
from safetensors.torch import load_file, save_file
from torch import nn

from zoo.errors import WeightsError
from zoo.paths import zoo_home

StateDict = dict[str, torch.Tensor]


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def read_weights_file(path: str | Path, sha256: str | None = None) -> StateDict:
    """Tensors of a ``.safetensors`` file or a ``torch.save`` file, without running pickled code.

    A ``torch.save`` checkpoint may hold the state dict itself or under ``state_dict`` or
    ``model`` (the layouts of torchvision's and timm's training scripts).
    """
    path = Path(path)
    if not path.is_file():
        raise WeightsError(f"weights file {path} does not exist")
    if sha256 is not None:
        actual = sha256_of(path)
        if actual != sha256:
            raise WeightsError(
                f"weights file {path} has sha256 {actual}, expected {sha256}: "
                "it is corrupt or was changed; delete it and fetch or train it again"
            )
    try:
        if path.suffix == ".safetensors":
            state = load_file(path)
        else:
            state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # corrupt archives, truncated files, refused pickles: all unreadable
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise WeightsError(f"cannot read weights file {path}: {reason}") from None
    if isinstance(state, Mapping):
        for key in ("state_dict", "model"):
            if isinstance(state.get(key), Mapping):
                state = state[key]
    if not isinstance(state, Mapping) or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise WeightsError(f"weights file {path} holds no state dict of tensors")
    return dict(state)


def load_checked(net: nn.Module, state: Mapping[str, torch.Tensor], origin: str) -> None:
    """Load ``state`` into ``net`` only if every key and shape fits; otherwise load nothing.

    A checkpoint whose classifier has another number of classes is accepted: the network's
    classifier is first resized to it (the caller resets it afterwards for its own task).
    """
    classifier = _classifier_path(net)
    weight = state.get(f"{classifier}.weight")
    if weight is not None and weight.ndim == 2 and weight.shape[0] != net.num_classes:
        net.reset_classifier(weight.shape[0])
    own = net.state_dict()
    missing = sorted(own.keys() - state.keys())
    unexpected = sorted(state.keys() - own.keys())
    mismatched = sorted(k for k in own.keys() & state.keys() if own[k].shape != state[k].shape)
    problems = [
        f"{len(keys)} {what} (first: {keys[0]})"
        for what, keys in (("missing keys", missing), ("unexpected keys", unexpected), ("shape mismatches", mismatched))
        if keys
    ]
    if problems:
        raise WeightsError(
            f"weights from {origin} do not fit {type(net).__name__}: {'; '.join(problems)}; "
            "check that they were saved for this architecture"
        )
    net.load_state_dict(state, strict=True)


def _classifier_path(net: nn.Module) -> str:
    classifier = net.get_classifier()
    return next(name for name, module in net.named_modules() if module is classifier)


@dataclass(frozen=True)
class StoredWeights:
    """One entry of the local weights store, as described by its JSON file."""

    architecture: str  # registry name of the architecture
    tag: str  # the variant is "<architecture>.<tag>"
    path: Path  # the .safetensors file
    sha256: str  # of the .safetensors file, checked on every load
    metadata: dict = field(default_factory=dict)  # everything else the JSON holds


class WeightsStore:
    """Weights files with checksums and metadata under one directory."""

    def __init__(self, root: Path | None = None):
        self.root = root or zoo_home() / "weights"

    def _paths(self, architecture: str, tag: str) -> tuple[Path, Path]:
        stem = self.root / f"{architecture}.{tag}"
        return stem.with_name(stem.name + ".safetensors"), stem.with_name(stem.name + ".json")

    def partial_path(self, architecture: str, tag: str) -> Path:
        """Where the training of these weights keeps its state until they are saved."""
        return self.root / f"{architecture}.{tag}.partial.pt"

    def save(self, architecture: str, tag: str, state: Mapping[str, torch.Tensor], **metadata) -> StoredWeights:
        """Write weights and their metadata; an existing entry of that name is replaced whole."""
        self.root.mkdir(parents=True, exist_ok=True)
        weights_path, meta_path = self._paths(architecture, tag)
        tensors = {k: v.detach().to("cpu").contiguous() for k, v in state.items()}
        with tempfile.NamedTemporaryFile(dir=self.root, suffix=".tmp", delete=False) as tmp:
            tmp_path = Path(tmp.name)
        save_file(tensors, tmp_path)
        digest = sha256_of(tmp_path)
        meta = {
            "architecture": architecture,
            "tag": tag,
            "sha256": digest,
            "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            **metadata,
        }
        os.replace(tmp_path, weights_path)
        _write_json_atomic(meta_path, meta)
        return StoredWeights(architecture, tag, weights_path, digest, meta)

    def entries(self, architecture: str | None = None) -> list[StoredWeights]:
        """Stored weights, optionally of one architecture; unreadable JSON files are skipped."""
        found = []
        for meta_path in sorted(self.root.glob(f"{architecture or '*'}.*.json")):
            try:
                meta = json.loads(meta_path.read_text())
                arch, tag, digest = meta["architecture"], meta["tag"], meta["sha256"]
            except (OSError, ValueError, KeyError, TypeError):
                continue
            if architecture is None or arch == architecture:
                found.append(StoredWeights(arch, tag, self._paths(arch, tag)[0], digest, meta))
        return found

    def find(self, architecture: str, tag: str) -> StoredWeights | None:
        return next((e for e in self.entries(architecture) if e.tag == tag), None)

    def load(self, entry: StoredWeights) -> StateDict:
        """The entry's tensors, after checking the file against its sha256."""
        return read_weights_file(entry.path, sha256=entry.sha256)


def _write_json_atomic(path: Path, data: dict) -> None:
    """Write ``path`` whole or not at all; a unique temporary name lets two processes save at once."""
    with tempfile.NamedTemporaryFile("w", dir=path.parent, suffix=".tmp", delete=False) as tmp:
        tmp.write(json.dumps(data, indent=2, sort_keys=True, default=str) + "\n")
    os.replace(tmp.name, path)
