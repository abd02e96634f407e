"""Figures for the book: each function returns a ``matplotlib.figure.Figure``.

Functions never call ``plt.show()``: a notebook displays the returned figure, a
script saves it. Chapters add their figures below, each in its own section.
"""

from __future__ import annotations

# ---- Receptive fields (chapter 1) ------------------------------------------------------

from matplotlib.figure import Figure  # noqa: E402  (each section imports what it needs)
from matplotlib.patches import Rectangle  # noqa: E402


def _field_members(specs, top_unit: int) -> list[set[int]]:
    """Indices, per row (input first), of the units that ``top_unit`` of the last layer reads."""
    members = [{top_unit}]
    for spec in reversed(specs):
        below = {i * spec.stride - spec.padding + t * spec.dilation
                 for i in members[0] for t in range(spec.kernel)}
        members.insert(0, below)
    return members


def rf_diagram_1d(specs, input_size: int, unit: int | None = None,
                  title: str | None = None) -> Figure:
    """Draw a 1-D stack of layers and the receptive field of one unit of the last layer.

    One row of cells per layer, the input at the bottom, each unit drawn at the centre
    of its field in input coordinates (``start + i * jump`` pixels). The chosen unit and
    every unit and input pixel it depends on are filled; hollow dashed cells are padding.

    Args:
        specs: the layers, bottom to top (``LayerSpec`` from ``vgg_lessons.receptive_field``).
        input_size: input length in pixels.
        unit: index of the unit of the last layer to follow (default: the middle one).
        title: figure title (default: the field size).

    Returns:
        The figure (not shown; a notebook displays it as the last value of a cell).

    Raises:
        ValueError: if the stack leaves no output or ``unit`` is out of range.
    """
    from vgg_lessons.receptive_field import rf_table

    specs = list(specs)
    if not specs:
        raise ValueError("no layers to draw: pass a list of LayerSpec, input side first")
    table = rf_table(specs, input_size=input_size)  # ValueError if the input is too small
    rows = list(table)
    top = rows[-1]
    unit = top.out_size // 2 if unit is None else unit
    if not 0 <= unit < top.out_size:
        raise ValueError(f"unit {unit} is outside the last layer's {top.out_size} outputs; "
                         f"choose 0 to {top.out_size - 1}")
    members = _field_members(specs, unit)
    # (size, jump, start) of every row, input first
    geometry = [(input_size, 1, 0.0)] + [(r.out_size, r.jump, r.start) for r in rows]

    fig = Figure(figsize=(max(6.0, 0.28 * input_size + 2), 0.6 * len(geometry) + 1.2),
                 layout="constrained")
    ax = fig.subplots()
    for level, ((size, jump, start), chosen) in enumerate(zip(geometry, members)):
        width = 0.8 * min(jump, 1.6) if level else 0.8
        for i in sorted(chosen | set(range(size))):
            x = start + i * jump
            padding = not 0 <= i < size
            filled = i in chosen and not padding
            ax.add_patch(Rectangle((x - width / 2, level - 0.3), width, 0.6,
                                   facecolor="tab:orange" if filled else "white",
                                   edgecolor="tab:gray" if padding else "black",
                                   linestyle="--" if padding else "-", linewidth=0.8))
        if level:  # lines from each chosen unit to the units it reads
            spec = specs[level - 1]
            low_size, low_jump, low_start = geometry[level - 1]
            for i in chosen:
                for t in range(spec.kernel):
                    j = i * spec.stride - spec.padding + t * spec.dilation
                    ax.plot([start + i * jump, low_start + j * low_jump], [level - 0.3, level - 0.7],
                            color="tab:orange", linewidth=0.6, alpha=0.7)
    inputs = sorted(i for i in members[0] if 0 <= i < input_size)
    lo, hi = min(members[0]), max(members[0])
    ax.annotate("", xy=(lo - 0.5, -0.55), xytext=(hi + 0.5, -0.55),
                arrowprops=dict(arrowstyle="<->", color="tab:red"))
    label = f"receptive field: {hi - lo + 1} pixels"
    inside = min(hi, input_size - 1) - max(lo, 0) + 1
    if inside < hi - lo + 1:
        label += f", {inside} of them inside the image"
    if len(inputs) < inside:
        label += f"; {len(inputs)} pixels are read, the rest fall in dilation gaps"
    ax.text((lo + hi) / 2, -0.95, label, ha="center", va="top", color="tab:red")
    xs = [start + i * jump for (size, jump, start), m in zip(geometry, members)
          for i in m | {0, size - 1}]
    ax.set_xlim(min(xs) - 1, max(xs) + 1)
    ax.set_ylim(-1.5, len(geometry) - 0.4)
    ax.set_yticks(range(len(geometry)), ["input"] + [r.name for r in rows])
    ax.set_xlabel("input pixel")
    for side in ("top", "right", "left"):
        ax.spines[side].set_visible(False)
    ax.set_title(title or f"unit {unit} of {top.name} sees {top.rf} input pixels")
    return fig


