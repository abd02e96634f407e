"""Chapter 1, receptive fields: the checks of its exercises.

Each says right or wrong, with a hint, never the answer.

Each ``check_*`` function takes the student's answer, prints one line and returns True
when it is right, so a notebook cell can also ``assert`` it. An unanswered exercise (the
placeholder ``...``) prints "Not answered yet" and returns False. Each number check is
a :class:`~vgg_lessons.exercises._checking.NumberCheck` row: what is asked, a
``_solve_*`` function that computes the right value from the package, and the hint.
"""

from __future__ import annotations

from typing import Any

from torch import nn

from vgg_lessons.exercises._checking import (
    NumberCheck,
    Solution,
    meta_parameter_count,
)
from vgg_lessons.models import build_vgg


def _solve_output_size() -> Solution:
    from vgg_lessons.receptive_field import output_size

    return output_size(32, kernel=5, stride=2, padding=1), ()


def _solve_small_stack_rf() -> Solution:
    from vgg_lessons.receptive_field import LayerSpec, rf_table

    conv: dict[str, Any] = dict(kernel=3, stride=1, padding=1)
    pool: dict[str, Any] = dict(kernel=2, stride=2, padding=0)
    specs = [
        LayerSpec(name, **kind)
        for name, kind in [
            ("conv1", conv),
            ("conv2", conv),
            ("pool1", pool),
            ("conv3", conv),
            ("pool2", pool),
            ("conv4", conv),
        ]
    ]
    return rf_table(specs).row("conv4").rf, ()


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
    "Exercise ex-rf-stack: receptive field of conv-conv-pool-conv-pool-conv (3x3, 2x2).",
    "the receptive field",
    _solve_small_stack_rf,
    whole=True,
    hint="each layer adds (k - 1) times the jump *before* it, and each pool doubles the jump "
    "for the layers after it; pools add to the field too",
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
