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

def check_output_size(answer: Any) -> bool:
    """Exercise ex-rf-output-size: outputs of a kernel-5, stride-2, padding-1 conv on 32 pixels."""
    from vgg_lessons.receptive_field import output_size

    value = checked_number(answer, "the output size")
    if value is None:
        return False
    expected = output_size(32, kernel=5, stride=2, padding=1)
    return report(same_number(value, expected),
                  "count the positions where the kernel fits: floor((n + 2p - k) / s) + 1; "
                  "the floor drops a last window that would stick out")


def check_small_stack_rf(answer: Any) -> bool:
    """Exercise ex-rf-stack: receptive field of conv-conv-pool-conv-pool-conv (3x3, 2x2)."""
    from vgg_lessons.receptive_field import LayerSpec, rf_table

    value = checked_number(answer, "the receptive field")
    if value is None:
        return False
    conv = dict(kernel=3, stride=1, padding=1)
    pool = dict(kernel=2, stride=2, padding=0)
    specs = [LayerSpec(name, **kind) for name, kind in
             [("conv1", conv), ("conv2", conv), ("pool1", pool), ("conv3", conv),
              ("pool2", pool), ("conv4", conv)]]
    expected = rf_table(specs).row("conv4").rf
    return report(same_number(value, expected),
                  "each layer adds (k - 1) times the jump *before* it, and each pool "
                  "doubles the jump for the layers after it; pools add to the field too")


def check_weights_saved(answer: Any) -> bool:
    """Exercise ex-rf-weights: weights saved by three 3x3 convs over one 7x7, 256 channels."""
    import torch
    from torch import nn

    from vgg_lessons.stats import count_parameters

    value = checked_number(answer, "the number of weights saved")
    if value is None:
        return False
    with torch.device("meta"):  # shapes only: counting needs no memory
        one_7x7 = nn.Conv2d(256, 256, 7, padding=3, bias=False)
        three_3x3 = nn.Sequential(*[nn.Conv2d(256, 256, 3, padding=1, bias=False)
                                    for _ in range(3)])
    expected = count_parameters(one_7x7) - count_parameters(three_3x3)
    if same_number(value, -expected):
        return report(False, "that is the right size with the wrong sign: how many does the "
                      "stack *save*, i.e. 7x7 minus three 3x3?")
    return report(same_number(value, expected),
                  "a k x k convolution from C to C channels has k * k * C * C weights; "
                  "compute both sides and subtract")


def check_vgg19_rf(answer: Any) -> bool:
    """Exercise ex-rf-vgg19: receptive field of VGG-19's ``stage5.conv4``."""
    from vgg_lessons.models import build_vgg
    from vgg_lessons.receptive_field import layer_table

    value = checked_number(answer, "the receptive field")
    if value is None:
        return False
    # The field does not depend on the channels or the head: a tiny model is enough.
    model = build_vgg("E", bn=None, head="cifar", width=1 / 16)
    expected = layer_table(model, input_size=224).row("stage5.conv4").rf
    return report(same_number(value, expected),
                  "in stage t the jump is 2**(t - 1): each 3x3 conv adds 2 * 2**(t - 1), "
                  "each pool 2**(t - 1); stage 3 to 5 have four convs each in VGG-19")

# ---- Chapter 2: building VGG --------------------------------------------------------

def _vgg16_weights_and_biases(layer: str) -> tuple[int, int]:
    """Weights and biases of one layer of VGG-16 without batch norm (built on the meta device)."""
    import torch

    from vgg_lessons.models import build_vgg

    with torch.device("meta"):  # shapes only: no memory, no initialisation
        module = build_vgg("vgg16", bn=None).layer(layer)
    return module.weight.numel(), module.bias.numel()


def check_conv_params(answer: Any) -> bool:
    """Exercise ex-vgg-conv-params: parameters of VGG-16's ``stage3.conv1`` (with bias)."""
    value = checked_number(answer, "the parameter count")
    if value is None:
        return False
    weights, biases = _vgg16_weights_and_biases("stage3.conv1")
    expected = weights + biases
    if same_number(value, weights):
        return report(False, "close: you counted the weights; each output channel also has a bias")
    return report(same_number(value, expected),
                  "a k x k convolution from C_in to C_out channels has k * k * C_in * C_out "
                  "weights plus C_out biases")


