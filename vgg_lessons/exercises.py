"""Checks for the book's exercises: right or wrong, with a hint, never the answer.

Each ``check_*`` function takes the student's answer, prints one line, and
returns True when it is right, so a notebook cell can also ``assert`` it. An
unanswered exercise (the placeholder ``...``) prints "Not answered yet" and
returns False. Answers may be Python numbers, numpy or torch scalars, or 0-d /
one-element arrays.

The checks are a table: each number check is a :class:`~vgg_lessons._checking.NumberCheck`
row (what is asked, a ``_solve_*`` function that computes the right value and the
common slips from the package, and the hint), so a check cannot drift from the
code the chapter teaches. Chapters add their rows below, each in its own section.
"""

from __future__ import annotations

import inspect
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from vgg_lessons._checking import (NOT_ANSWERED, NumberCheck, Solution, as_number,
                                   as_whole_numbers, report, same_number)
from vgg_lessons.models import STAGE_CHANNELS, build_vgg, stage_kernels

def checked_number(answer: Any, name: str) -> float | None:
    """Return ``answer`` as a float, or print one line saying why not and return None."""
    return as_number(answer, name)


def _meta_params(module_fn) -> int:
    """Parameters of the module ``module_fn()`` builds, on the meta device (shapes only)."""
    with torch.device("meta"):
        return sum(p.numel() for p in module_fn().parameters())


# ---- Chapter 1: receptive fields ---------------------------------------------------

def _solve_output_size() -> Solution:
    from vgg_lessons.receptive_field import output_size

    return output_size(32, kernel=5, stride=2, padding=1), ()


def _solve_small_stack_rf() -> Solution:
    from vgg_lessons.receptive_field import LayerSpec, rf_table

    conv = dict(kernel=3, stride=1, padding=1)
    pool = dict(kernel=2, stride=2, padding=0)
    specs = [LayerSpec(name, **kind) for name, kind in
             [("conv1", conv), ("conv2", conv), ("pool1", pool), ("conv3", conv),
              ("pool2", pool), ("conv4", conv)]]
    return rf_table(specs).row("conv4").rf, ()


def _solve_weights_saved() -> Solution:
    one_7x7 = _meta_params(lambda: nn.Conv2d(256, 256, 7, padding=3, bias=False))
    three_3x3 = _meta_params(lambda: nn.Sequential(
        *[nn.Conv2d(256, 256, 3, padding=1, bias=False) for _ in range(3)]))
    saved = one_7x7 - three_3x3
    return saved, [(-saved, "that is the right size with the wrong sign: how many does the "
                    "stack *save*, i.e. 7x7 minus three 3x3?")]


def _solve_vgg19_rf() -> Solution:
    from vgg_lessons.receptive_field import layer_table

    # The field does not depend on the channels or the head: a tiny model is enough.
    model = build_vgg("E", bn=None, head="cifar", width=1 / 16)
    return layer_table(model, input_size=224).row("stage5.conv4").rf, ()


check_output_size = NumberCheck(
    "Exercise ex-rf-output-size: outputs of a kernel-5, stride-2, padding-1 conv on 32 pixels.",
    "the output size", _solve_output_size, whole=True,
    hint="count the positions where the kernel fits: floor((n + 2p - k) / s) + 1; the floor "
    "drops a last window that would stick out").function("check_output_size")

check_small_stack_rf = NumberCheck(
    "Exercise ex-rf-stack: receptive field of conv-conv-pool-conv-pool-conv (3x3, 2x2).",
    "the receptive field", _solve_small_stack_rf, whole=True,
    hint="each layer adds (k - 1) times the jump *before* it, and each pool doubles the jump "
    "for the layers after it; pools add to the field too").function("check_small_stack_rf")

