"""Checks for chapter 9's exercises (depth, tested): right or wrong, with a hint, never the answer.

The depth chapter asks readers to predict before they look: what deeper costs (a count
from the architecture), what it buys (read from the committed grid records), and how the
paper's initialisation spreads the signal in VGG-19 (an estimate, against the start
grid's record).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch
from torch import nn

from vgg_lessons.exercises._checking import EstimateCheck, NumberCheck, Solution


def _macs(arch: str, width: float) -> int:
    """Multiply-accumulates of a CIFAR-head VGG on one 32x32 image (counted on the meta device)."""
    from vgg_lessons.models import build_vgg

    total = 0

    def count(module: nn.Module, inputs: Any, output: torch.Tensor) -> None:
        nonlocal total
        if isinstance(module, nn.Conv2d):
            total += (
                output.numel()
                * module.in_channels
                * module.kernel_size[0]
                * module.kernel_size[1]
            )
        else:
            assert isinstance(module, nn.Linear)  # the hooks sit on these two only
            total += output.numel() * module.in_features

    with torch.device("meta"):
        model = build_vgg(arch, bn="before_relu", width=width, head="cifar").eval()
        hooks = [
            m.register_forward_hook(count)
            for m in model.modules()
            if isinstance(m, (nn.Conv2d, nn.Linear))
        ]
        model(torch.empty(1, 3, 32, 32))
    for h in hooks:
        h.remove()
    return total


def _solve_macs_ratio() -> Solution:
    e, a = _macs("E", 0.25), _macs("A", 0.25)
    return e / a, [
        (
            19 / 11,
            "that is the ratio of the layer counts; the added layers are not "
            "average ones: count where they sit (stage and map size)",
        ),
    ]


def _solve_depth_gain(records: Sequence[dict] | None = None) -> Solution:
    from vgg_lessons.train.grid_records import depth_summary, load_records

    rows = {
        r["depth"]: r
        for r in depth_summary(load_records() if records is None else records)
    }
    if 11 not in rows or 16 not in rows:
        raise ValueError(
            "the depth grid's records hold no finished VGG-11 and VGG-16 runs yet "
            f"(depths with records: {sorted(rows) or 'none'}); run scripts/depth_grid.py"
        )
    gain = 100 * (rows[16]["acc_mean"] - rows[11]["acc_mean"])
    return gain, [
        (
            gain / 100,
            "give it in percentage points (85.1% - 84.0% is 1.1), not as a fraction",
        ),
        (-gain, "VGG-16 minus VGG-11, not the other way round"),
    ]


def _solve_paper_spread(records: Sequence[dict]) -> Solution:
    from vgg_lessons.train.grid_records import start_summary

    ratios = [
        row["spread_ratio"]
        for row in start_summary(list(records))
        if row["depth"] == 19 and row["init"] == "paper"
    ]
    if not ratios:
        raise ValueError(
            "the start grid's records hold no VGG-19 run with the paper's "
            "initialisation yet; run scripts/depth_grid.py --grid start"
        )
    ratio = sum(ratios) / len(ratios)
    return ratio, [
        (
            1 / ratio,
            "stage 5's spread over stage 1's, not the other way round",
        ),
    ]


check_depth_macs_ratio = NumberCheck(
    "Exercise ex-depth-macs: VGG-19's multiply-accumulates per 32x32 image over VGG-11's "
    "(both width 0.25, CIFAR head, batch norm), within 1 %.",
    "the ratio",
    _solve_macs_ratio,
    rel_tol=0.01,
    hint="B adds a convolution to stages 1 and 2, D one to stages 3-5, E another to "
    "stages 3-5; a convolution costs (map side)^2 x C_in x C_out x 9, and the map "
    "side halves with every stage",
).function("check_depth_macs_ratio")

check_depth_gain = NumberCheck(
    "Exercise ex-depth-gain: VGG-16's mean test accuracy minus VGG-11's over the seeds of "
    "the depth grid, in percentage points, within 2 % of it (pass the records, or none "
    "for the committed ones).",
    "the gain in percentage points",
    _solve_depth_gain,
    rel_tol=0.02,
    hint="take acc_mean of the rows with depth 16 and depth 11 in depth_summary(...), "
    "subtract, and multiply by 100",
).function("check_depth_gain")

check_paper_spread = EstimateCheck(
    "Exercise ex-depth-start: by what factor the paper's initialisation (standard "
    "deviation 0.1) multiplies the spread of the signal from stage 1's output to stage "
    "5's in VGG-19 at width 0.25 without batch norm, at initialisation (the start grid's "
    "record), within a factor of 3.",
    "the factor",
    _solve_paper_spread,
    factor=3.0,
    hint="each convolution multiplies the standard deviation by about "
    "sqrt(9 x C_in x 0.01 / 2) (chapter 3); multiply over the convolutions of stages 2 "
    "to 5, and mind stage 5's 2x2 maps, where a 3x3 kernel overlaps only 4 of its 9 "
    "positions with the map",
).function("check_paper_spread")
