"""Chapter 4, training: the checks of its exercises (right or wrong, with a hint, never the answer).

How a check reads, compares and reports an answer: :mod:`vgg_lessons.exercises._checking`.
"""

from __future__ import annotations

import inspect
from typing import Any

from vgg_lessons.exercises._checking import NumberCheck, Solution
from vgg_lessons.exercises._predictions import PredictionCheck


def _solve_steps_per_epoch() -> Solution:
    n_images, batch_size = 50_000, 256
    return n_images // batch_size, [  # fit drops the last, smaller batch
        (
            -(-n_images // batch_size),
            "close: fit drops the last, smaller batch, so count full batches only",
        )
    ]


def _solve_augment_variants() -> Solution:
    from vgg_lessons.train.augmentation import augment

    padding = inspect.signature(augment).parameters["padding"].default
    offsets = (
        2 * padding + 1
    ) ** 2  # top-left corner of the crop: 0..2*padding each way
    return offsets * 2, [
        (offsets, "right for the crops; now count the mirror images too"),
        (
            (2 * padding) ** 2 * 2,
            "almost: the offsets run from 0 to 2 * padding inclusive",
        ),
    ]


def _solve_warmup_lr() -> Solution:
    from vgg_lessons.train.loop import lr_at

    return lr_at(100, 1000, 0.1), [
        (0.1 * 100 / 200, "the warm-up starts at a tenth of the peak, not at 0")
    ]


check_steps_per_epoch = NumberCheck(
    "Exercise ex-train-steps: steps of one epoch of 50,000 images in batches of 256.",
    "the number of steps",
    _solve_steps_per_epoch,
    whole=True,
    hint="how many full batches of 256 fit into 50,000 images?",
).function("check_steps_per_epoch")

check_augment_variants = NumberCheck(
    "Exercise ex-train-augment: distinct outputs of ``data.augment`` (defaults) for one image.",
    "the number of versions",
    _solve_augment_variants,
    whole=True,
    hint="count the positions of the crop's corner in each direction (the image can move 0 to "
    "2 * padding pixels), multiply, then account for mirroring",
).function("check_augment_variants")

check_warmup_lr = NumberCheck(
    "Exercise ex-train-lr: one-cycle learning rate at step 100 of 1,000, peak 0.1.",
    "the learning rate",
    _solve_warmup_lr,
    hint="the warm-up is the first 20% of the steps; interpolate linearly from peak / 10 at "
    "step 0 to the peak at its end",
).function("check_warmup_lr")


def _measure_flip_tta(model: Any, images: Any, labels: Any) -> float:
    from vgg_lessons.train.metrics import evaluate

    return 100 * evaluate(model, images, labels, flip_tta=True)["acc"]


check_flip_tta = PredictionCheck(
    "Exercise ex-train-tta: predict the shipped model's test accuracy (in percent) when "
    "each image's logits are averaged with those of its mirror image.\n\n"
    "Called as ``check_flip_tta(answer, model, test_images, test_labels)``; right within "
    "1 point.",
    "the accuracy in percent",
    _measure_flip_tta,
    tolerance=1.0,
    unit=" points",
    hint="the model saw every training image both ways, so a mirror image is as familiar "
    "as the original; averaging two views cancels some of each one's mistakes, but it "
    "cannot fix what both views get wrong",
).function("check_flip_tta")
