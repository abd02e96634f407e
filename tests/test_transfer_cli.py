"""python -m vgg_lessons.train.transfer: checked before any data, never writes the package.

A source network that saw the target classes is refused (that would not be transfer).
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import torch

from vgg_lessons.models import build_vgg
from vgg_lessons.train import transfer
from vgg_lessons.train.weights import ASSETS


@pytest.fixture()
def no_data(monkeypatch: pytest.MonkeyPatch) -> None:
    def load_cifar10(*args, **kwargs):
        raise AssertionError("the data was loaded before the options were checked")

    monkeypatch.setattr(transfer, "load_cifar10", load_cifar10)


def _error(argv: list[str], capsys: pytest.CaptureFixture) -> str:
    with pytest.raises(SystemExit) as exit_info:
        transfer.main(argv)
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err
    return err.strip().splitlines()[-1]


def test_the_default_record_is_not_written_into_the_package(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The shipped record and source network stay as they are; the run goes to runs/."""
    assets = tmp_path / "package"
    assets.mkdir()
    for name in ("transfer_cifar5.json", "transfer_source_cifar5.pt"):
        shutil.copy(ASSETS / name, assets / name)
    monkeypatch.setattr(transfer, "RECORD", assets / "transfer_cifar5.json")
    monkeypatch.setattr(transfer, "SOURCE_MODEL", assets / "transfer_source_cifar5.pt")
    before = {p.name: p.read_bytes() for p in assets.iterdir()}
    images = torch.randint(0, 256, (20, 3, 32, 32), dtype=torch.uint8)
    monkeypatch.setattr(
        transfer, "load_cifar10", lambda *a, **k: (images, torch.arange(20) % 10)
    )
    monkeypatch.setattr(transfer, "run", lambda *a, **k: {})
    monkeypatch.chdir(tmp_path)
    transfer.main(
        ["--reuse-source", "--model", str(assets / "transfer_source_cifar5.pt")]
    )
    assert {p.name: p.read_bytes() for p in assets.iterdir()} == before
    assert (tmp_path / "runs" / "transfer_cifar5.json").is_file()


def test_a_source_that_saw_the_target_classes_is_refused(no_data) -> None:
    ten_classes = build_vgg(**transfer.MODEL_ARGS, num_classes=10)
    with pytest.raises(ValueError, match=r"has 10 classes.*shows no transfer"):
        transfer.run(ten_classes)


@pytest.mark.usefixtures("no_data")
@pytest.mark.parametrize(
    "argv, message",
    [
        (["--threads", "-1"], "--threads -1: give 1 to"),
        (["--threads", "99999999999"], "--threads 99999999999: give 1 to"),
        (["--per-class", "100000"], "--per-class 100000"),
        (["--reuse-source", "--model", "MISSING"], "no checkpoint at"),
        (["--reuse-source", "--model", "GARBAGE"], "refusing to load"),
        (
            ["--reuse-source", "--model", str(ASSETS / "vgg11_bn_cifar10.pt")],
            "has 10 classes",
        ),
        (["--record", ""], "--record '' is not a file path"),
        (["--record", "TMP"], "is not a file path"),
        (["--record", "FILE/record.json"], "cannot write --record"),
    ],
)
def test_bad_options_are_one_line_before_the_data(
    tmp_path: Path, argv: list[str], message: str, capsys: pytest.CaptureFixture
) -> None:
    (tmp_path / "FILE").write_text("a file")
    (tmp_path / "GARBAGE").write_bytes(b"not a checkpoint")
    names = {
        "MISSING": tmp_path / "missing.pt",
        "GARBAGE": tmp_path / "GARBAGE",
        "TMP": tmp_path,
        "FILE/record.json": tmp_path / "FILE" / "record.json",
    }
    argv = [str(names.get(a, a)) for a in argv]
    line = _error(
        argv + ["--model", str(tmp_path / "m.pt")] if "--model" not in argv else argv,
        capsys,
    )
    assert message in line
