"""The package under faults: concurrent runs, a full disk, read-only folders, kill -9.

Where the tests run as root (CI's container, the dev machine) a full disk is a real
1 MiB tmpfs and a read-only folder a read-only tmpfs; elsewhere the full disk is a
patched writer that fails as torch.save fails on a full disk, and the read-only
folder a patched ``os.access`` (each test says which ran, in its output).
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import torch
from conftest import SMALL, _image_folder, _model, _toy
from test_cli import TINY, _error, no_data  # noqa: F401  (a fixture)
from test_data import _make_folder

from vgg_lessons.publishing import editions
from vgg_lessons.train import _files, cli
from vgg_lessons.train._files import atomic_write
from vgg_lessons.train.checkpoints import read_checkpoint
from vgg_lessons.train.data import load_cifar10
from vgg_lessons.train.loop import fit

ROOT = Path(__file__).resolve().parents[1]
ENV = {**os.environ, "PYTHONPATH": str(ROOT)}  # subprocesses import this checkout


@contextlib.contextmanager
def _tmpfs(folder: Path, options: str) -> Iterator[bool]:
    """A 1 MiB tmpfs on ``folder`` while the block runs (root only); whether it is one."""
    folder.mkdir(parents=True, exist_ok=True)
    mounted = os.geteuid() == 0 and shutil.which("mount") is not None
    if mounted:
        command = ["mount", "-t", "tmpfs", "-o", f"size=1m,{options}", "tmpfs"]
        mounted = (
            subprocess.run([*command, str(folder)], capture_output=True).returncode == 0
        )
    try:
        yield mounted
    finally:
        if mounted:
            subprocess.run(["umount", "--lazy", str(folder)], check=True)


@pytest.fixture()
def full_disk(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A folder on a nearly full disk (a 1 MiB tmpfs with 128 KiB free: no checkpoint or
    tensor cache fits), or a patched writer."""
    disk = tmp_path / "full"
    with _tmpfs(disk, "rw") as mounted:
        if mounted:
            print("full disk: a real 1 MiB tmpfs")
            with open(disk / "filler", "wb") as fh:  # 128 KiB stay free: a lock fits
                fh.write(b"\0" * ((1 << 20) - (1 << 17)))
            yield disk
            return
    print("full disk: a patched writer (not root: no tmpfs)")
    real_save = torch.save

    def where(f) -> str:  # the file an open handle writes (its name is its number)
        try:
            return os.readlink(f"/proc/self/fd/{f.fileno()}")
        except (OSError, AttributeError):
            return str(getattr(f, "name", f))

    def save(obj, f, *args, **kwargs):
        if str(disk) in where(f):
            raise RuntimeError(
                "[enforce fail at inline_container.cc:778] . PytorchStreamWriter "
                "failed writing file data/0: file write failed"
            )
        return real_save(obj, f, *args, **kwargs)

    monkeypatch.setattr(torch, "save", save)
    monkeypatch.setattr(
        _files.shutil, "disk_usage", lambda p: shutil._ntuple_diskusage(1, 1, 0)
    )
    yield disk