def check_stage4_shape(answer: Any) -> bool:
    """Exercise ex-vgg-stage-shape: ``(C, H, W)`` after stage 4 of VGG-16 for a 224x224 image."""
    from vgg_lessons.models import STAGE_CHANNELS

    if not isinstance(answer, (tuple, list)):  # torch.Size is a tuple too
        print(f"❌ Answer with a tuple (channels, height, width), got {answer!r}.")
        return False
    shape = tuple(answer)
    if len(shape) == 4:  # (B, C, H, W) with a batch of one is fine too
        if not same_number(shape[0], 1):
            return report(False, "give the shape for one image: (channels, height, width)")
        shape = shape[1:]
    if len(shape) != 3:
        print(f"❌ A shape here has three numbers (channels, height, width); got {len(shape)}.")
        return False
    side = 224 // 2 ** 4  # four 2x2 pools of stride 2
    expected = (STAGE_CHANNELS[3], side, side)
    if not same_number(shape[0], expected[0]):
        return report(False, "look up the channels of stage 4 in model.feature_info (num_chs) or "
                      "in the paper's Table 1")
    return report(all(same_number(a, e) for a, e in zip(shape, expected)),
                  "each stage ends with a 2x2 pool of stride 2; the convolutions keep the size")


def check_fc1_params(answer: Any) -> bool:
    """Exercise ex-vgg-fc1: parameters of VGG-16's first fully connected layer."""
    value = checked_number(answer, "the parameter count")
    if value is None:
        return False
    weights, biases = _vgg16_weights_and_biases("head.fc1")
    expected = weights + biases
    if same_number(value, weights):
        return report(False, "close: you counted the weights; add one bias per output unit")
    return report(same_number(value, expected),
                  "a linear layer from n inputs to m outputs has n * m weights and m biases; "
                  "n is channels * height * width of the flattened map")


def check_vgg13_counts(answer: Any) -> bool:
    """Exercise ex-vgg-b-counts: configuration B as five per-stage convolution counts."""
    from vgg_lessons.models import stage_kernels

    if not isinstance(answer, (tuple, list)):
        print(f"❌ Answer with a list of five whole numbers, got {answer!r}.")
        return False
    counts = list(answer)
    expected = [len(stage) for stage in stage_kernels("B")]
    if len(counts) != len(expected):
        return report(False, f"VGG has five stages, so give five counts (you gave {len(counts)})")
    if not all(isinstance(n, int) and not isinstance(n, bool) for n in counts):
        print("❌ Each count should be a whole number of convolutions.")
        return False
    if sum(counts) != sum(expected):
        return report(False, "the weight layers are the convolutions plus the three fully "
                      "connected layers: how many convolutions is that?")
    return report(counts == expected,
                  "the right total, but in the wrong stages: B adds convolutions to the "
                  "stages where A has only one")

# ---- Chapter 3: batch norm -----------------------------------------------------------

def check_bn_param_count(answer: Any) -> bool:
    """Exercise ex-bn-params: learnable parameters of all BN layers of ``build_vgg("vgg16")``."""
    import torch
    from torch import nn

    from vgg_lessons.models import build_vgg

    value = checked_number(answer, "the parameter count")
    if value is None:
        return False
    with torch.device("meta"):  # shapes only
        bns = [m for m in build_vgg("vgg16").modules() if isinstance(m, nn.BatchNorm2d)]
    expected = sum(p.numel() for m in bns for p in m.parameters())
    if same_number(value, 2 * expected):
        return report(False, "the running mean and variance are buffers, not learnable "
                      "parameters: count only the scale and the shift")
    if same_number(value, expected / 2):
        return report(False, "each channel has two learnable numbers, a scale and a shift")
    return report(same_number(value, expected),
                  "one BN layer per convolution; BatchNorm2d(C) learns a scale and a shift "
                  "per channel")