check_weights_saved = NumberCheck(
    "Exercise ex-rf-weights: weights saved by three 3x3 convs over one 7x7, 256 channels.",
    "the number of weights saved", _solve_weights_saved, whole=True,
    hint="a k x k convolution from C to C channels has k * k * C * C weights; compute both "
    "sides and subtract").function("check_weights_saved")

check_vgg19_rf = NumberCheck(
    "Exercise ex-rf-vgg19: receptive field of VGG-19's ``stage5.conv4``.",
    "the receptive field", _solve_vgg19_rf, whole=True,
    hint="in stage t the jump is 2**(t - 1): each 3x3 conv adds 2 * 2**(t - 1), each pool "
    "2**(t - 1); stage 3 to 5 have four convs each in VGG-19").function("check_vgg19_rf")


# ---- Chapter 2: building VGG --------------------------------------------------------

def _vgg16_weights_and_biases(layer: str) -> tuple[int, int]:
    """Weights and biases of one layer of VGG-16 without batch norm (built on the meta device)."""
    with torch.device("meta"):  # shapes only: no memory, no initialisation
        module = build_vgg("D", bn=None).layer(layer)
    return module.weight.numel(), module.bias.numel()


def _solve_with_bias(layer: str, slip_hint: str):
    def solve() -> Solution:
        weights, biases = _vgg16_weights_and_biases(layer)
        return weights + biases, [(weights, slip_hint)]
    return solve


check_conv_params = NumberCheck(
    "Exercise ex-vgg-conv-params: parameters of VGG-16's ``stage3.conv1`` (with bias).",
    "the parameter count", whole=True,
    solve=_solve_with_bias("stage3.conv1", "close: you counted the weights; each output channel "
                           "also has a bias"),
    hint="a k x k convolution from C_in to C_out channels has k * k * C_in * C_out weights "
    "plus C_out biases").function("check_conv_params")

check_fc1_params = NumberCheck(
    "Exercise ex-vgg-fc1: parameters of VGG-16's first fully connected layer.",
    "the parameter count", whole=True,
    solve=_solve_with_bias("head.fc1", "close: you counted the weights; add one bias per "
                           "output unit"),
    hint="a linear layer from n inputs to m outputs has n * m weights and m biases; n is "
    "channels * height * width of the flattened map").function("check_fc1_params")


def check_stage4_shape(answer: Any) -> bool:
    """Exercise ex-vgg-stage-shape: ``(C, H, W)`` after stage 4 of VGG-16 for a 224x224 image."""
    shape = as_whole_numbers(answer, "a tuple (channels, height, width)")
    if shape is None:
        return False
    if len(shape) == 4:  # (B, C, H, W) with a batch of one is fine too
        if shape[0] != 1:
            return report(False, "give the shape for one image: (channels, height, width)")
        shape = shape[1:]
    if len(shape) != 3:
        return report(False, f"a shape here has three numbers (channels, height, width); "
                      f"you gave {len(shape)}")
    side = 224 // 2 ** 4  # four 2x2 pools of stride 2
    expected = [STAGE_CHANNELS[3], side, side]
    if shape[0] != expected[0]:
        return report(False, "look up the channels of stage 4 in model.feature_info (num_chs) or "
                      "in the paper's Table 1")
    return report(shape == expected,
                  "each stage ends with a 2x2 pool of stride 2; the convolutions keep the size")


def check_vgg13_counts(answer: Any) -> bool:
    """Exercise ex-vgg-b-counts: configuration B as five per-stage convolution counts."""
    counts = as_whole_numbers(answer, "a list of five whole numbers")
    if counts is None:
        return False
    expected = [len(stage) for stage in stage_kernels("B")]
    if len(counts) != len(expected):
        return report(False, f"VGG has five stages, so give five counts (you gave {len(counts)})")
    if sum(counts) != sum(expected):
        return report(False, "the weight layers are the convolutions plus the three fully "
                      "connected layers: how many convolutions is that?")
    return report(counts == expected,
                  "the right total, but in the wrong stages: B adds convolutions to the "
                  "stages where A has only one")


