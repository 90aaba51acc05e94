"""``imagefolder``: the user's own images, one sub-folder per class, checked before training.

The layout is torchvision's ``ImageFolder``: ``ROOT/<class>/<image>``, where images in nested
folders inside a class folder count for that class. ``load_imagefolder(split, root=ROOT)``
reads it into an :class:`~zoo.data.images.ImageSet`; the splits are made one of two ways:

* ``ROOT/train/<class>/…`` and ``ROOT/test/<class>/…`` with the same class folders: those two
  folders are the splits, as they stand (``test_fraction`` and ``seed`` are not used);
* otherwise every image of ``ROOT`` is pooled and split with
  :func:`zoo.data.images.stratified_split`: ``test_fraction`` of every class (at least one image) in
  test, chosen by ``seed``, so the same folder and seed always give the same split.

Nothing trains on a folder that has not passed :func:`scan_imagefolder`: every image is
recognised by its extension (torchvision's ``IMG_EXTENSIONS``, any case), opened and fully
decoded, and any problem (no such folder, no class folders, a class with no images, a single
class, files PIL cannot read) is a :class:`~zoo.errors.ZooError` that names the path and says
what to do. Unreadable images are an error unless ``skip_corrupt=True``
leaves them out.

How an image is checked, and why both steps: ``Image.verify()`` reads the file's structure
without decoding pixels; for PNG it checks every chunk's CRC and that the file ends with
``IEND``, but for JPEG (and most formats) it checks nothing. ``Image.load()`` decodes the
pixels and so catches truncated JPEGs and broken compressed data, but not a PNG that lost its
last chunks or has a bad chunk CRC outside the pixel data. Verifying reads the file's
structure without decoding it, a small part of what loading and resizing the image costs
anyway, so every image gets both. A file that passed, and whose size,
modification time and inode are unchanged, is not decoded again in the same process (loading
``train`` and then ``test`` checks the folder once). ``ImageFile.LOAD_TRUNCATED_IMAGES`` is
held ``False`` while checking, so a truncated image is always reported whatever the caller set.

PIL warnings raised while checking (bad EXIF, odd TIFF tags, a very large image) do not make
an image unreadable: they are collected in :attr:`FolderScan.warnings` instead of being shown
once per file (or, under ``-W error``, failing the run). Unlike torchvision, hidden files and
folders (names starting with ``.``, such as ``.DS_Store`` or macOS's ``._photo.jpg``) are not
images or classes, and EXIF orientation is applied, so an image is seen upright as in a viewer.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import torch
from PIL import Image, ImageFile
from torchvision.datasets.folder import IMG_EXTENSIONS  # matched in any case, as torchvision does

from zoo import DatasetSpec, ImageSet, hookimpl
from zoo.data.images import pil_to_uint8, stratified_split
from zoo.errors import ZooError

__all__ = [
    "CorruptImagesError",
    "FolderScan",
    "load_imagefolder",
    "scan_imagefolder",
    "split_folders",
    "zoo_register_datasets",
]

DEFAULT_SIZE = 224  # side of the square images when size=None: what ImageNet networks take
MAX_LISTED = 10  # unreadable images named in an error; the rest are counted
SPLITS = ("train", "test")
LAYOUT = "ROOT/<class>/<image>"

# Every image that passed the check in this process: path -> (its fingerprint, PIL's warnings).
_checked_ok: dict[str, tuple[tuple[int, ...], list[str]]] = {}


class CorruptImagesError(ZooError):
    """Images that PIL cannot read; ``paths`` lists all of them, the message the first few."""

    def __init__(self, message: str, paths: list[Path]):
        super().__init__(message)
        self.paths = paths


@dataclass
class FolderScan:
    """What :func:`scan_imagefolder` found in one folder of class sub-folders."""

    root: Path
    classes: tuple[str, ...]  # class folder names, sorted as torchvision sorts them
    files: dict[str, list[Path]]  # readable images per class, in torchvision's order
    ignored: int = 0  # files that are not images by extension, or hidden, or not in a class folder
    corrupt: list[Path] = field(default_factory=list)  # images PIL cannot read (left out)
    problems: dict[Path, str] = field(default_factory=dict)  # why each corrupt image failed
    skipped: int = 0  # images left out because they are corrupt (skip_corrupt=True)
    warnings: list[tuple[Path, str]] = field(default_factory=list)  # PIL warnings, per image

    @property
    def counts(self) -> dict[str, int]:
        """Readable images per class."""
        return {c: len(self.files[c]) for c in self.classes}

    @property
    def paths(self) -> list[Path]:
        """Every readable image, class by class."""
        return [p for c in self.classes for p in self.files[c]]

    @property
    def labels(self) -> torch.Tensor:
        """The label of every image of :attr:`paths`."""
        counts = [len(self.files[c]) for c in self.classes]
        return torch.repeat_interleave(torch.arange(len(counts)), torch.tensor(counts, dtype=torch.int64))

    def __len__(self) -> int:
        return sum(len(files) for files in self.files.values())


def _is_hidden(name: str) -> bool:
    return name.startswith(".")


def _is_image(name: str) -> bool:
    return name.lower().endswith(IMG_EXTENSIONS)


def _walk(directory: Path) -> Iterator[tuple[Path, list[str]]]:
    """(folder, file names) below ``directory`` in torchvision's order (folders sorted by
    path, names sorted within), following symbolic links but never the same folder twice and
    never into a hidden folder."""

    def unreadable(exc: OSError) -> None:
        raise ZooError(f"cannot read folder {exc.filename}: {exc.strerror or exc}; check its permissions")

    seen: set[tuple[int, int]] = set()
    found = []
    for dirpath, dirnames, filenames in os.walk(directory, onerror=unreadable, followlinks=True):
        st = os.stat(dirpath)
        if (st.st_dev, st.st_ino) in seen:  # a link back up the tree, or a second link to a folder
            dirnames[:] = []
            continue
        seen.add((st.st_dev, st.st_ino))
        dirnames[:] = [d for d in dirnames if not _is_hidden(d)]
        found.append((dirpath, filenames))
    for dirpath, filenames in sorted(found):
        yield Path(dirpath), sorted(filenames)


@contextmanager
def _strict_pil():
    """PIL refuses truncated images whatever the caller set; restored afterwards."""
    before = ImageFile.LOAD_TRUNCATED_IMAGES
    ImageFile.LOAD_TRUNCATED_IMAGES = False
    try:
        yield
    finally:
        ImageFile.LOAD_TRUNCATED_IMAGES = before


def _fingerprint(path: Path) -> tuple[int, ...] | None:
    """What must not change for a past check to stand: the file, and PIL's size limit."""
    try:
        st = path.stat()
    except OSError:
        return None
    return st.st_size, st.st_mtime_ns, st.st_ino, Image.MAX_IMAGE_PIXELS or 0


