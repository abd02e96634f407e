"""CIFAR-10 as uint8 tensors: from a folder, a download or a tensor cache.

Three sources, one function, :func:`load_cifar10`:

1. a folder in ImageFolder layout, ``<root>/train/<class>/*.jpg`` and
   ``<root>/test/<class>/*.jpg`` (the offline archive the project ships for CI);
2. torchvision's Python batches, ``<root>/cifar-10-batches-py``, downloaded into
   ``<root>`` when they are missing and ``download=True`` (Colab, a laptop online);
3. a tensor cache: after the first decode the whole split is saved as one uint8
   tensor file, so no later epoch or notebook decodes a JPEG again.

The data root is the ``root`` argument, else ``$VGG_LESSONS_DATA``, else
``~/.cache/vgg-lessons/data`` (``$XDG_CACHE_HOME`` is honoured). The tensor cache
never goes into the data root, which may be read-only: it lives in
``$VGG_LESSONS_CACHE``, else ``~/.cache/vgg-lessons/tensors``, one file per split
and data root, written to a temporary file and then renamed, so an interrupted
write leaves nothing half-written (and a killed one's temporary file is removed the
next time). A cache file is used only if it checks out (its source's fingerprint,
shapes, image count, labels in 0..9 and a checksum); otherwise it is rebuilt.

Images stay uint8 ``(N, 3, 32, 32)`` until they are on the training device;
:func:`vgg_lessons.train.augmentation.augment` and :func:`vgg_lessons.inputs.normalize`
then work on whole batches there. The classes, the mean and the image size are the input
conventions of :mod:`vgg_lessons.inputs`.
"""

from __future__ import annotations

import hashlib
import os
import pickle
import shutil
import zlib
from pathlib import Path

import torch

from vgg_lessons.inputs import CLASSES, IMAGE_SIZE
from vgg_lessons.train._files import (
    atomic_write,
    first_line,
    remove_stale_temporaries,
)

SPLITS = ("train", "test")
_SPLIT_SIZES = {"train": 50_000, "test": 10_000}  # in torchvision's batches
DATA_ENV = "VGG_LESSONS_DATA"
CACHE_ENV = "VGG_LESSONS_CACHE"
_IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".bmp", ".ppm"}
_CACHE_VERSION = 2  # 2: with a checksum


def _user_cache() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "vgg-lessons"


def data_root(root: str | os.PathLike | None = None) -> Path:
    """Return the CIFAR-10 root folder: ``root``, else ``$VGG_LESSONS_DATA``, else a user cache.

    The default is ``~/.cache/vgg-lessons/data`` (under ``$XDG_CACHE_HOME`` if set).
    The folder need not exist yet; ``~`` is expanded.
    """
    if root is None:
        root = os.environ.get(DATA_ENV) or _user_cache() / "data"
    if not isinstance(root, (str, os.PathLike)) or not str(root).strip():
        raise ValueError(
            f"root is the CIFAR-10 folder, a path such as '~/data/cifar10', got "
            f"{type(root).__name__} {root!r}"
        )
    return Path(root).expanduser()


def cache_dir(cache: str | os.PathLike | None = None) -> Path:
    """Return the folder of the tensor cache: ``cache``, else ``$VGG_LESSONS_CACHE``,
    else ``~/.cache/vgg-lessons/tensors``. It is never inside the data root."""
    if cache is None:
        cache = os.environ.get(CACHE_ENV) or _user_cache() / "tensors"
    return Path(cache).expanduser()


def _where_to_put_data(root: Path) -> str:
    return (
        f"Put CIFAR-10 in ImageFolder layout under {root} (train/<class>/*.jpg and "
        f"test/<class>/*.jpg, classes {', '.join(CLASSES)}), or set ${DATA_ENV} to a folder "
        "that holds it, or call load_cifar10(..., download=True) on a machine with internet "
        "to fetch it with torchvision (about 170 MB)"
    )


