"""The local weights store, weight files, and the hub download paths, all offline."""

import json
import pickle
from pathlib import Path

import pytest
import torch
import torchvision

import zoo
from zoo.errors import WeightsError
from zoo.models.weights import WeightsStore, read_weights_file, sha256_of


def state_of(model):
    return {k: v.clone() for k, v in model.state_dict().items()}


def assert_same_state(model, state):
    own = model.state_dict()
    assert own.keys() == state.keys()
    for key in own:
        torch.testing.assert_close(own[key], state[key])


@pytest.fixture
def trained(zoo_home):
    """A simple_cnn whose weights sit in the local store as ``simple_cnn.test``."""
    torch.manual_seed(1)
    model = zoo.create_model("simple_cnn", num_classes=6)
    entry = WeightsStore().save("simple_cnn", "test", model.state_dict(), num_classes=6, dataset="unit-test")
    return model, entry


def test_store_round_trip_with_checksum_and_metadata(trained, zoo_home):
    model, entry = trained
    assert entry.path == zoo_home / "weights" / "simple_cnn.test.safetensors"
    meta = json.loads(entry.path.with_suffix(".json").read_text())
    assert meta["sha256"] == sha256_of(entry.path) and meta["dataset"] == "unit-test"
    assert [e.tag for e in WeightsStore().entries("simple_cnn")] == ["test"]

    loaded = zoo.create_model("simple_cnn.test")
    assert loaded.num_classes == 6
    assert_same_state(loaded, model.state_dict())
    assert loaded.zoo_weights.source == "store"

    resized = zoo.create_model("simple_cnn", pretrained="test", num_classes=3)
    assert resized.num_classes == 3
    torch.testing.assert_close(resized.conv1[0].weight, model.conv1[0].weight)


def test_a_changed_store_file_is_refused_naming_it(trained):
    _, entry = trained
    data = bytearray(entry.path.read_bytes())
    data[-1] ^= 0xFF
    entry.path.write_bytes(bytes(data))
    with pytest.raises(WeightsError, match=rf"{entry.path}.*sha256.*delete it"):
        zoo.create_model("simple_cnn.test")


def test_weights_file_formats_load(tmp_path):
    torch.manual_seed(2)
    source = zoo.create_model("simple_cnn", num_classes=4)
    plain = tmp_path / "plain.pt"
    torch.save(source.state_dict(), plain)
    wrapped = tmp_path / "checkpoint.pth"
    torch.save({"state_dict": source.state_dict(), "epoch": 3}, wrapped)
    for path in (plain, wrapped):
        model = zoo.create_model("simple_cnn", weights_file=path)
        assert model.num_classes == 4
        assert_same_state(model, source.state_dict())
        assert model.zoo_weights.source == "file"


class Payload:
    def __reduce__(self):
        return (print, ("this must never run",))


@pytest.mark.parametrize(
    "content, message",
    [
        (b"not a checkpoint at all", "cannot read weights file"),
        (pickle.dumps({"conv1.0.weight": Payload()}), "cannot read weights file"),
    ],
    ids=["garbage", "pickled-code"],
)
def test_unreadable_files_are_refused_naming_them(tmp_path, content, message, capsys):
    path = tmp_path / "bad.pt"
    path.write_bytes(content)
    with pytest.raises(WeightsError, match=rf"{message} {path}"):
        read_weights_file(path)
    assert "must never run" not in capsys.readouterr().out


def test_corrupt_safetensors_and_missing_files(tmp_path):
    bad = tmp_path / "bad.safetensors"
    bad.write_bytes(b"\x10\x00\x00\x00\x00\x00\x00\x00{not json}")
    with pytest.raises(WeightsError, match=str(bad)):
        read_weights_file(bad)
    with pytest.raises(WeightsError, match="does not exist"):
        read_weights_file(tmp_path / "nope.safetensors")


def test_weights_of_another_architecture_load_nothing(tmp_path):
    path = tmp_path / "resnet18.pt"
    torch.save(zoo.create_model("resnet18").state_dict(), path)
    with pytest.raises(WeightsError, match=rf"file {path} do not fit SimpleCNN: .*missing keys.*unexpected keys"):
        zoo.create_model("simple_cnn", weights_file=path)


def test_unknown_tags_list_what_exists(trained):
    with pytest.raises(WeightsError, match=r"no pretrained weights simple_cnn.nope \(available tags: test\)"):
        zoo.create_model("simple_cnn.nope")
    with pytest.raises(WeightsError, match=r"no pretrained weights for simple_cnn \(available tags: test\)"):
        zoo.create_model("simple_cnn", pretrained=True)  # no hub weights, so no default


def test_timm_hub_offline_says_how_to_proceed():
    with pytest.raises(WeightsError, match=r"cannot download resnet18\.a1_in1k from the timm hub.*--weights PATH"):
        zoo.create_model("resnet18", pretrained=True)


def test_torchvision_hub_path_loads_a_cached_checkpoint(tmp_path):
    """torchvision's real loading code, fed a checkpoint the test wrote into its cache."""
    torch.manual_seed(3)
    reference = torchvision.models.googlenet(aux_logits=True, init_weights=True, transform_input=False).eval()
    url = torchvision.models.GoogLeNet_Weights.IMAGENET1K_V1.url
    cache = Path(torch.hub.get_dir()) / "checkpoints"
    cache.mkdir(parents=True)
    torch.save(reference.state_dict(), cache / Path(url).name)

    model = zoo.create_model("googlenet", pretrained=True).eval()
    assert model.zoo_weights.source == "torchvision" and model.zoo_weights.mean == (0.5, 0.5, 0.5)
    x = torch.randn(1, 3, 64, 64)
    with torch.no_grad():
        torch.testing.assert_close(model(x), reference(x))


def test_torchvision_hub_offline_says_how_to_proceed(monkeypatch):
    def offline(*args, **kwargs):
        raise OSError("[Errno -2] Name or service not known")

    monkeypatch.setattr(torch.hub, "download_url_to_file", offline)
    with pytest.raises(WeightsError, match=r"cannot download alexnet\.tv_in1k from the torchvision hub.*Name or service"):
        zoo.create_model("alexnet", pretrained=True)


def test_zoo_list_pretrained_finds_what_a_hub_download_left_in_its_cache(tmp_path, monkeypatch, capsys):
    from zoo.cli.main import main

    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    assert main(["list", "alexnet", "--pretrained", "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == []
    downloaded = tmp_path / "torch" / "hub" / "checkpoints" / "alexnet-owt-7be5be79.pth"  # torchvision's file name for its weights
    downloaded.parent.mkdir(parents=True)
    downloaded.write_bytes(b"")
    assert main(["list", "alexnet", "--pretrained", "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == [{"variant": "alexnet.tv_in1k", "source": "torchvision", "location": str(downloaded)}]
