"""``TrainConfig``: every training setting, once, with its help text and its checks.

:func:`vgg_lessons.train.loop.fit` reads it, the command line (:mod:`vgg_lessons.train.cli`) is
generated from it, and the metrics records store it. Its defaults are the one set of
training defaults: the recipe of the shipped model (``vgg_lessons/assets/vgg11_bn_cifar10.md``),
for ``fit`` and the command line alike; a chapter that trains otherwise says so in its
call. Options of the command line alone (``--threads``, ``--export``,
``--save-metrics``) are not settings of a run and live in :mod:`vgg_lessons.train.cli`.
Every value is checked when a config is made, so a bad one fails at once with
a one-line message instead of deep inside a training run.
"""

from __future__ import annotations

import dataclasses
import math
import os
from dataclasses import dataclass, field
from typing import Any


def _setting(default: Any, help: str, group: str, **checks: Any) -> Any:
    """A dataclass field whose metadata holds its help text, its group and its checks:
    ``minimum`` (with ``strict``: above it), ``below`` (an exclusive maximum), ``choices``."""
    return field(default=default, metadata=dict(help=help, group=group, **checks))


@dataclass
class TrainConfig:
    """The settings of one training run.

    Groups: ``model`` (what the command line builds; :func:`fit` trains the model it
    is given and records its own config), ``training`` (what shapes the weights: a
    run resumes only with the same ones), ``run`` (where and how it runs).
    """

    # model
    arch: str = _setting(
        "A", "configuration: A (VGG-11), B, C, D, E or vgg11/13/16/19", "model"
    )
    bn: str = _setting(
        "before_relu",
        "batch norm placement",
        "model",
        choices=("before_relu", "after_relu", "none"),
    )
    width: float = _setting(
        0.25,
        "channel multiplier (1.0 is the paper's VGG)",
        "model",
        minimum=0,
        strict=True,
    )
    # training
    whiten_first_conv: bool = _setting(
        True,
        "start the first convolution as +/- the principal components of image patches "
        "(a whitening filter bank) instead of random",
        "training",
    )
    epochs: int = _setting(10, "passes over the training images", "training", minimum=1)
    batch_size: int = _setting(
        128,
        "images per step (the last, smaller batch of an epoch is dropped)",
        "training",
        minimum=1,
    )
    lr: float = _setting(0.1, "peak learning rate", "training", minimum=0, strict=True)
    momentum: float = _setting(
        0.9, "SGD (Nesterov) momentum", "training", minimum=0, below=1
    )
    weight_decay: float = _setting(
        5e-4,
        "L2 on weights (not on BN parameters or biases)",
        "training",
        minimum=0,
        below=1,
    )
    label_smoothing: float = _setting(
        0.1, "of the cross-entropy targets", "training", minimum=0, below=1
    )
    schedule: str = _setting(
        "onecycle",
        "learning-rate schedule",
        "training",
        choices=("onecycle", "cosine", "constant"),
    )
    augment: bool = _setting(True, "random crops and flips on every batch", "training")
    crop_padding: int = _setting(
        2, "pixels of zero padding for random crops", "training", minimum=0
    )
    flip: str = _setting(
        "alternate",
        "mirror images at random, or each one every other epoch",
        "training",
        choices=("random", "alternate"),
    )
    seed: int = _setting(
        0,
        "seeds shuffling, augmentation and dropout, per epoch",
        "training",
        minimum=0,
        below=10**15,  # seed * 1000 + epoch seeds torch: below 2**63
    )
    train_size: int | None = _setting(
        None, "use only the first N training images", "training", minimum=1
    )
    precision: str = _setting(
        "auto",
        "training arithmetic: fp32, or bf16 autocast (convolutions in bfloat16; "
        "pays on CPUs with AVX-512 BF16 or AMX, and on GPUs); auto: bf16 on CUDA, "
        "fp32 elsewhere. Testing runs in fp32 on CPU either way",
        "training",
        choices=("auto", "fp32", "bf16"),
    )
    # run
    data_root: str | None = _setting(
        None, "CIFAR-10 folder (default $VGG_LESSONS_DATA or the user cache)", "run"
    )
    out_dir: str | None = _setting(
        None, "folder for checkpoint.pt and metrics.json", "run"
    )
    resume: bool = _setting(
        False,
        "continue the run in out-dir (bit-exact on CPU with the same --threads)",
        "run",
    )
    overwrite: bool = _setting(False, "replace the run in out-dir", "run")
    device: str | None = _setting(
        None, "cpu, cuda, cuda:1 ... (default: cuda if present)", "run"
    )
    progress: bool = _setting(True, "show a progress bar", "run")

    def __post_init__(self) -> None:
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            if isinstance(value, os.PathLike):
                value = os.fspath(value)
            value = check_setting(f.name, value)
            setattr(self, f.name, value)
        if self.resume and self.overwrite:
            raise ValueError(
                "resume and overwrite exclude each other: resume continues the run "
                "in the output folder, overwrite replaces it; choose one"
            )

    def training_settings(self) -> dict[str, Any]:
        """The settings that shape the weights (the ``training`` group), by name."""
        return {
            f.name: getattr(self, f.name)
            for f in dataclasses.fields(self)
            if f.metadata["group"] == "training"
        }


