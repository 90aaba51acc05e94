"""Source pretraining into the weights store: trained once, reused, retrained on any change."""

import dataclasses
import json

import pytest
import torch

import zoo
from zoo.bench.pretraining import plan, pretrain
from zoo.cli.main import main
from zoo.errors import ZooError
from zoo.models.weights import WeightsStore
from zoo.plugin.recipe import Recipe
from zoo.plugin.suite import DataSelection
from zoo.train.checkpoint import Checkpoint
from zoo_plugins import datasets as offline

pytestmark = pytest.mark.skipif(
    not (offline.fashion_mnist_dir() / "train-images-idx3-ubyte.gz").exists(),
    reason="Fashion-MNIST not installed: run `make test` as root, or apt-get install dataset-fashion-mnist",
)

CPU = torch.device("cpu")


@pytest.fixture
def tiny_suite():
    """The mini suite's source at 30 images per class and one epoch."""
    mini = zoo.get_zoo().suites.get("mini")
    return dataclasses.replace(
        mini,
        name="tiny",
        source=DataSelection("fashion_mnist", mini.source.classes, 30, 20),
        pretrain_recipe=Recipe(epochs=1, batch_size=32),
    )


def test_pretrain_stores_weights_with_metadata_and_reuses_them(tiny_suite):
    arch = zoo.get_zoo().architectures.get("simple_cnn")
    entry, trained = pretrain(zoo.get_zoo().datasets, tiny_suite, arch, device=CPU)
    assert trained and entry.tag == plan(tiny_suite, arch).tag and entry.tag.startswith("tiny-")
    meta = json.loads(entry.path.with_suffix(".json").read_text())
    assert meta["architecture"] == "simple_cnn" and meta["suite"] == "tiny"
    assert meta["epochs"] == 1 and meta["recipe"]["batch_size"] == 32
    assert meta["source_train_images"] + meta["source_val_images"] == 180 and meta["source_val_images"] == 18
    assert meta["source_test_images"] == 120 and 1 <= meta["best_epoch"] <= meta["epochs"] and meta["curve"]
    assert 0 <= meta["source_test_accuracy"] <= 1 and meta["seconds"] > 0
    assert meta["classes"] == list(tiny_suite.source.classes) and len(meta["mean"]) == 3

    again, trained_again = pretrain(zoo.get_zoo().datasets, tiny_suite, arch, device=CPU)
    assert not trained_again and again.sha256 == entry.sha256

    model = zoo.create_model(f"simple_cnn.{entry.tag}", num_classes=4)
    assert model.zoo_weights.source == "store" and model.zoo_weights.mean == tuple(meta["mean"])
    stored = WeightsStore().load(entry)
    torch.testing.assert_close(model.conv1[0].weight, stored["conv1.0.weight"])


def test_a_changed_recipe_or_source_makes_new_weights(tiny_suite):
    arch = zoo.get_zoo().architectures.get("simple_cnn")
    first, _ = pretrain(zoo.get_zoo().datasets, tiny_suite, arch, device=CPU)
    longer = dataclasses.replace(tiny_suite, pretrain_recipe=Recipe(epochs=2, batch_size=32))
    fewer = dataclasses.replace(tiny_suite, source=dataclasses.replace(tiny_suite.source, train_per_class=20))
    tags = {first.tag, plan(longer, arch).tag, plan(fewer, arch).tag}
    assert len(tags) == 3
    second, trained = pretrain(zoo.get_zoo().datasets, longer, arch, device=CPU)
    assert trained and second.metadata["epochs"] == 2
    assert {e.tag for e in WeightsStore().entries("simple_cnn")} == {first.tag, second.tag}


