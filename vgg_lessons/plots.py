"""Figures for the book: each function returns a ``matplotlib.figure.Figure``.

Functions never call ``plt.show()``: a notebook displays the returned figure, a
script saves it. Chapters add their figures below, each in its own section.
"""

from __future__ import annotations

# ---- Receptive fields (chapter 1) ------------------------------------------------------

# ---- Building VGG (chapter 2) ----------------------------------------------------------

# ---- Batch norm and training (chapters 3 and 4) ---------------------------------------

from collections.abc import Mapping, Sequence  # noqa: E402  (this section's imports)
from typing import TYPE_CHECKING, Any  # noqa: E402

if TYPE_CHECKING:
    from matplotlib.figure import Figure
    from torch import Tensor

def _epoch_axis(history: Sequence[Mapping[str, Any]], metric: str, step_losses: bool
                ) -> tuple[list[float], list[float]]:
    """x (epochs, fractional for steps) and y of one metric of one run; None values skipped."""
    if step_losses and metric == "train_loss" and all("step_losses" in r for r in history):
        xs, ys = [], []
        for row in history:
            losses = row["step_losses"]
            xs += [row["epoch"] - 1 + (i + 1) / len(losses) for i in range(len(losses))]
            ys += list(losses)
        return xs, ys
    pairs = [(row["epoch"], row[metric]) for row in history if row.get(metric) is not None]
    return [p[0] for p in pairs], [p[1] for p in pairs]


def plot_training_curves(runs: Mapping[str, Sequence[Mapping[str, Any]]],
                         metrics: Sequence[str] = ("train_loss", "test_acc"), *,
                         step_losses: bool = False, title: str | None = None) -> Figure:
    """One panel per metric, one line per run, against epochs.

    Args:
        runs: run name -> per-epoch dicts as :func:`vgg_lessons.train.fit` returns them
            (or as the recorded metrics JSON holds them): each has ``epoch`` (1-based)
            and the metrics, e.g. ``train_loss`` (nats), ``test_acc`` (fraction).
        metrics: the keys to plot, one panel each. Accuracies (keys ending in ``acc``)
            are shown in percent.
        step_losses: draw ``train_loss`` from every step's loss (``step_losses``) rather
            than once per epoch.
        title: a title over the panels.

    Raises:
        ValueError: no runs, or a metric that no run recorded.
    """
    from matplotlib.figure import Figure

    if not runs:
        raise ValueError("no runs to plot: pass a dict such as {'BN before ReLU': history}")
    for metric in metrics:
        if not any(row.get(metric) is not None for h in runs.values() for row in h):
            known = sorted({k for h in runs.values() for row in h for k in row})
            raise ValueError(f"no run recorded {metric!r}; recorded keys: {', '.join(known)}")
    fig = Figure(figsize=(4.2 * len(metrics), 3.2), layout="constrained")
    axes = fig.subplots(1, len(metrics), squeeze=False)[0]
    for ax, metric in zip(axes, metrics):
        percent = metric.endswith("acc")
        for name, history in runs.items():
            xs, ys = _epoch_axis(history, metric, step_losses)
            ys = [100 * y for y in ys] if percent else ys
            ax.plot(xs, ys, label=name, marker="" if len(xs) > 30 else "o", markersize=3)
        ax.set_xlabel("epoch")
        ax.set_ylabel(metric.replace("_", " ") + (" (%)" if percent else ""))
        ax.grid(alpha=0.3)
    axes[0].legend(fontsize="small")
    if title:
        fig.suptitle(title)
    return fig


def plot_activation_stats(maps: Mapping[str, Mapping[str, Tensor]], *,
                          title: str | None = None) -> Figure:
    """Mean and standard deviation of each layer's output, one line per model.

    Args:
        maps: model name -> (layer name -> feature maps ``(B, C, H, W)``), e.g. one
            :func:`vgg_lessons.probes.feature_maps` result per model, with the layers in
            forward order. Every model must have the same layer names.
        title: a title over the two panels.

    Returns:
        Two panels: the mean over batch, channels and positions, and the standard
        deviation of all values, per layer (x axis, in the order given).
    """
    from matplotlib.figure import Figure

    if not maps:
        raise ValueError("no models to plot: pass {'model name': {'layer': tensor, ...}}")
    layer_lists = [list(m) for m in maps.values()]
    if any(layers != layer_lists[0] for layers in layer_lists):
        raise ValueError("every model needs the same layers in the same order; got "
                         + "; ".join(f"{k}: {list(v)}" for k, v in maps.items()))
    layers = layer_lists[0]
    fig = Figure(figsize=(max(6.0, 0.5 * len(layers) + 3), 3.4), layout="constrained")
    ax_mean, ax_std = fig.subplots(1, 2)
    for name, by_layer in maps.items():
        values = [t.detach().float() for t in by_layer.values()]
        ax_mean.plot(range(len(layers)), [v.mean().item() for v in values], "o-", label=name)
        ax_std.plot(range(len(layers)), [v.std().item() for v in values], "o-", label=name)
    for ax, what in ((ax_mean, "mean"), (ax_std, "standard deviation")):
        ax.set_xticks(range(len(layers)), layers, rotation=60, ha="right", fontsize="small")
        ax.set_ylabel(f"activation {what}")
        ax.grid(alpha=0.3)
    ax_std.set_yscale("log")
    ax_mean.legend(fontsize="small")
    if title:
        fig.suptitle(title)
    return fig


