"""vgg_lessons.train.checkpoints: damaged files are refused in one line; killed writes leave nothing."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest
import torch

from conftest import SMALL, _model, _toy
from vgg_lessons.train._files import atomic_write
from vgg_lessons.train.checkpoints import load_checkpoint, read_checkpoint
from vgg_lessons.train.loop import fit


@pytest.fixture()
def checkpoint(tmp_path: Path) -> Path:
    """A real one-epoch checkpoint."""
    fit(_model(), _toy(64), **{**SMALL, "epochs": 1}, out_dir=tmp_path / "run")
    return tmp_path / "run" / "checkpoint.pt"


def test_an_empty_checkpoint_is_refused_in_one_line(tmp_path: Path) -> None:
    empty = tmp_path / "checkpoint.pt"
    empty.write_bytes(b"")
    with pytest.raises(ValueError, match="refusing to load") as err:
        load_checkpoint(empty)
    assert str(empty) in str(err.value) and "\n" not in str(err.value)


def test_a_checkpoint_with_damaged_bytes_is_refused(checkpoint: Path) -> None:
    stats = torch.load(checkpoint, weights_only=True)["model"]["features.1.running_mean"]  # 1-D
    raw = bytearray(checkpoint.read_bytes())
    at = raw.find(stats.numpy().tobytes())
    assert at > 0
    raw[at + 10] ^= 0x40  # one bit of one number
    checkpoint.write_bytes(bytes(raw))
    with pytest.raises(ValueError, match="damaged|refusing to load"):
        load_checkpoint(checkpoint)
    with pytest.raises(ValueError, match="damaged|refusing to load"):
        fit(_model(), _toy(64), **{**SMALL, "epochs": 2}, out_dir=checkpoint.parent, resume=True)


def test_a_checkpoint_is_intact_after_a_round_trip(checkpoint: Path) -> None:
    blob = read_checkpoint(checkpoint)
    assert blob["checksum"].startswith("file-crc32:") and blob["epoch"] == 1


def test_killed_writes_leave_no_temporaries_for_good(tmp_path: Path) -> None:
    path = tmp_path / "checkpoint.pt"
    dead = tmp_path / "checkpoint.pt.999999999.ab12.tmp"  # its writer has ended
    old = tmp_path / "checkpoint.pt.ab12cd.tmp"  # written before temporaries named their writer
    live = tmp_path / f"checkpoint.pt.{os.getpid()}.ef34.tmp"  # a write in progress
    for tmp in (dead, old, live):
        tmp.write_bytes(b"half a checkpoint")
    two_hours_ago = time.time() - 7200
    os.utime(old, (two_hours_ago, two_hours_ago))
    atomic_write(path, lambda fh: fh.write(b"whole"))
    assert path.read_bytes() == b"whole"
    assert not dead.exists() and not old.exists() and live.exists()
