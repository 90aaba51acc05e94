"""Readers of the offline data sets, checked against independent readers; sampling and splits."""

import gzip
import shutil

import numpy as np
import pytest
import torch
import torchvision
from PIL import Image

import zoo
from zoo.data.images import ImageSet, stratified_sample, stratified_split
from zoo.data.preprocess import augment, channel_stats, normalise, prepare
from zoo.errors import ZooError
from zoo_plugins import datasets as offline

needs_fashion_mnist = pytest.mark.skipif(
    not (offline.fashion_mnist_dir() / "train-images-idx3-ubyte.gz").exists(),
    reason="Fashion-MNIST not installed: run `make test` as root, or apt-get install dataset-fashion-mnist",
)
needs_digits = pytest.mark.skipif(
    not offline.digits_png().exists(), reason="digits.png not installed: run scripts/install-data.sh as root"
)


@needs_fashion_mnist
def test_fashion_mnist_matches_torchvisions_reader(tmp_path):
    """torchvision's FashionMNIST reads the same files (uncompressed) to the same tensors."""
    raw = tmp_path / "FashionMNIST" / "raw"
    raw.mkdir(parents=True)
    for gz in offline.fashion_mnist_dir().glob("*-ubyte.gz"):
        with gzip.open(gz) as src, open(raw / gz.stem, "wb") as dst:
            shutil.copyfileobj(src, dst)
    for split in ("train", "test"):
        ours = zoo.get_zoo().datasets.get("fashion_mnist").load(split)
        theirs = torchvision.datasets.FashionMNIST(tmp_path, train=split == "train", download=False)
        assert torch.equal(ours.images[:, 0], theirs.data)
        assert torch.equal(ours.labels, theirs.targets)
        assert ours.classes == tuple(theirs.classes)
        assert ours.counts() == [6000 if split == "train" else 1000] * 10
    assert ours.labels[:5].tolist() == [9, 2, 1, 1, 6]  # the test set opens with an ankle boot


def test_idx_reader_refuses_corrupt_files(tmp_path):
    truncated = tmp_path / "t10k-images-idx3-ubyte.gz"
    with gzip.open(truncated, "wb") as f:
        f.write(bytes([0, 0, 8, 3]) + (10).to_bytes(4, "big") + (28).to_bytes(4, "big") * 2 + b"\0" * 100)
    with pytest.raises(ZooError, match=rf"{truncated} is truncated or corrupt"):
        offline.read_idx(truncated)
    wrong_magic = tmp_path / "x.idx"
    wrong_magic.write_bytes(b"\x12\x34\x56\x78")
    with pytest.raises(ZooError, match="not an unsigned-byte IDX file"):
        offline.read_idx(wrong_magic)
    not_gzip = tmp_path / "y.gz"
    not_gzip.write_bytes(b"plain bytes")
    with pytest.raises(ZooError, match=f"cannot read {not_gzip}"):
        offline.read_idx(not_gzip)


def test_missing_fashion_mnist_says_what_to_install(tmp_path):
    with pytest.raises(ZooError, match=r"not in .*dataset-fashion-mnist"):
        offline.load_fashion_mnist("train", root=tmp_path)


@needs_digits
def test_digits_are_cut_as_opencvs_own_sample_cuts_them():
    sheet = np.asarray(Image.open(offline.digits_png()).convert("L"))
    cells = np.array([np.hsplit(row, 100) for row in np.vsplit(sheet, 50)])  # OpenCV's digits.py
    train, test = (zoo.get_zoo().datasets.get("digits").load(s) for s in ("train", "test"))
    assert train.images.shape == (4000, 1, 20, 20) and test.images.shape == (1000, 1, 20, 20)
    assert train.counts() == [400] * 10 and test.counts() == [100] * 10
    assert np.array_equal(train.images[0, 0].numpy(), cells[0, 0])
    assert np.array_equal(test.images[-1, 0].numpy(), cells[49, 99])  # a 9, the sheet's last cell
    assert np.array_equal(train.images[80 * 5, 0].numpy(), cells[5, 0])  # first 1 (row 5)
    assert train.labels[80 * 5].item() == 1
    assert int(train.images.sum()) + int(test.images.sum()) == int(sheet.sum())


def test_zoo_data_stands_in_for_the_debian_packages(tmp_path, monkeypatch):
    """A folder carried to a machine without the packages: fashion-mnist/ and digits.png."""
    monkeypatch.setenv("ZOO_DATA", str(tmp_path))
    assert offline.fashion_mnist_dir() == tmp_path / "fashion-mnist" and offline.digits_png() == tmp_path / "digits.png"
    with pytest.raises(ZooError, match=rf"not in {tmp_path / 'fashion-mnist'}: .*point \$ZOO_DATA"):
        offline.load_fashion_mnist("test")
    with pytest.raises(ZooError, match=rf"not at {tmp_path / 'digits.png'}: .*point \$ZOO_DATA"):
        offline.load_digits("test")
    sheet = np.repeat(np.arange(50, dtype=np.uint8)[:, None], 20, axis=0).repeat(2000, axis=1)  # row r holds r
    Image.fromarray(sheet).save(tmp_path / "digits.png")
    assert offline.load_digits("test").images[:, 0, 0, 0].unique().tolist() == list(range(50))


