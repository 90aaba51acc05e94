"""A team's own image folder as one more task of a suite's grid (``zoo bench --data PATH``).

The folder is read by the registered data set that reads folders (``DatasetSpec.reads_folders``:
the built-in ``imagefolder`` plugin's), split into train and test (its own
``train/`` and ``test/`` folders, else a seeded stratified 80/20 split), and placed in the
suite's size–similarity matrix the way ``zoo recommend`` places it: size against the suite's
threshold, similarity to the suite's source measured through its pretrained backbones. The
task then trains with the budget of the suite's own tasks of the same size, so its cells sit
in the leaderboards beside the suite's and answer for the team's data.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Sequence
from pathlib import Path

import torch

from zoo.bench.pretraining import pretrain
from zoo.device import precision
from zoo.errors import ZooError
from zoo.plugin.manager import PluginSet
from zoo.plugin.suite import DataSelection, SuiteSpec, TaskSpec
from zoo.recommend.placement import measure_quadrant


def task_name(root: Path) -> str:
    """``data_<folder name>``, in characters safe in file names and shell patterns."""
    slug = re.sub(r"[^A-Za-z0-9_.-]+", "_", root.resolve().name).strip("_") or "folder"
    return f"data_{slug}"


def require_folder(path: Path | str) -> Path:
    """``path`` if it is a folder; else one clear error (before any backbone is pretrained)."""
    root = Path(path)
    if not root.is_dir():
        raise ZooError(f"--data {path}: no such folder; point it at a folder with one sub-folder of images per class")
    return root


def folder_task(
    plugins: PluginSet, path: Path | str, suite: SuiteSpec, archs: Sequence[str], device: torch.device, small_threshold: int | None = None
) -> TaskSpec:
    """The task ``path`` becomes in ``suite``'s grid, read by the data set of ``plugins`` that
    reads folders; its quadrant measured through ``archs``. Their weights for ``suite`` are
    pretrained first where missing (the grid would need them anyway), since placing the
    folder in the matrix reads it through them; a missing folder or folder reader is an error
    before any of that."""
    root = require_folder(path)
    reader = plugins.folder_reader()
    if suite.source is not None:
        for name in archs:
            pretrain(plugins.datasets, suite, plugins.architectures.get(name), device=device, precision=precision(device))
    placement = measure_quadrant(plugins, root, suite, archs=archs, device=device, small_threshold=small_threshold)
    why = (
        f"measured: {placement.size.median:g} training images per class against {placement.size.threshold} "
        f"({placement.size.verdict}); similarity position {placement.position:+.2f} ({placement.similarity_verdict})"
    )
    task = TaskSpec(
        task_name(root), DataSelection(reader.name), placement.size.verdict, placement.similarity_verdict, why,
        root=str(root.resolve()),
    )  # fmt: skip
    like = next((t for t in suite.tasks if t.size == task.size), None)
    if like is None:
        return task
    return dataclasses.replace(
        task, epochs=like.epochs, seeds=like.seeds, batch_size=like.batch_size, patience=like.patience, validation=like.validation
    )