# ---- the ImageFolder source -----------------------------------------------------
def _list_image_folder(split_dir: Path) -> list[tuple[Path, int]]:
    """``[(file, label), ...]`` of ``split_dir/<class>/*``, checked against the expected layout."""
    expected = (
        f"{split_dir}/<class>/*.jpg with one folder per class: {', '.join(CLASSES)}"
    )
    entries = sorted(p for p in split_dir.iterdir() if not p.name.startswith("."))
    loose = [p.name for p in entries if p.is_file()]
    folders = {p.name for p in entries if p.is_dir()}
    if loose or folders != set(CLASSES):
        found = ", ".join(sorted(folders)) or "no class folders"
        extra = (
            f" and loose files ({', '.join(loose[:3])}{', ...' if len(loose) > 3 else ''})"
            if loose
            else ""
        )
        raise ValueError(
            f"wrong layout in {split_dir}: found {found}{extra}; expected {expected}"
        )
    per_class = []
    for label, name in enumerate(CLASSES):
        files = []
        for f in sorted((split_dir / name).iterdir()):
            if f.name.startswith("."):
                continue
            if not f.is_file() or f.suffix.lower() not in _IMAGE_SUFFIXES:
                raise ValueError(
                    f"{f} is not an image file (expected {', '.join(sorted(_IMAGE_SUFFIXES))}); "
                    f"remove it, the layout is {expected}"
                )
            files.append((f, label))
        if not files:
            raise ValueError(
                f"no images in {split_dir / name}: every class needs its images; "
                f"expected {expected}"
            )
        per_class.append(files)
    # Interleave the classes (0, 1, ..., 9, 0, 1, ...) so that every prefix is balanced.
    longest = max(len(files) for files in per_class)
    return [files[i] for i in range(longest) for files in per_class if i < len(files)]


def _fingerprint(files: list[tuple[Path, int]]) -> str:
    """A cheap identity of a set of files: names, sizes, inodes, modification and
    change times.

    The rule: a file rewritten in any way is seen, even at the same size with its
    modification time put back (``os.utime``), because the kernel sets its change time
    (``st_ctime``), which no user can set back; so is a file replaced by another
    (a new inode). Contents are not hashed (that would read 60,000 files each time):
    only a change made below the file system (a disk edited by hand) goes unseen.
    Copying or unpacking the data again changes these too: one rebuild.
    """
    h = hashlib.sha256()
    for f, label in files:
        st = f.stat()
        h.update(
            f"{f.name}|{label}|{st.st_size}|{st.st_mtime_ns}|{st.st_ctime_ns}|"
            f"{st.st_ino}\n".encode()
        )
    return h.hexdigest()


def _decode_one(path: Path) -> torch.Tensor:
    """One image file -> uint8 ``(3, 32, 32)``; a bad file raises ValueError naming it."""
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(path) as img:
            pixels = torch.frombuffer(
                bytearray(img.convert("RGB").tobytes()), dtype=torch.uint8
            )
            w, h = img.size
    except Image.DecompressionBombError as err:
        raise ValueError(
            f"{path} is far too large an image for CIFAR-10 ({first_line(err)}); "
            f"CIFAR-10 images are {IMAGE_SIZE}x{IMAGE_SIZE}: remove it"
        ) from None
    except PermissionError:
        raise ValueError(
            f"cannot read {path}: permission denied; make it readable "
            f"(chmod a+r) or run as a user who may read it"
        ) from None
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError) as err:
        raise ValueError(
            f"cannot decode {path}: it is corrupt or not an image ({err}); "
            "replace or delete it"
        ) from None
    if (h, w) != (IMAGE_SIZE, IMAGE_SIZE):
        raise ValueError(
            f"{path} is {w}x{h} pixels; CIFAR-10 images are {IMAGE_SIZE}x{IMAGE_SIZE}"
        )
    return pixels.view(h, w, 3).permute(2, 0, 1)  # (H, W, 3) -> (3, H, W)