# ---- Chapter 3: batch norm -----------------------------------------------------------

def _solve_bn_param_count() -> Solution:
    with torch.device("meta"):  # shapes only
        bns = [m for m in build_vgg("D", bn="before_relu").modules()
               if isinstance(m, nn.BatchNorm2d)]
    expected = sum(p.numel() for m in bns for p in m.parameters())
    return expected, [(2 * expected, "the running mean and variance are buffers, not learnable "
                       "parameters: count only the scale and the shift"),
                      (expected / 2, "each channel has two learnable numbers, a scale and a shift")]


def _solve_bn_output(values: list[float], index: int):
    """Solver: a fresh BN's training-mode output for ``values[index]`` (one channel)."""
    def solve() -> Solution:
        batch = torch.tensor(values).view(-1, 1)  # (B, 1): one channel
        with torch.no_grad():
            expected = nn.BatchNorm1d(1).train()(batch)[index, 0].item()
        unbiased = ((batch[index] - batch.mean()) / batch.std()).item()  # dividing by n - 1
        return expected, [(unbiased, "batch norm divides by the *biased* standard deviation "
                           "(average the squared deviations over n, not n - 1)")]
    return solve


def _solve_running_mean() -> Solution:
    bn = nn.BatchNorm2d(1).train()
    with torch.no_grad():
        for channel_mean in (4.0, 2.0):
            bn(torch.full((2, 1, 2, 2), channel_mean))
    return bn.running_mean.item(), [
        (3.0, "that is the plain average of the two batches; the running mean starts at 0 and "
         "moves only a fraction (the momentum) of the way each step")]


def _solve_bias_saved() -> Solution:
    with_bias, without = (_meta_params(lambda: build_vgg("D", bn="before_relu", conv_bias=keep))
                          for keep in (True, False))
    return with_bias - without, ()


_BN_HINT = ("subtract the channel's batch mean, then divide by the square root of its variance "
            "plus a tiny eps")

check_bn_param_count = NumberCheck(
    'Exercise ex-bn-params: learnable parameters of all BN layers of ``build_vgg("D")``.',
    "the parameter count", _solve_bn_param_count, whole=True,
    hint="one BN layer per convolution; BatchNorm2d(C) learns a scale and a shift per "
    "channel").function("check_bn_param_count")

check_bn_by_hand = NumberCheck(
    "Exercise ex-bn-by-hand: BN (train mode) output for 6 in the channel values 1, 2, 3, 6.",
    "the output", _solve_bn_output([1.0, 2.0, 3.0, 6.0], index=3), rel_tol=1e-3,
    hint=_BN_HINT).function("check_bn_by_hand")

check_running_mean = NumberCheck(
    "Exercise ex-bn-running: running mean after batches with channel means 4 then 2.",
    "the running mean", _solve_running_mean,
    hint="each step: new = (1 - momentum) * old + momentum * batch mean, starting from 0"
).function("check_running_mean")

check_bias_saved = NumberCheck(
    "Exercise ex-bn-bias: parameters saved by dropping the conv biases before BN in VGG-16.",
    "the number of parameters", _solve_bias_saved, whole=True,
    hint="a convolution has one bias per output channel; add the output channels of all 13 "
    "convolutions").function("check_bias_saved")


# ---- Chapter 4: training ---------------------------------------------------------------

def _solve_steps_per_epoch() -> Solution:
    n_images, batch_size = 50_000, 256
    return n_images // batch_size, [  # fit drops the last, smaller batch
        (-(-n_images // batch_size), "close: fit drops the last, smaller batch, so count full "
         "batches only")]


def _solve_augment_variants() -> Solution:
    from vgg_lessons.data import augment

    padding = inspect.signature(augment).parameters["padding"].default
    offsets = (2 * padding + 1) ** 2  # top-left corner of the crop: 0..2*padding each way
    return offsets * 2, [(offsets, "right for the crops; now count the mirror images too"),
                         ((2 * padding) ** 2 * 2, "almost: the offsets run from 0 to 2 * padding "
                          "inclusive")]


