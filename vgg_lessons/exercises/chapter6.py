"""Chapter 6, what the layers see: the checks of its exercises.

Each says right or wrong, with a hint, never the answer.

Each ``check_*`` function takes the student's answer, prints one line and returns True
when it is right, so a notebook cell can also ``assert`` it. An unanswered exercise (the
placeholder ``...``) prints "Not answered yet" and returns False. Each number check is
a :class:`~vgg_lessons.exercises._checking.NumberCheck` row: what is asked, a
``_solve_*`` function that computes the right value from the package, and the hint.
"""

from __future__ import annotations

import torch
from torch import nn

from vgg_lessons.exercises._checking import NumberCheck, Solution
from vgg_lessons.models import build_vgg


def _solve_map_side() -> Solution:
    from vgg_lessons.probes.hooks import feature_maps

    model = build_vgg("A", bn=None, head="cifar", width=1 / 16).eval()  # sizes only
    maps = feature_maps(model, torch.zeros(1, 3, 32, 32), "stage4.conv1")
    return maps["stage4.conv1"].shape[-1], ()


def _solve_kernel_numbers() -> Solution:
    from vgg_lessons.probes.hooks import filters

    expected = filters(
        build_vgg("A", bn=None, head="cifar", width=1 / 16), "stage1.conv1"
    )[0].numel()
    return expected, [
        (
            expected // 3,
            "that is one colour plane; the kernel has one for each input channel",
        )
    ]


def _solve_zero_fraction(model: nn.Module, inputs: torch.Tensor) -> Solution:
    from vgg_lessons.probes.hooks import feature_maps

    maps = feature_maps(model, inputs, "stage2.relu1")["stage2.relu1"]
    expected = (maps == 0).float().mean().item()
    return expected, [
        (
            100 * expected,
            "that looks like a percentage; give a fraction between 0 and 1",
        )
    ]


def _solve_top_image(model: nn.Module, inputs: torch.Tensor) -> Solution:
    from vgg_lessons.probes.hooks import top_activating_images

    indices, _ = top_activating_images(model, inputs, "stage4.bn1", 3, k=len(inputs))
    least = indices[1:][-3:].tolist()  # never the right answer, even with few images
    return int(indices[0]), [
        (i, "that image excites the channel *least*: sort the other way") for i in least
    ]


check_map_side = NumberCheck(
    "Exercise ex-see-map-side: side of ``stage4.conv1``'s feature map for a 32x32 input.",
    "the side of the map",
    _solve_map_side,
    whole=True,
    hint="convolutions keep the size (padding 1); count the 2x2 pools *before* stage 4: each "
    "halves the side",
).function("check_map_side")

check_kernel_numbers = NumberCheck(
    "Exercise ex-see-kernel: how many weights one first-layer kernel of VGG holds.",
    "the number of weights",
    _solve_kernel_numbers,
    whole=True,
    hint="a kernel spans all input channels (R, G, B) over a k x k window; no bias",
).function("check_kernel_numbers")

check_zero_fraction = NumberCheck(
    "Exercise ex-see-sparsity: fraction of ``stage2.relu1`` outputs that are exactly 0.\n\n"
    "Called as ``check_zero_fraction(answer, model, inputs)`` with the chapter's model and the "
    "images the exercise names (uint8 as loaded, or normalised model input).",
    "the fraction",
    _solve_zero_fraction,
    rel_tol=1e-3,
    hint="record stage2.relu1 (not the conv or the bn), then count the entries equal to 0 over "
    "all images, channels and positions, divided by the total",
).function("check_zero_fraction")

check_top_image = NumberCheck(
    "Exercise ex-see-top: index of the image that excites channel 3 of ``stage4.bn1`` most.\n\n"
    "Called as ``check_top_image(answer, model, inputs)`` (inputs as for check_zero_fraction).",
    "the image index",
    _solve_top_image,
    whole=True,
    hint="a channel's response is the mean of its map over positions; take the image with the "
    "largest mean for channel 3 of stage4.bn1",
).function("check_top_image")
