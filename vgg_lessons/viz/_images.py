"""Images as the package passes them around, and the renderers shared by plots and widgets (private).

Conventions:

- *images*: uint8 ``(B, 3, H, W)`` in 0..255, as :func:`vgg_lessons.train.data.load_cifar10`
  returns them. Public functions that take images accept these.
- *model input*: float32 ``(B, 3, H, W)``, normalised by the weights' ``transforms()``.
- *unit floats*: float ``(..., 3, H, W)`` in 0..1, what matplotlib and activation
  maximisation work with.
- *RGB arrays*: numpy uint8 ``(H, W, 3)``, what PNGs are made of.
"""

from __future__ import annotations

import io
import math
from collections.abc import Callable

import numpy as np
import torch

#: 0..1 RGB images ``(B, 3, H, W)`` -> model input.
Preprocess = Callable[[torch.Tensor], torch.Tensor]


def as_model_input(
    images: torch.Tensor, transform: Callable | None = None
) -> torch.Tensor:
    """uint8 images -> model input through ``transform`` (default: the shipped models');
    float tensors are taken to be model input already and returned as they are.

    Raises:
        ValueError: not a ``(B, C, H, W)`` tensor (one line; says what to do).
    """
    if not isinstance(images, torch.Tensor):
        raise ValueError(
            f"expected a tensor of images (B, 3, H, W), got {type(images).__name__}"
        )
    if images.dim() != 4:
        hint = (
            " (add a batch dimension with x.unsqueeze(0))" if images.dim() == 3 else ""
        )
        raise ValueError(
            f"expected a batch of images (B, 3, H, W), got shape "
            f"{tuple(images.shape)}{hint}"
        )
    if images.dtype != torch.uint8:
        return images
    if transform is None:
        from vgg_lessons.train.weights import default_transforms

        transform = default_transforms()
    return transform(images)


def to_unit_float(images: torch.Tensor) -> torch.Tensor:
    """uint8 0..255 -> float32 0..1 on the CPU; floats are taken to be 0..1 already (clamped)."""
    x = images.detach().cpu()
    return x.float() / 255.0 if not x.is_floating_point() else x.float().clamp(0.0, 1.0)


def to_uint8(images: torch.Tensor) -> torch.Tensor:
    """Float 0..1 -> uint8 0..255 (rounded) on the CPU; uint8 is returned as it is."""
    x = images.detach().cpu()
    return (x.clamp(0, 1) * 255).round().to(torch.uint8) if x.is_floating_point() else x


def hwc(image: torch.Tensor) -> np.ndarray:
    """One image ``(3, H, W)`` (uint8 or 0..1 float) -> numpy ``(H, W, 3)`` for ``imshow``."""
    return image.detach().cpu().permute(1, 2, 0).numpy()


def enlarge_nearest(images: torch.Tensor, factor: int) -> torch.Tensor:
    """``(..., H, W)`` -> ``(..., H * factor, W * factor)``, each pixel a ``factor`` square."""
    return images.repeat_interleave(factor, -2).repeat_interleave(factor, -1)


def tile(cells: np.ndarray, cols: int, pad: int = 2) -> np.ndarray:
    """``(N, h, w, 3)`` uint8 cells -> one uint8 ``(H, W, 3)`` grid, white ``pad`` pixels between.

    Cell ``i`` sits at row ``i // cols``, column ``i % cols``.
    """
    n, h, w, _ = cells.shape
    rows = math.ceil(n / cols)
    out = np.full(
        (rows * (h + pad) - pad, cols * (w + pad) - pad, 3), 255, dtype=np.uint8
    )
    for i in range(n):
        r, q = divmod(i, cols)
        out[r * (h + pad) : r * (h + pad) + h, q * (w + pad) : q * (w + pad) + w] = (
            cells[i]
        )
    return out


def png_bytes(array: np.ndarray) -> bytes:
    """uint8 RGB ``(H, W, 3)`` -> PNG file bytes (fast, lightly compressed)."""
    from PIL import Image

    buf = io.BytesIO()
    Image.fromarray(array).save(buf, format="PNG", compress_level=1)
    return buf.getvalue()
