"""Chapter 5, pitfalls: the checks of its exercises (right or wrong, with a hint, never the answer).

How a check reads, compares and reports an answer: :mod:`vgg_lessons.exercises._checking`.
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from vgg_lessons.exercises._checking import NumberCheck, Solution
from vgg_lessons.exercises._predictions import PredictionCheck
from vgg_lessons.exercises.chapter3 import BN_HINT, solve_bn_output
from vgg_lessons.models import build_vgg


def _solve_softmax_floor() -> Solution:
    perfect = F.one_hot(
        torch.tensor([0]), num_classes=100
    ).double()  # certain and right
    return F.cross_entropy(perfect, torch.tensor([0])).item(), [
        (
            0.0,
            "0 needs an infinitely large logit for the right class; here the largest "
            "'logit' the loss can see is a probability, at most 1",
        )
    ]


def _solve_missing_conv_weights() -> Solution:
    def convs(arch: Any) -> tuple[int, int]:
        with torch.device("meta"):  # shapes only
            layers = [
                m
                for m in build_vgg(arch, bn=None).modules()
                if isinstance(m, nn.Conv2d)
            ]
        return sum(m.weight.numel() for m in layers), sum(
            m.bias.numel() if m.bias is not None else 0 for m in layers
        )

    (w13, b13), (w11, b11) = convs("B"), convs([1, 1, 2, 2, 2])
    return w13 - w11, [
        (
            (w13 + b13) - (w11 + b11),
            "close: you counted the biases too; count the weights only",
        ),
        (
            -(w13 - w11),
            "right size, wrong sign: how many *more* does the real VGG-13 have?",
        ),
    ]


def _solve_last_batch_of_one() -> Solution:
    n_images, largest = 50_000 - 4_000, 256  # the training set less 4,000 held out
    valid = [b for b in range(2, largest + 1) if n_images % b == 1]
    return max(valid), [
        (b, "that one does leave a batch of one, but there is a larger one up to 256")
        for b in valid[:-1]
    ] + [(17, "that is the size for 5,000 held out; here 4,000 are")]


def _measure_train_mode_accuracy(model: nn.Module, images: Any, labels: Any) -> float:
    import copy

    from vgg_lessons.inputs import normalize

    net = copy.deepcopy(model).train()  # a copy: the passes change running statistics
    with torch.no_grad():
        logits = torch.cat(
            [net(normalize(images[i : i + 100])) for i in range(0, len(images), 100)]
        )
    return 100 * (logits.argmax(1) == labels).float().mean().item()


check_softmax_floor = NumberCheck(
    "Exercise ex-pit-floor: lowest cross-entropy of a 100-class model that outputs probabilities.",
    "the lowest loss",
    _solve_softmax_floor,
    rel_tol=2e-3,
    hint="give the best output, probability 1 for the right class and 0 for the others, to "
    "cross-entropy as if it were logits: -log(e^1 / (e^1 + ...))",
).function("check_softmax_floor")

check_missing_conv_weights = NumberCheck(
    "Exercise ex-pit-vgg13: conv weights of VGG-13 minus those of a [1, 1, 2, 2, 2] model.",
    "the number of weights",
    _solve_missing_conv_weights,
    whole=True,
    hint="find the stages where the two lists differ; each missing 3x3 convolution from C to C "
    "channels has 3 * 3 * C * C weights",
).function("check_missing_conv_weights")

check_last_batch_of_one = NumberCheck(
    "Exercise ex-pit-batch: largest batch size <= 256 leaving one image at the end of the "
    "50,000 training images less 4,000 held out.",
    "the batch size",
    _solve_last_batch_of_one,
    whole=True,
    hint="the last batch holds n % b images of n training images; you want a remainder of "
    "exactly 1, so b divides n - 1: factor it",
).function("check_last_batch_of_one")

check_bn_pair_output = NumberCheck(
    "Exercise ex-pit-bn-two: BatchNorm1d (train mode) output for the larger of two values.",
    "the output",
    solve_bn_output([2.0, 5.0], index=1),
    rel_tol=1e-3,
    hint=BN_HINT,
).function("check_bn_pair_output")

check_train_mode_accuracy = PredictionCheck(
    "Exercise ex-pit-shuffled-100: predict the accuracy (in percent) in training mode on "
    "shuffled batches of 100.\n\n"
    "Called as ``check_train_mode_accuracy(answer, model, images, labels)`` with the "
    "chapter's model and its 1,000 shuffled test images; right within 2 points.",
    "the accuracy in percent",
    _measure_train_mode_accuracy,
    tolerance=2.0,
    unit=" points",
    hint="a shuffled batch is a random sample of the classes; how close are the mean and "
    "variance of 100 random images to the running statistics, compared with 10 or 1,000?",
).function("check_train_mode_accuracy")
