"""The torchvision data sets, each loaded from a tiny copy written in torchvision's real
on-disk layout; the only download is ``zoo fetch``'s, from a server on 127.0.0.1.

Where torchvision compares files with the MD5 of the real release (CIFAR, STL-10, SVHN,
Flowers102), the ``no_md5`` fixture replaces only that comparison; whether each file exists,
and all reading and decoding, stay torchvision's own code.
"""

import functools
import http.server
import json
import pickle
import re
import tarfile
import threading

import numpy as np
import pytest
import scipy.io
import torch
import torchvision
from PIL import Image

from zoo.cli.main import main
from zoo.errors import ZooError
from zoo.plugin.dataset import DatasetSpec, validate_dataset_spec
from zoo.plugin.manager import PluginSet
from zoo_plugins import torchvision_datasets as tvd

NAMES = ("cifar10", "cifar100", "stl10", "svhn", "flowers102", "oxford_pets", "dtd", "eurosat", "caltech101")
VARIABLE_SIZE = ("flowers102", "oxford_pets", "dtd", "caltech101")


@pytest.fixture
def no_md5(monkeypatch):
    """Accept any file where torchvision checks the MD5 of the real release's files: our tiny
    copies cannot match. ``check_integrity`` still requires each file to exist."""
    monkeypatch.setattr(torchvision.datasets.utils, "check_md5", lambda fpath, md5, **kwargs: True)


def load(name, split, root, size=None):
    return tvd.DATASETS[name].load(split, root=root, size=size)


def jpeg(path, color, size=(40, 30), mode="RGB"):
    """A solid-colour JPEG (``size`` is width × height), so pixels survive compression almost exactly."""
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new(mode, size, color).save(path, quality=95)


def assert_colour(image, colour, tol=3):
    """Every pixel of a uint8 [3, H, W] image within ``tol`` of ``colour`` (JPEG rounding)."""
    expected = torch.tensor(colour, dtype=torch.int16).view(3, 1, 1)
    assert (image.to(torch.int16) - expected).abs().max() <= tol, image[:, 0, 0].tolist()


# --- writers of torchvision's on-disk formats ---------------------------------------------


def cifar_images(n, seed):
    """n random images as CIFAR stores them: rows of 3072 bytes, a 32×32 plane per channel."""
    return np.random.default_rng(seed).integers(0, 256, (n, 3072), dtype=np.uint8)


def write_cifar10(root):
    folder = root / "cifar-10-batches-py"
    folder.mkdir(parents=True)
    for b in range(1, 6):  # two images per batch: labels (b-1)*2 % 10, ((b-1)*2 + 1) % 10
        data = cifar_images(2, b)
        if b == 1:
            data[0, 1 * 1024 + 5 * 32 + 7] = 201  # channel 1 (green), row 5, column 7
        batch = {"batch_label": f"training batch {b} of 5", "labels": [(2 * b - 2) % 10, (2 * b - 1) % 10], "data": data,
                 "filenames": [f"img_{b}_{i}.png" for i in range(2)]}  # fmt: skip
        (folder / f"data_batch_{b}").write_bytes(pickle.dumps(batch, protocol=2))
    test = {"batch_label": "testing batch 1 of 1", "labels": [3, 9, 0], "data": cifar_images(3, 9),
            "filenames": ["a", "b", "c"]}  # fmt: skip
    (folder / "test_batch").write_bytes(pickle.dumps(test, protocol=2))
    names = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"]
    meta = {"num_cases_per_batch": 10000, "label_names": names, "num_vis": 3072}
    (folder / "batches.meta").write_bytes(pickle.dumps(meta, protocol=2))
    return names


