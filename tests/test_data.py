"""vgg_lessons.train.data on a tiny ImageFolder made here: sources, cache, errors, batch transforms."""

from __future__ import annotations

import os
import urllib.error
import urllib.request
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image
from torchvision.transforms.v2 import functional as TF

from vgg_lessons.train import data
from vgg_lessons.inputs import CLASSES
from vgg_lessons.train.data import data_root, load_cifar10
from vgg_lessons.train.augmentation import augment

N_TRAIN, N_TEST = 3, 1  # images per class


def _make_folder(root: Path, per_split: dict[str, int], suffix: str = ".png") -> dict[str, np.ndarray]:
    """Write random 32x32 RGB images in ImageFolder layout; return {path: pixels (H, W, 3)}."""
    rng = np.random.default_rng(0)
    written = {}
    for split, n in per_split.items():
        for name in CLASSES:
            folder = root / split / name
            folder.mkdir(parents=True)
            for i in range(n):
                pixels = rng.integers(0, 256, (32, 32, 3), dtype=np.uint8)
                path = folder / f"{i:04d}{suffix}"
                Image.fromarray(pixels).save(path, quality=95)
                written[str(path)] = pixels
    return written


@pytest.fixture()
def tiny(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Path, Path, dict]:
    root, cache = tmp_path / "cifar", tmp_path / "cache"
    written = _make_folder(root, {"train": N_TRAIN, "test": N_TEST})
    monkeypatch.setenv("VGG_LESSONS_CACHE", str(cache))
    return root, cache, written


