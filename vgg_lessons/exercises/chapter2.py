"""Chapter 2, building VGG: the checks of its exercises.

Each says right or wrong, with a hint, never the answer.

How a check reads, compares and reports an answer: :mod:`vgg_lessons.exercises._checking`.
None of the answers is printed in the chapter: each asks to predict, transfer to another
configuration or input size, or estimate.
"""

from __future__ import annotations

from typing import Any

import torch

from vgg_lessons.exercises._checking import (
    EstimateCheck,
    NumberCheck,
    Solution,
    as_whole_numbers,
    report,
)
from vgg_lessons.models import build_vgg
from vgg_lessons.stats import layer_stats
from vgg_lessons.vgg_configs import STAGE_CHANNELS

#: The image of the shape exercise: height, width (pixels).
ODD_IMAGE = (200, 100)
#: The input side of the estimate exercise (pixels).
ESTIMATE_SIDE = 64


def _macs(model_args: tuple, kwargs: dict, side: int) -> int:
    with torch.device("meta"):  # shapes only: no memory, no initialisation
        model = build_vgg(*model_args, **kwargs)
    return layer_stats(model, input_size=side).total_macs


def _solve_b_extra_macs() -> Solution:
    extra = _macs(("B",), {"bn": None}, 224) - _macs(("A",), {"bn": None}, 224)
    return extra, [
        (
            extra / 2,
            "that is one of B's extra convolutions: B adds one to each of two stages",
        )
    ]


def _solve_stage5_params() -> Solution:
    with torch.device("meta"):
        model = build_vgg("E", bn=None)
    stage = model.stages[4]
    params = sum(p.numel() for p in stage.parameters())
    weights = sum(
        p.numel() for n, p in stage.named_parameters() if n.endswith("weight")
    )
    return params, [
        (weights, "close: you counted the weights; each output channel also has a bias")
    ]


def _solve_cifar_macs_64() -> Solution:
    return _macs(("vgg16",), {"bn": "before_relu", "head": "cifar"}, ESTIMATE_SIDE), ()


check_b_extra_macs = NumberCheck(
    "Exercise ex-vgg-b-extra: MACs per 224x224 image that configuration B adds to A.",
    "the number of extra MACs",
    _solve_b_extra_macs,
    rel_tol=0.01,
    hint="find the convolutions B has and A has not; a 3x3 convolution from C to C "
    "channels on an H x W map does 9 * C * C * H * W MACs",
).function("check_b_extra_macs")

check_vgg19_stage5_params = NumberCheck(
    "Exercise ex-vgg-e-stage5: parameters (weights and biases) of VGG-19's stage 5.",
    "the parameter count",
    _solve_stage5_params,
    whole=True,
    hint="stage 5 of configuration E holds four 3x3 convolutions from 512 to 512 channels; "
    "each has 3 * 3 * C_in * C_out weights and C_out biases",
).function("check_vgg19_stage5_params")

check_cifar_macs_64 = EstimateCheck(
    "Exercise ex-vgg-macs-64: estimated MACs of VGG-16 (CIFAR head) on one 64x64 image.",
    "your estimate",
    _solve_cifar_macs_64,
    rel_tol=0.05,
    hint="a convolution's MACs grow with the number of positions of its map; the CIFAR "
    "head's single linear layer sees the same 512 pooled numbers at any input size",
).function("check_cifar_macs_64")


def _stage5_shape() -> list[int]:
    height, width = ODD_IMAGE
    for _ in range(5):  # five 2x2 pools of stride 2; the floor drops an odd last row
        height, width = height // 2, width // 2
    return [STAGE_CHANNELS[4], height, width]


def check_stage5_shape(answer: Any) -> bool:
    """Exercise ex-vgg-stage-shape: ``(C, H, W)`` after stage 5 of VGG-16 for a 200x100 image."""
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
    expected = _stage5_shape()
    if shape[0] != expected[0]:
        return report(
            False,
            "look up the channels of stage 5 in model.feature_info (num_chs) or "
            "in the paper's Table 1",
        )
    if shape[1:] == expected[:0:-1]:
        return report(
            False,
            "height and width swapped: PyTorch's order is (C, H, W), height first",
        )
    return report(
        shape == expected,
        "each stage ends with a 2x2 pool of stride 2, which halves and rounds down "
        "(chapter 1's floor); the convolutions keep the size",
    )


check_stage5_shape.solution = lambda: tuple(_stage5_shape())  # type: ignore[attr-defined]