def _solve_warmup_lr() -> Solution:
    from vgg_lessons.train import lr_at

    return lr_at(100, 1000, 0.1), [
        (0.1 * 100 / 200, "the warm-up starts at a tenth of the peak, not at 0")]


check_steps_per_epoch = NumberCheck(
    "Exercise ex-train-steps: steps of one epoch of 50,000 images in batches of 256.",
    "the number of steps", _solve_steps_per_epoch, whole=True,
    hint="how many full batches of 256 fit into 50,000 images?").function("check_steps_per_epoch")

check_augment_variants = NumberCheck(
    "Exercise ex-train-augment: distinct outputs of ``data.augment`` (defaults) for one image.",
    "the number of versions", _solve_augment_variants, whole=True,
    hint="count the positions of the crop's corner in each direction (the image can move 0 to "
    "2 * padding pixels), multiply, then account for mirroring").function("check_augment_variants")

check_warmup_lr = NumberCheck(
    "Exercise ex-train-lr: one-cycle learning rate at step 100 of 1,000, peak 0.1.",
    "the learning rate", _solve_warmup_lr,
    hint="the warm-up is the first 20% of the steps; interpolate linearly from peak / 10 at "
    "step 0 to the peak at its end").function("check_warmup_lr")


# ---- Chapter 5: pitfalls ---------------------------------------------------------------

def _solve_softmax_floor() -> Solution:
    perfect = F.one_hot(torch.tensor([0]), num_classes=100).double()  # certain and right
    return F.cross_entropy(perfect, torch.tensor([0])).item(), [
        (0.0, "0 needs an infinitely large logit for the right class; here the largest "
         "'logit' the loss can see is a probability, at most 1")]


def _solve_missing_conv_weights() -> Solution:
    def convs(arch: Any) -> tuple[int, int]:
        with torch.device("meta"):  # shapes only
            layers = [m for m in build_vgg(arch, bn=None).modules() if isinstance(m, nn.Conv2d)]
        return sum(m.weight.numel() for m in layers), sum(m.bias.numel() for m in layers)

    (w13, b13), (w11, b11) = convs("B"), convs([1, 1, 2, 2, 2])
    return w13 - w11, [
        ((w13 + b13) - (w11 + b11), "close: you counted the biases too; count the weights only"),
        (-(w13 - w11), "right size, wrong sign: how many *more* does the real VGG-13 have?")]


def _solve_last_batch_of_one() -> Solution:
    n_images, largest = 10_000, 256
    valid = [b for b in range(2, largest + 1) if n_images % b == 1]
    return max(valid), [(b, "that one does leave a batch of one, but there is a larger one "
                         "up to 256") for b in valid[:-1]]


check_softmax_floor = NumberCheck(
    "Exercise ex-pit-floor: lowest cross-entropy of a 100-class model that outputs probabilities.",
    "the lowest loss", _solve_softmax_floor, rel_tol=2e-3,
    hint="give the best output, probability 1 for the right class and 0 for the others, to "
    "cross-entropy as if it were logits: -log(e^1 / (e^1 + ...))").function("check_softmax_floor")

check_missing_conv_weights = NumberCheck(
    "Exercise ex-pit-vgg13: conv weights of VGG-13 minus those of a [1, 1, 2, 2, 2] model.",
    "the number of weights", _solve_missing_conv_weights, whole=True,
    hint="find the stages where the two lists differ; each missing 3x3 convolution from C to C "
    "channels has 3 * 3 * C * C weights").function("check_missing_conv_weights")

check_last_batch_of_one = NumberCheck(
    "Exercise ex-pit-batch: largest batch size <= 256 leaving one of 10,000 images at the end.",
    "the batch size", _solve_last_batch_of_one, whole=True,
    hint="the last batch holds 10000 % b images; you want a remainder of exactly 1, so b "
    "divides 9,999").function("check_last_batch_of_one")

