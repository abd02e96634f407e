"""vgg_lessons.train.grid_records and viz.depth_plots on hand-made records, and
scripts/depth_grid.py end to end on toy data (one tiny run per grid, resumed)."""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from pathlib import Path

import pytest
from test_train import _image_folder

from vgg_lessons.train import grid_records
from vgg_lessons.viz.depth_plots import (
    plot_depth_grid,
    plot_start_losses,
    plot_start_spread,
)

ROOT = Path(__file__).resolve().parent.parent


def _record(depth: int, seed: int, acc: float, grid: str = "depth", init: str | None = None,
            losses=(2.3, 2.0)) -> dict:
    return dict(
        grid=grid, arch={11: "A", 13: "B", 16: "D", 19: "E"}[depth], depth=depth, seed=seed,
        init=init, test_acc=acc, train_seconds=100.0 * depth, cpu_seconds=150.0 * depth,
        macs_per_image=1_000_000 * depth, train_images=1000, epochs=2, diverged=None,
        config=dict(training=dict(batch_size=128)),
        metrics=[dict(epoch=i + 1, train_loss=loss, step_losses=[loss] * 3,
                      seconds=10.0 * depth + seed + i)
                 for i, loss in enumerate(losses)],
        signal_at_init=dict(activation_std=[1.0, 0.5, 0.25, 0.125, 0.0625], loss=2.31),
    )


def test_depth_summary_means_spreads_and_compute() -> None:
    records = [_record(11, 0, 0.80), _record(11, 1, 0.82), _record(16, 0, 0.85),
               _record(11, 2, None)]  # a diverged run counts for nothing
    rows = grid_records.depth_summary(records)
    assert [(r["depth"], r["seeds"]) for r in rows] == [(11, 2), (16, 1)]
    assert rows[0]["acc_mean"] == pytest.approx(0.81)
    assert rows[0]["acc_std"] == pytest.approx(math.sqrt(2) * 0.01)
    assert rows[1]["acc_std"] is None
    assert [r["fastest_epoch_seconds"] for r in rows] == [110.0, 160.0]  # epoch 1, seed 0
    # 3 x MACs x 896 images (7 whole batches of 128) x 2 epochs
    assert grid_records.training_macs(records[2]) == 3 * 16e6 * 896 * 2
    assert rows[1]["acc_per_tmac"] == pytest.approx(0.85 / (3 * 16e6 * 896 * 2 / 1e12))


def test_depth_contrast_says_whether_the_seeds_overlap() -> None:
    rows = grid_records.depth_summary(
        [_record(11, 0, 0.80), _record(11, 1, 0.82), _record(16, 0, 0.83),
         _record(16, 1, 0.85), _record(19, 0, 0.81), _record(19, 1, 0.86)])
    contrast = grid_records.depth_contrast(rows, 11, 16)
    assert contrast["gain"] == pytest.approx(3.0) and contrast["order"] == "above"
    assert grid_records.depth_contrast(rows, 16, 11)["order"] == "below"
    assert grid_records.depth_contrast(rows, 16, 19)["order"] == "overlap"
    assert contrast["seeds"] == 2
    one_seed = grid_records.depth_summary([_record(11, 0, 0.80), _record(16, 0, 0.90)])
    assert grid_records.depth_contrast(one_seed, 11, 16)["order"] == "single"
    with pytest.raises(ValueError, match=r"no finished run of depth \[13\]"):
        grid_records.depth_contrast(rows, 11, 13)


def test_start_summary_says_which_runs_learn() -> None:
    records = [_record(19, 0, 0.1, "start", "paper", losses=(2.303, 2.302)),
               _record(19, 0, 0.4, "start", "he_fan_in", losses=(2.3, 1.6))]
    rows = grid_records.start_summary(records)
    assert [(r["init"], r["learns"]) for r in rows] == [("paper", False), ("he_fan_in", True)]
    assert rows[0]["spread_ratio"] == pytest.approx(0.0625)
    assert rows[0]["init_loss"] == 2.31 and not rows[0]["diverged"]
    assert not grid_records.learns(dict(records[1], diverged="the loss became nan"))


def test_depth_figures_have_their_panels() -> None:
    records = [_record(11, 0, 0.80), _record(16, 0, 0.85),
               _record(11, 0, 0.1, "start", "he_fan_in"), _record(16, 0, 0.1, "start", "glorot")]
    fig = plot_depth_grid(grid_records.depth_summary(records), records)
    assert [ax.get_title() for ax in fig.axes] == [
        "test accuracy", "time per run", "accuracy per compute"]
    assert fig.get_size_inches()[0] <= 7  # the column
    records.append(dict(_record(19, 0, None, "start", "paper", losses=()),
                        diverged="the training loss became nan"))
    records[-1]["signal_at_init"]["loss"] = 90.0
    fig = plot_start_losses(records)
    panels = [ax for ax in fig.axes if ax.get_visible()]
    assert [ax.get_title() for ax in panels] == [f"VGG-{d}, no BN" for d in (11, 16, 19)]
    # each panel: its run (and the line of a uniform guess); the diverged run says so
    assert [len(ax.lines) for ax in panels] == [2, 2, 3]  # + the marker of a clipped loss
    assert any("diverged" in t.get_text() for t in panels[2].texts)
    fig = plot_start_spread(records)
    assert [ax.get_title() for ax in fig.axes] == ["paper (std 0.1)", "Glorot", "He fan-in"]
    assert fig.axes[0].get_yscale() == "log" and len(fig.axes[1].lines) == 1


def test_depth_grid_script_writes_records_and_skips_finished_runs(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    root = _image_folder(tmp_path, monkeypatch)
    records, runs = tmp_path / "records", tmp_path / "runs"
    argv = [sys.executable, str(ROOT / "scripts" / "depth_grid.py"), "--tiny", "--archs", "A",
            "--records", str(records), "--runs-dir", str(runs), "--threads", "1"]
    env = dict(os.environ, VGG_LESSONS_DATA=str(root),
               PYTHONPATH=os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]))
    for grid in ("depth", "start"):
        done = subprocess.run([*argv, "--grid", grid, "--seeds", "0"], env=env,
                              capture_output=True, text=True, timeout=600)
        assert done.returncode == 0, done.stderr[-3000:]
    depth = json.loads((records / "depth_A_s0.json").read_text())
    assert depth["depth"] == 11 and depth["epochs"] == 1 and depth["cpu_seconds"] > 0
    assert depth["macs_per_image"] > 0 and "step_losses" not in depth["metrics"][0]
    start = grid_records.load_records(records, grid="start")
    assert sorted(r["init"] for r in start) == ["glorot", "he_fan_in", "paper"]
    assert all(len(r["signal_at_init"]["activation_std"]) == 5 for r in start)
    # a second call finds every record and trains nothing
    again = subprocess.run([*argv, "--grid", "depth", "--seeds", "0"], env=env,
                           capture_output=True, text=True, timeout=600)
    assert again.returncode == 0 and "wrote" not in again.stdout
