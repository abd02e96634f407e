"""Chapter 6, what the layers see: the checks of its exercises.

Each says right or wrong, with a hint, never the answer.

How a check reads, compares and reports an answer: :mod:`vgg_lessons.exercises._checking`.
"""

from __future__ import annotations

import torch
from torch import nn

from vgg_lessons.exercises._checking import NumberCheck, Solution
from vgg_lessons.exercises._predictions import PredictionCheck
from vgg_lessons.models import build_vgg


def _solve_map_side() -> Solution:
    from vgg_lessons.probes.hooks import feature_maps

    model = build_vgg("A", bn=None, head="cifar", width=1 / 16).eval()  # sizes only
    maps = feature_maps(model, torch.zeros(1, 3, 72, 72), "stage4.conv1")
    return maps["stage4.conv1"].shape[-1], [
        (4, "that is the side for a 32x32 input; this image is 72 pixels wide"),
        (18, "that is after two pools; stage 4 comes after three"),
        (4.5, "a pool of stride 2 rounds down: 9 // 2 = 4, not 4.5"),
    ]


def _solve_kernel_numbers(model: nn.Module) -> Solution:
    from vgg_lessons.probes.hooks import filters

    kernel = filters(model, "stage3.conv1")[0]  # (C_in, k, k): one output channel's
    expected = kernel.numel()
    return expected, [
        (kernel[0].numel(), "that is one input channel; a kernel spans all of them"),
        (
            2 * expected,
            "that counts the layer's output channels; a kernel reads the "
            "input channels",
        ),
        (27, "that is a first-layer kernel, which reads 3 colour channels"),
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
    "Exercise ex-see-map-side: side of ``stage4.conv1``'s feature map for a 72x72 input.",
    "the side of the map",
    _solve_map_side,
    whole=True,
    hint="convolutions keep the size (padding 1); count the 2x2 pools *before* stage 4: each "
    "halves the side",
).function("check_map_side")

check_kernel_numbers = NumberCheck(
    "Exercise ex-see-kernel: how many weights one kernel of ``stage3.conv1`` holds.\n\n"
    "Called as ``check_kernel_numbers(answer, model)`` with the chapter's model.",
    "the number of weights",
    _solve_kernel_numbers,
    whole=True,
    hint="a kernel spans all input channels of its layer (the channels of stage 2's "
    "output) over a k x k window; no bias",
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


def _measure_random_zero_fraction(model: nn.Module, inputs: torch.Tensor) -> float:
    return _solve_zero_fraction(model, inputs)[0]


check_random_zero_fraction = PredictionCheck(
    "Exercise ex-see-random-sparsity: predict the fraction of ``stage2.relu1`` outputs "
    "that are exactly 0 in the random network.\n\n"
    "Called as ``check_random_zero_fraction(answer, random_model, inputs)``; right within "
    "0.1 (the share depends on the random draw of the channels).",
    "the fraction",
    _measure_random_zero_fraction,
    tolerance=0.1,
    unit="",
    hint="in eval mode an untrained batch norm divides by 1 and subtracts 0; is a random "
    "convolution's output more often positive or negative, and what does the ReLU do "
    "with each?",
).function("check_random_zero_fraction")