def _check_bn_output(answer: Any, values: list[float], index: int) -> bool:
    """Right if ``answer`` is a fresh BN's training-mode output for ``values[index]``."""
    import torch
    from torch import nn

    value = checked_number(answer, "the output")
    if value is None:
        return False
    batch = torch.tensor(values).view(-1, 1)  # (B, 1): one channel
    with torch.no_grad():
        expected = nn.BatchNorm1d(1).train()(batch)[index, 0].item()
    unbiased = ((batch[index] - batch.mean()) / batch.std()).item()  # dividing by n - 1
    if same_number(value, unbiased, rel_tol=1e-3):
        return report(False, "batch norm divides by the *biased* standard deviation "
                      "(average the squared deviations over n, not n - 1)")
    return report(same_number(value, expected, rel_tol=1e-3),
                  "subtract the channel's batch mean, then divide by the square root of its "
                  "variance plus a tiny eps")


def check_bn_by_hand(answer: Any) -> bool:
    """Exercise ex-bn-by-hand: BN (train mode) output for 6 in the channel values 1, 2, 3, 6."""
    return _check_bn_output(answer, [1.0, 2.0, 3.0, 6.0], index=3)


def check_running_mean(answer: Any) -> bool:
    """Exercise ex-bn-running: running mean after batches with channel means 4 then 2."""
    import torch
    from torch import nn

    value = checked_number(answer, "the running mean")
    if value is None:
        return False
    bn = nn.BatchNorm2d(1).train()
    with torch.no_grad():
        for channel_mean in (4.0, 2.0):
            bn(torch.full((2, 1, 2, 2), channel_mean))
    expected = bn.running_mean.item()
    if same_number(value, 3.0):
        return report(False, "that is the plain average of the two batches; the running mean "
                      "starts at 0 and moves only a fraction (the momentum) of the way each step")
    return report(same_number(value, expected, rel_tol=1e-6),
                  "each step: new = (1 - momentum) * old + momentum * batch mean, starting "
                  "from 0")


def check_bias_saved(answer: Any) -> bool:
    """Exercise ex-bn-bias: parameters saved by dropping the conv biases before BN in VGG-16."""
    import torch

    from vgg_lessons.models import build_vgg

    value = checked_number(answer, "the number of parameters")
    if value is None:
        return False
    with torch.device("meta"):
        with_bias, without = (sum(p.numel() for p in build_vgg("vgg16", conv_bias=keep).parameters())
                              for keep in (True, False))
    return report(same_number(value, with_bias - without),
                  "a convolution has one bias per output channel; add the output channels "
                  "of all 13 convolutions")


# ---- Chapter 4: training ---------------------------------------------------------------