def _decode_files(files: list[tuple[Path, int]]) -> torch.Tensor:
    """Decode images into ``(N, 3, 32, 32)`` uint8 with Pillow, in threads (it frees the GIL)."""
    from concurrent.futures import ThreadPoolExecutor

    out = torch.empty(len(files), 3, IMAGE_SIZE, IMAGE_SIZE, dtype=torch.uint8)

    def decode(i: int) -> None:
        out[i] = _decode_one(files[i][0])

    with ThreadPoolExecutor(max_workers=min(8, os.cpu_count() or 1)) as pool:
        for _ in pool.map(decode, range(len(files)), chunksize=256):
            pass  # re-raises the first error, naming its file
    return out


# ---- the torchvision source -----------------------------------------------------
def _load_torchvision(
    root: Path, split: str, download: bool
) -> tuple[torch.Tensor, torch.Tensor]:
    from torchvision.datasets import CIFAR10

    batches = root / "cifar-10-batches-py"
    had_batches, made = (
        batches.is_dir(),
        [p for p in (root, *root.parents) if not p.exists()],
    )
    try:
        ds = CIFAR10(str(root), train=split == "train", download=download)
    except (OSError, RuntimeError, pickle.UnpicklingError, EOFError) as err:
        for folder in made:  # a mistyped root leaves nothing behind
            shutil.rmtree(folder, ignore_errors=True)
        if had_batches or isinstance(err, (pickle.UnpicklingError, EOFError)):
            raise ValueError(
                f"the CIFAR-10 batches in {batches} are incomplete or corrupt "
                f"({type(err).__name__}: {err}); delete that folder and load again "
                "with download=True"
            ) from None
        raise FileNotFoundError(  # URLError is an OSError
            f"no CIFAR-10 found in {root} and the download failed ({type(err).__name__}: {err}). "
            + _where_to_put_data(root)
        ) from None
    images = (
        torch.from_numpy(ds.data).permute(0, 3, 1, 2).contiguous()
    )  # (N, 32, 32, 3) -> NCHW
    return images, torch.tensor(ds.targets, dtype=torch.int64)


# ---- the tensor cache -------------------------------------------------------------
def _cache_file(root: Path, split: str, cache: Path) -> Path:
    """One file per split, data root and cache version (older versions' files are left alone,
    so two versions of the package sharing a cache do not rebuild each other's)."""
    key = hashlib.sha256(str(root.resolve()).encode()).hexdigest()[:12]
    return cache / f"cifar10-{split}-{key}-v{_CACHE_VERSION}.pt"


def _checksum(images: torch.Tensor, labels: torch.Tensor) -> str:
    """CRC-32 of the images' and labels' bytes (about 0.2 s for the training split)."""
    crc = zlib.crc32(images.contiguous().numpy().data)
    return f"crc32:{zlib.crc32(labels.contiguous().numpy().data, crc):08x}"


def _read_cache(
    path: Path, fingerprint: str, count: int | None
) -> tuple[torch.Tensor, torch.Tensor] | None:
    """The cached split if the file is intact and matches; None to rebuild it.

    Checked: version, the source's fingerprint, dtypes and shapes, ``count`` images
    (if known), labels in 0..9 and the checksum. A damaged cache is rebuilt, never trusted.
    """
    if not path.is_file():
        return None
    try:  # mmap: pages are read when used, so a cached load takes well under a second
        blob = torch.load(path, map_location="cpu", weights_only=True, mmap=True)
        images, labels = blob["images"], blob["labels"]
        n = len(labels)
        intact = (
            blob.get("version") == _CACHE_VERSION
            and blob.get("fingerprint") == fingerprint
            and images.dtype == torch.uint8
            and labels.dtype == torch.int64
            and tuple(images.shape) == (n, 3, IMAGE_SIZE, IMAGE_SIZE)
            and labels.shape == (n,)
            and n > 0
            and count in (None, n)
            and 0 <= int(labels.min())
            and int(labels.max()) < len(CLASSES)
            and blob.get("checksum") == _checksum(images, labels)
        )
    except Exception:
        return None
    return (images, labels) if intact else None


def _write_cache(
    path: Path, images: torch.Tensor, labels: torch.Tensor, fingerprint: str
) -> None:
    blob = dict(
        version=_CACHE_VERSION,
        fingerprint=fingerprint,
        images=images,
        labels=labels,
        checksum=_checksum(images, labels),
    )
    try:
        atomic_write(path, lambda fh: torch.save(blob, fh))
    except OSError:
        pass  # an unwritable cache (or a full disk) only costs a decode next time


