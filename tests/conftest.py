"""Shared fixtures: a clean environment for every test, real CIFAR-10, the book built once.

No test depends on the caller's environment: an autouse fixture removes
``$VGG_LESSONS_DATA`` and ``$VGG_LESSONS_CACHE`` and points ``$XDG_CACHE_HOME`` (the
user cache, where data and tensor caches go by default) at a fresh temporary folder.
A test that needs one of these variables sets it itself (``monkeypatch.setenv``); the
tests that need the real CIFAR-10 ask for the ``cifar10_root`` fixture, which is
``$VGG_LESSONS_DATA`` as it was when the session started.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest
import torch
from PIL import Image

from vgg_lessons.inputs import CLASSES
from vgg_lessons.models import build_vgg
from vgg_lessons.probes import fields
from vgg_lessons.train.loop import seed_everything

ROOT = Path(__file__).resolve().parents[1]
#: The caller's environment variables that change where vgg_lessons reads and writes.
ENVIRONMENT = ("VGG_LESSONS_DATA", "VGG_LESSONS_CACHE", "XDG_CACHE_HOME")
#: Where the real CIFAR-10 is, read once before any test changes the environment.
REAL_DATA = os.environ.get("VGG_LESSONS_DATA")

#: How long the book build may take before the test session gives up (seconds).
BOOK_BUILD_TIMEOUT_S = 600


@pytest.fixture(autouse=True)
def isolated_environment(tmp_path_factory: pytest.TempPathFactory,
                         monkeypatch: pytest.MonkeyPatch) -> Path:
    """Clear the caller's data and cache variables; the user cache is a new empty folder.

    Returns:
        That folder (``$XDG_CACHE_HOME``): vgg_lessons' default data root is
        ``<it>/vgg-lessons/data`` and its default tensor cache ``<it>/vgg-lessons/tensors``.
    """
    for name in ENVIRONMENT:
        monkeypatch.delenv(name, raising=False)
    user_cache = tmp_path_factory.mktemp("user-cache")
    monkeypatch.setenv("XDG_CACHE_HOME", str(user_cache))
    return user_cache


@pytest.fixture(scope="session")
def cifar10_root() -> Path:
    """The real CIFAR-10 (``$VGG_LESSONS_DATA`` at session start); fails, never skips, without it."""
    if not REAL_DATA or not Path(REAL_DATA).is_dir():
        pytest.fail(f"this test needs the real CIFAR-10: set $VGG_LESSONS_DATA to a folder that holds "
                    f"it (now {REAL_DATA!r}); see README.md, Data", pytrace=False)
    return Path(REAL_DATA)


@pytest.fixture(scope="session")
def cifar10_env(cifar10_root: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """Variables for a notebook kernel that reads the real CIFAR-10: the data root and a
    tensor cache shared by this session's kernels (never the user's), so it is decoded once."""
    return {"VGG_LESSONS_DATA": str(cifar10_root),
            "VGG_LESSONS_CACHE": str(tmp_path_factory.mktemp("kernel-tensor-cache"))}


@pytest.fixture(scope="session")
def cifar10_test(cifar10_root: Path, tmp_path_factory: pytest.TempPathFactory):
    """The real CIFAR-10 test split ``(uint8 (10000, 3, 32, 32), int64 (10000,))``, decoded
    once per session into a private tensor cache (never the user's)."""
    from vgg_lessons.train.data import load_cifar10
    return load_cifar10("test", cifar10_root, download=False,
                        cache=tmp_path_factory.mktemp("cifar10-cache"))


@pytest.fixture(scope="session")
def book_html(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Build the book once, as CI does (warnings are errors), and return its html folder.

    Runs ``jupyter-book build . -W -n --keep-going`` into a temporary output path,
    so the test session never touches the repository's own ``_build``. With
    ``$BOOK_HTML`` set (a built ``_build/html`` folder) it builds nothing and returns
    that folder: for iterating on the browser tests, never in CI. If the
    build fails, every test that uses this fixture fails with the build log.

    Returns:
        The folder holding ``index.html`` and one ``.html`` page per book file,
        e.g. ``book_html / "book" / "01_receptive_fields.html"``.
    """
    prebuilt = os.environ.get("BOOK_HTML")
    if prebuilt:  # iterating on the browser tests: a book built before, as it is
        return Path(prebuilt)
    executable = shutil.which("jupyter-book")
    if executable is None:
        pytest.fail("the `jupyter-book` command is missing; install the book's requirements "
                    "with `pip install -r requirements.txt`", pytrace=False)
    out = tmp_path_factory.mktemp("book")
    command = [executable, "build", str(ROOT),
               "-W", "-n", "--keep-going", "--path-output", str(out)]
    try:
        result = subprocess.run(command, cwd=ROOT, capture_output=True, text=True,
                                timeout=BOOK_BUILD_TIMEOUT_S,
                                env={**os.environ, "NO_COLOR": "1"})  # a plain-text log
    except subprocess.TimeoutExpired as err:  # its output may be bytes, even with text=True
        log = "\n".join(part.decode(errors="replace") if isinstance(part, bytes) else part
                        for part in (err.stdout, err.stderr) if part)
        pytest.fail(f"the book build took over {BOOK_BUILD_TIMEOUT_S} s and was stopped:\n{log}",
                    pytrace=False)
    html = out / "_build" / "html"
    if result.returncode != 0 or not (html / "index.html").is_file():
        pytest.fail(
            f"`jupyter-book build . -W -n --keep-going --path-output {out}` failed "
            f"(exit {result.returncode}); fix the warnings below (each is an error in CI):\n--- stdout ---\n{result.stdout}\n"
            f"--- stderr ---\n{result.stderr}", pytrace=False)
    return html


# ---- shared helpers of the training tests (test_train, test_checkpoints, test_cli) ------
#: fit's settings for the tiny runs of the tests.
SMALL = dict(epochs=2, batch_size=32, lr=0.05, progress=False, device="cpu")


def _toy(n: int, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """Images whose class is their tint: a learnable, tiny stand-in for CIFAR-10."""
    g = torch.Generator().manual_seed(seed)
    labels = torch.arange(n) % 10
    tints = torch.linspace(20, 235, 10)[labels].view(n, 1, 1, 1)
    channel = (labels % 3).view(n, 1, 1, 1) == torch.arange(3).view(1, 3, 1, 1)
    noise = torch.randint(0, 60, (n, 3, 32, 32), generator=g)
    images = (torch.where(channel, tints, 128.0) + noise - 30).clamp(0, 255).to(torch.uint8)
    return images, labels


def _model(seed: int = 0, bn: str | None = "before_relu"):
    seed_everything(seed)
    return build_vgg("A", bn=bn, head="cifar", width=0.125)


def _image_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The toy images as an ImageFolder tree (100 train, 30 test), with a private cache."""
    root = tmp_path / "data"
    monkeypatch.setenv("VGG_LESSONS_CACHE", str(tmp_path / "cache"))
    images, labels = _toy(100)
    for split, n in (("train", 100), ("test", 30)):
        for i in range(n):
            folder = root / split / CLASSES[labels[i]]
            folder.mkdir(parents=True, exist_ok=True)
            Image.fromarray(images[i].permute(1, 2, 0).numpy()).save(folder / f"{i:04d}.png")
    return root


# ---- a small VGG-16's effective field (test_receptive_field, test_plots) -----------
@pytest.fixture(scope="session")
def vgg16_erf():
    torch.manual_seed(0)
    model = build_vgg("vgg16", bn=None, width=0.25)
    return fields.effective_rf(model, "stage4.conv3", input_size=160, n_inputs=2, seed=0)
