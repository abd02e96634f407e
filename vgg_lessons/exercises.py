"""Checks for the book's exercises: right or wrong, with a hint, never the answer.

Each ``check_*`` function takes the student's answer, prints one line, and
returns True when it is right, so a notebook cell can also ``assert`` it.
The expected values are computed here from the package (never typed in), so a
check cannot drift from the code the chapter teaches.

Chapters add their checks below, each in its own section.
"""

from __future__ import annotations

import math
from typing import Any


def report(ok: bool, hint: str, praise: str = "Correct!") -> bool:
    """Print a verdict for the student and return ``ok``.

    Args:
        ok: whether the answer is right.
        hint: shown when it is wrong; says where to look, never the answer.
        praise: shown when it is right.
    """
    print(f"✅ {praise}" if ok else f"❌ Not yet. Hint: {hint}")
    return ok


def same_number(answer: Any, expected: float, rel_tol: float = 1e-6) -> bool:
    """True if ``answer`` is a real number within ``rel_tol`` of ``expected`` (False for text)."""
    if isinstance(answer, bool):
        return False
    try:
        value = float(answer)
    except (TypeError, ValueError):
        return False
    return math.isclose(value, expected, rel_tol=rel_tol, abs_tol=1e-12)


def checked_number(answer: Any, name: str) -> float | None:
    """Return ``answer`` as a float, or print a friendly message and return None."""
    if isinstance(answer, bool) or not isinstance(answer, (int, float)):
        print(f"❌ {name} should be a number, got {type(answer).__name__} {answer!r}. "
              "Replace the ... with your answer.")
        return None
    return float(answer)


# ---- Chapter 1: receptive fields ---------------------------------------------------

# ---- Chapter 2: building VGG --------------------------------------------------------

# ---- Chapter 3: batch norm -----------------------------------------------------------

# ---- Chapter 4: training ---------------------------------------------------------------

# ---- Chapter 5: pitfalls ---------------------------------------------------------------

def check_softmax_floor(answer: Any) -> bool:
    """Exercise ex-pit-floor: lowest cross-entropy of a 100-class model that outputs probabilities."""
    import torch
    import torch.nn.functional as F

    value = checked_number(answer, "the lowest loss")
    if value is None:
        return False
    perfect = F.one_hot(torch.tensor([0]), num_classes=100).double()  # certain and right
    expected = F.cross_entropy(perfect, torch.tensor([0])).item()
    if same_number(value, 0.0):
        return report(False, "0 needs an infinitely large logit for the right class; here the "
                      "largest 'logit' the loss can see is a probability, at most 1")
    return report(same_number(value, expected, rel_tol=2e-3),
                  "give the best output, probability 1 for the right class and 0 for the "
                  "others, to cross-entropy as if it were logits: -log(e^1 / (e^1 + ...))")


def check_missing_conv_weights(answer: Any) -> bool:
    """Exercise ex-pit-vgg13: conv weights of VGG-13 minus those of a [1, 1, 2, 2, 2] model."""
    import torch
    from torch import nn

    from vgg_lessons.models import build_vgg

    value = checked_number(answer, "the number of weights")
    if value is None:
        return False

    def convs(arch: Any) -> tuple[int, int]:
        with torch.device("meta"):  # shapes only
            layers = [m for m in build_vgg(arch, bn=None).modules() if isinstance(m, nn.Conv2d)]
        return sum(m.weight.numel() for m in layers), sum(m.bias.numel() for m in layers)

    (w13, b13), (w11, b11) = convs("vgg13"), convs([1, 1, 2, 2, 2])
    if same_number(value, (w13 + b13) - (w11 + b11)):
        return report(False, "close: you counted the biases too; count the weights only")
    if same_number(value, -(w13 - w11)):
        return report(False, "right size, wrong sign: how many *more* does the real VGG-13 have?")
    return report(same_number(value, w13 - w11),
                  "find the stages where the two lists differ; each missing 3x3 convolution "
                  "from C to C channels has 3 * 3 * C * C weights")


def check_last_batch_of_one(answer: Any) -> bool:
    """Exercise ex-pit-batch: largest batch size <= 256 leaving one of 10,000 images at the end."""
    n_images, largest = 10_000, 256
    value = checked_number(answer, "the batch size")
    if value is None:
        return False
    valid = [b for b in range(2, largest + 1) if n_images % b == 1]
    if value in valid and value != max(valid):
        return report(False, "that one does leave a batch of one, but there is a larger one "
                      "up to 256")
    return report(same_number(value, max(valid)),
                  "the last batch holds 10000 % b images; you want a remainder of exactly 1, "
                  "so b divides 9,999")


