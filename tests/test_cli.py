"""vgg_lessons.train.cli (``python -m vgg_lessons.train``): options from TrainConfig, checks before data.

Every bad option, device or output folder must end the command with status 2 and one
line saying what is wrong and what to do, before any data is loaded; no run may
replace another's files unless told to.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from conftest import SMALL, _image_folder, _model, _toy
from vgg_lessons.train import cli
from vgg_lessons.train import loop
from vgg_lessons.train.config import TrainConfig
from vgg_lessons.train.loop import fit

TINY = ["--width", "0.125", "--epochs", "1", "--batch-size", "25", "--device", "cpu", "--no-progress"]


@pytest.fixture()
def no_data(monkeypatch: pytest.MonkeyPatch) -> None:
    """Loading data fails the test: these errors must come before it."""
    def load_cifar10(*args, **kwargs):
        raise AssertionError("the data was loaded before the options were checked")
    monkeypatch.setattr(cli, "load_cifar10", load_cifar10)


def _error(argv: list[str], capsys: pytest.CaptureFixture) -> str:
    """Run the command; it must exit with status 2; return its error line."""
    with pytest.raises(SystemExit) as exit_info:
        cli.main(argv)
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err
    return err.strip().splitlines()[-1]


def test_the_options_are_the_fields_of_train_config() -> None:
    parser = cli.build_parser()
    flags = {a.dest for a in parser._actions} - {"help"}
    command_only = {"threads", "export", "save_metrics"}
    assert flags == set(TrainConfig.__dataclass_fields__) | command_only
    assert not command_only & set(TrainConfig.__dataclass_fields__)  # not settings of fit
    config, options = cli.parse_command([], parser)
    assert config == TrainConfig(out_dir=cli.DEFAULT_OUT_DIR)  # one set of defaults
    assert options == cli.CommandOptions()
    config, options = cli.parse_command(["--threads", "2", "--export", "m", "--lr", "0.05"])
    assert (options.threads, options.export, options.save_metrics) == (2, "m", None)
    assert config.lr == 0.05
    assert vars(parser.parse_args(["--no-augment"]))["augment"] is False


@pytest.mark.parametrize("argv, message", [
    (["--arch", "Z"], "unknown VGG configuration 'Z'"),
    (["--epochs", "0"], "argument --epochs: 0 is too small: it must be at least 1"),
    (["--batch-size", "-8"], "argument --batch-size: -8 is too small"),
    (["--lr", "0"], "argument --lr: 0 is too small: it must be above 0"),
    (["--crop-padding", "two"], "argument --crop-padding: 'two' is not a whole number"),
    (["--flip", "sometimes"], "argument --flip: invalid choice: 'sometimes'"),
    (["--threads", "0"], "argument --threads: 0 is too small: it must be at least 1"),
    (["--width", "nan"], "argument --width: nan is not a finite number"),
    (["--width", "inf"], "argument --width: inf is not a finite number"),
    (["--lr", "nan"], "argument --lr: nan is not a finite number"),
    (["--lr", "1e999"], "argument --lr: 1e999 is not a finite number"),
    (["--weight-decay", "nan"], "argument --weight-decay: nan is not a finite number"),
    (["--label-smoothing", "2"], "argument --label-smoothing: 2 is too large: it must be below 1"),
    (["--device", "cuda:99"], "device 'cuda:99'"),
    (["--device", "gpu"], "unknown device 'gpu'"),
    (["--resume", "--overwrite"], "resume and overwrite exclude each other"),
])
def test_bad_options_fail_in_one_line_before_the_data(argv: list[str], message: str, no_data,
                                                      capsys: pytest.CaptureFixture) -> None:
    assert message in _error(argv, capsys)


def test_cuda_without_a_gpu_is_one_line(no_data, capsys: pytest.CaptureFixture,
                                        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    line = _error(["--device", "cuda"], capsys)
    assert "CUDA is not available" in line and "use cpu" in line


def test_python_dash_m_train_is_the_command_line() -> None:
    result = subprocess.run([sys.executable, "-m", "vgg_lessons.train", "--arch", "Z"],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert "python -m vgg_lessons.train: error: " in result.stderr
    assert "unknown VGG configuration 'Z'" in result.stderr


def test_a_second_run_into_the_same_folder_is_refused(tmp_path: Path, no_data,
                                                      capsys: pytest.CaptureFixture) -> None:
    out = tmp_path / "runs" / "vgg11_bn"
    out.mkdir(parents=True)
    (out / "checkpoint.pt").write_bytes(b"the earlier run")
    line = _error(TINY + ["--out-dir", str(out)], capsys)
    assert "already holds a run" in line and "--resume" in line and "--overwrite" in line
    assert (out / "checkpoint.pt").read_bytes() == b"the earlier run"


@pytest.mark.parametrize("where", ["is_a_file", "parent_is_a_file"])
def test_an_unusable_output_folder_fails_before_training(tmp_path: Path, where: str, no_data,
                                                         capsys: pytest.CaptureFixture) -> None:
    (tmp_path / "taken").write_text("a file")
    out = tmp_path / "taken" if where == "is_a_file" else tmp_path / "taken" / "run"
    line = _error(TINY + ["--out-dir", str(out)], capsys)
    assert "cannot write the run folder" in line and "is a file" in line
    line = _error(TINY + ["--out-dir", str(tmp_path / "ok"), "--export", str(out / "model")], capsys)
    assert "cannot write --export" in line


def test_an_unwritable_output_folder_fails_before_training(tmp_path: Path, no_data,
                                                          monkeypatch: pytest.MonkeyPatch,
                                                          capsys: pytest.CaptureFixture) -> None:
    """Tests run as root, for whom every folder is writable: the check is asked directly."""
    real_access = os.access
    monkeypatch.setattr(os, "access", lambda p, mode: Path(p) != tmp_path and real_access(p, mode))
    line = _error(TINY + ["--out-dir", str(tmp_path / "new" / "run")], capsys)
    assert f"{tmp_path} is not writable" in line


def test_resume_without_a_checkpoint_says_so(tmp_path: Path, no_data,
                                             capsys: pytest.CaptureFixture) -> None:
    line = _error(TINY + ["--out-dir", str(tmp_path / "new"), "--resume"], capsys)
    assert "nothing to resume" in line and "leave out resume" in line


def test_resume_with_other_settings_is_one_line(tmp_path: Path, no_data,
                                                capsys: pytest.CaptureFixture) -> None:
    fit(_model(), _toy(64), **{**SMALL, "epochs": 1}, out_dir=tmp_path)  # width 0.125
    line = _error(TINY + ["--width", "0.25", "--out-dir", str(tmp_path), "--resume"], capsys)
    assert "cannot resume" in line and "settings differ" in line and "'width'" in line


def test_a_diverged_run_records_its_own_epochs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                               capsys: pytest.CaptureFixture) -> None:
    """Not the metrics.json an earlier run left in the folder it replaces."""
    root = _image_folder(tmp_path, monkeypatch)
    out = tmp_path / "run"
    out.mkdir()
    earlier = json.dumps([dict(epoch=e, seconds=1.0) for e in (1, 2, 3)])
    (out / "metrics.json").write_text(earlier)
    real_fit = loop.fit

    def poisoned_fit(model, *args, **kwargs):  # NaN logits from the first training step on
        model.register_forward_hook(lambda m, i, o: o * float("nan") if m.training else o)
        return real_fit(model, *args, **kwargs)
    monkeypatch.setattr(cli, "fit", poisoned_fit)
    with pytest.raises(SystemExit) as exit_info:
        cli.main(TINY + ["--data-root", str(root), "--out-dir", str(out), "--overwrite",
                         "--save-metrics", str(tmp_path / "run.json"), "--export", str(tmp_path / "m")])
    assert exit_info.value.code == 1 and "epoch 1, step 1" in capsys.readouterr().err
    record = json.loads((tmp_path / "run.json").read_text())
    assert record["epochs"] == 0 and record["resumed_after_epoch"] == 0 and record["metrics"] == []
    assert "no checkpoint was written" in record["diverged"]
    # --overwrite replaces the earlier run only once the new one has saved a checkpoint
    assert not (tmp_path / "m.pt").exists() and (out / "metrics.json").read_text() == earlier
