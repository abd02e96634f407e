"""vgg_lessons.train on tiny synthetic data: learning, resume, checkpoints, divergence, CLI."""

from __future__ import annotations

import dataclasses
import json
import math
import subprocess
from pathlib import Path

import numpy as np
import pytest
import torch

from vgg_lessons.train.config import TrainConfig
from vgg_lessons.inputs import CLASSES, normalize
from vgg_lessons.models import build_vgg
from vgg_lessons.train import cli
from vgg_lessons.train import loop
from vgg_lessons.train import augmentation
from vgg_lessons.train.cli import main
from vgg_lessons.train.loop import TrainingDiverged, alternating_mirrors, fit, init_first_conv_from_patches, lr_at, seed_everything
from vgg_lessons.train.metrics import evaluate
from vgg_lessons.train.checkpoints import load_checkpoint
from vgg_lessons.train.weights import load_pretrained

from conftest import SMALL, _image_folder, _model, _toy

ASSETS = Path(__file__).resolve().parents[1] / "vgg_lessons" / "assets"
def test_lr_schedule() -> None:
    assert lr_at(0, 100, 1.0) == pytest.approx(0.1)
    assert lr_at(20, 100, 1.0) == pytest.approx(1.0)  # peak after 20% warm-up
    assert lr_at(60, 100, 1.0) == pytest.approx(0.5)
    assert lr_at(100, 100, 1.0) == pytest.approx(0.0)
    assert lr_at(60, 100, 1.0, "cosine") == pytest.approx(0.5)
    assert lr_at(40, 100, 1.0, "cosine") == pytest.approx(0.5 * (1 + math.cos(math.pi / 4)))
    with pytest.raises(ValueError, match="unknown schedule"):
        lr_at(0, 10, 1.0, "exponential")


def test_fit_lowers_the_loss_and_reports_metrics() -> None:
    train, test = _toy(320), _toy(100, seed=1)
    history = fit(_model(), train, test, **{**SMALL, "epochs": 3})
    assert [r["epoch"] for r in history] == [1, 2, 3]
    first, last = history[0]["step_losses"], history[-1]["step_losses"]
    assert len(first) == 320 // 32
    assert np.mean(last[-3:]) < 0.7 * np.mean(first[:3])
    assert history[-1]["test_acc"] > 0.5  # chance is 0.1
    for key in ("train_loss", "train_acc", "test_loss", "test_acc", "seconds", "images_per_s"):
        assert all(isinstance(r[key], float) for r in history), key


def test_alternating_mirrors_show_each_image_both_ways() -> None:
    first = alternating_mirrors(1000, 0, seed=0)
    assert first.dtype == torch.bool and first.shape == (1000,)
    assert 400 < int(first.sum()) < 600  # a random half
    assert torch.equal(alternating_mirrors(1000, 1, seed=0), ~first)
    assert torch.equal(alternating_mirrors(1000, 2, seed=0), first)
    assert not torch.equal(alternating_mirrors(1000, 0, seed=1), first)


