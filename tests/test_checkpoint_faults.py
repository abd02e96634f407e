"""Checkpoints that are damaged, edited or odd: each refused in one line naming the file.

The checksum covers everything in the file (weights, optimizer state, epoch, settings,
metrics); a file without one is refused unless it says it predates checksums; NaN
weights are refused on loading; ``--resume`` names what is wrong with the checkpoint.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from conftest import SMALL, _model, _toy
from test_cli import TINY, _error, no_data  # noqa: F401  (a fixture)

from vgg_lessons.train.checkpoints import (
    PREDATES_CHECKSUMS,
    export,
    file_checksum,
    load_checkpoint,
    read_checkpoint,
)
from vgg_lessons.train.loop import fit
from vgg_lessons.train.weights import ASSETS, load_pretrained


@pytest.fixture()
def run(tmp_path: Path) -> Path:
    """A run folder with a real one-epoch checkpoint."""
    fit(_model(), _toy(64), **{**SMALL, "epochs": 1}, out_dir=tmp_path / "run")
    return tmp_path / "run"


def _edit(path: Path, rechecksum: bool = False, **changes) -> None:
    blob = torch.load(path, weights_only=True)
    blob.update(changes)
    blob = {k: v for k, v in blob.items() if v is not None}
    if rechecksum:
        blob["checksum"] = file_checksum(blob)
    torch.save(blob, path)


@pytest.mark.parametrize(
    "changes",
    [
        dict(epoch=2),
        dict(epoch=-1),
        dict(config=json.dumps({"lr": 9})),
        dict(metrics="[]"),
        dict(checksum=None),
    ],
)
def test_an_edited_checkpoint_is_refused(run: Path, changes: dict) -> None:
    _edit(run / "checkpoint.pt", **changes)
    with pytest.raises(
        ValueError, match="damaged or was edited|has no checksum"
    ) as err:
        read_checkpoint(run / "checkpoint.pt")
    assert str(run / "checkpoint.pt") in str(err.value) and "\n" not in str(err.value)


def test_a_file_that_says_it_predates_checksums_is_read(run: Path) -> None:
    _edit(run / "checkpoint.pt", checksum=PREDATES_CHECKSUMS)
    assert read_checkpoint(run / "checkpoint.pt")["epoch"] == 1


def test_shipped_models_carry_a_checksum_of_the_whole_file() -> None:
    for name in ("vgg11_bn_cifar10.pt", "transfer_source_cifar5.pt"):
        blob = torch.load(ASSETS / name, weights_only=True)
        assert blob["checksum"] == file_checksum(blob)
    assert load_pretrained().config["num_classes"] == 10


def test_nan_weights_are_refused_on_loading(tmp_path: Path) -> None:
    model = _model()
    export(tmp_path / "m", model, dict(config=dict(model=model.config), metrics=[]))
    blob = torch.load(tmp_path / "m.pt", weights_only=True)
    blob["model"]["features.0.weight"][0] = float("nan")
    blob["checksum"] = file_checksum(blob)
    torch.save(blob, tmp_path / "m.pt")
    with pytest.raises(
        ValueError, match=r"m.pt holds NaN or infinite weights \(features.0"
    ):
        load_checkpoint(tmp_path / "m.pt")


def test_wrong_shape_weights_are_one_line(run: Path) -> None:
    blob = torch.load(run / "checkpoint.pt", weights_only=True)
    blob["model"]["features.0.weight"] = torch.zeros(3, 3)
    _edit(run / "checkpoint.pt", rechecksum=True, model=blob["model"])
    with pytest.raises(ValueError, match="do not fit its model config") as err:
        load_checkpoint(run / "checkpoint.pt")
    assert "\n" not in str(err.value)
    with pytest.raises(ValueError, match="cannot resume.*do not fit the model") as err:
        fit(_model(), _toy(64), **{**SMALL, "epochs": 1}, out_dir=run, resume=True)
    assert "\n" not in str(err.value)


def _resume_error(run: Path, capsys) -> str:
    return _error(TINY + ["--epochs", "2", "--out-dir", str(run), "--resume"], capsys)


@pytest.mark.usefixtures("no_data")
@pytest.mark.parametrize(
    "damage, message",
    [
        ("exported", "not a training checkpoint"),
        ("folder", "is not a file"),
        ("devnull", "is not a file"),
        ("no_config", "'config' entry is missing"),
        ("no_optimizer", "not a training checkpoint"),
        ("config_list", "config or optimizer state is not a mapping"),
        ("metrics_not_json", "'metrics' entry is not JSON"),
        ("config_not_json", "'config' entry is not JSON"),
    ],
)
def test_resume_from_an_odd_checkpoint_is_one_line(
    run: Path, damage: str, message: str, capsys: pytest.CaptureFixture
) -> None:
    path = run / "checkpoint.pt"
    if damage == "exported":
        model = _model()
        export(
            run / "exported", model, dict(config=dict(model=model.config), metrics=[])
        )
        (run / "exported.pt").replace(path)
    elif damage == "folder":
        path.unlink()
        path.mkdir()
    elif damage == "devnull":
        path.unlink()
        path.symlink_to("/dev/null")
    else:
        blob = torch.load(path, weights_only=True)
        key = {"no_config": "config", "no_optimizer": "optimizer"}.get(damage)
        if key:
            del blob[key]
        if damage == "config_list":
            blob["config"] = "[]"
        if damage == "metrics_not_json":
            blob["metrics"] = "{not json"
        if damage == "config_not_json":
            blob["config"] = "{not json"
        blob["checksum"] = file_checksum(blob)
        torch.save(blob, path)
    line = _resume_error(run, capsys)
    assert message in line and str(path) in line


def test_resume_with_fewer_images_is_one_line(run: Path, monkeypatch, capsys) -> None:
    """The image count is known only once the data is loaded: still one line, status 2."""
    from vgg_lessons.train import cli

    monkeypatch.setattr(cli, "load_cifar10", lambda *a, **k: _toy(50))
    same = [
        "--batch-size",
        "32",
        "--lr",
        "0.05",
    ]  # the rest: fit's defaults are the CLI's
    line = _error(TINY + same + ["--out-dir", str(run), "--resume"], capsys)
    assert "settings differ" in line and "train_images" in line
