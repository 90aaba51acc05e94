"""``zoo recommend`` on day one: an empty ``$ZOO_HOME``, no network, the ImageNet backbones that
install with zoo, and a similarity read from the statistics their stems' BatchNorm layers
recorded on ImageNet (no ImageNet image on hand)."""

import json
import math

import pytest
import torch
from torch import nn

import zoo
from zoo.bench.features import SuiteBackbone, available_architectures
from zoo.cli.main import main
from zoo.plugin.suite import DataSelection, load_selection
from zoo.recommend import DEFAULT_SUITE
from zoo.recommend.similarity import RECORDED, recorded, recorded_gap
from zoo_plugins import datasets as offline
from zoo_plugins.suites import MINI_SMALL

LITE = ["efficientnet_lite0", "efficientnet_lite1", "efficientnet_lite2"]
CPU = torch.device("cpu")

needs_data = pytest.mark.skipif(
    not (offline.fashion_mnist_dir() / "train-images-idx3-ubyte.gz").exists() or not offline.digits_png().exists(),
    reason="mini's data are not installed: run `make test` as root, or scripts/install-data.sh",
)


def _moments(x: torch.Tensor) -> torch.Tensor:
    """[N, 2, C] per-image channel means and mean squares of ``x`` [N, C, H, W]."""
    return torch.stack((x.mean((2, 3)), x.pow(2).mean((2, 3))), 1)


def gaussian_kl(m: torch.Tensor, v: torch.Tensor, mu: torch.Tensor, s2: torch.Tensor) -> float:
    return float((0.5 * (v / s2 + (m - mu) ** 2 / s2 - 1 - torch.log(v / s2))).mean())


def test_the_gap_is_the_gaussian_kl_divergence_of_the_pixels_from_the_recorded_statistics():
    g = torch.Generator().manual_seed(0)
    mean, std = torch.tensor([0.5, -1.0, 2.0]), torch.tensor([1.0, 0.5, 2.0])
    x = mean[None, :, None, None] + std[None, :, None, None] * torch.randn(400, 3, 16, 16, generator=g)
    mu, s2 = torch.tensor([0.0, -1.0, 1.0]), torch.tensor([1.0, 1.0, 4.0])
    expected = gaussian_kl(mean, std**2, mu, s2)
    assert recorded_gap(_moments(x), mu, s2, 0.0) == pytest.approx(expected, abs=0.01)
    assert recorded_gap(_moments(x), mean, std**2, 0.0) == pytest.approx(0.0, abs=0.01)  # the source itself


def test_the_gap_does_not_grow_as_the_folder_shrinks():
    """Images that differ from one another (each with its own brightness) drawn from the very
    distribution the statistics were recorded on: the mean squared gap would grow as 1/N
    without the sampling correction."""
    g = torch.Generator().manual_seed(1)

    def images(n: int) -> torch.Tensor:
        return torch.randn(n, 4, 1, 1, generator=g) + 0.3 * torch.randn(n, 4, 8, 8, generator=g)

    recorded_mean, recorded_var = torch.zeros(4), torch.full((4,), 1.09)  # 1 between images + 0.09 within
    small = sum(recorded_gap(_moments(images(10)), recorded_mean, recorded_var, 0.0) for _ in range(400)) / 400
    large = sum(recorded_gap(_moments(images(1000)), recorded_mean, recorded_var, 0.0) for _ in range(40)) / 40
    assert abs(small) < 0.02 and abs(large) < 0.005


def test_a_network_fed_its_own_source_reads_no_gap():
    torch.manual_seed(0)
    net = nn.Sequential(nn.Conv2d(3, 8, 3), nn.BatchNorm2d(8, momentum=None))  # momentum None: the running average of every batch
    source = torch.rand(64, 3, 12, 12) * 2 + 1
    net.train()
    for batch in source.split(16):
        net(batch)
    net.eval()
    with torch.no_grad():
        moments = _moments(net[0](source))
    norm = net[1]
    assert recorded_gap(moments, norm.running_mean, norm.running_var + norm.eps, norm.eps) == pytest.approx(0.0, abs=0.01)
    assert recorded_gap(moments * torch.tensor([1.0, 4.0])[None, :, None], norm.running_mean, norm.running_var + norm.eps, norm.eps) > 0.5


