"""The input conventions: what a CIFAR-10 image is and how it becomes model input.

Every part of the package turns images into model input through this module, so a
change of the normalisation is one edit here. The conventions:

- *images*: uint8 ``(B, 3, H, W)`` in 0..255, as
  :func:`vgg_lessons.train.data.load_cifar10` returns them (``H = W = IMAGE_SIZE``);
- *model input*: float32 ``(B, 3, H, W)``, ``(x / 255 - MEAN) / STD`` per channel;
- *unit floats*: float ``(B, 3, H, W)`` in 0..1, what matplotlib and activation
  maximisation work with (:func:`from_unit` turns them into model input).

:func:`check_images` is the one validator of an image batch; the models, the
transforms, the probes, the explorers and the training loop all call it.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Literal

import torch

#: The ten classes in label order (0..9); the folder names sort into this order.
CLASSES: tuple[str, ...] = (
    "airplane",
    "automobile",
    "bird",
    "cat",
    "deer",
    "dog",
    "frog",
    "horse",
    "ship",
    "truck",
)
#: Per-channel mean and standard deviation of the training images (0..1 scale, RGB).
MEAN: tuple[float, float, float] = (0.4914, 0.4822, 0.4465)
STD: tuple[float, float, float] = (0.2470, 0.2435, 0.2616)
#: Side of a CIFAR-10 image in pixels.
IMAGE_SIZE = 32

#: A function from images ``(B, 3, H, W)`` to model input (a transform).
Preprocess = Callable[[torch.Tensor], torch.Tensor]


def check_images(
    images: object,
    *,
    dtype: Literal["uint8", "float", "any"] = "uint8",
    channels: int = 3,
    model_input: bool = False,
) -> torch.Tensor:
    """Raise a one-line ValueError unless ``images`` is a non-empty image batch.

    Args:
        images: the batch, ``(B, channels, H, W)``.
        dtype: ``"uint8"``: images as loaded (0..255); ``"float"``: model input
            (normalised floats); ``"any"``: either, or floats on the 0..255 scale
            (what :func:`normalize` takes after augmentation).
        channels: the number of channels expected in dimension 1.
        model_input: float images must also look like model input: finite, within
            the normalised range, not 0..1 images (see :func:`_check_model_input_values`;
            the probes ask for it, the model's own forward does not).

    Returns:
        ``images``, unchanged (so a caller may write ``x = check_images(x)``).
    """
    if not isinstance(images, torch.Tensor):
        raise ValueError(
            f"expected a tensor of images (B, {channels}, H, W), got "
            f"{type(images).__name__}; convert it with torch.as_tensor"
        )
    shape = tuple(images.shape)
    if images.dim() != 4:
        hint = (
            "; add a batch dimension with x.unsqueeze(0)" if images.dim() == 3 else ""
        )
        raise ValueError(
            f"expected a batch of images (B, {channels}, H, W), got shape {shape}{hint}"
        )
    if images.shape[1] != channels:
        hint = (
            "channels go second: x.permute(0, 3, 1, 2)"
            if images.shape[-1] == channels
            else f"pass {channels}-channel images"
        )
        raise ValueError(
            f"expected {channels}-channel images (B, {channels}, H, W), got shape {shape}; {hint}"
        )
    if dtype == "uint8" and images.dtype != torch.uint8:
        raise ValueError(
            f"expected uint8 images in 0..255 (as load_cifar10 returns them), got "
            f"{images.dtype}; floats that are already normalised are model input: "
            "pass them to the model directly"
        )
    if dtype == "float" and not images.is_floating_point():
        raise ValueError(
            f"expected float model input, got {images.dtype} images; turn images as "
            "load_cifar10 returns them into model input with "
            "vgg_lessons.inputs.normalize(images)"
        )
    if images.shape[0] == 0:
        raise ValueError(
            f"no images (an empty batch, shape {shape}); pass at least one"
        )
    if model_input and images.is_floating_point():
        _check_model_input_values(images)
    return images


#: Normalised images lie in about ``-REACH..REACH`` (CIFAR-10: -1.99..2.12); float
#: input reaching beyond ``OUTSIDE * REACH`` is not model input.
REACH = max(max(m / s, (1 - m) / s) for m, s in zip(MEAN, STD))
OUTSIDE = 3
#: Floats all in 0..1 spread wider than this are ``images / 255``: normalised images all
#: in 0..1 span under about 32 grey levels (a flat grey picture: a spread near 0.2).
UNIT_SPREAD = 0.5


def _check_model_input_values(x: torch.Tensor) -> None:
    """Refuse floats that are no model input: non-finite, 0..255 or 0..1 images.

    The rule: normalised input is finite and lies in about ``-REACH..REACH``; floats
    beyond ``OUTSIDE * REACH`` are 0..255 images. Floats all in 0..1 and spread over
    more than ``UNIT_SPREAD`` are ``images / 255``: a normalised batch is negative
    wherever a pixel is darker than the mean (about 120 of 255), so one all in 0..1 is
    a nearly flat, light picture (a grey one spans about 0.2), which is let through.
    """
    bounds = torch.aminmax(x.detach())
    low, high = bounds.min.item(), bounds.max.item()
    if not (math.isfinite(low) and math.isfinite(high)):
        raise ValueError(
            "the images hold NaN or infinite values; model input must be finite: "
            "check where they came from (torch.isfinite(x).all())"
        )
    if max(-low, high) > OUTSIDE * REACH:
        raise ValueError(
            f"float images with values {low:g}..{high:g} are not model input "
            f"(normalised images lie in about -{REACH:.1f}..{REACH:.1f}); for 0..255 "
            "images pass them as uint8 (x.round().clamp(0, 255).to(torch.uint8)) or "
            "as vgg_lessons.inputs.normalize(x)"
        )
    if 0 <= low and high <= 1 and high - low > UNIT_SPREAD:
        raise ValueError(
            f"float images all in 0..1 ({low:g}..{high:g}) look like images / 255, "
            "not model input (normalised images are negative where a pixel is darker "
            "than the mean); pass vgg_lessons.inputs.from_unit(x)"
        )


def normalize(
    images: torch.Tensor,
    mean: tuple[float, ...] = MEAN,
    std: tuple[float, ...] = STD,
) -> torch.Tensor:
    """uint8 ``(B, 3, H, W)`` in 0..255 -> float32 ``(x / 255 - mean) / std``, same device.

    Float input is taken to be on the 0..255 scale too (e.g. after ``augment``).
    """
    check_images(images, dtype="any", channels=len(mean))
    scale = torch.tensor(mean, device=images.device).view(1, -1, 1, 1) * 255
    spread = torch.tensor(std, device=images.device).view(1, -1, 1, 1) * 255
    return (images.float() - scale) / spread


def from_unit(
    images: torch.Tensor,
    mean: tuple[float, ...] = MEAN,
    std: tuple[float, ...] = STD,
) -> torch.Tensor:
    """Float images in 0..1 ``(B, 3, H, W)`` -> model input, differentiably.

    For images being optimised (activation maximisation); equals ``normalize(u8)`` for
    ``images = u8 / 255``.
    """
    return normalize(images * 255.0, mean, std)


def as_model_input(
    images: torch.Tensor, transform: Preprocess | None = None
) -> torch.Tensor:
    """uint8 images -> model input through ``transform`` (default :func:`normalize`);
    float tensors are taken to be model input already and returned as they are.

    Raises:
        ValueError: not a non-empty ``(B, 3, H, W)`` tensor, or floats that are no
            model input: non-finite, 0..255 or 0..1 images (one line; says which
            conversion to use).
    """
    uint8 = isinstance(images, torch.Tensor) and images.dtype == torch.uint8
    check_images(images, dtype="uint8" if uint8 else "float", model_input=True)
    if not uint8:
        return images
    return (transform or normalize)(images)
