"""Activation maximisation: an input image that drives one channel hard (gradient ascent).

Starts from grey, climbs the channel's mean response with Adam, and keeps the
image natural-looking with jitter, an L2 and a total-variation penalty and a
small blur. Re-exported by :mod:`vgg_lessons.probes.hooks`, where the book finds it.
Images here are floats in 0..1; :func:`default_preprocess` turns them into
model input with the shipped weights' transform.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import nn

from vgg_lessons._layers import forward_until
from vgg_lessons._layers import model_device as _device
from vgg_lessons.inputs import IMAGE_SIZE, Preprocess, from_unit


def default_preprocess(x: torch.Tensor) -> torch.Tensor:
    """0..1 RGB images ``(B, 3, H, W)`` -> the input of the book's models (``inputs.from_unit``)."""
    return from_unit(x)


def _total_variation(x: torch.Tensor) -> torch.Tensor:
    """Mean absolute difference of neighbouring pixels, per image: ``(B,)``."""
    dh = (x[..., 1:, :] - x[..., :-1, :]).abs().mean(dim=(1, 2, 3))
    dw = (x[..., :, 1:] - x[..., :, :-1]).abs().mean(dim=(1, 2, 3))
    return dh + dw


def _gaussian_blur(x: torch.Tensor, sigma: float) -> torch.Tensor:
    """Blur images ``(B, C, H, W)`` with a Gaussian of ``sigma`` pixels (reflecting edges)."""
    radius = max(1, int(2 * sigma + 0.5))
    t = torch.arange(-radius, radius + 1, dtype=x.dtype, device=x.device)
    kernel = torch.exp(-(t**2) / (2 * sigma**2))
    kernel = (kernel / kernel.sum()).repeat(x.shape[1], 1, 1, 1)  # (C, 1, 1, k)
    groups = x.shape[1]
    x = F.conv2d(
        F.pad(x, (radius, radius, 0, 0), mode="reflect"), kernel, groups=groups
    )
    return F.conv2d(
        F.pad(x, (0, 0, radius, radius), mode="reflect"),
        kernel.transpose(2, 3),
        groups=groups,
    )


def _checked_channels(
    model: nn.Module,
    layer: str,
    channel: int | Sequence[int],
    preprocess: Preprocess,
    size: int,
) -> list[int]:
    """``channel`` as a list of existing channels of ``layer``; ValueError (one line) otherwise."""
    if model.training:
        raise ValueError(
            "the model is in training mode: batch norm would mix the images of "
            "the batch; call model.eval() first"
        )
    channels = [channel] if isinstance(channel, int) else list(channel)
    if not channels or not all(
        isinstance(c, int) and not isinstance(c, bool) for c in channels
    ):
        raise ValueError(
            f"channel must be a whole number or a non-empty list of them, "
            f"got {channel!r}"
        )
    with torch.no_grad():
        grey = torch.full(
            (1, 3, max(size, 1), max(size, 1)), 0.5, device=_device(model)
        )
        n_channels = forward_until(model, preprocess(grey), layer).shape[1]
    bad = [c for c in channels if not 0 <= c < n_channels]
    if bad:
        raise ValueError(
            f"layer {layer!r} has {n_channels} channels (0..{n_channels - 1}); "
            f"channel {bad[0]} does not exist"
        )
    return channels


def maximize_activation(
    model: nn.Module,
    layer: str,
    channel: int | Sequence[int],
    *,
    steps: int = 96,
    lr: float = 0.05,
    jitter: int = 2,
    l2: float = 0.05,
    tv: float = 0.5,
    blur: float = 0.5,
    size: int = IMAGE_SIZE,
    seed: int = 0,
    preprocess: Preprocess | None = None,
) -> torch.Tensor:
    """An input image that drives one channel of ``layer`` hard: gradient ascent on the pixels.

    Starts from mid grey plus a little noise and, for ``steps`` Adam steps, raises
    ``mean(feature_map[channel])`` minus two regularisers that keep the image
    natural-looking: ``l2 * mean((x - 0.5)**2)`` (no extreme colours) and
    ``tv * total_variation(x)`` (no pixel noise). Each step first shifts the image
    by a random ``-jitter..jitter`` pixels (wrapping round), so the result cannot
    rely on exact pixel positions, and ends with a Gaussian blur of ``blur`` pixels
    (Yosinski et al., 2015): without it the climb still ends in saturated stripes of
    pixel-sized detail, which the penalties alone do not prevent. Pixels are kept
    in 0..1.

    Several channels are optimised at once as one batch, each image for its own
    channel (the model must be in eval mode, so that batch norm treats images
    independently). The same call with the same ``seed`` gives the same images;
    a channel optimised alone or in another batch starts the same but may end
    slightly differently (Adam magnifies rounding differences over many steps).

    Args:
        model: the trained network, in eval mode.
        layer: e.g. ``"stage3.bn2"``. Before-ReLU layers (conv or bn) work best: a
            ReLU's output has zero gradient wherever the channel is off.
        channel: one channel index or a list of them.
        steps, lr: Adam steps and learning rate (pixels per step, roughly).
        jitter: largest random shift per step, in pixels (0: none).
        l2, tv: weights of the two regularisers.
        blur: standard deviation in pixels of the blur after each step (0: none).
        size: side of the square image in pixels (at least 32 for VGG).
        seed: makes the noise and the shifts reproducible.
        preprocess: maps 0..1 RGB ``(B, 3, H, W)`` to the model's input; default:
            CIFAR-10 normalisation (:func:`default_preprocess`).

    Returns:
        ``(3, size, size)`` in 0..1 for one channel, ``(N, 3, size, size)`` for a list;
        on the CPU.
    """
    channels = _checked_channels(
        model, layer, channel, preprocess or default_preprocess, size
    )
    if steps < 1 or jitter < 0 or size < 1 or blur < 0:
        raise ValueError(
            f"need steps >= 1, jitter >= 0, blur >= 0 and size >= 1, got "
            f"steps={steps}, jitter={jitter}, blur={blur}, size={size}"
        )
    single, preprocess = isinstance(channel, int), preprocess or default_preprocess
    device = _device(model)

    # Each channel's start depends only on (seed, channel).
    starts = [
        0.5
        + 0.01
        * torch.randn(
            3, size, size, generator=torch.Generator().manual_seed(seed * 100_003 + c)
        )
        for c in channels
    ]
    x = torch.stack(starts).to(device).requires_grad_(True)  # (N, 3, size, size)
    shifts = torch.Generator().manual_seed(seed)
    opt = torch.optim.Adam([x], lr=lr)
    index = torch.tensor(channels, device=device)
    rows = torch.arange(len(channels), device=device)
    for _ in range(steps):
        dy, dx = (
            torch.randint(-jitter, jitter + 1, (2,), generator=shifts).tolist()
            if jitter
            else (0, 0)
        )
        moved = torch.roll(x, shifts=(dy, dx), dims=(2, 3))
        act = forward_until(model, preprocess(moved), layer)  # (N, C, h, w)
        response = act[rows, index].reshape(len(channels), -1).mean(dim=1)  # (N,)
        penalty = l2 * ((x - 0.5) ** 2).mean(dim=(1, 2, 3)) + tv * _total_variation(x)
        loss = (penalty - response).sum()  # sum: each image has its own gradient
        (grad,) = torch.autograd.grad(loss, x)  # no gradients into the model's weights
        x.grad = grad
        opt.step()
        with torch.no_grad():
            if blur > 0:
                x.copy_(_gaussian_blur(x, blur))
            x.clamp_(0.0, 1.0)
    out = x.detach().cpu()
    return out[0] if single else out
