"""The imagefolder data set: a user's folder of class sub-folders, checked before training.

Every case writes real PNG/JPEG files with PIL into ``tmp_path``. Images are tiny and loaded
at ``size=8`` so that the whole module runs in a few seconds.
"""

import io

import pytest
import torch
from PIL import Image, ImageFile

from zoo.errors import ZooError
from zoo.plugin.dataset import validate_dataset_spec
from zoo_plugins.imagefolder import DATASETS, CorruptImagesError, load_imagefolder, scan_imagefolder, split_folders

RED, BLUE, GREEN = (255, 0, 0), (0, 0, 255), (0, 160, 0)


def write_image(path, color=RED, size=(12, 10), fmt=None):
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new("RGB", size, color).save(path, fmt)
    return path


def image_bytes(color=RED, fmt="PNG", size=(16, 16)):
    buffer = io.BytesIO()
    Image.new("RGB", size, color).save(buffer, fmt)
    return buffer.getvalue()


def noisy_jpeg():
    """A JPEG whose bytes are mostly compressed pixels, so that cutting its end leaves the
    header readable: Image.open() and verify() pass, only load() finds the truncation."""
    pixels = torch.randint(0, 256, (48, 48, 3), dtype=torch.uint8, generator=torch.Generator().manual_seed(0))
    buffer = io.BytesIO()
    Image.fromarray(pixels.numpy()).save(buffer, "JPEG")
    return buffer.getvalue()


def make_folder(root, counts, ext="png"):
    """``counts``: {class: n}; image i of class number c has pixel (40·c, 10·i, 7), so every
    image can be told apart after loading."""
    for c, (name, n) in enumerate(counts.items()):
        for i in range(n):
            write_image(root / name / f"{i:03d}.{ext}", (40 * c, 10 * i, 7))
    return root


