"""Figures of training (chapters 3 and 4): curves, activation statistics, confusion, images.

Each function returns a ``matplotlib.figure.Figure`` and never calls ``show``.
Re-exported by :mod:`vgg_lessons.viz.plots`, where the book finds them.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from matplotlib.figure import Figure

from vgg_lessons.viz._figures import column_figure

if TYPE_CHECKING:
    from torch import Tensor


def _epoch_axis(
    history: Sequence[Mapping[str, Any]], metric: str, step_losses: bool
) -> tuple[list[float], list[float]]:
    """x (epochs, fractional for steps) and y of one metric of one run; None values skipped."""
    if (
        step_losses
        and metric == "train_loss"
        and all("step_losses" in r for r in history)
    ):
        xs, ys = [], []
        for row in history:
            losses = row["step_losses"]
            xs += [row["epoch"] - 1 + (i + 1) / len(losses) for i in range(len(losses))]
            ys += list(losses)
        return xs, ys
    pairs = [
        (row["epoch"], row[metric]) for row in history if row.get(metric) is not None
    ]
    return [p[0] for p in pairs], [p[1] for p in pairs]


@column_figure
def plot_training_curves(
    runs: Mapping[str, Sequence[Mapping[str, Any]]],
    metrics: Sequence[str] = ("train_loss", "test_acc"),
    *,
    step_losses: bool = False,
    title: str | None = None,
) -> Figure:
    """One panel per metric, one line per run, against epochs.

    Args:
        runs: run name -> per-epoch dicts as :func:`vgg_lessons.train.loop.fit` returns them
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
        raise ValueError(
            "no runs to plot: pass a dict such as {'BN before ReLU': history}"
        )
    for metric in metrics:
        if not any(row.get(metric) is not None for h in runs.values() for row in h):
            known = sorted({k for h in runs.values() for row in h for k in row})
            raise ValueError(
                f"no run recorded {metric!r}; recorded keys: {', '.join(known)}"
            )
    ncols = min(2, len(metrics))  # rows of at most two panels, not one wide strip
    nrows = -(-len(metrics) // ncols)
    fig = Figure(figsize=(7, 3.2 * nrows), layout="constrained")
    axes = fig.subplots(nrows, ncols, squeeze=False).ravel()
    for ax in axes[len(metrics) :]:
        ax.set_visible(False)
    for ax, metric in zip(axes, metrics):
        percent = metric.endswith("acc")
        for name, history in runs.items():
            xs, ys = _epoch_axis(history, metric, step_losses)
            ys = [100 * y for y in ys] if percent else ys
            ax.plot(
                xs, ys, label=name, marker="" if len(xs) > 30 else "o", markersize=3
            )
        ax.set_xlabel("epoch")
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.set_ylabel(metric.replace("_", " ") + (" (%)" if percent else ""))
        ax.grid(alpha=0.3)
    axes[0].legend()
    if title:
        fig.suptitle(title)
    return fig


@column_figure
def plot_activation_stats(
    maps: Mapping[str, Mapping[str, Tensor]], *, title: str | None = None
) -> Figure:
    """Mean and standard deviation of each layer's output, one line per model.

    Args:
        maps: model name -> (layer name -> feature maps ``(B, C, H, W)``), e.g. one
            :func:`vgg_lessons.probes.hooks.feature_maps` result per model, with the layers in
            forward order. Every model must have the same layer names.
        title: a title over the two panels.

    Returns:
        Two panels: the mean over batch, channels and positions, and the standard
        deviation of all values, per layer (x axis, in the order given).
    """
    from matplotlib.figure import Figure

    if not maps:
        raise ValueError(
            "no models to plot: pass {'model name': {'layer': tensor, ...}}"
        )
    layer_lists = [list(m) for m in maps.values()]
    if any(layers != layer_lists[0] for layers in layer_lists):
        raise ValueError(
            "every model needs the same layers in the same order; got "
            + "; ".join(f"{k}: {list(v)}" for k, v in maps.items())
        )
    layers = layer_lists[0]
    fig = Figure(figsize=(7, 6.5), layout="constrained")
    ax_mean, ax_std = fig.subplots(2, 1, sharex=True)
    for name, by_layer in maps.items():
        values = [t.detach().float() for t in by_layer.values()]
        ax_mean.plot(
            range(len(layers)), [v.mean().item() for v in values], "o-", label=name
        )
        ax_std.plot(
            range(len(layers)), [v.std().item() for v in values], "o-", label=name
        )
    for ax, what in ((ax_mean, "mean"), (ax_std, "standard deviation")):
        ax.set_xticks(range(len(layers)), layers, rotation=60, ha="right")
        ax.set_ylabel(f"activation {what}")
        ax.grid(alpha=0.3)
    ax_std.set_yscale("log")
    ax_mean.legend()
    if title:
        fig.suptitle(title)
    return fig


def confusion_matrix(labels: Tensor, predictions: Tensor, num_classes: int) -> Tensor:
    """Moved to :func:`vgg_lessons.train.metrics.confusion_matrix`; this name keeps working."""
    from vgg_lessons.train.metrics import confusion_matrix as counts

    return counts(labels, predictions, num_classes)


@column_figure
def plot_confusion_matrix(
    labels: Tensor, predictions: Tensor, classes: Sequence[str]
) -> Figure:
    """The confusion matrix in percent of each true class, and the accuracy per class.

    Args:
        labels, predictions: int ``(N,)`` class indices (true, predicted).
        classes: the class names, in label order.

    Returns:
        Above: a heat map, row = true class, column = predicted class, each cell the
        percentage of that row's images (rows sum to 100), numbers written in the cells,
        with a colour bar.
        Below: per-class accuracy (the diagonal) as horizontal bars, in percent.
    """
    from matplotlib.figure import Figure

    counts = confusion_matrix(labels, predictions, len(classes)).float()
    percent = 100 * counts / counts.sum(1, keepdim=True).clamp(min=1)
    # one column, matrix above bars: side by side, both would shrink below readable
    fig = Figure(figsize=(7, 10), layout="constrained")
    ax, ax_bar = fig.subplots(2, 1, height_ratios=[1.7, 1])
    image = ax.imshow(percent.numpy(), cmap="Blues", vmin=0, vmax=100)
    fig.colorbar(image, ax=ax, shrink=0.8, label="% of the true class (row)")
    ax.set_title("predictions, % of each true class")
    ticks = range(len(classes))
    ax.set_xticks(ticks, classes, rotation=60, ha="right")
    ax.set_yticks(ticks, classes)
    ax.set_xlabel("predicted class")
    ax.set_ylabel("true class")
    for i in ticks:
        for j in ticks:
            value = percent[i, j].item()
            if round(value) > 0:
                ax.text(
                    j,
                    i,
                    f"{value:.0f}",
                    ha="center",
                    va="center",
                    fontsize=11,
                    color="white" if value > 50 else "black",
                )
    diagonal = percent.diagonal().numpy()
    ax_bar.barh(list(ticks), diagonal, color="tab:blue")
    ax_bar.set_yticks(ticks, classes)
    ax_bar.invert_yaxis()
    ax_bar.set_xlim(0, 100)
    ax_bar.set_xlabel("accuracy (%)")
    ax_bar.grid(axis="x", alpha=0.3)
    return fig


@column_figure
def plot_image_grid(
    images: Tensor,
    labels: Sequence[int] | Tensor | None = None,
    classes: Sequence[str] | None = None,
    *,
    ncols: int = 8,
    titles: Sequence[str] | None = None,
    row_labels: Sequence[str] | None = None,
) -> Figure:
    """Show uint8 images ``(N, 3, H, W)`` (0..255) in a grid, with their class names.

    Args:
        images: uint8 RGB ``(N, 3, H, W)``, such as :func:`vgg_lessons.train.data.load_cifar10`
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
        raise ValueError(
            f"expected uint8 images (N, 3, H, W), got shape {tuple(images.shape)}"
        )
    if not 1 <= len(images) <= 64:
        raise ValueError(
            f"show between 1 and 64 images, got {len(images)}; slice them first"
        )
    if titles is None and labels is not None and classes is not None:
        titles = [classes[int(label)] for label in labels]
    n = len(images)
    ncols = min(ncols, n)
    nrows = -(-n // ncols)
    if row_labels is not None and len(row_labels) != nrows:
        raise ValueError(
            f"{n} images in rows of {ncols} make {nrows} rows; pass one row "
            f"label per row, got {len(row_labels)}"
        )
    fig = Figure(figsize=(1.2 * ncols, 1.35 * nrows), layout="constrained")
    axes = fig.subplots(nrows, ncols, squeeze=False).ravel()
    for i, ax in enumerate(axes):
        ax.axis("off")
        if i < n:
            ax.imshow(images[i].permute(1, 2, 0).cpu().numpy())
            if titles is not None:
                ax.set_title(titles[i], fontsize=8)
        if row_labels is not None and i % ncols == 0:
            ax.text(
                -0.08,
                0.5,
                row_labels[i // ncols],
                transform=ax.transAxes,
                rotation=90,
                ha="right",
                va="center",
                fontsize=9,
            )
    return fig
