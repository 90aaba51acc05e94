"""What ``zoo info`` reports about each kind of entry, as plain data (snake_case keys).

The command line prints it as text or JSON; anything else (leaderboards, notebooks) can use
the same dictionaries.
"""

from __future__ import annotations

from dataclasses import asdict

from zoo.bench.suites import SuiteSpec, load_selection
from zoo.data.images import DatasetSpec
from zoo.errors import ZooError
from zoo.models.architectures import ArchitectureSpec
from zoo.models.backbone import classifier_width, stage_parameters
from zoo.models.backbone import stages as stages_of
from zoo.models.complexity import build_meta, measure
from zoo.models.weights import WeightsStore
from zoo.plugin.registry import Registry
from zoo.train.strategies import StrategySpec


def architecture_info(spec: ArchitectureSpec, plugin: str) -> dict:
    """Everything ``zoo info`` reports about an architecture, under snake_case keys."""
    model = build_meta(spec)
    complexity = measure(model, spec.default_input_size)
    stages = [
        {
            "name": stage.name,
            "modules": list(stage.modules),
            "params": sum(p.numel() for p in stage_parameters(model, stage).values()),
        }
        for stage in stages_of(model)
    ]
    weights = [
        {"variant": f"{spec.name}.{w.tag}", "source": w.hub, "dataset": w.dataset, "default": w is spec.default_weights}
        for w in spec.hub_weights
    ] + [
        {"variant": f"{spec.name}.{e.tag}", "source": "store", "dataset": e.metadata.get("dataset", ""), "default": False}
        for e in WeightsStore().entries(spec.name)
    ]
    return {
        "name": spec.name,
        "kind": "architecture",
        "family": spec.family,
        "plugin": plugin,
        "description": spec.description,
        "paper": spec.paper,
        "params": complexity.params,
        "macs": complexity.macs,
        "flops": complexity.flops,
        "complexity_input_size": list(complexity.input_size),
        "complexity_method": complexity.method,
        "num_features": classifier_width(model),
        "default_input_size": list(spec.default_input_size),
        "min_input_size": list(spec.min_input_size),
        "stages": stages,
        "pretrained_weights": weights,
        "reference": spec.reference,
        "differences": spec.differences,
        "lr_scale": spec.lr_scale,
        "pretrain_epoch_scale": spec.pretrain_epoch_scale,
    }


def strategy_info(spec: StrategySpec, plugin: str) -> dict:
    """What ``zoo info`` reports about a strategy: its phases and where it is recommended."""
    return {
        "name": spec.name,
        "kind": "strategy",
        "plugin": plugin,
        "description": spec.description,
        "pretrained": spec.pretrained,
        "quadrants": list(spec.quadrants),
        "paper": spec.paper,
        "phases": [{**asdict(phase), "trains": phase.describe()} for phase in spec.phases],
        "penalty": spec.penalty is not None,
        "options": {name: default for name, default in spec.options().items()},
    }


def dataset_info(spec: DatasetSpec, plugin: str) -> dict:
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


def suite_info(datasets: Registry[DatasetSpec], suite: SuiteSpec, plugin: str) -> dict:
    """What ``zoo info`` reports about a suite: source, tasks, quadrants, real per-class counts
    (the images counted as ``datasets``, the plugin set's registry, loads them)."""
    def selection(data) -> dict:
        described = {
            "dataset": data.dataset,
            "classes": list(data.classes) or "all",
            "train_per_class_budget": data.train_per_class or "all",
            "test_per_class_budget": data.test_per_class or "all",
            "train_per_class": None,
            "test_per_class": None,
            "unavailable": None,
        }
        try:
            train, test = load_selection(datasets, data, seed=0)
        except ZooError as exc:
            described["unavailable"] = str(exc)
        else:
            described.update(train_per_class=train.counts(), test_per_class=test.counts(), classes=list(train.classes))
        return described

    return {
        "name": suite.name,
        "kind": "suite",
        "plugin": plugin,
        "description": suite.description,
        "source_description": suite.source_description,
        "source": selection(suite.source) if suite.source else None,
        "pretrain_recipe": asdict(suite.pretrain_recipe) if suite.pretrain_recipe else None,
        "pretrain_validation": suite.pretrain_validation if suite.source else None,
        "lr_factors": list(suite.lr_factors),
        "lr_extensions": suite.lr_extensions,
        "image_size": suite.image_size,
        "small_threshold": suite.small_threshold,
        "tasks": [
            {"name": t.name, "quadrant": t.quadrant, "size": t.size, "similarity": t.similarity, "why": t.why,
             "epochs": t.epochs, "seeds": t.seeds, "batch_size": t.batch_size, "patience": t.patience,
             "validation": t.validation, **selection(t.data)}
            for t in suite.tasks
        ],
        "notes": suite.notes,
    }
