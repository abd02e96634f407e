"""Images as the package passes them around; renderers shared by plots and widgets (private).

Conventions:

- *images*, *model input* and *unit floats*: see :mod:`vgg_lessons.inputs`;
- *RGB arrays*: numpy uint8 ``(H, W, 3)``, what PNGs are made of.
"""

from __future__ import annotations

import io
import math

import numpy as np
import torch


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