def rf_growth(table, title: str = "How the receptive field grows") -> Figure:
    """Plot receptive field and jump (input pixels) of every layer of an ``RFTable``.

    Bars are the receptive field of each convolution and pool, the line the jump
    (distance between neighbouring units), both in input pixels on a log scale.
    ReLUs, batch norms and the head are left out: they do not change either.

    Returns:
        The figure (not shown).
    """
    rows = [r for r in table if r.kind in ("conv", "pool")]
    if not rows:
        raise ValueError("the table has no convolution or pooling rows to plot; build it with "
                         "rf_table(specs) or layer_table(model, input_size)")
    fig = Figure(figsize=(10, 4), layout="constrained")
    ax = fig.subplots()
    x = range(len(rows))
    colours = ["tab:blue" if r.kind == "conv" else "tab:gray" for r in rows]
    ax.bar(x, [r.rf for r in rows], color=colours, label="receptive field")
    ax.plot(x, [r.jump for r in rows], "o-", color="tab:orange", label="jump")
    ax.set_yscale("log", base=2)
    ax.set_xticks(list(x), [r.name for r in rows], rotation=70, fontsize=8)
    ax.set_ylabel("input pixels")
    ax.legend(loc="upper left")
    ax.set_title(title)
    return fig


def effective_rf_map(erf, rf: int | None = None, title: str | None = None, *,
                     centre: float | None = None) -> Figure:
    """Show an effective receptive field next to the theoretical one.

    Args:
        erf: an ``EffectiveRF`` from ``receptive_field.effective_rf`` (it carries the
            probed unit's centre and field), or an ``(H, W)`` tensor or array of
            gradient magnitudes of one unit with respect to the input pixels.
        rf: the theoretical receptive field in pixels; default: ``erf.rf``.
        title: figure title.
        centre: input coordinate (both axes) of the unit's field centre, where the
            square and the profile are centred; default: ``erf.centre``, or the middle
            of a plain map, ``(H - 1) / 2``.

    Returns:
        The figure (not shown): the map with the theoretical square, and its profile
        across the columns (summed over rows).
    """
    import numpy as np

    if centre is None:
        centre = getattr(erf, "centre", None)
    if rf is None:
        rf = getattr(erf, "rf", None)
    if rf is None:
        raise ValueError("pass rf= (the theoretical field in pixels) with a plain map")
    erf = getattr(erf, "map", erf)
    values = np.asarray(erf.detach().cpu() if hasattr(erf, "detach") else erf, dtype=float)
    if values.ndim != 2:
        raise ValueError(f"erf must be an (H, W) map, got shape {values.shape}")
    values = values / values.max() if values.max() > 0 else values
    h, w = values.shape
    cy = cx = (h - 1) / 2 if centre is None else centre
    fig = Figure(figsize=(10, 4.2), layout="constrained")
    left, right = fig.subplots(1, 2, gridspec_kw=dict(width_ratios=[1, 1.3]))
    image = left.imshow(values, cmap="magma")
    left.add_patch(Rectangle((cx - rf / 2, cy - rf / 2), rf, rf, fill=False,
                             edgecolor="tab:cyan", linestyle="--", linewidth=1.5))
    left.set_xlim(-0.5, w - 0.5)
    left.set_ylim(h - 0.5, -0.5)
    left.set_title("gradient magnitude (dashed: theoretical field)")
    fig.colorbar(image, ax=left, shrink=0.8)
    profile = values.sum(axis=0)  # (W,): the gradient of each column, summed over rows
    right.plot(np.arange(w) - cx, profile / profile.max(), color="tab:purple")
    for edge in (-rf / 2, rf / 2):
        right.axvline(edge, color="tab:cyan", linestyle="--")
    right.set_xlabel("pixels from the field's centre (columns, summed over rows)")
    right.set_ylabel("relative gradient")
    right.set_title("profile: most of the weight is near the centre")
    if title:
        fig.suptitle(title)
    return fig