def test_the_suites_own_backbones_are_available_with_nothing_stored():
    plugins = zoo.get_zoo()
    assert plugins.suites.get(DEFAULT_SUITE).source is None
    assert available_architectures(plugins, plugins.suites.get(DEFAULT_SUITE)) == LITE
    assert available_architectures(plugins, plugins.suites.get("mini")) == []  # an empty weights store


def test_efficientnet_stems_carry_imagenet_statistics():
    plugins = zoo.get_zoo()
    suite = plugins.suites.get(DEFAULT_SUITE)
    model = zoo.create_model("efficientnet_lite0", pretrained=True).eval()
    ref = recorded(SuiteBackbone(suite, plugins.architectures.get("efficientnet_lite0"), "efficientnet_lite0.in1k", "", model, CPU))
    assert ref is not None and ref.statistic == RECORDED
    assert ref.mean.shape == (32,) and torch.equal(ref.mean, model.bn1.running_mean)


def folder_of(selection: DataSelection, root, split: int = 1):
    """The images of ``selection`` (its test split with ``split`` 1) as a class-per-folder tree."""
    from test_recommend import export_imagefolder

    images = load_selection(zoo.get_zoo().datasets, selection, seed=3)[split]
    return export_imagefolder(images, root)


@pytest.fixture(scope="module")
def day_one_home(tmp_path_factory):
    """One empty ``$ZOO_HOME`` for the module: the first recommendation calibrates each
    backbone on the suite's tasks and stores it there, as a team's first run does."""
    return tmp_path_factory.mktemp("day-one")


@needs_data
@pytest.mark.parametrize(
    "dataset, named",
    [("digits", "different"), ("fashion_mnist", "similar")],
    ids=["opencv digits: different", "fashion-mnist test images: similar"],
)
def test_day_one_recommend_places_a_folder_from_imagenet_backbones(dataset, named, day_one_home, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("ZOO_HOME", str(day_one_home))
    folder = folder_of(DataSelection(dataset, (), None, MINI_SMALL), tmp_path / dataset)  # 20 test images per class: small
    assert main(["recommend", str(folder), "--json", "--results", str(tmp_path / "none.sqlite")]) == 0
    out, err = capsys.readouterr()
    report = json.loads(out)
    assert report["suite"] == DEFAULT_SUITE
    assert report["similarity"]["verdict"] == named and report["quadrant"] == ("Q3" if named == "different" else "Q4")
    assert report["similarity"]["statistic"] == RECORDED
    assert [b["variant"] for b in report["transferability"]["backbones"]] != []
    assert {b["variant"].partition(".")[0] for b in report["similarity"]["backbones"]} == set(LITE)
    assert report["recommendation"]["architecture"] in LITE
    assert all(b["calibration_separates_tasks"] for b in report["similarity"]["backbones"])
    assert sorted(p.name for p in day_one_home.iterdir()) == ["similarity"]  # the calibrations, and nothing pretrained
    assert "Traceback" not in err and all(math.isfinite(b["logme"]) for b in report["transferability"]["backbones"])


def test_day_one_recommend_refuses_a_folder_of_one_class_in_one_line(tmp_path, capsys):
    (tmp_path / "mine" / "only").mkdir(parents=True)
    from PIL import Image

    for i in range(3):
        Image.new("L", (28, 28), i * 40).save(tmp_path / "mine" / "only" / f"{i}.png")
    assert main(["recommend", str(tmp_path / "mine")]) == 2
    out, err = capsys.readouterr()
    [line] = err.strip().splitlines()
    assert out == "" and line.startswith("zoo: error: image folder") and "single class" in line