def confusion_matrix(labels: Tensor, predictions: Tensor, num_classes: int) -> Tensor:
    """Counts ``(num_classes, num_classes)``, int64: row = true class, column = predicted.

    Raises:
        ValueError: labels and predictions of different lengths, or a class outside
            ``0..num_classes-1``.
    """
    import torch

    labels, predictions = torch.as_tensor(labels).long().cpu(), torch.as_tensor(predictions).long().cpu()
    if labels.shape != predictions.shape or labels.dim() != 1:
        raise ValueError(f"labels and predictions must be two (N,) tensors of the same length, "
                         f"got shapes {tuple(labels.shape)} and {tuple(predictions.shape)}")
    for what, t in (("labels", labels), ("predictions", predictions)):
        if len(t) and (t.min() < 0 or t.max() >= num_classes):
            raise ValueError(f"{what} must be class indices in 0..{num_classes - 1}, found "
                             f"{t.min().item()}..{t.max().item()}")
    flat = labels * num_classes + predictions
    return torch.bincount(flat, minlength=num_classes ** 2).view(num_classes, num_classes)


def plot_confusion_matrix(labels: Tensor, predictions: Tensor, classes: Sequence[str]
                          ) -> Figure:
    """The confusion matrix in percent of each true class, and the accuracy per class.

    Args:
        labels, predictions: int ``(N,)`` class indices (true, predicted).
        classes: the class names, in label order.

    Returns:
        Left: a heat map, row = true class, column = predicted class, each cell the
        percentage of that row's images (rows sum to 100), numbers written in the cells.
        Right: per-class accuracy (the diagonal) as horizontal bars, in percent.
    """
    from matplotlib.figure import Figure

    counts = confusion_matrix(labels, predictions, len(classes)).float()
    percent = 100 * counts / counts.sum(1, keepdim=True).clamp(min=1)
    fig = Figure(figsize=(10, 4.6), layout="constrained")
    ax, ax_bar = fig.subplots(1, 2, width_ratios=[1.6, 1])
    ax.imshow(percent.numpy(), cmap="Blues", vmin=0, vmax=100)
    ticks = range(len(classes))
    ax.set_xticks(ticks, classes, rotation=60, ha="right")
    ax.set_yticks(ticks, classes)
    ax.set_xlabel("predicted class")
    ax.set_ylabel("true class")
    for i in ticks:
        for j in ticks:
            value = percent[i, j].item()
            if round(value) > 0:
                ax.text(j, i, f"{value:.0f}", ha="center", va="center", fontsize=7,
                        color="white" if value > 50 else "black")
    diagonal = percent.diagonal().numpy()
    ax_bar.barh(list(ticks), diagonal, color="tab:blue")
    ax_bar.set_yticks(ticks, classes)
    ax_bar.invert_yaxis()
    ax_bar.set_xlim(0, 100)
    ax_bar.set_xlabel("accuracy (%)")
    ax_bar.grid(axis="x", alpha=0.3)
    return fig


def plot_image_grid(images: Tensor, labels: Sequence[int] | Tensor | None = None,
                    classes: Sequence[str] | None = None, *, ncols: int = 8,
                    titles: Sequence[str] | None = None) -> Figure:
    """Show uint8 images ``(N, 3, H, W)`` (0..255) in a grid, with their class names.

    Args:
        images: uint8 RGB ``(N, 3, H, W)``, such as :func:`vgg_lessons.data.load_cifar10`
            returns; at most 64.
        labels, classes: label indices and class names; each image is titled
            ``classes[label]``.
        ncols: images per row.
        titles: explicit titles instead of class names.
    """
    from matplotlib.figure import Figure

    if images.dim() != 4 or images.shape[1] != 3:
        raise ValueError(f"expected uint8 images (N, 3, H, W), got shape {tuple(images.shape)}")
    if not 1 <= len(images) <= 64:
        raise ValueError(f"show between 1 and 64 images, got {len(images)}; slice them first")
    if titles is None and labels is not None and classes is not None:
        titles = [classes[int(label)] for label in labels]
    n = len(images)
    ncols = min(ncols, n)
    nrows = -(-n // ncols)
    fig = Figure(figsize=(1.2 * ncols, 1.35 * nrows), layout="constrained")
    axes = fig.subplots(nrows, ncols, squeeze=False).ravel()
    for i, ax in enumerate(axes):
        ax.axis("off")
        if i < n:
            ax.imshow(images[i].permute(1, 2, 0).cpu().numpy())
            if titles is not None:
                ax.set_title(titles[i], fontsize=8)
    return fig


# ---- Feature maps and filters (chapter 6) ----------------------------------------------
# Arrays first (the widgets draw these directly: a PNG of an array redraws in
# milliseconds, a matplotlib figure in tenths of a second), then figures for the book.

import math  # noqa: E402  (this section's imports; each section stands on its own)
from collections.abc import Mapping  # noqa: E402
from typing import TYPE_CHECKING, Any  # noqa: E402

if TYPE_CHECKING:
    from matplotlib.figure import Figure
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