def _check_image(path: Path) -> tuple[str | None, list[str]]:
    """Why ``path`` is not a readable image (None when it is), and PIL's warnings about it
    (each once, though the file is opened twice)."""
    key = str(path.absolute())
    fingerprint = _fingerprint(path)
    if fingerprint is not None and key in _checked_ok and _checked_ok[key][0] == fingerprint:
        return None, _checked_ok[key][1]
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            with Image.open(path) as image:  # structure: chunk CRCs, PNG's IEND (cheap)
                image.verify()
            with Image.open(path) as image:  # pixels: truncation, broken compressed data
                image.load()
        except Exception as exc:  # whatever the decoder raises, the file cannot be used
            reason = " ".join(str(exc).replace(str(path), "").split()).strip(" :'\"") or type(exc).__name__
            return reason, list(dict.fromkeys(str(w.message) for w in caught))
    messages = list(dict.fromkeys(str(w.message) for w in caught))
    if fingerprint is not None:
        _checked_ok[key] = fingerprint, messages
    return None, messages


def _corrupt_message(root: Path, corrupt: list[Path], problems: dict[Path, str], total: int) -> str:
    def show(p: Path) -> str:
        shown = p.relative_to(root) if p.is_relative_to(root) else p
        return f"{shown} ({problems[p]})" if p in problems else str(shown)

    listed = "; ".join(show(p) for p in corrupt[:MAX_LISTED])
    more = f"; and {len(corrupt) - MAX_LISTED} more" if len(corrupt) > MAX_LISTED else ""
    return (
        f"{len(corrupt)} of {total} images in {root} cannot be read: {listed}{more}. "
        "Replace or delete them, or pass skip_corrupt=True to leave them out"
    )