def test_data_root_precedence(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VGG_LESSONS_DATA", str(tmp_path / "env"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert data_root(tmp_path / "arg") == tmp_path / "arg"
    assert data_root() == tmp_path / "env"
    monkeypatch.delenv("VGG_LESSONS_DATA")
    assert data_root() == tmp_path / "xdg" / "vgg-lessons" / "data"
    assert data.cache_dir() == tmp_path / "xdg" / "vgg-lessons" / "tensors"
    monkeypatch.setenv("VGG_LESSONS_CACHE", str(tmp_path / "tensors"))
    assert data.cache_dir() == tmp_path / "tensors"
    assert data.cache_dir(tmp_path / "arg") == tmp_path / "arg"


def test_tests_do_not_see_the_callers_environment(isolated_environment: Path) -> None:
    """The autouse fixture of conftest.py: no caller's data, cache or user cache."""
    assert data.data_root() == isolated_environment / "vgg-lessons" / "data"
    assert data.cache_dir() == isolated_environment / "vgg-lessons" / "tensors"
    assert not any(isolated_environment.iterdir())


def test_folder_pixels_labels_and_order(tiny) -> None:
    root, _, written = tiny
    images, labels = load_cifar10("train", root)
    assert images.shape == (10 * N_TRAIN, 3, 32, 32) and images.dtype == torch.uint8
    assert labels.dtype == torch.int64
    # classes interleaved: 0..9, 0..9, ...; image k is file k // 10 of class k % 10
    assert labels.tolist() == list(range(10)) * N_TRAIN
    for k in range(len(labels)):
        path = root / "train" / CLASSES[k % 10] / f"{k // 10:04d}.png"
        np.testing.assert_array_equal(images[k].permute(1, 2, 0).numpy(), written[str(path)])
    test_images, test_labels = load_cifar10("test", root)
    assert test_images.shape == (10 * N_TEST, 3, 32, 32) and test_labels.tolist() == list(range(10))


def test_jpeg_matches_pillow(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VGG_LESSONS_CACHE", str(tmp_path / "cache"))
    _make_folder(tmp_path / "jpg", {"train": 2}, suffix=".jpg")
    images, labels = load_cifar10("train", tmp_path / "jpg")
    for k in range(len(labels)):
        path = tmp_path / "jpg" / "train" / CLASSES[labels[k]] / f"{k // 10:04d}.jpg"
        reference = np.asarray(Image.open(path).convert("RGB")).astype(int)  # Pillow's decoder
        assert np.abs(images[k].permute(1, 2, 0).numpy().astype(int) - reference).max() <= 2


def test_cache_is_used_outside_the_data_root(tiny, monkeypatch: pytest.MonkeyPatch) -> None:
    root, cache, _ = tiny
    before = sorted(p for p in root.rglob("*"))
    first = load_cifar10("train", root)
    assert sorted(p for p in root.rglob("*")) == before, "nothing may be written into the data root"
    assert len(list(cache.glob("cifar10-train-*.pt"))) == 1

    def no_decoding(*args, **kwargs):
        raise AssertionError("decoded again despite the cache")
    monkeypatch.setattr(data, "_decode_files", no_decoding)
    second = load_cifar10("train", root)
    assert torch.equal(first[0], second[0]) and torch.equal(first[1], second[1])
    # the cache file holds plain tensors only
    blob = torch.load(next(cache.glob("cifar10-train-*.pt")), weights_only=True)
    assert torch.equal(blob["images"], first[0])


def test_cache_is_refreshed_when_files_change(tiny) -> None:
    root, _, _ = tiny
    load_cifar10("train", root)
    Image.fromarray(np.zeros((32, 32, 3), np.uint8)).save(root / "train" / "cat" / "9999.png")
    images, labels = load_cifar10("train", root)
    assert len(labels) == 10 * N_TRAIN + 1 and labels.bincount()[CLASSES.index("cat")] == N_TRAIN + 1


def test_interrupted_cache_write_leaves_nothing(tiny, monkeypatch: pytest.MonkeyPatch) -> None:
    root, cache, _ = tiny
    real_save = torch.save

    def save_then_die(obj, fh, *args, **kwargs):
        fh.write(b"half a file")
        raise KeyboardInterrupt
    monkeypatch.setattr(torch, "save", save_then_die)
    with pytest.raises(KeyboardInterrupt):
        load_cifar10("train", root)
    assert list(cache.iterdir()) == [], "no partial or temporary file may remain"
    monkeypatch.setattr(torch, "save", real_save)
    assert load_cifar10("train", root)[0].shape[0] == 10 * N_TRAIN


def test_no_data_and_no_download(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError) as err:
        load_cifar10("train", tmp_path / "empty", download=False, cache=tmp_path / "c")
    msg = str(err.value)
    assert str(tmp_path / "empty") in msg and "VGG_LESSONS_DATA" in msg
    assert "train/<class>/*.jpg" in msg and "download=True" in msg


def test_no_network(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def offline(*args, **kwargs):
        raise urllib.error.URLError("network is unreachable")
    monkeypatch.setattr(urllib.request, "urlopen", offline)
    with pytest.raises(FileNotFoundError, match="download failed") as err:
        load_cifar10("test", tmp_path / "empty", download=True, cache=tmp_path / "c")
    assert "VGG_LESSONS_DATA" in str(err.value) and "network is unreachable" in str(err.value)
    assert not (tmp_path / "c").exists() or not any((tmp_path / "c").iterdir())


@pytest.mark.parametrize("content", [b"", b"this is not a JPEG", b"\xff\xd8\xff\xe0 truncated"])
def test_corrupt_image_is_named(tiny, content: bytes) -> None:
    root, cache, _ = tiny
    bad = root / "train" / "dog" / "0001.jpg"
    bad.write_bytes(content)
    with pytest.raises(ValueError, match="corrupt or not an image") as err:
        load_cifar10("train", root)
    assert str(bad) in str(err.value)
    assert not cache.exists() or not any(cache.iterdir())


def test_non_image_file_is_named(tiny) -> None:
    root, _, _ = tiny
    (root / "train" / "frog" / "notes.txt").write_text("hello")
    with pytest.raises(ValueError, match="not an image file") as err:
        load_cifar10("train", root)
    assert str(root / "train" / "frog" / "notes.txt") in str(err.value)


def test_wrong_size_is_named(tiny) -> None:
    root, _, _ = tiny
    Image.fromarray(np.zeros((64, 48, 3), np.uint8)).save(root / "test" / "ship" / "0005.png")
    with pytest.raises(ValueError, match=r"48x64 pixels.*32x32"):
        load_cifar10("test", root)


@pytest.mark.parametrize("breakage", ["missing_class", "extra_class", "loose_files"])
def test_wrong_layout(tiny, breakage: str) -> None:
    root, _, _ = tiny
    split = root / "train"
    if breakage == "missing_class":
        for f in (split / "truck").iterdir():
            f.unlink()
        (split / "truck").rmdir()
    elif breakage == "extra_class":
        (split / "unicorn").mkdir()
    else:
        Image.fromarray(np.zeros((32, 32, 3), np.uint8)).save(split / "0000.png")
    with pytest.raises(ValueError, match="wrong layout") as err:
        load_cifar10("train", root)
    assert "expected" in str(err.value) and "<class>" in str(err.value) and "airplane" in str(err.value)


def test_bad_split(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="'train' or 'test'"):
        load_cifar10("val", tmp_path)


def test_augment_matches_per_image_reference() -> None:
    x = torch.randint(0, 256, (16, 3, 32, 32), dtype=torch.uint8)
    out = augment(x, torch.Generator().manual_seed(3))
    # the same draws, in the same order, applied one image at a time with torchvision
    gen = torch.Generator().manual_seed(3)
    offsets = torch.randint(0, 9, (2, 16), generator=gen)
    mirror = torch.rand(16, generator=gen) < 0.5
    assert 0 < mirror.sum() < 16
    for i in range(16):
        ref = TF.crop(TF.pad(x[i], [4]), int(offsets[0, i]), int(offsets[1, i]), 32, 32)
        if mirror[i]:
            ref = TF.horizontal_flip(ref)
        assert torch.equal(out[i], ref), f"image {i} differs"
    assert out.dtype == x.dtype and out.shape == x.shape


def test_augment_identity_and_variety() -> None:
    x = torch.randint(0, 256, (8, 3, 32, 32), dtype=torch.uint8)
    assert torch.equal(augment(x, padding=0, flip=False), x)
    a = augment(x, torch.Generator().manual_seed(0))
    b = augment(x, torch.Generator().manual_seed(0))
    c = augment(x, torch.Generator().manual_seed(1))
    assert torch.equal(a, b) and not torch.equal(a, c)


def test_augment_mirrors_the_images_it_is_told_to() -> None:
    x = torch.randint(0, 256, (4, 3, 32, 32), dtype=torch.uint8)
    mirror = torch.tensor([True, False, True, False])
    out = augment(x, padding=0, mirror=mirror)
    assert torch.equal(out[mirror], x[mirror].flip(3)) and torch.equal(out[~mirror], x[~mirror])
    with pytest.raises(ValueError, match=r"mirror must be a bool tensor of shape \(4,\)"):
        augment(x, mirror=torch.ones(3, dtype=torch.bool))
    with pytest.raises(ValueError, match="padding must be a whole number of pixels"):
        augment(x, padding=-1)


# ---- a damaged cache, killed writes, and messages that say what is wrong ----------------
def _rewrite_cache(cache: Path, change) -> None:
    """Apply ``change`` to the cached blob and save it back as if its bytes had rotted."""
    path = next(cache.glob("cifar10-train-*.pt"))
    blob = torch.load(path, weights_only=True)
    change(blob)
    torch.save(blob, path)


@pytest.mark.parametrize("damage", ["labels", "pixels"])
def test_a_damaged_cache_is_rebuilt_not_trusted(tiny, damage: str) -> None:
    root, cache, _ = tiny
    expected = load_cifar10("train", root)

    def rot(blob):
        if damage == "labels":
            blob["labels"][0] = 217020518514230019  # the value the issue saw
        else:
            blob["images"][3, 1, 4, 5] ^= 1
    _rewrite_cache(cache, rot)
    images, labels = load_cifar10("train", root)
    assert torch.equal(images, expected[0]) and torch.equal(labels, expected[1])


def test_a_killed_cache_write_leaves_no_temporary_for_good(tiny) -> None:
    root, cache, _ = tiny
    cache.mkdir()
    name = data._cache_file(data.data_root(root), "train", cache).name
    dead = cache / f"{name}.999999999.x1y2.tmp"  # no process has this id
    dead.write_bytes(b"56 MB of a killed write")
    live = cache / f"{name}.{os.getpid()}.x3y4.tmp"  # a write still in progress
    live.write_bytes(b"being written")
    load_cifar10("train", root)
    assert not dead.exists() and live.exists()


def test_an_empty_class_folder_is_named(tiny) -> None:
    root, _, _ = tiny
    for f in (root / "train" / "cat").iterdir():
        f.unlink()
    with pytest.raises(ValueError, match="no images in") as err:
        load_cifar10("train", root)
    assert str(root / "train" / "cat") in str(err.value)


def test_an_unreadable_file_is_not_called_corrupt(tiny, monkeypatch: pytest.MonkeyPatch) -> None:
    root, _, _ = tiny
    locked = root / "train" / "dog" / "0001.png"
    real_open = Image.open

    def open_as_another_user(path, *args, **kwargs):
        if Path(path) == locked:
            raise PermissionError(13, "Permission denied", str(path))
        return real_open(path, *args, **kwargs)
    monkeypatch.setattr(Image, "open", open_as_another_user)  # tests run as root: chmod is no help
    with pytest.raises(ValueError, match="permission denied") as err:
        load_cifar10("train", root)
    assert str(locked) in str(err.value) and "corrupt" not in str(err.value)


def test_a_junk_batches_folder_is_not_a_failed_download(tmp_path: Path) -> None:
    batches = tmp_path / "cifar" / "cifar-10-batches-py"
    batches.mkdir(parents=True)
    (batches / "data_batch_1").write_bytes(b"junk")
    with pytest.raises(ValueError, match="incomplete or corrupt") as err:
        load_cifar10("train", tmp_path / "cifar", download=False)
    assert "download failed" not in str(err.value) and str(batches) in str(err.value)


def test_a_mistyped_root_leaves_no_folder_behind(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def offline(*args, **kwargs):
        raise urllib.error.URLError("network is unreachable")
    monkeypatch.setattr(urllib.request, "urlopen", offline)
    with pytest.raises(FileNotFoundError, match="download failed"):
        load_cifar10("train", tmp_path / "dta" / "cifar")
    assert not (tmp_path / "dta").exists()
