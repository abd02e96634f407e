"""vgg_lessons.train.distributed: the same training on 2 processes (torchrun, gloo) as on one.

torchrun starts real processes here (a few seconds each), so these tests are few: equal
weights for equal global batches (one start trains both recipes), the pieces that make
them equal, and a killed rank.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
from distributed_worker import RECIPES, run
from test_train import _image_folder, _model
from torch import nn

from vgg_lessons.train import distributed
from vgg_lessons.train.config import TrainConfig, configure

ROOT = Path(__file__).resolve().parent.parent
TORCHRUN = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2"]


def _env() -> dict[str, str]:
    return dict(os.environ, PYTHONPATH=os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]),
                OMP_NUM_THREADS="1")


@pytest.fixture(scope="module")
def two_process_runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """Every recipe of distributed_worker.RECIPES trained by 2 ranks (one torchrun start)."""
    out = tmp_path_factory.mktemp("torchrun") / "two.pt"
    done = subprocess.run([*TORCHRUN, str(ROOT / "tests" / "distributed_worker.py"), str(out)],
                          env=_env(), capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, _problems(done.stderr)
    return torch.load(out, weights_only=False)


@pytest.mark.parametrize("recipe", list(RECIPES))
def test_two_processes_end_with_the_weights_of_one(two_process_runs: dict[str, Any],
                                                   recipe: str) -> None:
    """2 ranks x 8 images (gloo, synchronised BN, averaged gradients) == 1 x 16 images,
    for the shipped recipe (whitened first convolution, alternating flips, padding 2:
    every rank must whiten alike and crop and flip each image by its global index) and
    the textbook one; in float64 (see distributed_worker.run), so to many digits."""
    two = two_process_runs[recipe]
    one_model, one = run(recipe)
    state = one_model.state_dict()
    assert two["state"].keys() == state.keys()  # a plain model again: BN keys unchanged
    for key, value in state.items():
        torch.testing.assert_close(two["state"][key], value, rtol=1e-9, atol=1e-12, msg=key)
    for name in ("train_loss", "step_losses"):  # recorded in float32
        assert np.ravel([r[name] for r in two["history"]]) == pytest.approx(
            np.ravel([r[name] for r in one]), rel=1e-6), name
    assert [r["train_acc"] for r in two["history"]] == [r["train_acc"] for r in one]
    # and not trivially: the weights moved
    assert not torch.equal(state["features.0.weight"],
                           _model(0).double().state_dict()["features.0.weight"])


def test_the_recipes_compared_are_the_shipped_one_and_the_textbook_one() -> None:
    shipped = configure(**RECIPES["shipped"])
    assert shipped == TrainConfig()  # the defaults, whatever they become
    assert shipped.whiten_first_conv and shipped.flip == "alternate"
    assert shipped.crop_padding == 2
    textbook = configure(**RECIPES["textbook"])
    assert (textbook.whiten_first_conv, textbook.flip, textbook.crop_padding) == (
        False, "random", 4)


def test_a_rank_takes_its_share_of_the_global_batch() -> None:
    ctx = distributed.Context(rank=1, world_size=4, local_rank=1, device=torch.device("cpu"))
    x, y = torch.arange(32).view(8, 4), torch.arange(8)
    xs, ys = distributed.shard(x, y, ctx)
    assert ys.tolist() == [2, 3]
    assert torch.equal(xs, x[2:4])
    assert distributed.shard(x, y, None)[1] is y
    with pytest.raises(ValueError, match="batch_size 30 does not split over 4 processes"):
        distributed.check_batch(30, ctx)


def test_sync_batch_norm_swaps_modules_and_back_keeping_the_state() -> None:
    model = _model(0)
    before = {k: v.clone() for k, v in model.state_dict().items()}
    params = list(model.parameters())
    distributed.sync_batch_norm(model, torch.device("cpu"))
    # the very same tensors: an optimizer made before the swap still trains them
    assert all(a is b for a, b in zip(model.parameters(), params, strict=True))
    assert any(isinstance(m, distributed.CrossRankBatchNorm2d) for m in model.modules())
    x = torch.randn(4, 3, 32, 32)
    plain = _model(0)
    torch.testing.assert_close(model.train()(x), plain.train()(x))  # no group: plain BN
    distributed.plain_batch_norm(model)
    assert not any(isinstance(m, distributed.CrossRankBatchNorm2d) for m in model.modules())
    assert all(type(m) is not nn.SyncBatchNorm for m in model.modules())
    for k, v in model.state_dict().items():
        if "num_batches" not in k:
            assert v.shape == before[k].shape


def _problems(stderr: str) -> str:
    """The lines of a failed torchrun's output that say what failed."""
    keep = [line for line in stderr.splitlines()
            if any(w in line for w in ("Error", "error", "rank ", "stopped"))]
    return "\n".join(keep[-40:])


def _children(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1]) == pid:
                    found.append(int(entry.name))
            except (OSError, IndexError, ValueError):
                pass
    return found


def _rank_of(pid: int) -> int | None:
    try:
        env = (Path("/proc") / str(pid) / "environ").read_bytes().split(b"\0")
    except OSError:
        return None
    for item in env:
        if item.startswith(b"RANK="):
            return int(item[5:])
    return None


@pytest.mark.skipif(not Path("/proc").is_dir(), reason="finds the ranks' processes in /proc")
def test_killing_a_rank_stops_the_run_with_a_resumable_checkpoint(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    root = _image_folder(tmp_path, monkeypatch)
    out = tmp_path / "run"
    argv = ["-m", "vgg_lessons.train", "--data-root", str(root), "--width", "0.125",
            "--epochs", "40", "--batch-size", "20", "--device", "cpu", "--no-progress",
            "--threads", "1", "--out-dir", str(out)]
    env = _env()
    run = subprocess.Popen([*TORCHRUN, *argv], env=env, stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 240
        while not (out / "checkpoint.pt").exists():  # wait for a finished epoch
            assert run.poll() is None, run.communicate()[1][-3000:]
            assert time.monotonic() < deadline, "no checkpoint after 240 s"
            time.sleep(0.2)
        workers = [p for p in _children(run.pid) if _rank_of(p) == 1]
        assert workers, "rank 1's process not found"
        os.kill(workers[0], signal.SIGKILL)
        _, err = run.communicate(timeout=240)
    finally:
        if run.poll() is None:
            run.kill()
    assert run.returncode != 0
    assert "the distributed run stopped before its end" in err, err[-3000:]
    assert "is kept in" in err and "--resume" in err
    saved = torch.load(out / "checkpoint.pt", weights_only=False)
    assert 1 <= saved["epoch"] < 40
    # the same command with --resume (fewer epochs would differ: same settings) continues it
    resumed = subprocess.run([*TORCHRUN, *argv, "--resume"], env=env, capture_output=True,
                             text=True, timeout=600)
    assert resumed.returncode == 0, _problems(resumed.stderr)
    assert f"epochs 1-{saved['epoch']} are done" in resumed.stdout
    assert torch.load(out / "checkpoint.pt", weights_only=False)["epoch"] == 40