def check_steps_per_epoch(answer: Any) -> bool:
    """Exercise ex-train-steps: steps of one epoch of 50,000 images in batches of 256."""
    n_images, batch_size = 50_000, 256
    value = checked_number(answer, "the number of steps")
    if value is None:
        return False
    expected = n_images // batch_size  # fit drops the last, smaller batch
    if same_number(value, -(-n_images // batch_size)):
        return report(False, "close: fit drops the last, smaller batch, so count full batches only")
    return report(same_number(value, expected),
                  "how many full batches of 256 fit into 50,000 images?")


def check_augment_variants(answer: Any) -> bool:
    """Exercise ex-train-augment: distinct outputs of ``data.augment`` (defaults) for one image."""
    import inspect

    from vgg_lessons.data import augment

    value = checked_number(answer, "the number of versions")
    if value is None:
        return False
    padding = inspect.signature(augment).parameters["padding"].default
    offsets = (2 * padding + 1) ** 2  # top-left corner of the crop: 0..2*padding each way
    if same_number(value, offsets):
        return report(False, "right for the crops; now count the mirror images too")
    if same_number(value, (2 * padding) ** 2 * 2):
        return report(False, "almost: the offsets run from 0 to 2 * padding inclusive")
    return report(same_number(value, offsets * 2),
                  "count the positions of the crop's corner in each direction (the image "
                  "can move 0 to 2 * padding pixels), multiply, then account for mirroring")


def check_warmup_lr(answer: Any) -> bool:
    """Exercise ex-train-lr: one-cycle learning rate at step 100 of 1,000, peak 0.1."""
    from vgg_lessons.train import lr_at

    value = checked_number(answer, "the learning rate")
    if value is None:
        return False
    expected = lr_at(100, 1000, 0.1)
    if same_number(value, 0.1 * 100 / 200):
        return report(False, "the warm-up starts at a tenth of the peak, not at 0")
    return report(same_number(value, expected, rel_tol=1e-6),
                  "the warm-up is the first 20% of the steps; interpolate linearly from "
                  "peak / 10 at step 0 to the peak at its end")


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
    return _check_bn_output(answer, [2.0, 5.0], index=1)


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


# ==== Chapter 7: the paper ======================================================================
def check_dense_map_side(answer: Any) -> bool:
    """Exercise ex-paper-dense-map: side of VGG-16's class-score map on a 384x384 image."""
    import torch

    from vgg_lessons.models import build_vgg, fully_convolutional

    value = checked_number(answer, "the side of the map")
    if value is None:
        return False
    with torch.device("meta"):  # shapes only
        dense = fully_convolutional(build_vgg("D", bn=None).eval())
        expected = dense(torch.empty(1, 3, 384, 384)).shape[-1]
    if same_number(value, 384 // 32):
        return report(False, "that is the side of pool5's map; fc1 is now a 7x7 convolution "
                             "without padding, which makes the map smaller")
    return report(same_number(value, expected),
                  "five pools divide the side by 32; then a 7x7 convolution without padding "
                  "fits n - 7 + 1 times along a side of n")


def check_c_field(answer: Any) -> bool:
    """Exercise ex-paper-c-field: receptive field of configuration C's last pool, in pixels."""
    from vgg_lessons.models import build_vgg
    from vgg_lessons.receptive_field import layer_table

    value = checked_number(answer, "the receptive field")
    if value is None:
        return False
    import torch

    with torch.device("meta"):  # geometry only
        rf = {name: layer_table(build_vgg(name, bn=None), 224)[-1].rf for name in "CD"}
    if same_number(value, rf["D"]):
        return report(False, "that is D's field, where the third layer of stages 3-5 is 3x3; in C "
                             "it is 1x1")
    return report(same_number(value, rf["C"]),
                  "a 1x1 convolution adds (1 - 1) x jump = 0 pixels to the field; compare C "
                  "with B in layer_table")


def check_epoch_flops(answer: Any) -> bool:
    """Exercise ex-paper-epoch-flops: FLOPs of one ImageNet training epoch of VGG-16 (D).

    Accepted within 5 %: the exercise is an estimate (2 FLOPs per MAC, backward = 2x forward).
    """
    from vgg_lessons.paper_results import epoch_macs

    value = checked_number(answer, "the number of FLOPs")
    if value is None:
        return False
    flops = 2 * epoch_macs("D")
    if same_number(value, flops / 2, rel_tol=0.05):
        return report(False, "that counts multiply-accumulates; one MAC is two FLOPs")
    if same_number(value, flops / 3, rel_tol=0.05):
        return report(False, "that is the forward pass only; the backward pass costs about "
                             "twice as much again")
    return report(same_number(value, flops, rel_tol=0.05),
                  "forward MACs per 224x224 crop (layer_stats) x 2 FLOPs per MAC x 3 (forward "
                  "and backward) x 1.3 million images")


def check_gradcam_tile(answer: Any, model: Any, scene: Any, target: int, layer: str) -> bool:
    """Exercise ex-paper-gradcam: which tile (0-3, row by row) of a 2x2 mosaic Grad-CAM points at.

    Args:
        model, scene: the chapter's model and its 2x2 mosaic (uint8 ``(1, 3, 2h, 2w)``);
        target: the class the map is for; layer: the layer of the map.
    """
    from vgg_lessons.probes import grad_cam

    if isinstance(answer, bool) or not isinstance(answer, int) or not 0 <= answer <= 3:
        print(f"❌ Give the tile as a whole number 0-3 (row by row: 0 1 / 2 3), got {answer!r}.")
        return False
    cam = grad_cam(model, scene, layer, target=target)[0]
    h, w = cam.shape[0] // 2, cam.shape[1] // 2
    mass = [float(cam[r * h:(r + 1) * h, c * w:(c + 1) * w].sum()) for r in (0, 1) for c in (0, 1)]
    return report(answer == max(range(4), key=mass.__getitem__),
                  "the map is bright where the evidence for the class is; add up the map over "
                  "each quarter and take the largest")
# ==== end of chapter 7 block ====================================================================
