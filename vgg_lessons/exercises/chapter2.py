"""Chapter 2, building VGG: the checks of its exercises.

Each says right or wrong, with a hint, never the answer.

Each ``check_*`` function takes the student's answer, prints one line and returns True
when it is right, so a notebook cell can also ``assert`` it. An unanswered exercise (the
placeholder ``...``) prints "Not answered yet" and returns False. Each number check is
a :class:`~vgg_lessons.exercises._checking.NumberCheck` row: what is asked, a
``_solve_*`` function that computes the right value from the package, and the hint.
"""

from __future__ import annotations

from typing import Any

import torch

from vgg_lessons.exercises._checking import (
    NumberCheck,
    Solution,
    as_whole_numbers,
    report,
)
from vgg_lessons.models import build_vgg
from vgg_lessons.vgg_configs import STAGE_CHANNELS, stage_kernels


def _vgg16_weights_and_biases(layer: str) -> tuple[int, int]:
    """Weights and biases of one layer of VGG-16 without batch norm (built on the meta device)."""
    with torch.device("meta"):  # shapes only: no memory, no initialisation
        module = build_vgg("D", bn=None).layer(layer)
    weight, bias = module.weight, module.bias
    assert isinstance(weight, torch.Tensor) and isinstance(bias, torch.Tensor)
    return weight.numel(), bias.numel()


def _solve_with_bias(layer: str, slip_hint: str):
    def solve() -> Solution:
        weights, biases = _vgg16_weights_and_biases(layer)
        return weights + biases, [(weights, slip_hint)]

    return solve


check_conv_params = NumberCheck(
    "Exercise ex-vgg-conv-params: parameters of VGG-16's ``stage3.conv1`` (with bias).",
    "the parameter count",
    whole=True,
    solve=_solve_with_bias(
        "stage3.conv1",
        "close: you counted the weights; each output channel also has a bias",
    ),
    hint="a k x k convolution from C_in to C_out channels has k * k * C_in * C_out weights "
    "plus C_out biases",
).function("check_conv_params")

check_fc1_params = NumberCheck(
    "Exercise ex-vgg-fc1: parameters of VGG-16's first fully connected layer.",
    "the parameter count",
    whole=True,
    solve=_solve_with_bias(
        "head.fc1", "close: you counted the weights; add one bias per output unit"
    ),
    hint="a linear layer from n inputs to m outputs has n * m weights and m biases; n is "
    "channels * height * width of the flattened map",
).function("check_fc1_params")


def check_stage4_shape(answer: Any) -> bool:
    """Exercise ex-vgg-stage-shape: ``(C, H, W)`` after stage 4 of VGG-16 for a 224x224 image."""
    shape = as_whole_numbers(answer, "a tuple (channels, height, width)")
    if shape is None:
        return False
    if len(shape) == 4:  # (B, C, H, W) with a batch of one is fine too
        if shape[0] != 1:
            return report(
                False, "give the shape for one image: (channels, height, width)"
            )
        shape = shape[1:]
    if len(shape) != 3:
        return report(
            False,
            f"a shape here has three numbers (channels, height, width); "
            f"you gave {len(shape)}",
        )
    side = 224 // 2**4  # four 2x2 pools of stride 2
    expected = [STAGE_CHANNELS[3], side, side]
    if shape[0] != expected[0]:
        return report(
            False,
            "look up the channels of stage 4 in model.feature_info (num_chs) or "
            "in the paper's Table 1",
        )
    return report(
        shape == expected,
        "each stage ends with a 2x2 pool of stride 2; the convolutions keep the size",
    )


def check_vgg13_counts(answer: Any) -> bool:
    """Exercise ex-vgg-b-counts: configuration B as five per-stage convolution counts."""
    counts = as_whole_numbers(answer, "a list of five whole numbers")
    if counts is None:
        return False
    expected = [len(stage) for stage in stage_kernels("B")]
    if len(counts) != len(expected):
        return report(
            False, f"VGG has five stages, so give five counts (you gave {len(counts)})"
        )
    if sum(counts) != sum(expected):
        return report(
            False,
            "the weight layers are the convolutions plus the three fully "
            "connected layers: how many convolutions is that?",
        )
    return report(
        counts == expected,
        "the right total, but in the wrong stages: B adds convolutions to the "
        "stages where A has only one",
    )
