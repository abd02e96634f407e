"""Checks for chapter 7's exercises (the paper): right or wrong, with a hint, never the answer.

Rows of the same table as :mod:`vgg_lessons.exercises` (which re-exports them, so a
notebook calls ``exercises.check_dense_map_side(answer)``): each
:class:`~vgg_lessons.exercises._checking.NumberCheck` computes its right value and common slips
from the package.
"""

from __future__ import annotations

import torch
from torch import nn

from vgg_lessons.exercises._checking import NumberCheck, Solution


def _solve_dense_map_side() -> Solution:
    from vgg_lessons.models import build_vgg, fully_convolutional

    with torch.device("meta"):  # shapes only
        dense = fully_convolutional(build_vgg("D", bn=None).eval())
        expected = dense(torch.empty(1, 3, 384, 384)).shape[-1]
    return expected, [
        (
            384 // 32,
            "that is the side of pool5's map; fc1 is now a 7x7 "
            "convolution without padding, which makes the map smaller",
        )
    ]


def _solve_c_field() -> Solution:
    from vgg_lessons.models import build_vgg
    from vgg_lessons.probes.fields import layer_table

    with torch.device("meta"):  # geometry only
        rf = {name: layer_table(build_vgg(name, bn=None), 224)[-1].rf for name in "CD"}
    return rf["C"], [
        (
            rf["D"],
            "that is D's field, where the third layer of stages 3-5 is "
            "3x3; in C it is 1x1",
        )
    ]


def _solve_epoch_flops() -> Solution:
    from vgg_lessons.paper_results import epoch_macs

    flops = 2 * epoch_macs("D")
    return flops, [
        (flops / 2, "that counts multiply-accumulates; one MAC is two FLOPs"),
        (
            flops / 3,
            "that is the forward pass only; the backward pass costs about "
            "twice as much again",
        ),
    ]


def _solve_gradcam_tile(
    model: nn.Module, scene: torch.Tensor, target: int, layer: str
) -> Solution:
    from vgg_lessons.probes.attribution import grad_cam

    cam = grad_cam(model, scene, layer, target=target)[0]  # (H, W)
    h, w = cam.shape[0] // 2, cam.shape[1] // 2
    mass = [
        float(cam[r * h : (r + 1) * h, c * w : (c + 1) * w].sum())
        for r in (0, 1)
        for c in (0, 1)
    ]
    return max(range(4), key=mass.__getitem__), ()


check_dense_map_side = NumberCheck(
    "Exercise ex-paper-dense-map: side of VGG-16's class-score map on a 384x384 image.",
    "the side of the map",
    _solve_dense_map_side,
    whole=True,
    hint="five pools divide the side by 32; then a 7x7 convolution without padding fits "
    "n - 7 + 1 times along a side of n",
).function("check_dense_map_side")

check_c_field = NumberCheck(
    "Exercise ex-paper-c-field: receptive field of configuration C's last pool, in pixels.",
    "the receptive field",
    _solve_c_field,
    whole=True,
    hint="a 1x1 convolution adds (1 - 1) x jump = 0 pixels to the field; compare C with B in "
    "layer_table",
).function("check_c_field")

check_epoch_flops = NumberCheck(
    "Exercise ex-paper-epoch-flops: FLOPs of one ImageNet training epoch of VGG-16 (D), "
    "within 5 % (2 FLOPs per MAC, backward = 2x forward).",
    "the number of FLOPs",
    _solve_epoch_flops,
    rel_tol=0.05,
    hint="forward MACs per 224x224 crop (layer_stats) x 2 FLOPs per MAC x 3 (forward and "
    "backward) x 1.3 million images",
).function("check_epoch_flops")

check_gradcam_tile = NumberCheck(
    "Exercise ex-paper-gradcam: which tile (0-3, row by row) of a 2x2 mosaic Grad-CAM points "
    "at; pass the chapter's model, its uint8 mosaic (1, 3, 2h, 2w), the target class and layer.",
    "the tile (0-3, row by row: 0 1 / 2 3)",
    _solve_gradcam_tile,
    whole=True,
    hint="the map is bright where the evidence for the class is; add up the map over each "
    "quarter and take the largest",
).function("check_gradcam_tile")
