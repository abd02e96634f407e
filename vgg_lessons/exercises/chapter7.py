"""Chapter 7, the paper: the checks of its exercises (right or wrong, with a hint).

Each :class:`~vgg_lessons.exercises._checking.NumberCheck` computes its right value and
common slips from the package; the open-ended exercise is an
:class:`~vgg_lessons.exercises._predictions.PredictionCheck` (a prediction checked against a
measurement with a tolerance).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import torch
from torch import nn

from vgg_lessons.exercises._checking import NumberCheck, Solution
from vgg_lessons.exercises._predictions import PredictionCheck

if TYPE_CHECKING:
    from vgg_lessons.models import VGG


def _solve_dense_map_side() -> Solution:
    from vgg_lessons.models import build_vgg, fully_convolutional

    with torch.device("meta"):  # shapes only
        dense = fully_convolutional(build_vgg("D", bn=None).eval())
        height, width = dense(torch.empty(1, 3, 480, 640)).shape[-2:]
    return width, [
        (
            640 // 32,
            "that is the width of pool5's map; fc1 is now a 7x7 "
            "convolution without padding, which makes the map smaller",
        ),
        (
            height,
            "that is the map's height; the question asks along the 640-pixel side",
        ),
    ]


def _solve_c_field() -> Solution:
    from vgg_lessons.models import build_vgg
    from vgg_lessons.probes.fields import layer_table

    with torch.device("meta"):  # geometry only
        rf = {
            name: layer_table(build_vgg(name, bn=None), 224).row("stage4.pool").rf
            for name in "CD"
        }
    return rf["C"], [
        (
            rf["D"],
            "that is D's field, where the third layer of stages 3 and 4 is "
            "3x3; in C it is 1x1",
        )
    ]


def _solve_epoch_flops() -> Solution:
    from vgg_lessons.paper_results import epoch_macs

    flops = 2 * epoch_macs("E")
    return flops, [
        (flops / 2, "that counts multiply-accumulates; one MAC is two FLOPs"),
        (
            flops / 3,
            "that is the forward pass only; the backward pass costs about "
            "twice as much again",
        ),
    ]


check_dense_map_side = NumberCheck(
    "Exercise ex-paper-dense-map: width of VGG-16's class-score map on a 640x480 image.",
    "the width of the map",
    _solve_dense_map_side,
    whole=True,
    hint="five pools divide the side by 32; then a 7x7 convolution without padding fits "
    "n - 7 + 1 times along a side of n",
).function("check_dense_map_side")

check_c_field = NumberCheck(
    "Exercise ex-paper-c-field: receptive field of configuration C's ``stage4.pool``, in pixels.",
    "the receptive field",
    _solve_c_field,
    whole=True,
    hint="start from stage3.pool's field and jump in the table above; a k x k layer adds "
    "(k - 1) x jump, so a 1x1 convolution adds nothing, and the pool doubles the jump",
).function("check_c_field")

check_epoch_flops = NumberCheck(
    "Exercise ex-paper-epoch-flops: FLOPs of one ImageNet training epoch of VGG-19 (E), "
    "within 5 % (2 FLOPs per MAC, backward = 2x forward).",
    "the number of FLOPs",
    _solve_epoch_flops,
    rel_tol=0.05,
    hint="forward MACs of E per 224x224 crop (layer_stats, or the table above) x 2 FLOPs "
    "per MAC x 3 (forward and backward) x 1.3 million images",
).function("check_epoch_flops")


def _solve_dense_cell_field() -> Solution:
    from vgg_lessons.models import build_vgg
    from vgg_lessons.probes.fields import layer_table

    with torch.device("meta"):  # geometry only
        last = layer_table(build_vgg("E", bn=None), 224)[-1]  # stage5.pool
    expected = last.rf + (7 - 1) * last.jump  # fc1 as a 7x7 convolution
    return expected, [
        (last.rf, "that is pool5's field; the 7x7 convolution that was fc1 widens it"),
        (224, "that is the window a cell stands for, not the pixels that reach it"),
        (last.rf + 7 * last.jump, "close: a k x k layer adds (k - 1) jumps, not k"),
    ]


def _measure_tiles_right(
    model: VGG, scenes: torch.Tensor, labels: torch.Tensor, side: int
) -> float:
    from vgg_lessons.probes import dense

    with torch.no_grad():
        maps = dense.score_map(model, dense.rescale(scenes, side))  # (S, 10, h, w)
    per_tile = nn.functional.avg_pool2d(maps, maps.shape[-1] // 4)  # (S, 10, 4, 4)
    predicted = per_tile.permute(0, 2, 3, 1).reshape(-1, maps.shape[1]).argmax(1)
    return float((predicted == labels).sum())


check_dense_cell_field = NumberCheck(
    "Exercise ex-paper-cell-field: receptive field, in input pixels, of one cell of "
    "VGG-19's (E's) dense class-score map.",
    "the receptive field",
    _solve_dense_cell_field,
    whole=True,
    hint="take E's pool5 field and jump from the table above; the 7x7 convolution that "
    "was fc1 adds (7 - 1) x jump, and the 1x1 convolutions add nothing",
).function("check_dense_cell_field")

check_tiles_at_384 = PredictionCheck(
    "Exercise ex-paper-scale-384: predict how many of the mosaic's tiles the score map "
    "classifies right when the scenes are enlarged to 384 pixels.\n\n"
    "Called as ``check_tiles_at_384(answer, model, scenes, tile_labels, 384)``; right "
    "within 15 tiles.",
    "the number of tiles",
    _measure_tiles_right,
    tolerance=15,
    unit=" tiles",
    hint="at 384 pixels every object is three times the size the model was trained on; "
    "compare the counts at 128 and 256 pixels and ask what chance gives",
).function("check_tiles_at_384")
