"""Figures of feature maps and filters (chapter 6), and the arrays the widgets draw.

Arrays first (the widgets draw these directly: a PNG of an array redraws in
milliseconds, a matplotlib figure in tenths of a second), then figures for the book.
Re-exported by :mod:`vgg_lessons.viz.plots`, where the book finds them.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from matplotlib.figure import Figure

from vgg_lessons.viz._figures import column_figure
from vgg_lessons.viz._images import enlarge_nearest, hwc, tile, to_unit_float

if TYPE_CHECKING:
    from torch import Tensor


def colorize(
    values: Tensor,
    vmin: float | None = None,
    vmax: float | None = None,
    cmap: str = "viridis",
) -> Any:
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


def tile_channels(
    maps: Tensor,
    *,
    cell: int = 32,
    cols: int | None = None,
    pad: int = 2,
    cmap: str = "viridis",
) -> Any:
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
    if maps.dim() != 3:
        raise ValueError(
            f"expected one image's maps (C, h, w), got shape {tuple(maps.shape)}; "
            "index the batch first, e.g. maps[0]"
        )
    c, h, w = maps.shape
    cols = cols or math.ceil(math.sqrt(c))
    factor = max(1, math.ceil(cell / max(h, w)))
    big = enlarge_nearest(maps.detach().float().cpu(), factor)  # (C, h*f, w*f)
    rgb = colorize(big.reshape(c * big.shape[1], big.shape[2])).reshape(
        c, *big.shape[1:], 3
    )
    return tile(rgb, cols, pad)


def overlay_channel(
    image: Tensor,
    channel_map: Tensor,
    *,
    size: int = 160,
    alpha: float = 0.6,
    cmap: str = "viridis",
) -> Any:
    """One channel's map laid over the input: uint8 RGB ``(size, size, 3)``.

    Args:
        image: the input, RGB ``(3, H, W)``, uint8 0..255 or float 0..1.
        channel_map: ``(h, w)``; stretched bilinearly to the input's size and coloured
            on its own range (min..max of this channel).
        alpha: weight of the map; the input is shown in grey underneath.
    """
    import numpy as np
    import torch

    grey = to_unit_float(image).mean(dim=0, keepdim=True)[None]  # (1, 1, H, W)
    grey = torch.nn.functional.interpolate(grey, size=(size, size), mode="nearest")[
        0, 0
    ]
    heat = torch.nn.functional.interpolate(
        channel_map.detach().float().cpu()[None, None],
        size=(size, size),
        mode="bilinear",
        align_corners=False,
    )[0, 0]
    mixed = (
        alpha * colorize(heat, cmap=cmap) + (1 - alpha) * 255 * grey.numpy()[..., None]
    )
    return mixed.round().clip(0, 255).astype(np.uint8)


@column_figure
def plot_feature_maps(
    image: Tensor, maps: Tensor, *, title: str = "", max_channels: int | None = None
) -> Figure:
    """The input beside a grid of its feature maps (one layer, one image).

    Args:
        image: RGB ``(3, H, W)``, uint8 0..255 or float 0..1.
        maps: ``(C, h, w)`` from :func:`vgg_lessons.probes.hooks.feature_maps` (one image).
        title: e.g. the layer's name and map size.
        max_channels: show only the first this many channels.
    """
    from matplotlib.figure import Figure

    maps = maps[:max_channels] if max_channels else maps
    fig = Figure(figsize=(7, 3.6), layout="constrained")
    ax_img, ax_maps = fig.subplots(1, 2, width_ratios=[1, 2.4])
    ax_img.imshow(hwc(to_unit_float(image)))
    ax_img.set_title("input")
    _show_grid(fig, ax_maps, maps)
    ax_maps.set_title(
        title or f"{maps.shape[0]} channels, {maps.shape[1]}x{maps.shape[2]} each"
    )
    ax_img.axis("off")
    return fig


def _show_grid(fig: Figure, ax: Any, maps: Tensor) -> None:
    """Draw :func:`tile_channels` of ``maps`` on ``ax`` with a colour bar of its value range."""
    from matplotlib.cm import ScalarMappable
    from matplotlib.colors import Normalize

    ax.imshow(tile_channels(maps))
    ax.axis("off")
    values = maps.detach().float()
    scale = ScalarMappable(
        Normalize(values.min().item(), values.max().item()), cmap="viridis"
    )
    fig.colorbar(scale, ax=ax, shrink=0.8, label="activation")


@column_figure
def plot_first_layer_filters(rgb: Tensor, *, ncols: int = 8) -> Figure:
    """First-layer kernels as small colour images, ``(C, 3, k, k)`` in 0..1 (grey = 0)."""
    from matplotlib.figure import Figure

    n = len(rgb)
    ncols = min(ncols, n)
    nrows = math.ceil(n / ncols)
    fig = Figure(
        figsize=(min(7.0, 0.85 * ncols), 0.95 * nrows + 0.4), layout="constrained"
    )
    for i, ax in enumerate(fig.subplots(nrows, ncols, squeeze=False).ravel()):
        ax.axis("off")
        if i < n:
            ax.imshow(hwc(rgb[i]), interpolation="nearest")
            ax.set_title(str(i))
    fig.suptitle(
        f"{n} first-layer kernels ({rgb.shape[-1]}x{rgb.shape[-1]}, RGB; grey = 0)"
    )
    return fig


@column_figure
def plot_maps_side_by_side(image: Tensor, maps_by_name: Mapping[str, Tensor]) -> Figure:
    """The input, then one channel grid per entry (e.g. ``{"trained": .., "random": ..}``).

    Each value is one image's ``(C, h, w)`` maps of the same layer.
    """
    from matplotlib.figure import Figure

    n = len(maps_by_name)
    # Two rows: the input on top, then the models' grids side by side, each with its scale.
    fig = Figure(figsize=(7, 1.9 + 6.0 / max(n, 1)), layout="constrained")
    axes = fig.subplots(2, n, squeeze=False, height_ratios=[0.45, 1])
    axes[0, 0].imshow(hwc(to_unit_float(image)))
    axes[0, 0].set_title("input")
    for ax in axes[0]:
        ax.axis("off")
    for ax, (name, maps) in zip(axes[1], maps_by_name.items()):
        _show_grid(fig, ax, maps)
        ax.set_title(name)
    return fig