@pytest.fixture()
def read_only(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A read-only folder: a read-only tmpfs, or a patched ``os.access``."""
    folder = tmp_path / "read-only"
    with _tmpfs(folder, "ro") as mounted:
        if mounted:
            print("read-only: a real read-only tmpfs")
            yield folder
            return
    print("read-only: a patched os.access (not root)")
    real_access = os.access
    monkeypatch.setattr(
        os, "access", lambda p, m: Path(p) != folder and real_access(p, m)
    )
    yield folder


# ---- a full disk -----------------------------------------------------------------------
def test_a_checkpoint_on_a_full_disk_says_so_and_leaves_nothing(
    full_disk: Path,
) -> None:
    blob = dict(weights=torch.zeros(2**18))  # 1 MiB
    with pytest.raises(OSError, match=f"no space left on {full_disk}") as err:
        atomic_write(full_disk / "checkpoint.pt", lambda fh: torch.save(blob, fh))
    assert "\n" not in str(err.value)
    assert (
        sorted(p.name for p in full_disk.iterdir()) == ["filler"]
        or not (full_disk / "filler").exists()
    )


def test_a_full_cache_disk_does_not_stop_loading(
    full_disk: Path, tmp_path: Path
) -> None:
    root = tmp_path / "cifar"
    _make_folder(
        root, {"train": 40}
    )  # 400 images: 1.2 MB of tensors, more than is free
    images, labels = load_cifar10("train", root, cache=full_disk / "cache")
    assert images.shape == (400, 3, 32, 32) and len(labels) == 400
    assert not list((full_disk / "cache").glob("*.tmp"))


def test_training_onto_a_full_disk_is_one_line_and_keeps_the_last_checkpoint(
    full_disk: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture,
) -> None:
    root = _image_folder(tmp_path, monkeypatch)
    out = full_disk / "run"
    with pytest.raises(SystemExit) as exit_info:
        cli.main(TINY + ["--data-root", str(root), "--out-dir", str(out)])
    err = capsys.readouterr().err
    assert exit_info.value.code == 1 and "Traceback" not in err
    line = err.strip().splitlines()[-1]
    assert f"no space left on {out}" in line and "no checkpoint of this run" in line
    assert not list(out.glob("*.tmp"))


# ---- read-only folders -------------------------------------------------------------------
@pytest.mark.usefixtures("no_data")
def test_a_read_only_run_folder_is_one_line_before_the_data(
    read_only: Path, capsys
) -> None:
    line = _error(TINY + ["--out-dir", str(read_only / "run")], capsys)
    assert f"{read_only} is not writable" in line


def test_a_read_only_editions_folder_is_one_line(read_only: Path, capsys) -> None:
    with pytest.raises(SystemExit) as exit_info:
        editions.main(["--out", str(read_only / "editions"), "--root", str(ROOT)])
    assert exit_info.value.code == 2
    assert f"{read_only} is not writable" in capsys.readouterr().err


def test_a_read_only_cache_folder_does_not_stop_loading(
    read_only: Path, tmp_path
) -> None:
    root = tmp_path / "cifar"
    _make_folder(root, {"train": 1})
    assert load_cifar10("train", root, cache=read_only / "cache")[0].shape[0] == 10


# ---- concurrent runs and kill -9 -------------------------------------------------------
def _train_command(root: Path, out: Path, epochs: int = 1) -> list[str]:
    return [
        sys.executable,
        "-m",
        "vgg_lessons.train",
        *TINY,
        "--epochs",
        str(epochs),
        "--threads",
        "1",
        "--data-root",
        str(root),
        "--out-dir",
        str(out),
    ]


@pytest.mark.slow
def test_two_runs_into_one_folder_one_is_refused(tmp_path: Path, monkeypatch) -> None:
    root = _image_folder(tmp_path, monkeypatch)
    out = tmp_path / "run"
    env = {**ENV, "VGG_LESSONS_CACHE": str(tmp_path / "cache")}
    runs = [
        subprocess.Popen(
            _train_command(root, out, epochs=2),
            env=env,
            text=True,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        for _ in range(2)
    ]
    results = [(r.wait(timeout=300), r.stderr.read()) for r in runs]
    codes = sorted(code for code, _ in results)
    assert codes == [0, 2], results
    refused = next(err for code, err in results if code == 2)
    assert "Traceback" not in refused
    assert "in use by another run" in refused or "already holds a run" in refused
    assert read_checkpoint(out / "checkpoint.pt")["epoch"] == 2


@pytest.mark.slow
def test_kill_9_then_resume_ends_as_an_uninterrupted_run(
    tmp_path: Path, monkeypatch
) -> None:
    """A SIGKILL leaves the lock file (its process gone: stale) and the last checkpoint."""
    root = _image_folder(tmp_path, monkeypatch)
    env = {**ENV, "VGG_LESSONS_CACHE": str(tmp_path / "cache")}
    subprocess.run(
        _train_command(root, tmp_path / "whole", 3),
        env=env,
        check=True,
        capture_output=True,
        timeout=300,
    )
    out = tmp_path / "killed"
    run = subprocess.Popen(
        _train_command(root, out, 3),
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 300
    while not (out / "metrics.json").exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    run.send_signal(signal.SIGKILL)
    run.wait()
    done = json.loads((out / "metrics.json").read_text())
    assert len(done) < 3 and (out / ".lock").exists(), "killed after its run had ended"
    resumed = subprocess.run(
        _train_command(root, out, 3) + ["--resume"],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert resumed.returncode == 0, resumed.stderr
    whole, again = (
        read_checkpoint(p / "checkpoint.pt") for p in (tmp_path / "whole", out)
    )
    assert again["epoch"] == 3 and not (out / ".lock").exists()
    for key, value in whole["model"].items():
        assert torch.equal(value, again["model"][key]), (
            f"{key} differs after kill -9 and resume"
        )


def test_fit_into_a_folder_left_by_a_killed_run(tmp_path: Path) -> None:
    """In-process: a stale lock and a killed write's temporary do not block the next run."""
    out = tmp_path / "run"
    fit(_model(), _toy(64), **{**SMALL, "epochs": 1}, out_dir=out)
    (out / ".lock").write_text("999999999\n")
    (out / "checkpoint.pt.999999999.ab12.tmp").write_bytes(b"half")
    fit(_model(), _toy(64), **{**SMALL, "epochs": 2}, out_dir=out, overwrite=True)
    assert sorted(p.name for p in out.iterdir()) == ["checkpoint.pt", "metrics.json"]
