"""Figures of feature maps and filters (chapter 6), and the arrays the widgets draw.

Arrays first (the widgets draw these directly: a PNG of an array redraws in
milliseconds, a matplotlib figure in tenths of a second), then figures for the book.
Re-exported by :mod:`vgg_lessons.plots`, where the book finds them.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from matplotlib.figure import Figure

if TYPE_CHECKING:
    from torch import Tensor


def colorize(values: Tensor, vmin: float | None = None, vmax: float | None = None,
             cmap: str = "viridis") -> Any:
    """A 2-D map ``(h, w)`` -> uint8 RGB array ``(h, w, 3)`` through a colormap.

    ``vmin``/``vmax`` default to the map's own range; a flat map is drawn at the low end.
    """
    import numpy as np
    from matplotlib import colormaps

    v = values.detach().float().cpu().numpy()
    lo = float(v.min()) if vmin is None else vmin
    hi = float(v.max()) if vmax is None else vmax
    scaled = np.clip((v - lo) / (hi - lo), 0.0, 1.0) if hi > lo else np.zeros_like(v)
    return (colormaps[cmap](scaled)[..., :3] * 255).round().astype(np.uint8)


def tile_channels(maps: Tensor, *, cell: int = 32, cols: int | None = None, pad: int = 2,
                  cmap: str = "viridis") -> Any:
    """Every channel of one image's feature maps as a grid: uint8 RGB ``(H, W, 3)``.

    Args:
        maps: ``(C, h, w)``, one image's output of one layer.
        cell: each map is enlarged (nearest neighbour) by a whole factor to at least
            this many pixels per side, so a 2x2 map of stage 5 stays visible.
        cols: channels per row (default: a near-square grid).
        pad: white pixels between cells.

    All channels share one colour scale (the layer's min..max): a dim channel looks
    dim. Channel ``i`` sits at row ``i // cols``, column ``i % cols``.
    """
    import numpy as np

    if maps.dim() != 3:
        raise ValueError(f"expected one image's maps (C, h, w), got shape {tuple(maps.shape)}; "
                         "index the batch first, e.g. maps[0]")
    c, h, w = maps.shape
    cols = cols or math.ceil(math.sqrt(c))
    rows = math.ceil(c / cols)
    factor = max(1, math.ceil(cell / max(h, w)))
    big = maps.detach().float().cpu().repeat_interleave(factor, 1).repeat_interleave(factor, 2)
    rgb = colorize(big.reshape(c * big.shape[1], big.shape[2])).reshape(c, *big.shape[1:], 3)
    hh, ww = big.shape[1:]
    out = np.full((rows * (hh + pad) - pad, cols * (ww + pad) - pad, 3), 255, dtype=np.uint8)
    for i in range(c):
        r, q = divmod(i, cols)
        out[r * (hh + pad):r * (hh + pad) + hh, q * (ww + pad):q * (ww + pad) + ww] = rgb[i]
    return out


def overlay_channel(image: Tensor, channel_map: Tensor, *, size: int = 160, alpha: float = 0.6,
                    cmap: str = "viridis") -> Any:
    """One channel's map laid over the input: uint8 RGB ``(size, size, 3)``.

    Args:
        image: the input, RGB ``(3, H, W)``, uint8 0..255 or float 0..1.
        channel_map: ``(h, w)``; stretched bilinearly to the input's size and coloured
            on its own range (min..max of this channel).
        alpha: weight of the map; the input is shown in grey underneath.
    """
    import numpy as np
    import torch

    img = image.detach().float().cpu()
    img = img / 255.0 if image.dtype == torch.uint8 else img
    grey = img.mean(dim=0, keepdim=True)[None]  # (1, 1, H, W)
    grey = torch.nn.functional.interpolate(grey, size=(size, size), mode="nearest")[0, 0]
    heat = torch.nn.functional.interpolate(channel_map.detach().float().cpu()[None, None],
                                           size=(size, size), mode="bilinear",
                                           align_corners=False)[0, 0]
    mixed = alpha * colorize(heat, cmap=cmap) + (1 - alpha) * 255 * grey.numpy()[..., None]
    return mixed.round().clip(0, 255).astype(np.uint8)


def plot_feature_maps(image: Tensor, maps: Tensor, *, title: str = "",
                      max_channels: int | None = None) -> Figure:
    """The input beside a grid of its feature maps (one layer, one image).

    Args:
        image: RGB ``(3, H, W)``, uint8 0..255 or float 0..1.
        maps: ``(C, h, w)`` from :func:`vgg_lessons.probes.feature_maps` (one image).
        title: e.g. the layer's name and map size.
        max_channels: show only the first this many channels.
    """
    from matplotlib.figure import Figure

    maps = maps[:max_channels] if max_channels else maps
    img = image.detach().cpu()
    img = img.float() / 255.0 if not img.is_floating_point() else img
    fig = Figure(figsize=(8, 3.6), layout="constrained")
    ax_img, ax_maps = fig.subplots(1, 2, width_ratios=[1, 2.4])
    ax_img.imshow(img.permute(1, 2, 0).numpy())
    ax_img.set_title("input")
    ax_maps.imshow(tile_channels(maps))
    ax_maps.set_title(title or f"{maps.shape[0]} channels, {maps.shape[1]}x{maps.shape[2]} each")
    for ax in (ax_img, ax_maps):
        ax.axis("off")
    return fig


def plot_first_layer_filters(rgb: Tensor, *, ncols: int = 8) -> Figure:
    """First-layer kernels as small colour images, ``(C, 3, k, k)`` in 0..1 (grey = 0)."""
    from matplotlib.figure import Figure

    n = len(rgb)
    ncols = min(ncols, n)
    nrows = math.ceil(n / ncols)
    fig = Figure(figsize=(0.8 * ncols, 0.85 * nrows + 0.3), layout="constrained")
    for i, ax in enumerate(fig.subplots(nrows, ncols, squeeze=False).ravel()):
        ax.axis("off")
        if i < n:
            ax.imshow(rgb[i].permute(1, 2, 0).cpu().numpy(), interpolation="nearest")
            ax.set_title(str(i), fontsize=7)
    fig.suptitle(f"{n} first-layer kernels ({rgb.shape[-1]}x{rgb.shape[-1]}, RGB; grey = 0)",
                 fontsize=9)
    return fig


def plot_maps_side_by_side(image: Tensor, maps_by_name: Mapping[str, Tensor]) -> Figure:
    """The input, then one channel grid per entry (e.g. ``{"trained": .., "random": ..}``).

    Each value is one image's ``(C, h, w)`` maps of the same layer.
    """
    from matplotlib.figure import Figure

    img = image.detach().cpu()
    img = img.float() / 255.0 if not img.is_floating_point() else img
    n = len(maps_by_name)
    fig = Figure(figsize=(2.2 + 3.3 * n, 3.4), layout="constrained")
    axes = fig.subplots(1, n + 1, width_ratios=[1] + [1.6] * n)
    axes[0].imshow(img.permute(1, 2, 0).numpy())
    axes[0].set_title("input")
    for ax, (name, maps) in zip(axes[1:], maps_by_name.items()):
        ax.imshow(tile_channels(maps))
        ax.set_title(name)
    for ax in axes:
        ax.axis("off")
    return fig
