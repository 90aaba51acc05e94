"""A team's model to take away: the best cell of its folder, trained once more, kept as a
safetensors file with a JSON card beside it (``zoo bench --data PATH --keep-weights DIR``).

The grid keeps no cell's weights: a cell's result is a function of its config alone, bit for
bit (``tests/test_reproducibility.py``), so the one cell worth keeping is trained again from
its config and its network saved. The cell is chosen on validation data, never on the test
split: the (architecture, strategy) whose reported seeds have the best mean validation
top-1, then its seed with the best validation top-1. The card's test top-1 is therefore an
honest estimate, measured on the saved network itself, beside the stored cell's.

``zoo.create_model(arch, weights_file=DIR/<task>.safetensors)`` loads it with its classifier
for the folder's classes (and, for a network shaped by its input size, at the card's size);
``model.zoo_weights.metadata`` is the card.
"""

from __future__ import annotations

import json
import statistics
from collections.abc import Iterable, Sequence
from pathlib import Path

from safetensors.torch import save_file

from zoo.bench.grid import Cell, CellGroup
from zoo.bench.runner import CellRunner
from zoo.errors import ZooError
from zoo.models.architectures import card_path
from zoo.models.weights import sha256_of
from zoo.results.schema import CellResult
from zoo.results.sweep import chosen_lrs
from zoo.version import __version__


def best_cell(groups: Iterable[CellGroup], rows: Iterable[CellResult]) -> tuple[Cell, CellResult] | None:
    """Of one task's groups, the cell to keep and its stored row: the group whose ``ok``
    cells at its chosen rate have the best mean validation top-1, then within it the seed
    with the best validation top-1 (ties: the lower seed). None when no group has one."""
    rows = list(rows)
    chosen, stored = chosen_lrs(rows), {r.key: r for r in rows if r.status == "ok" and r.val_top1 is not None}
    best = None
    for group in groups:
        if group.key not in chosen:
            continue
        cells = [group.at(seed, chosen[group.key]) for seed in range(group.seeds)]
        done = [(cell, stored[cell.key]) for cell in cells if cell.key in stored]
        if not done:
            continue
        mean = statistics.fmean(row.val_top1 for _, row in done)
        cell, row = max(done, key=lambda pair: (pair[1].val_top1, -pair[0].seed))
        if best is None or mean > best[0]:
            best = (mean, cell, row)
    return None if best is None else best[1:]


def keep_best(runner: CellRunner, groups: Sequence[CellGroup], rows: Iterable[CellResult], out: Path) -> tuple[Path, dict]:
    """Train the task's best cell again and write ``out/<task>.safetensors`` and its card;
    the weights file's path and the card. :class:`ZooError` when the task has no cell to keep."""
    task = groups[0].base.task
    picked = best_cell(groups, rows)
    if picked is None:
        raise ZooError(f"no cell of {task} finished ok with a validation score: nothing to keep (see the bench's failures above)")
    cell, row = picked
    kept = {}
    runner.keep = lambda model, test_set: kept.update(model=model, test_set=test_set)
    try:
        again = runner.run(cell)
    finally:
        runner.keep = None
    if again.status != "ok":
        raise ZooError(f"{cell.label} trained again did not finish ({again.status}: {again.reason}); nothing kept")
    out.mkdir(parents=True, exist_ok=True)
    path = out / f"{task}.safetensors"
    state = {k: v.detach().to("cpu").contiguous() for k, v in kept["model"].state_dict().items()}
    save_file(state, path, metadata={"zoo": __version__, "architecture": cell.architecture})
    test_set = kept["test_set"]
    card = {
        "architecture": cell.architecture,
        "classes": list(test_set.classes),
        "num_classes": len(test_set.classes),
        "strategy": cell.strategy,
        "started_from": cell.weights or "random initialisation (scratch)",
        "lr": cell.recipe["lr"],
        "seed": cell.seed,
        "precision": cell.recipe["precision"],
        "preprocessing": {
            "input_size": list(cell.input_size),
            "resize": f"bilinear with antialiasing to {cell.input_size[1]}×{cell.input_size[2]}, no crop",
            "channels": "grayscale repeated to three channels",
            "scale": "pixel values / 255, then (x - mean) / std per channel",
            "mean": list(test_set.mean),
            "std": list(test_set.std),
        },
        "test_top1": again.top1,
        "test_images": again.test_images,
        "stored_test_top1": row.top1,
        "validation_top1": again.val_top1,
        "chosen_on": "the best mean validation top-1 over the folder's (architecture, strategy) groups, then the best "
        "seed's; the test split was not used to choose",
        "folder": cell.data_root,
        "task": task,
        "quadrant": cell.quadrant,
        "results_key": row.key,
        "sha256": sha256_of(path),
        "zoo": __version__,
    }
    card_path(path).write_text(json.dumps(card, indent=2, ensure_ascii=False) + "\n")
    return path, card