def write_cifar100(root):
    folder = root / "cifar-100-python"
    folder.mkdir(parents=True)
    train = cifar_images(4, 1)
    train[3, 2 * 1024 + 31 * 32 + 0] = 77  # channel 2 (blue), row 31, column 0
    for name, data, fine in (("train", train, [0, 99, 42, 7]), ("test", cifar_images(2, 2), [99, 0])):
        entry = {"filenames": [f"{name}{i}.png" for i in range(len(fine))], "batch_label": name,
                 "fine_labels": fine, "coarse_labels": [f // 5 for f in fine], "data": data}  # fmt: skip
        (folder / name).write_bytes(pickle.dumps(entry, protocol=2))
    names = [f"fine{i:02d}" for i in range(100)]
    meta = {"fine_label_names": names, "coarse_label_names": [f"coarse{i}" for i in range(20)]}
    (folder / "meta").write_bytes(pickle.dumps(meta, protocol=2))
    return names


def write_stl10(root, class_names=True):
    """STL-10's binaries hold each 96×96 channel column by column (Fortran order)."""
    folder = root / "stl10_binary"
    folder.mkdir(parents=True)
    images = np.zeros((3, 3, 96, 96), dtype=np.uint8)  # [N, C, H, W] as zoo should return them
    images[0, 0, 10, 20] = 250  # red, row 10, column 20
    images[1, 2, 95, 0] = 99
    images[2] = 17
    images[:, :, 0, 0] = 0
    for stem, data, labels in (("train", images[:2], [1, 10]), ("test", images[2:], [4])):
        data.transpose(0, 1, 3, 2).tofile(folder / f"{stem}_X.bin")  # [N, C, W, H] on disk
        np.array(labels, dtype=np.uint8).tofile(folder / f"{stem}_y.bin")  # 1-based
    np.zeros((1, 3, 96, 96), dtype=np.uint8).tofile(folder / "unlabeled_X.bin")  # checked for every split
    names = ["airplane", "bird", "car", "cat", "deer", "dog", "horse", "monkey", "ship", "truck"]
    if class_names:
        (folder / "class_names.txt").write_text("\n".join(names) + "\n")
    (folder / "fold_indices.txt").write_text("0 1\n" * 10)
    return images, names


def write_svhn(root):
    """SVHN's .mat: X is [32, 32, 3, N] uint8, y is [N, 1] with the digit 0 labelled 10."""
    root.mkdir(parents=True, exist_ok=True)
    train = np.zeros((32, 32, 3, 3), dtype=np.uint8)
    train[4, 6, 1, 2] = 123  # image 2: row 4, column 6, green
    scipy.io.savemat(root / "train_32x32.mat", {"X": train, "y": np.array([[10], [1], [9]], dtype=np.uint8)})
    test = np.full((32, 32, 3, 2), 50, dtype=np.uint8)
    scipy.io.savemat(root / "test_32x32.mat", {"X": test, "y": np.array([[3], [10]], dtype=np.uint8)})


FLOWER_COLOURS = {1: (250, 0, 0), 2: (0, 250, 0), 3: (0, 0, 250), 4: (250, 250, 0), 5: (0, 250, 250), 6: (250, 0, 250)}


def write_flowers102(root):
    """jpg/image_00001.jpg…, imagelabels.mat (1-based labels by image id), setid.mat (id lists).

    Every split lists two or more ids: with ``squeeze_me`` one id would load as a scalar, which
    torchvision cannot iterate (the real splits are long).
    """
    folder = root / "flowers-102"
    for image_id, colour in FLOWER_COLOURS.items():
        jpeg(folder / "jpg" / f"image_{image_id:05d}.jpg", colour, size=(30 + 10 * image_id, 40))
    labels = np.array([[77, 1, 102, 5, 1, 77]], dtype=np.uint8)  # label of image id 1…6
    scipy.io.savemat(folder / "imagelabels.mat", {"labels": labels})
    ids = {"trnid": [[1, 2]], "valid": [[3, 4]], "tstid": [[6, 5]]}
    scipy.io.savemat(folder / "setid.mat", {k: np.array(v, dtype=np.uint16) for k, v in ids.items()})


PETS = {  # image id: (class id, species 1 cat 2 dog, breed id, colour)
    "Abyssinian_1": (1, 1, 1, (200, 10, 10)),
    "Abyssinian_2": (1, 1, 1, (200, 10, 10)),
    "american_bulldog_1": (2, 2, 1, (10, 200, 10)),
    "american_pit_bull_terrier_3": (3, 2, 2, (10, 10, 200)),
    "Abyssinian_7": (1, 1, 1, (200, 10, 10)),
    "american_bulldog_9": (2, 2, 1, (10, 200, 10)),
    "american_pit_bull_terrier_8": (3, 2, 2, (10, 10, 200)),
}


def write_oxford_pets(root):
    """images/<Breed>_<n>.jpg and annotations/{trainval,test}.txt: "id class species breed"."""
    folder = root / "oxford-iiit-pet"
    for image_id, (*_, colour) in PETS.items():
        jpeg(folder / "images" / f"{image_id}.jpg", colour, size=(50, 36))
    (folder / "annotations" / "trimaps").mkdir(parents=True)
    ids = list(PETS)
    for name, chosen in (("trainval", ids[:4]), ("test", ids[4:])):
        lines = [f"{i} {PETS[i][0]} {PETS[i][1]} {PETS[i][2]}" for i in chosen]
        (folder / "annotations" / f"{name}.txt").write_text("\n".join(lines) + "\n")


DTD_COLOURS = {"banded": (240, 20, 20), "cracked": (20, 240, 20), "zigzagged": (20, 20, 240)}


def write_dtd(root):
    """dtd/dtd/images/<class>/<class>_NNNN.jpg and dtd/dtd/labels/{train,val,test}<k>.txt."""
    data = root / "dtd" / "dtd"
    for cls, colour in DTD_COLOURS.items():
        for n in range(1, 4):
            jpeg(data / "images" / cls / f"{cls}_{n:04d}.jpg", colour, size=(30 + n, 25))
    labels = data / "labels"
    labels.mkdir()
    order = list(DTD_COLOURS)
    for split, n in (("train", 1), ("val", 2), ("test", 3)):
        (labels / f"{split}1.txt").write_text("".join(f"{c}/{c}_{n:04d}.jpg\n" for c in reversed(order)))
        (labels / f"{split}2.txt").write_text("".join(f"{c}/{c}_{n:04d}.jpg\n" for c in order))  # another partition


EUROSAT_COLOURS = {"Forest": (30, 160, 40), "Highway": (120, 120, 120), "SeaLake": (20, 60, 200)}


def write_eurosat(root):
    """eurosat/2750/<Class>/<Class>_<n>.jpg, 64×64, five images per class."""
    for cls, colour in EUROSAT_COLOURS.items():
        for n in range(1, 6):
            jpeg(root / "eurosat" / "2750" / cls / f"{cls}_{n}.jpg", colour, size=(64, 64))


CALTECH = {"BACKGROUND_Google": 2, "Faces_easy": 5, "accordion": 5, "airplanes": 5}


def write_caltech101(root):
    """caltech101/101_ObjectCategories/<category>/image_NNNN.jpg, numbered from 1 without gaps,
    and Annotations/; "accordion" is grayscale, as some real images are."""
    base = root / "caltech101"
    for cat, n in CALTECH.items():
        for i in range(1, n + 1):
            if cat == "accordion":
                jpeg(base / "101_ObjectCategories" / cat / f"image_{i:04d}.jpg", 90, size=(33 + i, 30), mode="L")
            else:
                jpeg(base / "101_ObjectCategories" / cat / f"image_{i:04d}.jpg", (10 * i, 100, 200), size=(40, 30 + i))
        if cat != "BACKGROUND_Google":
            ann = {"Faces_easy": "Faces_3", "airplanes": "Airplanes_Side_2"}.get(cat, cat)
            (base / "Annotations" / ann).mkdir(parents=True)
            scipy.io.savemat(base / "Annotations" / ann / "annotation_0001.mat", {"box_coord": np.array([[1, 2, 3, 4]])})


WRITERS = {
    "cifar10": write_cifar10, "cifar100": write_cifar100, "stl10": write_stl10, "svhn": write_svhn,
    "flowers102": write_flowers102, "oxford_pets": write_oxford_pets, "dtd": write_dtd,
    "eurosat": write_eurosat, "caltech101": write_caltech101,
}  # fmt: skip


# --- registration ---------------------------------------------------------------------------


class Collect:
    def __init__(self):
        self.specs = []

    def add(self, spec):
        self.specs.append(spec)


def test_registers_the_nine_well_formed_specs():
    registry = Collect()
    tvd.zoo_register_datasets(registry)
    specs = {s.name: s for s in registry.specs}
    assert tuple(specs) == NAMES
    for spec in specs.values():
        assert isinstance(spec, DatasetSpec) and validate_dataset_spec(spec) is None
        assert spec.channels == 3 and spec.splits == ("train", "test")
        assert (spec.native_size is None) == (spec.name in VARIABLE_SIZE)
        assert spec.classes or "come from" in spec.description  # known without data, or said where from
    assert specs["cifar10"].native_size == specs["svhn"].native_size == (32, 32)
    assert specs["stl10"].native_size == (96, 96) and specs["eurosat"].native_size == (64, 64)
    assert specs["svhn"].classes == tuple("0123456789") and not specs["svhn"].mirror_invariant
    assert specs["flowers102"].classes == tuple(torchvision.datasets.Flowers102.classes)
    assert len(specs["flowers102"].classes) == 102 and specs["flowers102"].classes[0] == "pink primrose"
    for name in ("eurosat", "caltech101"):
        assert "20%" in specs[name].split_note and "seed 0" in specs[name].split_note


def test_the_plugin_manager_accepts_them():
    zoo_ = PluginSet()
    zoo_.add_plugin(tvd, "torchvision_datasets")
    report = zoo_.reports["torchvision_datasets"]
    assert report.status == "loaded" and not report.errors
    assert sorted(zoo_.datasets.names()) == sorted(NAMES)
    assert zoo_.datasets.get("cifar10").load.__name__ == "load_cifar10"


# --- loading each data set --------------------------------------------------------------------


def test_cifar10(tmp_path, no_md5):
    names = write_cifar10(tmp_path)
    train, test = load("cifar10", "train", tmp_path), load("cifar10", "test", tmp_path)
    assert train.images.shape == (10, 3, 32, 32) and train.images.dtype == torch.uint8
    assert train.labels.dtype == torch.int64 and train.labels.tolist() == list(range(10))
    assert test.images.shape == (3, 3, 32, 32) and test.labels.tolist() == [3, 9, 0]
    assert train.classes == test.classes == tuple(names) and train.name == "cifar10/train"
    assert train.images[0, 1, 5, 7] == 201
    raw = pickle.loads((tmp_path / "cifar-10-batches-py" / "data_batch_3").read_bytes())["data"]
    assert torch.equal(train.images[5].flatten(), torch.from_numpy(raw[1]))  # second image of batch 3


def test_cifar_size_resizes_the_whole_batch(tmp_path, no_md5):
    write_cifar10(tmp_path)
    images = load("cifar10", "test", tmp_path, size=48).images
    assert images.shape == (3, 3, 48, 48) and images.dtype == torch.uint8


def test_cifar100(tmp_path, no_md5):
    names = write_cifar100(tmp_path)
    train, test = load("cifar100", "train", tmp_path), load("cifar100", "test", tmp_path)
    assert train.images.shape == (4, 3, 32, 32) and test.images.shape == (2, 3, 32, 32)
    assert train.labels.tolist() == [0, 99, 42, 7] and test.labels.tolist() == [99, 0]  # fine labels
    assert train.classes == tuple(names) and len(test.classes) == 100
    assert train.images[3, 2, 31, 0] == 77


def test_stl10(tmp_path, no_md5):
    images, names = write_stl10(tmp_path)
    train, test = load("stl10", "train", tmp_path), load("stl10", "test", tmp_path)
    assert train.images.shape == (2, 3, 96, 96) and train.images.dtype == torch.uint8
    assert train.images.is_contiguous()
    assert train.labels.tolist() == [0, 9] and test.labels.tolist() == [3]  # 1-based on disk
    assert train.classes == test.classes == tuple(names)
    assert train.images[0, 0, 10, 20] == 250 and train.images[0, 0, 20, 10] == 0  # not transposed
    assert train.images[1, 2, 95, 0] == 99
    assert torch.equal(train.images, torch.from_numpy(images[:2])) and torch.equal(test.images, torch.from_numpy(images[2:]))


def test_stl10_without_class_names_file_numbers_its_classes(tmp_path, no_md5):
    write_stl10(tmp_path, class_names=False)
    assert load("stl10", "test", tmp_path).classes == tuple("0123456789")


def test_svhn(tmp_path, no_md5):
    write_svhn(tmp_path)
    train, test = load("svhn", "train", tmp_path), load("svhn", "test", tmp_path)
    assert train.images.shape == (3, 3, 32, 32) and train.images.dtype == torch.uint8
    assert train.labels.tolist() == [0, 1, 9] and test.labels.tolist() == [3, 0]  # 10 is the digit 0
    assert train.classes == tuple("0123456789")
    assert train.images[2, 1, 4, 6] == 123 and train.images[2].sum() == 123
    assert (test.images == 50).all()


def test_flowers102_trains_on_train_and_val(tmp_path, no_md5):
    write_flowers102(tmp_path)
    train, test = load("flowers102", "train", tmp_path, size=16), load("flowers102", "test", tmp_path, size=16)
    assert train.images.shape == (4, 3, 16, 16) and test.images.shape == (2, 3, 16, 16)
    assert train.images.dtype == torch.uint8
    assert train.labels.tolist() == [76, 0, 101, 4]  # ids 1, 2 (train) then 3, 4 (val)
    assert test.labels.tolist() == [76, 0]  # ids 6 then 5, in setid.mat's order
    assert train.classes == tuple(torchvision.datasets.Flowers102.classes) and train.classes[101] == "blackberry lily"
    for image, image_id in zip(train.images, (1, 2, 3, 4)):
        assert_colour(image, FLOWER_COLOURS[image_id])
    assert_colour(test.images[0], FLOWER_COLOURS[6])


def test_oxford_pets(tmp_path):
    write_oxford_pets(tmp_path)
    train, test = load("oxford_pets", "train", tmp_path, size=20), load("oxford_pets", "test", tmp_path, size=20)
    assert train.images.shape == (4, 3, 20, 20) and test.images.shape == (3, 3, 20, 20)
    assert train.labels.tolist() == [0, 0, 1, 2] and test.labels.tolist() == [0, 1, 2]
    assert train.classes == test.classes == ("Abyssinian", "American Bulldog", "American Pit Bull Terrier")
    for image, image_id in zip(train.images, list(PETS)[:4]):
        assert_colour(image, PETS[image_id][3])


def test_dtd_partition_1_trains_on_train_and_val(tmp_path):
    write_dtd(tmp_path)
    train, test = load("dtd", "train", tmp_path, size=12), load("dtd", "test", tmp_path, size=12)
    assert train.images.shape == (6, 3, 12, 12) and test.images.shape == (3, 3, 12, 12)
    assert train.classes == test.classes == ("banded", "cracked", "zigzagged")
    assert train.labels.tolist() == [2, 1, 0, 2, 1, 0]  # the order of train1.txt, then val1.txt
    assert test.labels.tolist() == [2, 1, 0]
    for image, label in zip(train.images, train.labels):
        assert_colour(image, DTD_COLOURS[train.classes[label]])


def test_eurosat_fixed_stratified_split(tmp_path):
    write_eurosat(tmp_path)
    train, test = load("eurosat", "train", tmp_path), load("eurosat", "test", tmp_path)
    assert train.images.shape == (12, 3, 64, 64) and test.images.shape == (3, 3, 64, 64)  # 1 of 5 per class in test
    assert train.classes == test.classes == tuple(EUROSAT_COLOURS)
    assert train.counts() == [4, 4, 4] and test.counts() == [1, 1, 1]
    for image, label in zip(torch.cat([train.images, test.images]), torch.cat([train.labels, test.labels])):
        assert_colour(image, EUROSAT_COLOURS[train.classes[label]])
    again = load("eurosat", "test", tmp_path)
    assert torch.equal(again.images, test.images)  # the split is fixed
    assert load("eurosat", "test", tmp_path, size=32).images.shape == (3, 3, 32, 32)


def test_caltech101_grayscale_becomes_rgb_and_background_is_left_out(tmp_path):
    write_caltech101(tmp_path)
    train, test = load("caltech101", "train", tmp_path, size=24), load("caltech101", "test", tmp_path, size=24)
    assert train.classes == test.classes == ("Faces_easy", "accordion", "airplanes")
    assert train.images.shape == (12, 3, 24, 24) and test.images.shape == (3, 3, 24, 24)
    assert train.counts() == [4, 4, 4] and test.counts() == [1, 1, 1]
    for image in torch.cat([train.images[train.labels == 1], test.images[test.labels == 1]]):
        assert_colour(image, (90, 90, 90))  # grayscale "accordion", now three equal channels
    faces = torch.cat([train.images[train.labels == 0], test.images[test.labels == 0]])
    assert sorted(round(x, -1) for x in faces[:, 0, 12, 12].tolist()) == [10, 20, 30, 40, 50]  # red 10 × image number
    assert ((faces[:, 1:].to(torch.int16) - torch.tensor([100, 200]).view(2, 1, 1)).abs() <= 3).all()


def test_caltech101_gap_in_image_numbers_is_a_clear_error(tmp_path):
    write_caltech101(tmp_path)
    (tmp_path / "caltech101" / "101_ObjectCategories" / "accordion" / "image_0002.jpg").unlink()
    # torchvision counts the files (4) and reads image_0001…image_0004: image_0002 is missing
    errors = []
    for split in ("train", "test"):  # image_0002 falls in one of the two
        try:
            load("caltech101", split, tmp_path, size=24)
        except ZooError as exc:
            errors.append(str(exc))
    assert len(errors) == 1 and re.match(r"caltech101/(train|test): cannot read an image .*image_0002\.jpg", errors[0])


# --- errors -----------------------------------------------------------------------------------


@pytest.mark.parametrize("name", NAMES)
def test_missing_files_name_the_root_and_what_to_do(name, tmp_path, no_md5):
    root = tmp_path / "empty"
    root.mkdir()
    size = 16 if name in VARIABLE_SIZE else None
    with pytest.raises(ZooError, match=rf"^{name} is not in {re.escape(str(root))}: pass download=True \(needs internet\)"):
        load(name, "train", root, size=size)


@pytest.mark.parametrize("name", NAMES)
def test_default_root_is_under_zoo_home_and_stays_untouched(name, zoo_home):
    size = 16 if name in VARIABLE_SIZE else None
    root = zoo_home / "data" / name
    with pytest.raises(ZooError, match=rf"{re.escape(str(root))}: pass download=True .* put torchvision's files there"):
        tvd.DATASETS[name].load("test", size=size)
    assert not root.exists()  # nothing created (torchvision's Caltech101 would make folders)


def test_files_failing_torchvisions_checksum_are_refused(tmp_path):
    write_cifar10(tmp_path)  # our copies do not match the real release's MD5 sums
    with pytest.raises(ZooError, match=r"cifar10 is not in .*MD5 checksum"):
        load("cifar10", "train", tmp_path)


@pytest.mark.parametrize("name", VARIABLE_SIZE)
def test_variable_size_sets_need_size(name, tmp_path):
    with pytest.raises(ZooError, match=rf"^{name} images vary in size: pass size"):
        load(name, "train", tmp_path)


def test_unknown_split(tmp_path):
    with pytest.raises(ZooError, match=r"cifar10 has the splits train and test, not 'val'"):
        load("cifar10", "val", tmp_path)


# --- zoo fetch: the download path, against a server on this machine -----------------------


class QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):  # the requests would land in the command's captured stderr
        pass


@pytest.fixture
def served(tmp_path):
    """A folder served over HTTP on 127.0.0.1: the internet, as far as torchvision's download can tell."""
    folder = tmp_path / "served"
    folder.mkdir()
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(QuietHandler, directory=str(folder)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield folder, f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_zoo_fetch_downloads_the_data_set_zoo_bench_refused_before_any_cell(served, tmp_path, zoo_home, no_md5, monkeypatch, capsys):
    folder, url = served
    names = write_cifar10(tmp_path / "release")
    with tarfile.open(folder / "cifar-10-python.tar.gz", "w:gz") as tar:
        tar.add(tmp_path / "release" / "cifar-10-batches-py", arcname="cifar-10-batches-py")
    monkeypatch.setattr(torchvision.datasets.CIFAR10, "url", f"{url}/cifar-10-python.tar.gz")
    bench = ["bench", "--suite", "imagenet", "--task", "cifar10", "--arch", "simple_cnn", "--out", str(tmp_path / "out")]
    assert main(bench) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith(f"zoo: error: cifar10 is not in {zoo_home / 'data' / 'cifar10'}")
    assert err.rstrip().endswith("`zoo fetch imagenet` downloads the suite's data sets (needs internet)")
    assert not (tmp_path / "out").exists()  # no database, no leaderboards for a run that measured nothing
    assert main(["fetch", "imagenet", "--task", "cifar10", "--arch", "simple_cnn", "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == ["data set cifar10 (train)", "data set cifar10 (test)"]
    train = tvd.DATASETS["cifar10"].load("train")  # from its default root under $ZOO_HOME, as the cells read it
    assert train.images.shape == (10, 3, 32, 32) and train.classes == tuple(names)


def test_zoo_fetch_without_the_internet_fails_in_one_line(zoo_home, monkeypatch, capsys):
    monkeypatch.setattr(torchvision.datasets.CIFAR10, "url", "http://127.0.0.1:9/cifar-10-python.tar.gz")  # nothing listens there
    assert main(["fetch", "imagenet", "--task", "cifar10", "--arch", "simple_cnn"]) == 2
    err = capsys.readouterr().err.splitlines()
    assert err[-1].startswith("zoo: error: cannot fetch data set cifar10 (train): URLError") and err[-1].endswith("`zoo fetch` needs the internet")
    assert "Traceback" not in "\n".join(err)