# ---- Building VGG (chapter 2) ----------------------------------------------------------

def stage_bars(stats, title: str | None = None) -> Figure:
    """Parameters, MACs and activation memory per stage, as three bar charts.

    Args:
        stats: a ``StatsTable`` from ``vgg_lessons.stats.layer_stats``; its
            ``stage_totals()`` gives one bar per stage (``stage1`` .. ``stage5``, ``head``).
        title: a title over the three panels.

    Returns:
        The figure (not shown): parameters (millions), multiply-accumulates
        (billions, one forward pass) and output activations (MiB) of each stage.
    """
    totals = stats.stage_totals()
    if not totals:
        raise ValueError("the table has no rows; build it with layer_stats(model, input_size)")
    names = list(totals)
    panels = [("params", 1e6, "parameters (millions)", "tab:blue"),
              ("macs", 1e9, "MACs (billions)", "tab:orange"),
              ("activation_bytes", 2**20, "activations (MiB)", "tab:green")]
    fig = Figure(figsize=(11, 3.4), layout="constrained")
    for ax, (key, scale, label, colour) in zip(fig.subplots(1, 3), panels):
        values = [totals[n][key] / scale for n in names]
        ax.bar(names, values, color=colour)
        ax.set_title(label)
        ax.tick_params(axis="x", rotation=45)
        total = sum(values)
        for i, v in enumerate(values):
            share = 100 * v / total if total else 0.0
            ax.text(i, v, f"{share:.0f}%", ha="center", va="bottom", fontsize=8)
        ax.margins(y=0.15)
    if title:
        fig.suptitle(title)
    return fig


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
    from matplotlib.ticker import MaxNLocator

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
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
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
                    titles: Sequence[str] | None = None,
                    row_labels: Sequence[str] | None = None) -> Figure:
    """Show uint8 images ``(N, 3, H, W)`` (0..255) in a grid, with their class names.

    Args:
        images: uint8 RGB ``(N, 3, H, W)``, such as :func:`vgg_lessons.data.load_cifar10`
            returns; at most 64.
        labels, classes: label indices and class names; each image is titled
            ``classes[label]``.
        ncols: images per row.
        titles: explicit titles instead of class names.
        row_labels: one label per row, written left of the row (for example the
            channel that a row of top images belongs to).
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
    if row_labels is not None and len(row_labels) != nrows:
        raise ValueError(f"{n} images in rows of {ncols} make {nrows} rows; pass one row "
                         f"label per row, got {len(row_labels)}")
    fig = Figure(figsize=(1.2 * ncols, 1.35 * nrows), layout="constrained")
    axes = fig.subplots(nrows, ncols, squeeze=False).ravel()
    for i, ax in enumerate(axes):
        ax.axis("off")
        if i < n:
            ax.imshow(images[i].permute(1, 2, 0).cpu().numpy())
            if titles is not None:
                ax.set_title(titles[i], fontsize=8)
        if row_labels is not None and i % ncols == 0:
            ax.text(-0.08, 0.5, row_labels[i // ncols], transform=ax.transAxes,
                    rotation=90, ha="right", va="center", fontsize=9)
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