_FIELDS = {f.name: f for f in dataclasses.fields(TrainConfig)}
_KINDS = {"int": int, "float": float, "bool": bool, "str": str}


def setting_kind(name: str) -> type:
    """The Python type of setting ``name``: int, float, bool or str."""
    return _KINDS[str(_FIELDS[name].type).split(" ")[0]]


def _range_problem(shown: str, value: float, checks: dict[str, Any]) -> str | None:
    if not math.isfinite(value):
        return f"{shown} is not a finite number"
    minimum, strict, below = (
        checks.get("minimum"),
        checks.get("strict"),
        checks.get("below"),
    )
    if minimum is not None and (value < minimum or (strict and value == minimum)):
        return f"{shown} is too small: it must be {'above' if strict else 'at least'} {minimum}"
    if below is not None and value >= below:
        return f"{shown} is too large: it must be below {below}"
    return None


def setting_problem(name: str, value: Any, shown: str | None = None) -> str | None:
    """What is wrong with ``value`` for setting ``name`` (None if nothing). ``shown``: how
    to quote the value in the message (the command line passes the text typed)."""
    f = _FIELDS[name]
    shown = repr(value) if shown is None else shown
    if value is None:
        return None if f.default is None else f"{shown} is not allowed: give a value"
    kind = setting_kind(name)
    if kind is bool:
        return None if isinstance(value, bool) else f"{shown} is not True or False"
    if kind is str:
        if not isinstance(value, str):
            return f"{shown} is not text"
        choices = f.metadata.get("choices")
        if choices and value not in choices:
            return f"{shown} is not one of {', '.join(choices)}"
        return None
    if (
        isinstance(value, bool)
        or not isinstance(value, (int, float))
        or (kind is int and not float(value).is_integer())
    ):
        return f"{shown} is not a {'whole number' if kind is int else 'number'}"
    return _range_problem(shown, float(value), dict(f.metadata))


def check_setting(name: str, value: Any) -> Any:
    """``value`` as setting ``name`` takes it (ints as int, numbers as float).

    Raises:
        ValueError: one line saying which setting is wrong, why, and what it accepts.
    """
    problem = setting_problem(name, value)
    if problem is not None:
        raise ValueError(f"{name}: {problem} ({_FIELDS[name].metadata['help']})")
    if (
        value is not None
        and setting_kind(name) in (int, float)
        and not isinstance(value, bool)
    ):
        return setting_kind(name)(value)
    return value


def configure(config: TrainConfig | None = None, **overrides: Any) -> TrainConfig:
    """``config`` (default ``TrainConfig()``) with ``overrides`` replacing its fields.

    Raises:
        TypeError: an override that is no setting (the message lists them).
        ValueError: a bad value (see :func:`check_setting`).
    """
    unknown = sorted(set(overrides) - set(_FIELDS))
    if unknown:
        raise TypeError(
            f"unknown training setting(s) {', '.join(unknown)}; the settings are "
            f"the fields of TrainConfig: {', '.join(_FIELDS)}"
        )
    return dataclasses.replace(
        config if config is not None else TrainConfig(), **overrides
    )