def identities(images):
    """(class number, image number) of every image written by make_folder."""
    return {(int(px[0]) // 40, int(px[1]) // 10) for px in images[:, :, 0, 0]}


# --- a good folder ----------------------------------------------------------------------------


def test_good_folder_loads_counts_labels_classes_and_pixels(tmp_path):
    root = tmp_path / "pets"
    for i in range(5):
        write_image(root / "cat" / f"{i}.png", RED, size=(20 + i, 12))  # sizes vary
        write_image(root / "dog" / f"{i}.jpg", BLUE, size=(9, 14 + i))

    train = load_imagefolder("train", root=root, size=8)
    test = load_imagefolder("test", root=root, size=8)

    assert train.classes == test.classes == ("cat", "dog")
    assert train.images.shape == (8, 3, 8, 8) and train.images.dtype == torch.uint8
    assert train.counts() == [4, 4] and test.counts() == [1, 1]
    assert train.name == f"imagefolder:{root}/train" and test.name == f"imagefolder:{root}/test"
    cats = train.images[train.labels == 0]
    assert torch.equal(cats, torch.tensor(RED, dtype=torch.uint8).view(1, 3, 1, 1).expand_as(cats))
    dogs = train.images[train.labels == 1].int()  # JPEG: near, not exact
    assert (dogs - torch.tensor(BLUE).view(1, 3, 1, 1)).abs().max() <= 3


def test_size_defaults_to_224(tmp_path):
    root = make_folder(tmp_path / "f", {"a": 2, "b": 2})
    assert load_imagefolder("test", root=root).images.shape == (2, 3, 224, 224)


def test_scan_orders_classes_and_files_as_torchvision_does(tmp_path):
    from torchvision.datasets import ImageFolder

    root = tmp_path / "f"
    for name in ("b", "B", "c10", "c2", "a"):
        write_image(root / name / "z.png")
        write_image(root / name / "A.jpg")
        write_image(root / name / "sub" / "m.png")
        write_image(root / name / "sub_x" / "k.bmp")
    scan = scan_imagefolder(root)
    reference = ImageFolder(str(root))
    assert scan.classes == tuple(reference.classes) == ("B", "a", "b", "c10", "c2")
    assert [str(p) for p in scan.paths] == [path for path, _ in reference.samples]
    assert scan.labels.tolist() == [label for _, label in reference.samples]
    assert scan.counts == dict.fromkeys(scan.classes, 4) and len(scan) == 20


def test_extensions_match_in_any_case(tmp_path):
    root = tmp_path / "f"
    write_image(root / "a" / "x.JPG", fmt="JPEG")
    write_image(root / "a" / "y.Png", fmt="PNG")
    write_image(root / "b" / "z.TIFF", fmt="TIFF")
    write_image(root / "b" / "w.webp")
    assert scan_imagefolder(root).counts == {"a": 2, "b": 2}


def test_exif_orientation_is_applied(tmp_path):
    root = make_folder(tmp_path / "f", {"b": 2})
    photo = Image.new("RGB", (16, 8), BLUE)
    photo.paste(RED, (0, 0, 8, 8))  # left half red
    exif = Image.Exif()
    exif[0x0112] = 6  # orientation: turn 90° clockwise to view, so the red half is on top
    path = root / "a" / "photo.png"
    path.parent.mkdir()
    photo.save(path, exif=exif)
    write_image(root / "a" / "plain.png", GREEN)
    both = [load_imagefolder(split, root=root, size=8, test_fraction=0.5) for split in ("train", "test")]
    (upright,) = [im for s in both for im, label in zip(s.images, s.labels) if label == 0 and im[1, 0, 0] != GREEN[1]]
    assert upright[:, 0, 7].tolist() == list(RED) and upright[:, 7, 0].tolist() == list(BLUE)


# --- corrupt and unreadable images ------------------------------------------------------------


def corrupt_folder(root):
    make_folder(root, {"cat": 3, "dog": 3})
    garbage = root / "cat" / "garbage.jpg"
    garbage.write_bytes(b"this is not a jpeg at all" * 20)
    png = image_bytes(fmt="PNG")
    truncated_png = root / "dog" / "truncated.png"
    truncated_png.write_bytes(png[: len(png) // 2])
    no_iend = root / "dog" / "no_end.png"  # pixels intact, last chunk missing: only verify() sees it
    no_iend.write_bytes(png[:-12])
    truncated_jpeg = root / "cat" / "sub" / "truncated.jpg"  # verify() passes, only load() sees it
    truncated_jpeg.parent.mkdir()
    truncated_jpeg.write_bytes(noisy_jpeg()[:-40])
    empty = root / "dog" / "empty.png"
    empty.write_bytes(b"")
    return [garbage, truncated_jpeg, empty, no_iend, truncated_png]  # in scan order


def test_corrupt_images_are_an_error_listing_every_path(tmp_path):
    root = tmp_path / "f"
    bad = corrupt_folder(root)
    with pytest.raises(CorruptImagesError) as info:
        scan_imagefolder(root)
    message = str(info.value)
    assert isinstance(info.value, ZooError) and info.value.paths == bad
    assert message.startswith(f"5 of 11 images in {root} cannot be read: ")
    for path in bad:
        assert str(path.relative_to(root)) in message
    assert "cannot identify image file" in message and "image file is truncated" in message
    assert "no_end.png (truncated PNG file)" in message  # verify()'s words: load() passes it
    assert "pass skip_corrupt=True to leave them out" in message
    assert "\n" not in message
    with pytest.raises(CorruptImagesError):  # load checks before it converts anything
        load_imagefolder("train", root=root, size=8)


def test_skip_corrupt_leaves_them_out_and_counts_them(tmp_path):
    root = tmp_path / "f"
    bad = corrupt_folder(root)
    scan = scan_imagefolder(root, skip_corrupt=True)
    assert scan.skipped == 5 and scan.corrupt == bad and set(scan.problems) == set(bad)
    assert scan.counts == {"cat": 3, "dog": 3}
    assert not set(scan.paths) & set(bad)
    train = load_imagefolder("train", root=root, size=8, skip_corrupt=True)
    test = load_imagefolder("test", root=root, size=8, skip_corrupt=True)
    assert train.counts() == [2, 2] and test.counts() == [1, 1]


def test_an_error_lists_ten_corrupt_paths_and_counts_the_rest(tmp_path):
    root = make_folder(tmp_path / "f", {"a": 1, "b": 1})
    for i in range(13):
        (root / "a" / f"bad{i:02d}.png").write_bytes(b"\x89PNG nope")
    with pytest.raises(CorruptImagesError) as info:
        scan_imagefolder(root)
    message = str(info.value)
    assert len(info.value.paths) == 13
    assert "bad09.png" in message and "bad10.png" not in message and "; and 3 more." in message


def test_truncated_images_are_reported_even_when_pil_is_told_to_load_them(tmp_path, monkeypatch):
    monkeypatch.setattr(ImageFile, "LOAD_TRUNCATED_IMAGES", True)
    root = make_folder(tmp_path / "f", {"a": 1, "b": 1})
    jpeg = noisy_jpeg()
    (root / "a" / "cut.jpg").write_bytes(jpeg[: len(jpeg) // 2])
    with pytest.raises(CorruptImagesError, match="cut.jpg"):
        scan_imagefolder(root)
    assert ImageFile.LOAD_TRUNCATED_IMAGES is True  # the caller's setting is restored


def test_an_image_damaged_after_a_good_scan_is_checked_again(tmp_path):
    root = make_folder(tmp_path / "f", {"a": 2, "b": 2})
    scan_imagefolder(root)
    (root / "b" / "001.png").write_bytes(b"overwritten")
    with pytest.raises(CorruptImagesError, match="001.png"):
        scan_imagefolder(root)


def test_pil_warnings_while_converting_do_not_escape(tmp_path):
    # A palette PNG with transparency as bytes: converting it to RGB makes PIL warn, which
    # under pytest's filterwarnings=error would fail the load if it escaped.
    root = make_folder(tmp_path / "f", {"a": 2})
    palette = Image.new("P", (6, 6), 1)
    palette.putpalette([0, 0, 0, 255, 0, 0] + [0] * 762)
    palette.info["transparency"] = b"\x00\x80"
    write_path = root / "b" / "palette.png"
    write_path.parent.mkdir()
    palette.save(write_path)
    write_image(root / "b" / "plain.png", BLUE)
    images = load_imagefolder("train", root=root, size=8, test_fraction=0.5)
    assert images.counts() == [1, 1]


def test_pil_warnings_while_checking_are_collected_per_image(tmp_path, monkeypatch):
    root = make_folder(tmp_path / "f", {"a": 2, "b": 2})
    big = write_image(root / "b" / "big.png", size=(20, 10))  # 200 pixels
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 150)  # warns above 150, refuses above 300
    scan = scan_imagefolder(root)
    assert [(path, message.split(" exceeds")[0]) for path, message in scan.warnings] == [(big, "Image size (200 pixels)")]
    assert load_imagefolder("test", root=root, size=8, test_fraction=0.5).counts() == [1, 2]  # round(1.5) == 2
    assert scan_imagefolder(root).warnings == scan.warnings  # also when the check is not repeated
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 90)
    with pytest.raises(CorruptImagesError, match="big.png .Image size .200 pixels. exceeds limit"):
        scan_imagefolder(root)


# --- folders that cannot be used --------------------------------------------------------------


def test_an_empty_class_is_an_error_naming_it(tmp_path):
    root = make_folder(tmp_path / "f", {"cat": 2, "dog": 2})
    (root / "bird").mkdir()
    (root / "bird" / "notes.txt").write_text("no images here")
    with pytest.raises(ZooError, match=f"class folder {root / 'bird'} has no images .*add images or remove the folder"):
        scan_imagefolder(root)


def test_a_class_of_only_corrupt_images_is_empty_when_they_are_skipped(tmp_path):
    root = make_folder(tmp_path / "f", {"cat": 2, "dog": 2})
    (root / "bird").mkdir()
    (root / "bird" / "x.jpg").write_bytes(b"nope")
    with pytest.raises(ZooError, match=f"{root / 'bird'} has no readable images"):
        scan_imagefolder(root, skip_corrupt=True)


def test_a_single_class_is_an_error(tmp_path):
    root = make_folder(tmp_path / "f", {"cat": 3})
    with pytest.raises(ZooError, match=f"image folder {root} has a single class, 'cat'; .*at least two"):
        load_imagefolder("train", root=root, size=8)


def test_images_without_class_folders_are_an_error(tmp_path):
    root = tmp_path / "f"
    write_image(root / "a.png")
    write_image(root / "b.png")
    with pytest.raises(ZooError, match=r"has no class sub-folders \(its 2 images are not in class folders\)"):
        scan_imagefolder(root)
    (tmp_path / "empty").mkdir()
    with pytest.raises(ZooError, match="empty has no class sub-folders; put the images"):
        scan_imagefolder(tmp_path / "empty")


def test_missing_root_a_file_as_root_and_no_root_are_errors(tmp_path):
    with pytest.raises(ZooError, match=f"image folder {tmp_path / 'nope'} does not exist; point root at"):
        load_imagefolder("train", root=tmp_path / "nope")
    (tmp_path / "file.png").write_bytes(image_bytes())
    with pytest.raises(ZooError, match="is a file, not a folder"):
        scan_imagefolder(tmp_path / "file.png")
    with pytest.raises(ZooError, match="imagefolder needs root=PATH"):
        load_imagefolder("train")


def test_bad_options_are_errors(tmp_path):
    root = make_folder(tmp_path / "f", {"a": 2, "b": 2})
    with pytest.raises(ZooError, match="nothing to download"):
        load_imagefolder("train", root=root, download=True)
    with pytest.raises(ZooError, match="not 'val'"):
        load_imagefolder("val", root=root)
    with pytest.raises(ZooError, match="test_fraction must be between 0 and 1"):
        load_imagefolder("train", root=root, test_fraction=1.0)
    with pytest.raises(ZooError, match="size must be a positive"):
        load_imagefolder("train", root=root, size=0)


# --- what is not an image ---------------------------------------------------------------------


def test_non_image_and_hidden_files_are_ignored_and_counted(tmp_path):
    root = make_folder(tmp_path / "f", {"cat": 2, "dog": 2})
    (root / "README.txt").write_text("my pets")
    (root / ".DS_Store").write_bytes(b"\0\0\0\1Bud1")
    (root / "cat" / ".DS_Store").write_bytes(b"\0\0\0\1Bud1")
    (root / "cat" / "._000.png").write_bytes(b"\0\5\26\7 AppleDouble")  # macOS resource fork
    (root / "dog" / "labels.csv").write_text("x,y")
    (root / "dog" / "clip.gif").write_bytes(b"GIF89a")  # not in IMG_EXTENSIONS
    write_image(root / "dog" / ".thumbnails" / "t.png")  # hidden folder: not looked into
    write_image(root / ".hidden_class" / "x.png")  # hidden folder: not a class
    scan = scan_imagefolder(root)
    assert scan.classes == ("cat", "dog") and scan.counts == {"cat": 2, "dog": 2}
    assert scan.ignored == 6 and scan.skipped == 0 and scan.corrupt == []


def test_nested_folders_count_for_their_class(tmp_path):
    root = make_folder(tmp_path / "f", {"cat": 1, "dog": 1})
    write_image(root / "cat" / "2019" / "summer" / "a.png")
    write_image(root / "cat" / "2020" / "b.jpg")
    scan = scan_imagefolder(root)
    assert scan.classes == ("cat", "dog") and scan.counts == {"cat": 3, "dog": 1}
    assert root / "cat" / "2019" / "summer" / "a.png" in scan.files["cat"]


# --- splits -----------------------------------------------------------------------------------


def test_train_and_test_folders_are_used_as_the_splits(tmp_path):
    root = tmp_path / "f"
    make_folder(root / "train", {"cat": 3, "dog": 2})
    make_folder(root / "test", {"cat": 1, "dog": 2})
    assert split_folders(root) == {"train": root / "train", "test": root / "test"}
    train = load_imagefolder("train", root=root, size=8, test_fraction=0.5, seed=3)  # both unused
    test = load_imagefolder("test", root=root, size=8)
    assert train.classes == test.classes == ("cat", "dog")
    assert train.counts() == [3, 2] and test.counts() == [1, 2]
    assert identities(test.images) == {(0, 0), (1, 0), (1, 1)}
    assert split_folders(tmp_path / "f" / "train") is None


def test_train_and_test_folders_must_hold_the_same_classes(tmp_path):
    root = tmp_path / "f"
    make_folder(root / "train", {"cat": 2, "dog": 2, "emu": 2})
    make_folder(root / "test", {"cat": 1, "dog": 1, "fox": 1})
    with pytest.raises(ZooError, match=r"must hold the same class folders \(only in train/: emu; only in test/: fox\)"):
        load_imagefolder("test", root=root, size=8)


def test_the_other_split_is_checked_too(tmp_path):
    root = tmp_path / "f"
    make_folder(root / "train", {"cat": 2, "dog": 2})
    make_folder(root / "test", {"cat": 1, "dog": 1})
    (root / "test" / "dog" / "bad.jpg").write_bytes(b"nope")
    with pytest.raises(CorruptImagesError, match="bad.jpg"):
        load_imagefolder("train", root=root, size=8)  # found before anything trains


def test_other_folders_beside_train_and_test_are_an_error(tmp_path):
    root = tmp_path / "f"
    make_folder(root / "train", {"cat": 2, "dog": 2})
    make_folder(root / "test", {"cat": 1, "dog": 1})
    make_folder(root / "val", {"cat": 1, "dog": 1})
    with pytest.raises(ZooError, match="train/ and test/ sub-folders and also val/"):
        load_imagefolder("train", root=root, size=8)


def test_stratified_split_is_exact_per_class_and_deterministic_per_seed(tmp_path):
    root = make_folder(tmp_path / "f", {"a": 10, "b": 5, "c": 20})
    every = {(c, i) for c, n in enumerate((10, 5, 20)) for i in range(n)}

    def split(seed):
        train = load_imagefolder("train", root=root, size=8, seed=seed)
        test = load_imagefolder("test", root=root, size=8, seed=seed)
        return train, test

    train, test = split(seed=0)
    assert test.counts() == [2, 1, 4] and train.counts() == [8, 4, 16]
    assert identities(train.images) | identities(test.images) == every
    assert not identities(train.images) & identities(test.images)
    assert (test.images[:, 0, 0, 0] // 40 == test.labels).all()  # labels follow the images
    again = load_imagefolder("test", root=root, size=8, seed=0)
    assert torch.equal(again.images, test.images) and torch.equal(again.labels, test.labels)
    other = load_imagefolder("test", root=root, size=8, seed=1)
    assert other.counts() == [2, 1, 4] and identities(other.images) != identities(test.images)
    half = load_imagefolder("test", root=root, size=8, test_fraction=0.5)
    assert half.counts() == [5, 3, 10]  # 2.5 rounds half up


def test_a_class_too_small_to_split_is_an_error(tmp_path):
    root = make_folder(tmp_path / "f", {"a": 4, "b": 1})
    with pytest.raises(ZooError, match=r"too small to split into train and test: b \(1\); add images"):
        load_imagefolder("train", root=root, size=8)


# --- registration -----------------------------------------------------------------------------


def test_the_dataset_spec():
    spec = DATASETS["imagefolder"]
    assert validate_dataset_spec(spec) is None
    assert spec.name == "imagefolder" and spec.classes == () and spec.channels == 3 and spec.native_size is None
    assert spec.source == "a folder of class sub-folders you point zoo at"
    assert "root=PATH" in spec.description and spec.load is load_imagefolder