check_bn_pair_output = NumberCheck(
    "Exercise ex-pit-bn-two: BatchNorm1d (train mode) output for the larger of two values.",
    "the output", _solve_bn_output([2.0, 5.0], index=1), rel_tol=1e-3,
    hint=_BN_HINT).function("check_bn_pair_output")


# ---- Chapter 6: what the layers see ----------------------------------------------------

def _solve_map_side() -> Solution:
    from vgg_lessons.probes import feature_maps

    model = build_vgg("A", bn=None, head="cifar", width=1 / 16).eval()  # sizes only
    maps = feature_maps(model, torch.zeros(1, 3, 32, 32), "stage4.conv1")
    return maps["stage4.conv1"].shape[-1], ()


def _solve_kernel_numbers() -> Solution:
    from vgg_lessons.probes import filters

    expected = filters(build_vgg("A", bn=None, head="cifar", width=1 / 16), "stage1.conv1")[0].numel()
    return expected, [(expected // 3, "that is one colour plane; the kernel has one for each "
                       "input channel")]


def _solve_zero_fraction(model: nn.Module, inputs: torch.Tensor) -> Solution:
    from vgg_lessons.probes import feature_maps

    maps = feature_maps(model, inputs, "stage2.relu1")["stage2.relu1"]
    expected = (maps == 0).float().mean().item()
    return expected, [(100 * expected, "that looks like a percentage; give a fraction between "
                       "0 and 1")]


def _solve_top_image(model: nn.Module, inputs: torch.Tensor) -> Solution:
    from vgg_lessons.probes import top_activating_images

    indices, _ = top_activating_images(model, inputs, "stage4.bn1", 3, k=len(inputs))
    least = indices[1:][-3:].tolist()  # never the right answer, even with few images
    return int(indices[0]), [(i, "that image excites the channel *least*: sort the other way")
                             for i in least]


check_map_side = NumberCheck(
    "Exercise ex-see-map-side: side of ``stage4.conv1``'s feature map for a 32x32 input.",
    "the side of the map", _solve_map_side, whole=True,
    hint="convolutions keep the size (padding 1); count the 2x2 pools *before* stage 4: each "
    "halves the side").function("check_map_side")

check_kernel_numbers = NumberCheck(
    "Exercise ex-see-kernel: how many weights one first-layer kernel of VGG holds.",
    "the number of weights", _solve_kernel_numbers, whole=True,
    hint="a kernel spans all input channels (R, G, B) over a k x k window; no bias"
).function("check_kernel_numbers")

check_zero_fraction = NumberCheck(
    "Exercise ex-see-sparsity: fraction of ``stage2.relu1`` outputs that are exactly 0.\n\n"
    "Called as ``check_zero_fraction(answer, model, inputs)`` with the chapter's model and the "
    "images the exercise names (uint8 as loaded, or normalised model input).",
    "the fraction", _solve_zero_fraction, rel_tol=1e-3,
    hint="record stage2.relu1 (not the conv or the bn), then count the entries equal to 0 over "
    "all images, channels and positions, divided by the total").function("check_zero_fraction")

check_top_image = NumberCheck(
    "Exercise ex-see-top: index of the image that excites channel 3 of ``stage4.bn1`` most.\n\n"
    "Called as ``check_top_image(answer, model, inputs)`` (inputs as for check_zero_fraction).",
    "the image index", _solve_top_image, whole=True,
    hint="a channel's response is the mean of its map over positions; take the image with the "
    "largest mean for channel 3 of stage4.bn1").function("check_top_image")


# ---- Chapter 7: the paper (its rows live in exercises_paper) ---------------------------
from vgg_lessons.exercises_paper import (check_c_field, check_dense_map_side,  # noqa: E402
                                         check_epoch_flops, check_gradcam_tile)