def check_bn_pair_output(answer: Any) -> bool:
    """Exercise ex-pit-bn-two: BatchNorm1d (train mode) output for the larger of two values."""
    import torch
    from torch import nn

    value = checked_number(answer, "the output")
    if value is None:
        return False
    pair = torch.tensor([[2.0], [5.0]])
    with torch.no_grad():
        expected = nn.BatchNorm1d(1).train()(pair)[1, 0].item()
    unbiased = ((pair[1] - pair.mean()) / pair.std()).item()  # dividing by n - 1
    if same_number(value, unbiased, rel_tol=1e-3):
        return report(False, "batch norm divides by the *biased* standard deviation "
                      "(the variance averages over n, not n - 1)")
    return report(same_number(value, expected, rel_tol=1e-3),
                  "subtract the batch mean, then divide by the square root of the batch "
                  "variance (averaged over n) plus a tiny eps")


# ---- Chapter 6: what the layers see ----------------------------------------------------

def check_map_side(answer: Any) -> bool:
    """Exercise ex-see-map-side: side of ``stage4.conv1``'s feature map for a 32x32 input."""
    import torch

    from vgg_lessons.models import build_vgg
    from vgg_lessons.probes import feature_maps

    value = checked_number(answer, "the side of the map")
    if value is None:
        return False
    model = build_vgg("A", bn=None, head="cifar", width=1 / 16).eval()  # sizes only
    expected = feature_maps(model, torch.zeros(1, 3, 32, 32), "stage4.conv1")["stage4.conv1"].shape[-1]
    return report(same_number(value, expected),
                  "convolutions keep the size (padding 1); count the 2x2 pools *before* "
                  "stage 4: each halves the side")


def check_kernel_numbers(answer: Any) -> bool:
    """Exercise ex-see-kernel: how many weights one first-layer kernel of VGG holds."""
    from vgg_lessons.models import build_vgg
    from vgg_lessons.probes import filters

    value = checked_number(answer, "the number of weights")
    if value is None:
        return False
    expected = filters(build_vgg("A", bn=None, head="cifar", width=1 / 16), "stage1.conv1")[0].numel()
    if same_number(value, expected // 3):
        return report(False, "that is one colour plane; the kernel has one for each input channel")
    return report(same_number(value, expected),
                  "a kernel spans all input channels (R, G, B) over a k x k window; no bias")


def check_zero_fraction(answer: Any, model: Any, inputs: Any) -> bool:
    """Exercise ex-see-sparsity: fraction of ``stage2.relu1`` outputs that are exactly 0.

    Args:
        model: the chapter's model; inputs: the normalised images the exercise names.
    """
    from vgg_lessons.probes import feature_maps

    value = checked_number(answer, "the fraction")
    if value is None:
        return False
    maps = feature_maps(model, inputs, "stage2.relu1")["stage2.relu1"]
    expected = (maps == 0).float().mean().item()
    if same_number(value, 100 * expected, rel_tol=1e-3):
        return report(False, "that looks like a percentage; give a fraction between 0 and 1")
    return report(same_number(value, expected, rel_tol=1e-3),
                  "record stage2.relu1 (not the conv or the bn), then count the entries equal "
                  "to 0 over all images, channels and positions, divided by the total")


def check_top_image(answer: Any, model: Any, inputs: Any) -> bool:
    """Exercise ex-see-top: index of the image that excites channel 3 of ``stage4.bn1`` most."""
    from vgg_lessons.probes import top_activating_images

    if isinstance(answer, bool) or not isinstance(answer, int):
        import torch

        if not (isinstance(answer, torch.Tensor) and answer.numel() == 1):
            print(f"❌ Give one image index (a whole number), got {answer!r}.")
            return False
        answer = int(answer)
    indices, _ = top_activating_images(model, inputs, "stage4.bn1", 3, k=inputs.shape[0])
    if answer in indices[-3:].tolist():
        return report(False, "that image excites the channel *least*: sort the other way")
    return report(answer == int(indices[0]),
                  "a channel's response is the mean of its map over positions; take the "
                  "image with the largest mean for channel 3 of stage4.bn1")