def load_cifar10(
    split: str = "train",
    root: str | os.PathLike | None = None,
    *,
    download: bool = True,
    cache: str | os.PathLike | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Load a CIFAR-10 split as ``(images, labels)``.

    Args:
        split: "train" (50,000 images) or "test" (10,000).
        root: the data root (see :func:`data_root`). It may be read-only.
        download: fetch CIFAR-10 with torchvision into ``root`` if no data is there.
        cache: folder of the tensor cache (see :func:`cache_dir`).

    Returns:
        ``images``, uint8 ``(N, 3, 32, 32)`` RGB in 0..255, and ``labels``, int64
        ``(N,)`` in 0..9 (indices into :data:`CLASSES`). From a folder the classes are
        interleaved (labels 0, 1, ..., 9, 0, 1, ...), so ``images[:n]`` is a balanced
        subset; torchvision's batches come in their own, mixed order.

    Raises:
        ValueError: unknown split, a wrong folder layout, or a corrupt or non-image file
            (named in the message).
        FileNotFoundError: no data under ``root`` and no download (the message says where
            to put it and how to get it).
    """
    if split not in SPLITS:
        raise ValueError(f"split must be 'train' or 'test', got {split!r}")
    root = data_root(root)
    cache_path = _cache_file(root, split, cache_dir(cache))
    remove_stale_temporaries(cache_path)  # of a write that was killed
    split_dir = root / split
    if split_dir.is_dir():
        files = _list_image_folder(split_dir)
        fingerprint = "folder:" + _fingerprint(files)
        cached = _read_cache(cache_path, fingerprint, len(files))
        if cached is not None:
            return cached
        images = _decode_files(files)
        labels = torch.tensor([label for _, label in files], dtype=torch.int64)
    else:
        batches = root / "cifar-10-batches-py"
        if not batches.is_dir() and not download:
            raise FileNotFoundError(
                f"no CIFAR-10 in {root}: neither {split_dir} nor {batches} "
                "exists, and download=False. " + _where_to_put_data(root)
            )
        if batches.is_dir():
            fingerprint = "batches:" + _fingerprint(
                [(p, 0) for p in sorted(batches.iterdir())]
            )
            cached = _read_cache(cache_path, fingerprint, _SPLIT_SIZES[split])
            if cached is not None:
                return cached
        images, labels = _load_torchvision(root, split, download)
        fingerprint = "batches:" + _fingerprint(
            [(p, 0) for p in sorted(batches.iterdir())]
        )
    _write_cache(cache_path, images, labels, fingerprint)
    return images, labels


def balanced_subset(
    labels: torch.Tensor,
    per_class: int,
    *,
    seed: int = 0,
    num_classes: int = len(CLASSES),
) -> torch.Tensor:
    """Indices of a class-balanced random subset: ``per_class`` images of every class.

    Balanced by construction, whatever the order of the source (an ImageFolder copy is
    sorted by class, torchvision's batches are not), so "the first N" is never needed.

    Args:
        labels: int ``(N,)`` class indices in ``0..num_classes-1``.
        per_class: images to draw from each class.
        seed: seeds the draw; the same seed gives the same indices on every machine.

    Returns:
        int64 ``(num_classes * per_class,)`` indices into ``labels``, in ascending order.
    """
    labels = torch.as_tensor(labels).cpu()
    counts = torch.bincount(labels, minlength=num_classes)
    if per_class < 1 or counts.min() < per_class or len(counts) != num_classes:
        raise ValueError(
            f"cannot draw {per_class} images from each of {num_classes} classes: "
            f"the classes hold {counts.tolist()} images; ask for at most "
            f"{counts[:num_classes].min().item()} per class"
        )
    order = torch.randperm(len(labels), generator=torch.Generator().manual_seed(seed))
    picked = [order[labels[order] == c][:per_class] for c in range(num_classes)]
    return torch.cat(picked).sort().values
