"""Chapter 3, batch norm: the checks of its exercises.

Each says right or wrong, with a hint, never the answer.

Each ``check_*`` function takes the student's answer, prints one line and returns True
when it is right, so a notebook cell can also ``assert`` it. An unanswered exercise (the
placeholder ``...``) prints "Not answered yet" and returns False. Each number check is
a :class:`~vgg_lessons.exercises._checking.NumberCheck` row: what is asked, a
``_solve_*`` function that computes the right value from the package, and the hint.
"""

from __future__ import annotations

import functools

import torch
from torch import nn

from vgg_lessons.exercises._checking import (
    NumberCheck,
    Solution,
    meta_parameter_count,
)
from vgg_lessons.models import build_vgg


def _solve_bn_param_count() -> Solution:
    with torch.device("meta"):  # shapes only
        bns = [
            m
            for m in build_vgg("D", bn="before_relu").modules()
            if isinstance(m, nn.BatchNorm2d)
        ]
    expected = sum(p.numel() for m in bns for p in m.parameters())
    return expected, [
        (
            2 * expected,
            "the running mean and variance are buffers, not learnable "
            "parameters: count only the scale and the shift",
        ),
        (expected / 2, "each channel has two learnable numbers, a scale and a shift"),
    ]


def solve_bn_output(values: list[float], index: int):
    """Solver: a fresh BN's training-mode output for ``values[index]`` (one channel)."""

    def solve() -> Solution:
        batch = torch.tensor(values).view(-1, 1)  # (B, 1): one channel
        with torch.no_grad():
            expected = nn.BatchNorm1d(1).train()(batch)[index, 0].item()
        unbiased = (
            (batch[index] - batch.mean()) / batch.std()
        ).item()  # dividing by n - 1
        return expected, [
            (
                unbiased,
                "batch norm divides by the *biased* standard deviation "
                "(average the squared deviations over n, not n - 1)",
            )
        ]

    return solve


def _solve_running_mean() -> Solution:
    bn = nn.BatchNorm2d(1).train()
    with torch.no_grad():
        for channel_mean in (4.0, 2.0):
            bn(torch.full((2, 1, 2, 2), channel_mean))
    assert bn.running_mean is not None  # track_running_stats is on
    return bn.running_mean.item(), [
        (
            3.0,
            "that is the plain average of the two batches; the running mean starts at 0 and "
            "moves only a fraction (the momentum) of the way each step",
        )
    ]


def _solve_bias_saved() -> Solution:
    with_bias, without = (
        meta_parameter_count(
            functools.partial(build_vgg, "D", bn="before_relu", conv_bias=keep)
        )
        for keep in (True, False)
    )
    return with_bias - without, ()


BN_HINT = (
    "subtract the channel's batch mean, then divide by the square root of its variance "
    "plus a tiny eps"
)

check_bn_param_count = NumberCheck(
    'Exercise ex-bn-params: learnable parameters of all BN layers of ``build_vgg("D")``.',
    "the parameter count",
    _solve_bn_param_count,
    whole=True,
    hint="one BN layer per convolution; BatchNorm2d(C) learns a scale and a shift per "
    "channel",
).function("check_bn_param_count")

check_bn_by_hand = NumberCheck(
    "Exercise ex-bn-by-hand: BN (train mode) output for 6 in the channel values 1, 2, 3, 6.",
    "the output",
    solve_bn_output([1.0, 2.0, 3.0, 6.0], index=3),
    rel_tol=1e-3,
    hint=BN_HINT,
).function("check_bn_by_hand")

check_running_mean = NumberCheck(
    "Exercise ex-bn-running: running mean after batches with channel means 4 then 2.",
    "the running mean",
    _solve_running_mean,
    hint="each step: new = (1 - momentum) * old + momentum * batch mean, starting from 0",
).function("check_running_mean")

check_bias_saved = NumberCheck(
    "Exercise ex-bn-bias: parameters saved by dropping the conv biases before BN in VGG-16.",
    "the number of parameters",
    _solve_bias_saved,
    whole=True,
    hint="a convolution has one bias per output channel; add the output channels of all 13 "
    "convolutions",
).function("check_bias_saved")
