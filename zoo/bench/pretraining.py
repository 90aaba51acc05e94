"""Source pretraining: ``zoo pretrain`` trains backbones on a suite's source data set.

The weights go to the local weights store under the tag ``<suite>-<fingerprint>``, where the
fingerprint hashes everything that shapes them: the recipe (its precision included), the
source selection, the validation share, the input size and the seed. An existing checkpoint
with that tag is reused; any change to those makes a new one, so stale weights are never
picked up silently, and a machine with an empty store rebuilds the same network from them.

Pretraining runs until more of it no longer helps: it early-stops on a validation split held
out of the source's training images (:func:`zoo.train.loop.fit`), with the recipe's epochs as a
cap, and the weights' metadata keep the validation curve and the source test accuracy. It
keeps its state after every epoch beside the weights (:mod:`zoo.train.checkpoint`): a large
backbone on a slow CPU needs more than one sitting, and a stopped pretraining goes on from its
last finished epoch to the same weights.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import time
from dataclasses import asdict, dataclass
from functools import cache

import torch

from zoo.data.images import stratified_split
from zoo.data.preprocess import channel_stats, prepare
from zoo.device import device_name
from zoo.errors import ZooError
from zoo.models.architectures import create_model
from zoo.models.weights import StoredWeights, WeightsStore
from zoo.plugin.architecture import ArchitectureSpec
from zoo.plugin.dataset import DatasetSpec
from zoo.plugin.recipe import Recipe
from zoo.plugin.registry import Registry
from zoo.plugin.suite import DataSelection, SuiteSpec, load_selection
from zoo.progress import progress
from zoo.train.checkpoint import Checkpoint
from zoo.train.loop import evaluate, fit
from zoo.version import __version__

PRETRAIN_SEED = 0


@dataclass(frozen=True)
class PretrainPlan:
    """What pretraining ``arch`` on ``suite`` means, and the tag its weights get."""

    suite: SuiteSpec
    arch: ArchitectureSpec
    precision: str = "fp32"  # what it computes in ("fp32" or "bf16" autocast)

    @property
    def input_size(self) -> tuple[int, int, int]:
        return self.suite.input_size(self.arch)

    @property
    def recipe(self) -> Recipe:
        """The suite's pretraining recipe at the architecture's learning-rate and epoch-cap
        scales and the plan's precision. Validation ends pretraining; the cap only bounds it,
        so a network that learns for longer (MobileNetV3) gets a higher one rather than every
        network's weights a new fingerprint."""
        recipe = self.suite.pretrain_recipe.at_lr_scale(self.arch.lr_scale)
        epochs = max(1, round(recipe.epochs * self.arch.pretrain_epoch_scale))
        return dataclasses.replace(recipe, epochs=epochs, precision=self.precision)

    def fingerprint(self) -> str:
        described = {
            "recipe": asdict(self.recipe),
            "source": asdict(self.suite.source),
            "validation": self.suite.pretrain_validation,
            "input_size": self.input_size,
            "seed": PRETRAIN_SEED,
        }
        return hashlib.sha256(json.dumps(described, sort_keys=True).encode()).hexdigest()[:10]

    @property
    def tag(self) -> str:
        return f"{self.suite.name}-{self.fingerprint()}"


@cache
def source_stats(datasets: Registry[DatasetSpec], source: DataSelection, channels: int) -> tuple[tuple[float, ...], tuple[float, ...]]:
    """Per-channel mean and std of the images a suite's backbones are pretrained on: the
    normalisation their weights expect, and the one scratch cells use so that every strategy
    sees its inputs scaled alike."""
    train, _ = load_selection(datasets, source, seed=PRETRAIN_SEED)
    return channel_stats(train, channels)


def plan(suite: SuiteSpec, arch: ArchitectureSpec, precision: str = "fp32") -> PretrainPlan:
    if suite.source is None:
        raise ZooError(
            f"suite {suite.name!r} uses hub weights ({suite.source_description}); there is nothing to pretrain"
        )
    return PretrainPlan(suite, arch, precision)


def pretrain(
    datasets: Registry[DatasetSpec],
    suite: SuiteSpec,
    arch: ArchitectureSpec,
    *,
    device: torch.device,
    store: WeightsStore | None = None,
    force: bool = False,
    precision: str = "fp32",
) -> tuple[StoredWeights, bool]:
    """Weights of ``arch`` pretrained on ``suite``'s source (a data set of ``datasets``, the
    plugin set's registry), and whether they were trained now.

    :param force: train again even when matching weights are stored.
    :param precision: what to compute in; part of the weights' fingerprint.
    """
    store = store or WeightsStore()
    job = plan(suite, arch, precision)
    existing = store.find(arch.name, job.tag)
    if existing is not None and not force:
        return existing, False

    recipe = job.recipe
    train, test = load_selection(datasets, suite.source, seed=PRETRAIN_SEED)
    mean, std = source_stats(datasets, suite.source, job.input_size[0])
    fit_index, val_index = stratified_split(train.labels, suite.pretrain_validation, PRETRAIN_SEED)
    mirror = datasets.get(suite.source.dataset).mirror_invariant
    train_set, val_set, test_set = (
        prepare(part, job.input_size, mean, std, mirror).to(device) for part in (train.subset(fit_index), train.subset(val_index), test)
    )

    torch.manual_seed(PRETRAIN_SEED)
    model = create_model(arch, num_classes=len(train.classes), img_size=job.input_size[1]).to(device)
    checkpoint = Checkpoint(store.partial_path(arch.name, job.tag), job.tag)
    started = time.perf_counter()
    with progress(f"pretrain {arch.name} on {suite.name}", recipe.epochs) as bar:
        stats = fit(
            model,
            train_set,
            recipe,
            seed=PRETRAIN_SEED,
            device=device,
            validation=val_set,
            on_epoch=lambda epoch, loss: bar.update(epoch, f"loss {loss:.3f}"),
            checkpoint=checkpoint,
        )
    accuracy = evaluate(model, test_set, device, recipe.precision)
    entry = store.save(
        arch.name,
        job.tag,
        model.state_dict(),
        suite=suite.name,
        dataset=f"{suite.name} source: {suite.source_description}",
        classes=list(train.classes),
        num_classes=len(train.classes),
        input_size=list(job.input_size),
        mean=list(mean),
        std=list(std),
        recipe=asdict(recipe),
        source=asdict(suite.source),
        epochs=stats.epochs,
        epoch_cap=recipe.epochs,
        best_epoch=stats.best_epoch,
        stopped_early=stats.stopped_early,
        source_val_top1=stats.val_top1,
        curve=stats.curve,
        source_train_images=len(train_set),
        source_val_images=len(val_set),
        source_test_images=len(test),
        source_test_accuracy=round(accuracy.top1, 4),
        source_test_mean_per_class=round(accuracy.mean_per_class, 4),
        train_images_per_second=round(stats.images_per_second, 1),
        seconds=round(stats.earlier_seconds + time.perf_counter() - started, 1),
        resumed_at_epoch=stats.resumed_at,  # 0: in one go
        device=str(device),
        torch_version=torch.__version__,
        zoo_version=__version__,
        machine=device_name(device),
        precision=recipe.precision,
    )
    checkpoint.remove()
    return entry, True
