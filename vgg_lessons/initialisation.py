"""Initial weights of a VGG's convolutions: the schemes chapter 3 compares.

Each scheme draws every 3x3 (or 1x1) convolution's weights from a normal distribution
with mean 0 and its own standard deviation, and sets the biases to 0. For a convolution
with ``C_in`` input and ``C_out`` output channels and a ``k x k`` kernel, the fan-in is
``k * k * C_in`` (inputs of one output value) and the fan-out ``k * k * C_out``:

* ``"paper"``: variance 1e-2 (standard deviation 0.1) for every layer, as the VGG paper
  writes (Sec. 3.1), whatever its size;
* ``"glorot"``: ``sqrt(2 / (fan_in + fan_out))`` (Glorot and Bengio, 2010), which keeps
  the variance of a linear (or tanh) network;
* ``"he_fan_in"``: ``sqrt(2 / fan_in)`` (He et al., 2015): keeps the variance of the
  forward signal through ReLUs;
* ``"he_fan_out"``: ``sqrt(2 / fan_out)``: keeps the variance of the gradients in the
  backward pass; torchvision's VGG (and ``build_vgg``) start with it.

Only the convolutions change; linear layers, batch norm and everything else keep
the weights they have.
"""

from __future__ import annotations

import math
from typing import TypeVar

import torch
from torch import nn

#: Any module type: :func:`initialise` returns the very model it is given.
ModuleT = TypeVar("ModuleT", bound=nn.Module)

#: The schemes :func:`initialise` knows, in the order chapter 3 shows them.
SCHEMES = ("he_fan_out", "he_fan_in", "glorot", "paper")

#: The paper's variance for every weight (Sec. 3.1: "zero mean and 10^-2 variance").
PAPER_VARIANCE = 1e-2


def conv_std(conv: nn.Conv2d, scheme: str) -> float:
    """The standard deviation ``scheme`` gives the weights of ``conv``.

    Raises:
        ValueError: an unknown scheme.
    """
    receptive = math.prod(conv.kernel_size)
    fan_in = receptive * conv.in_channels // conv.groups
    fan_out = receptive * conv.out_channels // conv.groups
    if scheme == "he_fan_out":
        return math.sqrt(2 / fan_out)
    if scheme == "he_fan_in":
        return math.sqrt(2 / fan_in)
    if scheme == "glorot":
        return math.sqrt(2 / (fan_in + fan_out))
    if scheme == "paper":
        return math.sqrt(PAPER_VARIANCE)
    raise ValueError(f"unknown scheme {scheme!r}; choose one of {', '.join(SCHEMES)}")


def initialise(model: ModuleT, scheme: str) -> ModuleT:
    """Draw every convolution's weights of ``model`` anew by ``scheme``; biases become 0.

    Uses torch's global random generator (seed it first with ``torch.manual_seed``).

    Returns:
        ``model`` itself, changed in place.

    Raises:
        ValueError: an unknown scheme.
    """
    if scheme not in SCHEMES:
        raise ValueError(
            f"unknown scheme {scheme!r}; choose one of {', '.join(SCHEMES)}"
        )
    with torch.no_grad():
        for module in model.modules():
            if isinstance(module, nn.Conv2d):
                module.weight.normal_(0, conv_std(module, scheme))
                if module.bias is not None:
                    module.bias.zero_()
    return model