def test_fit_with_alternating_flips_mirrors_every_image_once_in_two_epochs(
        monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[tuple[int, torch.Tensor]] = []
    real_augment = augmentation.augment

    def recording_augment(x, gen, *, padding, mirror):
        seen.append((padding, mirror))
        return real_augment(x, gen, padding=padding, mirror=mirror)
    monkeypatch.setattr(loop, "augment_batch", recording_augment)
    fit(_model(), _toy(64), **SMALL, crop_padding=2, flip="alternate")
    assert len(seen) == 2 * 64 // 32 and all(p == 2 for p, _ in seen)
    per_epoch = [int(sum(m.sum() for _, m in seen[:2])), int(sum(m.sum() for _, m in seen[2:]))]
    assert sum(per_epoch) == 64 and 0 < per_epoch[0] < 64  # each image mirrored exactly once
    with pytest.raises(ValueError, match="flip: 'sometimes' is not one of random, alternate"):
        fit(_model(), _toy(64), **SMALL, flip="sometimes")


def test_fit_and_evaluate_take_a_float64_model_in_float64() -> None:
    """The images are cast to the model's dtype (tests/test_distributed.py compares runs so)."""
    model = _model().double()
    history = fit(model, _toy(64), _toy(32, seed=1), **{**SMALL, "epochs": 1})
    assert all(p.dtype == torch.float64 for p in model.parameters())
    assert history[0]["test_acc"] is not None and math.isfinite(history[0]["train_loss"])


def test_first_conv_from_patches_whitens_them() -> None:
    images, _ = _toy(200)
    model = build_vgg("A", head="cifar", width=0.25)  # 16 kernels: 8 components, +/-
    variances = init_first_conv_from_patches(model, images, eps=0.0)
    assert variances.shape == (8,) and torch.all(variances[:-1] >= variances[1:])
    weight = model.features[0].weight.detach()
    torch.testing.assert_close(weight[8:], -weight[:8])
    # independent check: the kernels' responses to the patches are uncorrelated, unit variance
    patches = torch.nn.functional.unfold(normalize(images), 3).transpose(1, 2).reshape(-1, 27)
    responses = patches @ weight[:8].reshape(8, 27).T
    torch.testing.assert_close(responses.T @ responses / len(responses), torch.eye(8),
                               atol=1e-3, rtol=0)


def test_first_conv_from_patches_keeps_an_odd_kernel_and_checks_channels() -> None:
    seed_everything(0)
    model = build_vgg([1, 1, 1, 1, 1], head="cifar", width=0.08)  # 5 kernels in the first conv
    last = model.features[0].weight[-1].detach().clone()
    assert len(init_first_conv_from_patches(model, _toy(20)[0])) == 2
    assert torch.equal(model.features[0].weight[-1], last)
    gray = build_vgg("A", head="cifar", width=0.125, in_channels=1)
    with pytest.raises(ValueError, match="first layer is a convolution over the images' 3 channels"):
        init_first_conv_from_patches(gray, _toy(20)[0])


def test_resume_matches_an_uninterrupted_run(tmp_path: Path) -> None:
    train, test = _toy(128), _toy(40, seed=1)
    whole = _model()
    expected = fit(whole, train, test, **{**SMALL, "epochs": 3}, out_dir=tmp_path / "whole")

    def crash_after_epoch_2(row: dict) -> None:
        if row["epoch"] == 2:
            raise KeyboardInterrupt("killed")
    with pytest.raises(KeyboardInterrupt):
        fit(_model(), train, test, **{**SMALL, "epochs": 3}, out_dir=tmp_path / "run",
            callback=crash_after_epoch_2)
    # a fresh process would build a fresh model; resume must replace its weights
    resumed = _model(seed=123)
    got = fit(resumed, train, test, **{**SMALL, "epochs": 3}, out_dir=tmp_path / "run", resume=True)
    for (k, va), vb in zip(whole.state_dict().items(), resumed.state_dict().values()):
        assert torch.equal(va, vb), f"{k} differs after resuming"
    assert [r["train_loss"] for r in got] == [r["train_loss"] for r in expected]
    saved = json.loads((tmp_path / "run" / "metrics.json").read_text())
    assert [r["test_acc"] for r in saved] == [r["test_acc"] for r in expected]


def test_resume_refuses_other_settings(tmp_path: Path) -> None:
    fit(_model(), _toy(64), **{**SMALL, "epochs": 1}, out_dir=tmp_path)
    with pytest.raises(ValueError, match=r"settings differ.*lr"):
        fit(_model(), _toy(64), **{**SMALL, "epochs": 1, "lr": 0.3}, out_dir=tmp_path, resume=True)


def test_checkpoint_round_trip(tmp_path: Path) -> None:
    model = _model()
    train = _toy(64)
    fit(model, train, **{**SMALL, "epochs": 1}, out_dir=tmp_path)
    blob = torch.load(tmp_path / "checkpoint.pt", weights_only=True)  # plain tensors only
    assert blob["epoch"] == 1
    loaded, info = load_checkpoint(tmp_path / "checkpoint.pt")
    assert not loaded.training and info["config"]["model"] == model.config
    assert info["metrics"][0]["epoch"] == 1
    for (k, va), vb in zip(model.state_dict().items(), loaded.state_dict().values()):
        assert torch.equal(va, vb), k
    model.eval()
    x = normalize(train[0][:8])
    torch.testing.assert_close(loaded(x), model(x))
    assert not list(tmp_path.glob("*.tmp")), "temporary files must be renamed or removed"


class _Trap:
    """Unpickling this would create a file: proof that code ran."""

    def __init__(self, path: str):
        self.path = path

    def __reduce__(self):
        return (open, (self.path, "w"))


def test_checkpoint_with_pickled_object_is_refused(tmp_path: Path) -> None:
    model = _model()
    evidence = tmp_path / "code_ran.txt"
    path = tmp_path / "evil.pt"
    torch.save(dict(model=model.state_dict(), config=json.dumps(dict(model=model.config)),
                    extra=_Trap(str(evidence))), path)
    with pytest.raises(ValueError, match="refusing to load") as err:
        load_checkpoint(path)
    assert str(path) in str(err.value)
    assert not evidence.exists(), "loading ran code from the checkpoint"
    with pytest.raises(FileNotFoundError):
        load_checkpoint(tmp_path / "missing.pt")


def _poisoned(scale: float, from_step: int):
    """A model whose training logits are multiplied by ``scale`` from training step ``from_step``."""
    model, calls = _model(), {"n": 0}

    def poison(module, inputs, output):
        calls["n"] += module.training
        return output * scale if calls["n"] >= from_step and module.training else output
    model.register_forward_hook(poison)
    return model


def test_divergence_stops_and_keeps_the_last_good_checkpoint(tmp_path: Path) -> None:
    with pytest.raises(TrainingDiverged) as err:  # 2 steps per epoch: epoch 2, step 1 is NaN
        fit(_poisoned(float("nan"), 3), _toy(64), **{**SMALL, "epochs": 3}, out_dir=tmp_path)
    msg = str(err.value)
    assert "nan" in msg and "epoch 2, step 1" in msg and "lower the learning rate" in msg
    assert str(tmp_path / "checkpoint.pt") in msg and [r["epoch"] for r in err.value.history] == [1]
    good, info = load_checkpoint(tmp_path / "checkpoint.pt")
    assert info["epoch"] == 1 and len(info["metrics"]) == 1
    assert all(torch.isfinite(v).all() for v in good.state_dict().values() if v.is_floating_point())


def test_an_exploding_loss_is_divergence(tmp_path: Path) -> None:
    """A finite loss of thousands of nats (lr 1e3 gave 1e18 on CIFAR-10) is no result to keep."""
    with pytest.raises(TrainingDiverged, match=r"exploded to .* at epoch 2, step 1"):
        fit(_poisoned(1e5, 3), _toy(64), **{**SMALL, "epochs": 2}, out_dir=tmp_path)
    assert load_checkpoint(tmp_path / "checkpoint.pt")[1]["epoch"] == 1


def test_no_checkpoint_with_non_finite_weights(tmp_path: Path) -> None:
    """A BN running variance can overflow while the training loss stays finite."""
    model = _model()

    def overflow_running_var(module, inputs):
        if module.training:
            model.features[1].running_var.fill_(float("inf"))
    model.register_forward_pre_hook(overflow_running_var)
    with pytest.raises(TrainingDiverged, match=r"weights stopped being finite in epoch 1 "
                                               r"\(features.1.running_var"):
        fit(model, _toy(64), **{**SMALL, "epochs": 1}, out_dir=tmp_path)
    assert not (tmp_path / "checkpoint.pt").exists() and not list(tmp_path.glob("*.tmp"))


def test_fit_refuses_to_replace_a_run_unless_told(tmp_path: Path) -> None:
    fit(_model(), _toy(64), **{**SMALL, "epochs": 1}, out_dir=tmp_path)
    before = (tmp_path / "checkpoint.pt").read_bytes()
    with pytest.raises(ValueError, match="already holds a run.*resume=True.*overwrite=True"):
        fit(_model(), _toy(64), **{**SMALL, "epochs": 1, "lr": 0.01}, out_dir=tmp_path)
    assert (tmp_path / "checkpoint.pt").read_bytes() == before
    fit(_model(), _toy(64), **{**SMALL, "epochs": 1, "lr": 0.01}, out_dir=tmp_path, overwrite=True)
    assert load_checkpoint(tmp_path / "checkpoint.pt")[1]["config"]["lr"] == 0.01


def test_fit_leaves_the_global_random_state_as_it_was() -> None:
    model = _model()
    torch.manual_seed(7)
    state = torch.get_rng_state()
    fit(model, _toy(64), **{**SMALL, "epochs": 1})
    assert torch.equal(torch.get_rng_state(), state)


def test_fit_takes_a_config_and_checks_its_settings() -> None:
    config = TrainConfig(epochs=1, batch_size=32, lr=0.05, progress=False, device="cpu")
    a, b = _model(), _model()
    fit(a, _toy(64), config=config)
    fit(b, _toy(64), **{**SMALL, "epochs": 1, "device": torch.device("cpu")})
    assert all(torch.equal(x, y) for x, y in zip(a.state_dict().values(), b.state_dict().values()))
    with pytest.raises(TypeError, match="unknown training setting.*learning_rate"):
        fit(_model(), _toy(64), learning_rate=0.1)
    with pytest.raises(ValueError, match="label_smoothing: 2 is too large"):
        fit(_model(), _toy(64), **SMALL, label_smoothing=2)


def test_evaluate_never_moves_the_model() -> None:
    model = _model()
    with pytest.raises(ValueError, match="the model is on cpu, not meta"):
        evaluate(model, *_toy(10), device="meta")
    assert all(p.device.type == "cpu" for p in model.parameters())


def test_evaluate_against_a_plain_forward() -> None:
    model = _model().eval()
    images, labels = _toy(50)
    result = evaluate(model, images, labels, batch_size=16)
    with torch.no_grad():
        logits = model(normalize(images))
    assert torch.equal(result["predictions"], logits.argmax(1))
    assert result["loss"] == pytest.approx(torch.nn.functional.cross_entropy(logits, labels).item(),
                                           rel=1e-5)
    assert result["acc"] == pytest.approx((logits.argmax(1) == labels).float().mean().item())


def test_command_line_trains_and_exports(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    root = _image_folder(tmp_path, monkeypatch)
    history = main(["--width", "0.125", "--epochs", "2", "--batch-size", "25", "--lr", "0.05",
                    "--data-root", str(root), "--out-dir", str(tmp_path / "run"), "--device", "cpu",
                    "--no-progress", "--export", str(tmp_path / "model"), "--crop-padding", "2",
                    "--flip", "alternate", "--whiten-first-conv"])
    assert len(history) == 2
    info = json.loads((tmp_path / "model.json").read_text())
    assert info["command"].startswith("python -m vgg_lessons.train --width 0.125")
    assert info["config"]["crop_padding"] == 2 and info["config"]["flip"] == "alternate"
    assert info["config"]["whiten_first_conv"] is True
    assert set(info["test_acc_per_class"]) == set(CLASSES)
    model, loaded_info = load_checkpoint(tmp_path / "model.pt")
    assert model.config["width"] == 0.125 and loaded_info["info"]["test_acc"] == info["test_acc"]
    assert next(iter(torch.load(tmp_path / "model.pt", weights_only=True)["model"].values())).dtype \
        == torch.float16


def test_command_line_resumed_run_records_the_whole_runs_time(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture) -> None:
    root = _image_folder(tmp_path, monkeypatch)
    args = ["--width", "0.125", "--epochs", "3", "--batch-size", "25", "--data-root", str(root),
            "--out-dir", str(tmp_path / "run"), "--device", "cpu", "--no-progress"]
    real_fit = loop.fit

    def killed_after_two_epochs(*a, callback=None, **k):
        def kill(row):
            if row["epoch"] == 2:
                raise KeyboardInterrupt  # as if the process were killed after its checkpoint
        return real_fit(*a, callback=kill, **k)
    monkeypatch.setattr(cli, "fit", killed_after_two_epochs)
    with pytest.raises(SystemExit):  # Ctrl-C ends the command with status 130, one line
        main(args)
    monkeypatch.setattr(cli, "fit", real_fit)
    history = main(args + ["--resume", "--save-metrics", str(tmp_path / "run.json")])
    info = json.loads((tmp_path / "run.json").read_text())
    assert [r["epoch"] for r in history] == [1, 2, 3] and info["resumed_after_epoch"] == 2
    # this process trained one epoch; the record still covers all three
    assert info["wall_seconds"] >= sum(r["seconds"] for r in history) == info["train_seconds"]
    assert "(epochs 1-2 by an earlier command" in capsys.readouterr().out


def test_command_line_defaults_are_the_TrainConfig() -> None:
    """``python -m vgg_lessons.train`` with no options retrains the shipped model."""
    shipped = json.loads((ASSETS / "vgg11_bn_cifar10.json").read_text())["config"]
    defaults = vars(cli.build_parser().parse_args([]))
    recipe = ("arch", "bn", "width", "epochs", "batch_size", "lr", "weight_decay", "label_smoothing",
              "schedule", "crop_padding", "flip", "whiten_first_conv", "seed")
    assert {k: defaults[k] for k in recipe} == {k: shipped[k] for k in recipe}
    assert defaults["augment"] is not shipped["no_augment"]  # the record predates --augment
    assert not vars(cli.build_parser().parse_args(["--no-whiten-first-conv"]))["whiten_first_conv"]
    api = dataclasses.asdict(TrainConfig())  # fit's defaults are the same recipe
    assert {k: api[k] for k in recipe if k not in ("arch", "bn", "width")} == {
        k: shipped[k] for k in recipe if k not in ("arch", "bn", "width")}


@pytest.mark.parametrize("name", ["vgg11_bn_cifar10", "vgg16_bn_w05_cifar10"])
def test_load_pretrained_matches_its_model_card(name: str, cifar10_test) -> None:
    """Each shipped CIFAR-10 model, on the real test set ($VGG_LESSONS_DATA), scores what its
    card says, and its file stays under 10 MB."""
    model = load_pretrained(name)
    assert not model.training and model.config["bn"] == "before_relu"
    info = json.loads((ASSETS / f"{name}.json").read_text())
    card = (ASSETS / f"{name}.md").read_text()
    assert f"{100 * info['test_acc']:.2f}%" in card and info["command"] in card
    assert (ASSETS / f"{name}.pt").stat().st_size <= 10_000_000  # the 10 MB
    images, labels = cifar10_test
    result = evaluate(model, images, labels)
    assert result["acc"] == pytest.approx(info["test_acc"], abs=0.003)  # fp16 storage
    with pytest.raises(ValueError, match="no shipped model 'vgg99'"):
        load_pretrained("vgg99")


def _recipe(command: str, varied: str) -> list[str]:
    """The words of a recorded command without ``varied`` and where the run writes (with values)."""
    per_run = {varied, "--out-dir", "--save-metrics", "--export"}
    words = command.split()
    return [w for i, w in enumerate(words) if w not in per_run and words[i - 1] not in per_run]


def test_bn_placement_runs_share_one_recipe() -> None:
    """The three batch-norm runs of chapter 3 differ only in --bn (and where they write)."""
    runs = {p: json.loads((ASSETS / f"bn_placement_{p}.json").read_text())
            for p in ("before_relu", "after_relu", "none")}
    recipes = {p: _recipe(info["command"], "--bn") for p, info in runs.items()}
    assert recipes["before_relu"] == recipes["after_relu"] == recipes["none"]
    for placement, info in runs.items():
        assert info["config"]["model"]["bn"] == (None if placement == "none" else placement)
        assert f"--bn {placement}" in info["command"]
        assert [r["epoch"] for r in info["metrics"]] == list(range(1, len(info["metrics"]) + 1))
        assert info["diverged"] is not None or len(info["metrics"]) == info["config"]["epochs"]
        for row in info["metrics"]:
            assert len(row["step_losses"]) == 50_000 // info["config"]["batch_size"]
    shipped = json.loads((ASSETS / "vgg11_bn_cifar10.json").read_text())
    assert shipped["metrics"] == runs["before_relu"]["metrics"]


def test_twenty_epoch_run_is_the_shipped_recipe_with_twice_the_epochs() -> None:
    """Chapter 4's "twice the budget" compares two runs that differ only in --epochs."""
    shipped = json.loads((ASSETS / "vgg11_bn_cifar10.json").read_text())
    longer = json.loads((ASSETS / "shipped_recipe_20_epochs.json").read_text())
    assert _recipe(longer["command"], "--epochs") == _recipe(shipped["command"], "--epochs")
    assert longer["config"]["epochs"] == 2 * shipped["config"]["epochs"] == len(longer["metrics"])
    assert longer["resumed_after_epoch"] == 0 and longer["diverged"] is None
    assert longer["wall_seconds"] >= longer["train_seconds"]  # the whole run, in one go


def test_train_assets_script_regenerates_the_recorded_commands() -> None:
    """scripts/train_assets.sh's recipe is the one the shipped records were trained with."""
    text = (ASSETS.parents[1] / "scripts" / "train_assets.sh").read_text()
    recipe = text[text.index("recipe() {"):text.index("\n}\n") + 3]
    for epochs, name in ((10, "vgg11_bn_cifar10.json"), (20, "shipped_recipe_20_epochs.json")):
        words = subprocess.run(["bash", "-c", f"{recipe}recipe {epochs}"], capture_output=True,
                               text=True, check=True).stdout.split()
        command = json.loads((ASSETS / name).read_text())["command"]
        assert command.startswith(" ".join(["python -m vgg_lessons.train", *words, "--bn"]))
