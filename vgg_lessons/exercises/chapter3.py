"""Chapter 3, batch norm: the checks of its exercises.

Each says right or wrong, with a hint, never the answer.

How a check reads, compares and reports an answer: :mod:`vgg_lessons.exercises._checking`.
"""

from __future__ import annotations

import torch
from torch import nn

from vgg_lessons.exercises._checking import (
    EstimateCheck,
    NumberCheck,
    Solution,
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


#: The channel means of the batches in the running-mean exercise, in order.
RUNNING_MEANS = (4.0, 2.0, 1.0)


def _solve_running_mean() -> Solution:
    bn = nn.BatchNorm2d(1).train()
    with torch.no_grad():
        for channel_mean in RUNNING_MEANS:
            bn(torch.full((2, 1, 2, 2), channel_mean))
    assert bn.running_mean is not None  # track_running_stats is on
    return bn.running_mean.item(), [
        (
            sum(RUNNING_MEANS) / len(RUNNING_MEANS),
            "that is the plain average of the batches; the running mean starts at 0 and "
            "moves only a fraction (the momentum) of the way each step",
        )
    ]


def _solve_fan_in_std() -> Solution:
    from vgg_lessons.initialisation import conv_std

    with torch.device("meta"):
        conv = build_vgg("D", bn=None).layer("stage4.conv1")  # 256 -> 512 channels
    assert isinstance(conv, nn.Conv2d)
    return conv_std(conv, "he_fan_in"), [
        (
            conv_std(conv, "he_fan_out"),
            "that is the fan-out value (torchvision's default), or the fan-in one "
            "without He's factor 2 for the ReLU: the fan-in counts the inputs of one "
            "output value, 3 * 3 * input channels",
        ),
        (
            conv_std(conv, "he_fan_in") ** 2,
            "that is the variance; the answer is its square root, the standard "
            "deviation",
        ),
    ]


#: The open experiment: images and seed of the measurement the check compares with.
PAPER_INIT_IMAGES = 16


def _solve_paper_init_growth() -> Solution:
    from vgg_lessons.initialisation import initialise
    from vgg_lessons.probes.hooks import feature_maps

    generator_state = torch.random.get_rng_state()
    try:
        torch.manual_seed(0)
        model = initialise(build_vgg("A", bn=None, head="cifar"), "paper")
        images = torch.randn(PAPER_INIT_IMAGES, 3, 32, 32)
        layers = [n.replace("conv", "relu") for n in model.layer_names if ".conv" in n]
        with torch.no_grad():
            maps = feature_maps(model.train(), images, layers)
    finally:
        torch.random.set_rng_state(generator_state)
    return maps[layers[-1]].std().item() / maps[layers[0]].std().item(), ()


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
    "Exercise ex-bn-running: running mean after batches with channel means 4, 2, then 1.",
    "the running mean",
    _solve_running_mean,
    hint="each step: new = (1 - momentum) * old + momentum * batch mean, starting from 0",
).function("check_running_mean")

check_fan_in_std = NumberCheck(
    "Exercise ex-init-fan-in: He fan-in standard deviation of VGG-16's ``stage4.conv1``.",
    "the standard deviation",
    _solve_fan_in_std,
    rel_tol=0.01,
    hint="He's rule keeps the forward signal's variance through a ReLU: "
    "variance = 2 / fan-in, with fan-in = kernel height * width * input channels",
).function("check_fan_in_std")

check_paper_init_growth = EstimateCheck(
    "Exercise ex-init-paper: growth of the spread over VGG-11 with the paper's init.",
    "the factor",
    _solve_paper_init_growth,
    factor=3,
    hint="each 3x3 convolution multiplies the variance by 9 * C_in * 0.01 and each "
    "ReLU halves it; multiply the standard-deviation factors of the layers after the "
    "first",
).function("check_paper_init_growth")
