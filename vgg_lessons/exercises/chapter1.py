"""Chapter 1, receptive fields: the checks of its exercises.

Each says right or wrong, with a hint, never the answer.

How a check reads, compares and reports an answer: :mod:`vgg_lessons.exercises._checking`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from torch import nn

from vgg_lessons.exercises._checking import (
    NumberCheck,
    Solution,
    as_whole_numbers,
    meta_parameter_count,
    report,
)
from vgg_lessons.models import build_vgg


def _solve_output_size() -> Solution:
    from vgg_lessons.receptive_field import output_size

    return output_size(32, kernel=5, stride=2, padding=1), ()


def _solve_small_stack_rf() -> Solution:
    from vgg_lessons.receptive_field import LayerSpec, rf_table

    specs = [
        LayerSpec("conv1", kernel=7, stride=2, padding=3),  # ZFNet's first layer
        LayerSpec("conv2", kernel=3, padding=1),
        LayerSpec("pool", kernel=2, stride=2, kind="pool"),
        LayerSpec("conv3", kernel=3, padding=1),
    ]
    table = rf_table(specs)
    no_stride = rf_table([LayerSpec("conv1", kernel=7, padding=3), *specs[1:]])
    return table.row("conv3").rf, [
        (
            no_stride.row("conv3").rf,
            "that would be right with stride 1 in the first layer: its stride 2 "
            "doubles the jump for every layer after it",
        )
    ]


def _solve_weights_saved() -> Solution:
    one_7x7 = meta_parameter_count(
        lambda: nn.Conv2d(256, 256, 7, padding=3, bias=False)
    )
    three_3x3 = meta_parameter_count(
        lambda: nn.Sequential(
            *[nn.Conv2d(256, 256, 3, padding=1, bias=False) for _ in range(3)]
        )
    )
    saved = one_7x7 - three_3x3
    return saved, [
        (
            -saved,
            "that is the right size with the wrong sign: how many does the "
            "stack *save*, i.e. 7x7 minus three 3x3?",
        )
    ]


def _solve_vgg19_rf() -> Solution:
    from vgg_lessons.probes.fields import layer_table

    # The field does not depend on the channels or the head: a tiny model is enough.
    model = build_vgg("E", bn=None, head="cifar", width=1 / 16)
    return layer_table(model, input_size=224).row("stage5.conv4").rf, ()


check_output_size = NumberCheck(
    "Exercise ex-rf-output-size: outputs of a kernel-5, stride-2, padding-1 conv on 32 pixels.",
    "the output size",
    _solve_output_size,
    whole=True,
    hint="count the positions where the kernel fits: floor((n + 2p - k) / s) + 1; the floor "
    "drops a last window that would stick out",
).function("check_output_size")

check_small_stack_rf = NumberCheck(
    "Exercise ex-rf-stack: receptive field of conv 7x7 stride 2, conv 3x3, pool 2x2, conv 3x3.",
    "the receptive field",
    _solve_small_stack_rf,
    whole=True,
    hint="each layer adds (k - 1) times the jump *before* it, and each stride (of a "
    "convolution or a pool) multiplies the jump for the layers after it",
).function("check_small_stack_rf")

check_weights_saved = NumberCheck(
    "Exercise ex-rf-weights: weights saved by three 3x3 convs over one 7x7, 256 channels.",
    "the number of weights saved",
    _solve_weights_saved,
    whole=True,
    hint="a k x k convolution from C to C channels has k * k * C * C weights; compute both "
    "sides and subtract",
).function("check_weights_saved")

check_vgg19_rf = NumberCheck(
    "Exercise ex-rf-vgg19: receptive field of VGG-19's ``stage5.conv4``.",
    "the receptive field",
    _solve_vgg19_rf,
    whole=True,
    hint="in stage t the jump is 2**(t - 1): each 3x3 conv adds 2 * 2**(t - 1), each pool "
    "2**(t - 1); stage 3 to 5 have four convs each in VGG-19",
).function("check_vgg19_rf")


#: The design exercise's target: a field at least this wide, with no holes ...
DILATED_FIELD = 15
#: ... from at most this many 3x3 convolutions of stride 1.
DILATED_LAYERS = 3


def _dilated_stack(dilations: Sequence[int]) -> list:
    from vgg_lessons.receptive_field import LayerSpec

    return [
        LayerSpec(f"conv{i}", kernel=3, padding=d, dilation=d)
        for i, d in enumerate(dilations, start=1)
    ]


def check_dilated_stack(answer: Any) -> bool:
    """Exercise ex-rf-dilated: dilations of at most three 3x3 convs, field >= 15, no holes.

    An open design: many answers are right. The message describes the student's own
    stack (its span and how many pixels of it are never read), never a right design.
    """
    from vgg_lessons.receptive_field import field_pixels

    dilations = as_whole_numbers(answer, "a list of dilations, one per 3x3 convolution")
    if dilations is None:
        return False
    if not 1 <= len(dilations) <= DILATED_LAYERS:
        return report(
            False,
            f"use one to {DILATED_LAYERS} convolutions (you gave {len(dilations)} "
            "dilations)",
        )
    if min(dilations) < 1:
        return report(False, "a dilation is a whole number of pixels, 1 or more")
    pixels = field_pixels(_dilated_stack(dilations))
    span = pixels[-1] - pixels[0] + 1
    holes = span - len(pixels)
    if holes:
        return report(
            False,
            f"your stack's field spans {span} pixels but never reads {holes} of them: "
            "list the offsets each layer adds (-d, 0, +d) and look for sums you "
            "cannot make",
        )
    return report(
        span >= DILATED_FIELD,
        f"no holes, but your field spans only {span} pixels: each layer adds 2 * d to "
        "the span, so the dilations must add up to enough",
        praise=f"Correct! No holes, and a field of {span} pixels.",
    )


# one right design among several
check_dilated_stack.solution = lambda: (1, 2, 4)  # type: ignore[attr-defined]
