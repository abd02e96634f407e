"""Batched augmentation of uint8 CIFAR-style images, on whatever device they are on.

- :func:`augment`: the usual CIFAR recipe, a random crop of a padded image and a
  left-right mirror, for a whole batch at once (re-exported as ``data.augment``);
- :func:`scale_jitter`: the paper's multi-scale training crops (Simonyan and
  Zisserman, Sec. 3.1): rescale each image so its shorter side is a random ``S``, then
  crop and mirror (re-exported as ``data.scale_jitter``).
"""

from __future__ import annotations

import torch


def augment(
    images: torch.Tensor,
    generator: torch.Generator | None = None,
    *,
    padding: int = 4,
    flip: bool = True,
    mirror: torch.Tensor | None = None,
) -> torch.Tensor:
    """Random crop with zero padding and random horizontal flip, for a whole batch at once.

    Each image of ``(B, C, H, W)`` is padded by ``padding`` pixels of zeros on every
    side, cropped back to ``H x W`` at a random offset, and mirrored left-right with
    probability 1/2: torchvision's ``RandomCrop(32, padding=4)`` and
    ``RandomHorizontalFlip()``, but as one gather on the images' device.

    Args:
        images: ``(B, C, H, W)``, any dtype (uint8 is cheapest), any device.
        generator: a CPU ``torch.Generator`` for reproducible draws.
        padding: pixels of padding (crop offsets are 0..2*padding).
        flip: mirror half of the images, drawn at random.
        mirror: bool ``(B,)``: exactly which images to mirror, instead of a random
            draw (used for "alternating" flips, see :func:`vgg_lessons.train.loop.fit`).

    Returns:
        A new tensor of the same shape, dtype and device.
    """
    if images.dim() != 4:
        raise ValueError(
            f"expected images of shape (B, C, H, W), got {tuple(images.shape)}"
        )
    if isinstance(padding, bool) or not isinstance(padding, int) or padding < 0:
        raise ValueError(
            f"padding must be a whole number of pixels >= 0, got {padding!r}"
        )
    b, c, h, w = images.shape
    dev = images.device
    offsets = torch.randint(0, 2 * padding + 1, (2, b), generator=generator)
    if mirror is not None:
        if mirror.shape != (b,) or mirror.dtype != torch.bool:
            raise ValueError(
                f"mirror must be a bool tensor of shape ({b},), got {mirror.dtype} "
                f"{tuple(mirror.shape)}"
            )
        mirror = mirror.cpu()
    elif flip:
        mirror = torch.rand(b, generator=generator) < 0.5
    else:
        mirror = torch.zeros(b, dtype=torch.bool)
    padded = torch.nn.functional.pad(images, (padding,) * 4)
    ar_h, ar_w = torch.arange(h), torch.arange(w)
    rows = offsets[0, :, None] + ar_h  # (B, H)
    cols = offsets[1, :, None] + torch.where(
        mirror[:, None], w - 1 - ar_w, ar_w
    )  # (B, W)
    rows, cols = rows.to(dev), cols.to(dev)
    bi = torch.arange(b, device=dev)[:, None, None, None]
    ci = torch.arange(c, device=dev)[None, :, None, None]
    return padded[bi, ci, rows[:, None, :, None], cols[:, None, None, :]]


def scale_jitter(
    images: torch.Tensor,
    generator: torch.Generator | None = None,
    *,
    sides: tuple[int, int] = (32, 64),
    crop: int = 32,
    flip: bool = True,
) -> torch.Tensor:
    """Multi-scale training crops: rescale each image to a random size, then crop and mirror.

    The paper's scale jittering: each image is rescaled so that its shorter side is
    ``S``, drawn uniformly from the whole numbers in ``[sides[0], sides[1]]`` (the
    paper's ``[256, 512]``), then a random ``crop x crop`` window (the paper's 224) is
    cut out and mirrored left-right with probability 1/2. Unlike :func:`augment`, the
    object's size in the crop changes from image to image. All images of the batch are
    done at once with one ``grid_sample`` (bilinear, edge pixels repeated), which equals
    ``interpolate(image, size, mode="bilinear")`` followed by the crop.

    Args:
        images: ``(B, C, H, W)``, any dtype and device (uint8 as load_cifar10 returns them).
        generator: a CPU ``torch.Generator`` for reproducible draws.
        sides: smallest and largest ``S`` in pixels; ``crop <= sides[0]``, and
            ``sides[0] >= min(H, W)`` (images are only enlarged, so no antialiasing).
        crop: side of the square crops in pixels.
        flip: mirror half of the crops, drawn at random.

    Returns:
        float32 ``(B, C, crop, crop)`` on the 0..255 scale of the input (for
        :func:`vgg_lessons.inputs.normalize`).
    """
    if images.dim() != 4:
        raise ValueError(
            f"expected images of shape (B, C, H, W), got {tuple(images.shape)}"
        )
    b, _, h, w = images.shape
    lo, hi = sides
    if not (
        isinstance(crop, int)
        and isinstance(lo, int)
        and isinstance(hi, int)
        and 0 < crop <= lo <= hi
        and lo >= min(h, w)
    ):
        raise ValueError(
            f"need whole numbers crop <= sides[0] <= sides[1] and sides[0] >= the "
            f"images' shorter side ({min(h, w)}), got crop={crop!r}, sides={sides!r} "
            "(the paper: sides=(256, 512), crop=224)"
        )
    s = torch.randint(lo, hi + 1, (b,), generator=generator).double()
    rh = (h * s / min(h, w)).round()  # rescaled height and width, (B,)
    rw = (w * s / min(h, w)).round()
    oy = (
        torch.rand(b, generator=generator, dtype=torch.float64) * (rh - crop + 1)
    ).floor()
    ox = (
        torch.rand(b, generator=generator, dtype=torch.float64) * (rw - crop + 1)
    ).floor()
    mirror = (
        torch.rand(b, generator=generator) < 0.5
        if flip
        else torch.zeros(b, dtype=torch.bool)
    )
    steps = torch.arange(crop, dtype=torch.float64) + 0.5
    cols = torch.where(mirror[:, None], steps.flip(0), steps)
    # Pixel centres of the crop in the rescaled image, as grid_sample's [-1, 1] coordinates.
    gy = 2 * (oy[:, None] + steps) / rh[:, None] - 1  # (B, crop)
    gx = 2 * (ox[:, None] + cols) / rw[:, None] - 1
    grid = torch.stack(torch.broadcast_tensors(gx[:, None, :], gy[:, :, None]), dim=-1)
    return torch.nn.functional.grid_sample(
        images.float(),
        grid.float().to(images.device),
        mode="bilinear",
        padding_mode="border",
        align_corners=False,
    )