def test_a_stopped_pretraining_goes_on_from_its_last_epoch_to_the_same_weights(tiny_suite, tmp_path, monkeypatch):
    suite = dataclasses.replace(tiny_suite, pretrain_recipe=Recipe(epochs=4, batch_size=32))  # augmented, with dropout
    arch, datasets = zoo.get_zoo().architectures.get("simple_cnn"), zoo.get_zoo().datasets
    whole, _ = pretrain(datasets, suite, arch, device=CPU, store=WeightsStore(tmp_path / "whole"))

    store = WeightsStore(tmp_path / "stopped")
    partial = store.partial_path(arch.name, whole.tag)
    save = Checkpoint.save

    def killed_after_epoch_two(self, state):
        save(self, state)
        if state["epochs"] == 2:
            raise KeyboardInterrupt  # the session's time limit

    monkeypatch.setattr(Checkpoint, "save", killed_after_epoch_two)
    with pytest.raises(KeyboardInterrupt):
        pretrain(datasets, suite, arch, device=CPU, store=store)
    assert partial.is_file() and store.find(arch.name, whole.tag) is None
    monkeypatch.undo()

    resumed, trained = pretrain(datasets, suite, arch, device=CPU, store=store)
    assert trained and resumed.sha256 == whole.sha256, "the resumed run ended elsewhere than the uninterrupted one"
    assert resumed.metadata["resumed_at_epoch"] == 2 and whole.metadata["resumed_at_epoch"] == 0
    assert resumed.metadata["curve"] == whole.metadata["curve"] and not partial.exists()

    torn = WeightsStore(tmp_path / "torn")
    torn.partial_path(arch.name, whole.tag).parent.mkdir(parents=True)
    torn.partial_path(arch.name, whole.tag).write_bytes(b"cut short while written")
    again, _ = pretrain(datasets, suite, arch, device=CPU, store=torn)
    assert again.sha256 == whole.sha256 and again.metadata["resumed_at_epoch"] == 0


def test_an_architectures_epoch_scale_raises_its_cap_alone():
    mini, archs = zoo.get_zoo().suites.get("mini"), zoo.get_zoo().architectures
    # The committed results' weights: a change that renamed them would orphan every stored cell.
    assert {plan(mini, archs.get(name)).tag for name in ("resnet18", "googlenet")} == {"mini-1176cc3d13"}
    mobilenet = plan(mini, archs.get("mobilenetv3_small_100"))
    assert mobilenet.recipe.epochs == 3 * mini.pretrain_recipe.epochs and mobilenet.tag != "mini-1176cc3d13"
    halved = dataclasses.replace(archs.get("simple_cnn"), pretrain_epoch_scale=0.5)
    assert plan(mini, halved).recipe.epochs == mini.pretrain_recipe.epochs // 2


def test_force_trains_again(tiny_suite):
    arch = zoo.get_zoo().architectures.get("simple_cnn")
    first, _ = pretrain(zoo.get_zoo().datasets, tiny_suite, arch, device=CPU)
    again, trained = pretrain(zoo.get_zoo().datasets, tiny_suite, arch, device=CPU, force=True)
    assert trained and again.tag == first.tag


def test_inception_v3_is_pretrained_at_its_minimum_size():
    mini = zoo.get_zoo().suites.get("mini")
    assert plan(mini, zoo.get_zoo().architectures.get("inception_v3")).input_size == (3, 75, 75)
    assert plan(mini, zoo.get_zoo().architectures.get("resnet18")).input_size == (3, 32, 32)


def test_hub_suites_have_nothing_to_pretrain():
    with pytest.raises(ZooError, match="suite 'imagenet' uses hub weights"):
        plan(zoo.get_zoo().suites.get("imagenet"), zoo.get_zoo().architectures.get("resnet18"))


@pytest.mark.parametrize(
    "argv, message",
    [
        (["pretrain", "--arch", "resnet1"], "unknown architecture 'resnet1': did you mean resnet18"),
        (["pretrain", "--arch", "nothing*"], "no architecture matches 'nothing*'"),
        (["pretrain", "--suite", "imagenet", "--arch", "resnet18"], "suite 'imagenet' uses hub weights"),
        (["pretrain", "--suite", "minii", "--arch", "resnet18"], "unknown suite 'minii': did you mean mini?"),
        (["pretrain", "--arch", "resnet18", "--device", "cuda:7"], "device 'cuda:7' is not available"),
    ],
)
def test_pretrain_command_errors(capsys, argv, message):
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"zoo: error: {message}") and "Traceback" not in err
