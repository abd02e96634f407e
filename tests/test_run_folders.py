"""Run folders and output paths: nothing a run writes may replace another run's files.

A run folder is locked while a run writes there (``.lock`` with the owner's process id;
a lock whose process has ended is taken over); ``--save-metrics`` and ``--export`` may
not point at a file the run itself writes; ``--overwrite`` replaces the earlier run only
once the new run's first checkpoint is written; Ctrl-C says how to resume.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import SMALL, _image_folder, _model, _toy
from test_cli import TINY, _error, no_data  # noqa: F401  (a fixture)

from vgg_lessons.train import cli, loop
from vgg_lessons.train._files import LOCK, run_folder_lock
from vgg_lessons.train.checkpoints import load_checkpoint
from vgg_lessons.train.loop import TrainingDiverged, fit

ROOT = Path(__file__).resolve().parents[1]
HOLD_LOCK = (
    "import sys, time\n"
    "from pathlib import Path\n"
    "from vgg_lessons.train._files import run_folder_lock\n"
    "with run_folder_lock(Path(sys.argv[1])):\n"
    "    print('locked', flush=True)\n"
    "    time.sleep(60)\n"
)


@pytest.fixture()
def locked_by_another(tmp_path: Path):
    """A run folder whose lock another live process holds; yields (folder, its pid)."""
    folder = tmp_path / "run"
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLD_LOCK, str(folder)],
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    try:
        assert holder.stdout.readline().strip() == "locked"
        yield folder, holder.pid
    finally:
        holder.kill()
        holder.wait()


def test_fit_refuses_a_folder_another_run_holds(locked_by_another) -> None:
    folder, pid = locked_by_another
    with pytest.raises(
        ValueError, match=rf"in use by another run \(process {pid}\b"
    ) as err:
        fit(_model(), _toy(64), **{**SMALL, "epochs": 1}, out_dir=folder)
    assert "\n" not in str(err.value)
    assert not (folder / "checkpoint.pt").exists()


@pytest.mark.usefixtures("no_data")
def test_the_command_line_refuses_a_folder_another_run_holds(
    locked_by_another, capsys: pytest.CaptureFixture
) -> None:
    folder, pid = locked_by_another
    line = _error(TINY + ["--out-dir", str(folder)], capsys)
    assert (
        f"in use by another run (process {pid}" in line
        and "another output folder" in line
    )


def test_a_stale_lock_is_taken_over(tmp_path: Path) -> None:
    """A killed run leaves its lock file; its process is gone, so the lock is free."""
    dead = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    (tmp_path / "run").mkdir()
    (tmp_path / "run" / LOCK).write_text(dead)
    fit(_model(), _toy(64), **{**SMALL, "epochs": 1}, out_dir=tmp_path / "run")
    assert (tmp_path / "run" / "checkpoint.pt").is_file() and not (
        tmp_path / "run" / LOCK
    ).exists()


def test_the_lock_is_reentrant_in_one_process_and_released(tmp_path: Path) -> None:
    with run_folder_lock(tmp_path) as lock:
        assert lock.read_text().strip() == str(os.getpid())
        with run_folder_lock(tmp_path):
            pass
        assert lock.exists()
    assert not lock.exists()


@pytest.mark.parametrize(
    "option, target",
    [
        ("--save-metrics", "run/checkpoint.pt"),
        ("--save-metrics", "run/metrics.json"),
        ("--export", "run/checkpoint"),
        ("--export", "run/metrics"),
        ("--save-metrics", "model.json"),
        ("--save-metrics", "run/.lock"),
    ],
)
@pytest.mark.usefixtures("no_data")
def test_outputs_may_not_replace_the_runs_own_files(
    tmp_path: Path, option: str, target: str, capsys: pytest.CaptureFixture
) -> None:
    argv = TINY + [
        "--out-dir",
        str(tmp_path / "run"),
        "--export",
        str(tmp_path / "model"),
    ]
    line = _error(argv + [option, str(tmp_path / target)], capsys)
    assert f"{option} {tmp_path / target}" in line and "would replace it" in line
    assert not (tmp_path / "run").exists()


@pytest.mark.parametrize(
    "option, value, message",
    [
        ("--export", "", "names no file"),
        ("--export", ".", "names no file"),
        ("--export", "models/", "names no file"),
        ("--save-metrics", "", "is not a file path"),
        ("--save-metrics", "TMP", "is not a file path"),
        ("--out-dir", "", "is empty"),
    ],
)
@pytest.mark.usefixtures("no_data")
def test_empty_and_folder_paths_are_refused(
    tmp_path: Path,
    option: str,
    value: str,
    message: str,
    capsys: pytest.CaptureFixture,
) -> None:
    value = str(tmp_path) if value == "TMP" else value
    line = _error(TINY + [option, value], capsys)
    assert message in line and option in line


def test_overwrite_keeps_the_earlier_run_until_the_new_one_saves(
    tmp_path: Path,
) -> None:
    fit(_model(), _toy(64), **{**SMALL, "epochs": 1}, out_dir=tmp_path)
    before = {
        name: (tmp_path / name).read_bytes()
        for name in ("checkpoint.pt", "metrics.json")
    }
    model = _model()  # NaN from the first step: the new run never saves
    model.register_forward_hook(lambda m, i, o: o * float("nan") if m.training else o)
    with pytest.raises(TrainingDiverged, match="the earlier run there is kept"):
        fit(
            model,
            _toy(64),
            **{**SMALL, "epochs": 1, "lr": 0.01},
            out_dir=tmp_path,
            overwrite=True,
        )
    assert {name: (tmp_path / name).read_bytes() for name in before} == before
    fit(
        _model(),
        _toy(64),
        **{**SMALL, "epochs": 1, "lr": 0.01},
        out_dir=tmp_path,
        overwrite=True,
    )
    assert load_checkpoint(tmp_path / "checkpoint.pt")[1]["config"]["lr"] == 0.01
    assert (
        json.loads((tmp_path / "metrics.json").read_text())[0]["lr"]
        != json.loads(before["metrics.json"])[0]["lr"]
    )


def test_ctrl_c_says_where_the_checkpoint_is_and_how_to_resume(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture
) -> None:
    root = _image_folder(tmp_path, monkeypatch)
    out = tmp_path / "run"
    args = TINY + [
        "--epochs",
        "3",
        "--data-root",
        str(root),
        "--out-dir",
        str(out),
        "--overwrite",
    ]
    real_fit = loop.fit

    def ctrl_c_after_two_epochs(*a, callback=None, **k):
        def press(row):
            callback(row)
            if row["epoch"] == 2:
                raise KeyboardInterrupt

        return real_fit(*a, callback=press, **k)

    monkeypatch.setattr(cli, "fit", ctrl_c_after_two_epochs)
    with pytest.raises(SystemExit) as exit_info:
        cli.main(args)
    err = capsys.readouterr().err
    assert exit_info.value.code == 130 and "Traceback" not in err
    assert f"the last good checkpoint (epoch 2) is {out / 'checkpoint.pt'}" in err
    assert "--resume" in err and "--overwrite" not in err.split("continue with:")[1]
    assert not (out / LOCK).exists()
    monkeypatch.setattr(cli, "fit", real_fit)
    resumed = err.split("continue with: python -m vgg_lessons.train ")[1].split()
    assert [r["epoch"] for r in cli.main(resumed)] == [1, 2, 3]


@pytest.mark.usefixtures("no_data")
@pytest.mark.parametrize(
    "argv, message",
    [
        (["--train-size", "5"], "--batch-size 25 exceeds --train-size 5"),
        (["--seed", str(2**63)], "--seed: 9223372036854775808 is too large"),
        (["--device", "mps"], "no MPS device"),
        (["--device", "xpu"], "no XPU device"),
        (["--width", "1e15"], "--width 1000000000000000.0"),
        (["--weight-decay", "1e300"], "--weight-decay: 1e300 is too large"),
        (["--lr=-inf"], "--lr: -inf is not a finite number"),
        (["--threads", "99999999999"], "--threads: 99999999999 is too large"),
        (["--out-dir", "LONG"], "cannot use --out-dir"),
        (["--out-dir", "DANGLING"], "which does not exist"),
    ],
)
def test_bad_options_are_one_line_before_the_data(
    tmp_path: Path, argv: list[str], message: str, capsys: pytest.CaptureFixture
) -> None:
    (tmp_path / "dangling").symlink_to(tmp_path / "missing")
    names = {
        "LONG": str(tmp_path / ("x" * 300)),
        "DANGLING": str(tmp_path / "dangling"),
    }
    line = _error(TINY + [names.get(a, a) for a in argv], capsys)
    assert message in line