def scan_imagefolder(root: Path, *, skip_corrupt: bool = False) -> FolderScan:
    """Check that ``root`` is a folder of class sub-folders whose images PIL can all read.

    Classes are the non-hidden sub-folders of ``root``, sorted as torchvision sorts them (by
    name, code point order), so labels match a torchvision ``ImageFolder`` of the same
    folder. Every image is opened, verified and decoded (see the module docstring). Raises a
    :class:`ZooError` naming the path when ``root`` is missing or not a folder, has no class
    folders or only one, or a class has no (readable) images; a :class:`CorruptImagesError`
    when images cannot be read, unless ``skip_corrupt`` leaves them out (counted in
    ``skipped``, listed in ``corrupt``).
    """
    root = Path(root)
    if not root.exists():
        raise ZooError(f"image folder {root} does not exist; point root at a folder laid out as {LAYOUT}")
    if not root.is_dir():
        raise ZooError(f"image folder {root} is a file, not a folder; point root at a folder laid out as {LAYOUT}")
    try:
        entries = sorted(os.scandir(root), key=lambda e: e.name)
    except OSError as exc:
        raise ZooError(f"cannot read image folder {root}: {exc.strerror or exc}") from None
    classes, loose_images, ignored = [], 0, 0
    for entry in entries:
        if _is_hidden(entry.name):
            ignored += entry.is_file()
        elif entry.is_dir():
            classes.append(entry.name)
        else:  # a file beside the class folders belongs to no class
            ignored += 1
            loose_images += _is_image(entry.name)
    if not classes:
        loose = f" (its {loose_images} images are not in class folders)" if loose_images else ""
        raise ZooError(
            f"image folder {root} has no class sub-folders{loose}; put the images of every class "
            f"in a sub-folder named after it: {LAYOUT}"
        )

    files: dict[str, list[Path]] = {}
    corrupt: list[Path] = []
    problems: dict[Path, str] = {}
    pil_warnings: list[tuple[Path, str]] = []
    total = 0
    with _strict_pil():
        for name in classes:
            files[name] = []
            for dirpath, filenames in _walk(root / name):
                for filename in filenames:
                    if _is_hidden(filename) or not _is_image(filename):
                        ignored += 1
                        continue
                    path = dirpath / filename
                    total += 1
                    reason, caught = _check_image(path)
                    pil_warnings.extend((path, message) for message in caught)
                    if reason is None:
                        files[name].append(path)
                    else:
                        corrupt.append(path)
                        problems[path] = reason
    if corrupt and not skip_corrupt:
        raise CorruptImagesError(_corrupt_message(root, corrupt, problems, total), corrupt)

    empty = [name for name in classes if not files[name]]
    if empty:
        because = " readable" if any(p.is_relative_to(root / name) for name in empty for p in corrupt) else ""
        raise ZooError(
            f"class folder{'s' if len(empty) > 1 else ''} {', '.join(str(root / n) for n in empty)} "
            f"{'have' if len(empty) > 1 else 'has'} no{because} images ({', '.join(IMG_EXTENSIONS)}); "
            "add images or remove the folder"
        )
    if len(classes) < 2:
        raise ZooError(
            f"image folder {root} has a single class, {classes[0]!r}; a classifier needs at least two "
            f"class sub-folders: {LAYOUT}"
        )
    return FolderScan(
        root=root,
        classes=tuple(classes),
        files=files,
        ignored=ignored,
        corrupt=corrupt,
        problems=problems,
        skipped=len(corrupt),
        warnings=pil_warnings,
    )


def split_folders(root: Path) -> dict[str, Path] | None:
    """``{"train": ROOT/train, "test": ROOT/test}`` when ``root`` is split into those two
    folders (each holding the class folders), None when ``root`` holds the class folders."""
    root = Path(root)
    if not all((root / split).is_dir() for split in SPLITS):
        return None
    others = sorted(e.name for e in os.scandir(root) if e.is_dir() and not _is_hidden(e.name) and e.name not in SPLITS)
    if others:
        raise ZooError(
            f"image folder {root} has train/ and test/ sub-folders and also {', '.join(o + '/' for o in others)}: "
            "with train/ and test/, every class folder goes inside both; move or remove the others"
        )
    return {split: root / split for split in SPLITS}


def _scan_splits(root: Path, skip_corrupt: bool) -> dict[str, FolderScan] | FolderScan:
    """The whole folder, checked: a scan per split folder, or one scan of the pooled classes."""
    folders = split_folders(root) if root.is_dir() else None
    if folders is None:
        return scan_imagefolder(root, skip_corrupt=skip_corrupt)
    scans = {split: scan_imagefolder(folder, skip_corrupt=skip_corrupt) for split, folder in folders.items()}
    train, test = scans["train"].classes, scans["test"].classes
    if train != test:
        differences = [
            f"only in {split}/: {', '.join(sorted(set(mine) - set(theirs)))}"
            for split, mine, theirs in (("train", train, test), ("test", test, train))
            if set(mine) - set(theirs)
        ]
        raise ZooError(
            f"image folder {root}: train/ and test/ must hold the same class folders ({'; '.join(differences)}); "
            "add or remove class folders so that they match"
        )
    return scans