def test_digits_png_of_the_wrong_size_is_refused(tmp_path):
    Image.new("L", (100, 100)).save(tmp_path / "digits.png")
    with pytest.raises(ZooError, match=r"is 100×100 pixels, expected 2000×1000"):
        offline.load_digits("train", root=tmp_path)


def test_sklearn_digits_scaled_to_bytes_with_a_fixed_split():
    from sklearn.datasets import load_digits

    train, test = offline.load_sklearn_digits("train"), offline.load_sklearn_digits("test")
    assert len(train) + len(test) == 1797
    assert train.images.dtype == torch.uint8 and int(train.images.max()) == 255
    for part in (train, test):
        assert all(c > 0 for c in part.counts())
    reference = load_digits()
    all_images = torch.cat([train.images, test.images])
    assert int(all_images.sum()) == int(np.round(reference.images * 255 / 16).sum())
    assert offline.load_sklearn_digits("test").labels.tolist() == test.labels.tolist()


def toy(n_per_class=(5, 7, 9)):
    labels = torch.cat([torch.full((n,), c) for c, n in enumerate(n_per_class)])
    images = torch.arange(len(labels), dtype=torch.uint8).view(-1, 1, 1, 1).expand(-1, 1, 4, 4).contiguous()
    return ImageSet(images, labels, ("a", "b", "c"), "toy")


def test_stratified_sample_is_exact_per_class_and_deterministic_per_seed():
    data = toy()
    first = stratified_sample(data.labels, 4, seed=1)
    assert torch.bincount(data.labels[first]).tolist() == [4, 4, 4]
    assert torch.equal(first, stratified_sample(data.labels, 4, seed=1))
    assert not torch.equal(first, stratified_sample(data.labels, 4, seed=2))
    assert torch.equal(stratified_sample(data.labels, None, seed=1), torch.arange(21))
    with pytest.raises(ZooError, match="class 0 has 5 images, fewer than the 6"):
        stratified_sample(data.labels, 6, seed=0)


def test_stratified_split_keeps_every_class_on_both_sides():
    data = toy((10, 20, 3))
    train, test = stratified_split(data.labels, 0.2, seed=0)
    assert torch.bincount(data.labels[test]).tolist() == [2, 4, 1]
    assert len(set(train.tolist()) & set(test.tolist())) == 0 and len(train) + len(test) == 33


def test_select_classes_relabels_in_the_given_order():
    chosen = toy().select_classes(["c", "a"])
    assert chosen.classes == ("c", "a") and chosen.counts() == [9, 5]
    with pytest.raises(ZooError, match="toy has no class 'z'"):
        toy().select_classes(["z"])


def test_prepare_resizes_and_repeats_channels_and_batches_normalise():
    data = toy()
    prepared = prepare(data, (3, 8, 8), mean=(0.5,) * 3, std=(0.25,) * 3, mirror_invariant=False)
    assert prepared.images.shape == (21, 3, 8, 8) and prepared.images.dtype == torch.uint8
    assert torch.equal(prepared.images[:, 0], prepared.images[:, 2])
    assert int(prepared.images[3, 1, 5, 5]) == 3  # a flat image stays flat when resized
    x, y = next(prepared.batches(8))
    assert x.dtype == torch.float32 and x.shape == (8, 3, 8, 8) and torch.equal(y, data.labels[:8])
    torch.testing.assert_close(x[3, 0, 0, 0], torch.tensor((3 / 255 - 0.5) / 0.25))
    mean, std = channel_stats(data)
    assert len(mean) == 3 and mean[0] == mean[2]
    torch.testing.assert_close(normalise(torch.full((1, 3, 1, 1), 255, dtype=torch.uint8), mean, std)[0, 0, 0, 0],
                               torch.tensor((1 - mean[0]) / std[0]))


def test_augmentation_translates_within_bounds_and_is_seeded():
    images = torch.zeros(16, 1, 16, 16, dtype=torch.uint8)
    images[:, :, 6:10, 6:10] = 255
    a = augment(images, torch.Generator().manual_seed(0), mirror=False)
    b = augment(images, torch.Generator().manual_seed(0), mirror=False)
    assert torch.equal(a, b) and a.shape == images.shape
    assert (a.flatten(1).sum(1) == 255 * 16).all(), "a 2-pixel shift keeps the square inside"
    assert not all(torch.equal(a[i], images[i]) for i in range(16))