def _split_indices(scan: FolderScan, split: str, test_fraction: float, seed: int) -> torch.Tensor:
    too_few = [f"{name} ({count})" for name, count in scan.counts.items() if count < 2]
    if too_few:
        raise ZooError(
            f"image folder {scan.root}: these classes are too small to split into train and test: "
            f"{', '.join(too_few)}; add images (at least 2 per class), or split the folder yourself "
            "into train/ and test/ sub-folders"
        )
    train, test = stratified_split(scan.labels, test_fraction, seed)
    return train if split == "train" else test


def _to_tensor(path: Path, size: int) -> torch.Tensor:
    try:
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", module=r"PIL\.")  # already collected by the scan
            with _strict_pil(), Image.open(path) as image:
                return pil_to_uint8(image, size, 3)
    except OSError as exc:  # changed since the scan
        raise ZooError(f"cannot read {path} (it changed after it was checked?): {exc}") from None


def load_imagefolder(
    split: str,
    *,
    root: Path | None = None,
    download: bool = False,
    size: int | None = None,
    skip_corrupt: bool = False,
    test_fraction: float = 0.2,
    seed: int = 0,
) -> ImageSet:
    """``split`` ("train" or "test") of the folder ``root`` as colour images of ``size``×``size``.

    ``size`` defaults to 224 (images vary in size, so one must be chosen: every image's shorter
    side is resized to it and the centre cropped square). The whole folder, both splits, is
    checked first (see :func:`scan_imagefolder`), so a bad test image stops the run before
    training rather than after. ``ROOT/train`` and ``ROOT/test`` folders are used as the
    splits; otherwise ``test_fraction`` of every class, chosen by ``seed``, is the test split.
    """
    if root is None:
        raise ZooError(f"imagefolder needs root=PATH: a folder of your images laid out as {LAYOUT}")
    if download:
        raise ZooError("imagefolder reads your own folder; there is nothing to download (drop download=True)")
    if split not in SPLITS:
        raise ZooError(f"imagefolder has splits {' and '.join(SPLITS)}, not {split!r}")
    size = DEFAULT_SIZE if size is None else size
    if isinstance(size, bool) or not isinstance(size, int) or size < 1:
        raise ZooError(f"imagefolder size must be a positive number of pixels, got {size!r}")
    if not 0 < test_fraction < 1:
        raise ZooError(f"imagefolder test_fraction must be between 0 and 1, got {test_fraction!r}")
    root = Path(root)
    scanned = _scan_splits(root, skip_corrupt)
    if isinstance(scanned, dict):
        scan = scanned[split]
        paths, labels = scan.paths, scan.labels
    else:
        scan = scanned
        indices = _split_indices(scan, split, test_fraction, seed)
        every = scan.paths
        paths, labels = [every[i] for i in indices.tolist()], scan.labels[indices]
    images = torch.empty((len(paths), 3, size, size), dtype=torch.uint8)
    for i, path in enumerate(paths):
        images[i] = _to_tensor(path, size)
    return ImageSet(images, labels, scan.classes, name=f"imagefolder:{root}/{split}")


DATASETS = {
    "imagefolder": DatasetSpec(
        name="imagefolder",
        description=f"your own images: pass root=PATH of a folder laid out as {LAYOUT} (checked before training)",
        load=load_imagefolder,
        classes=(),
        channels=3,
        native_size=None,
        source="a folder of class sub-folders you point zoo at",
        reads_folders=True,
        split_note=(
            "ROOT/train/ and ROOT/test/ when the folder has both (with the same class folders); otherwise a "
            "stratified split with test_fraction (0.2) of every class in test, chosen by seed (0)"
        ),
        extra={
            "layout": LAYOUT,
            "extensions": " ".join(IMG_EXTENSIONS),
            "default size": DEFAULT_SIZE,
            "options": "root=PATH (required), size, skip_corrupt, test_fraction, seed",
        },
    ),
}


@hookimpl
def zoo_register_datasets(registry):
    for spec in DATASETS.values():
        registry.add(spec)
