"""Chapters 7 and 8: the paper's tables, score maps, features reused; saliency, Grad-CAM,
and which test images such figures (and the in-page explorers) show: :func:`pick_examples`.

Like :mod:`vgg_lessons.viz.plots`, every function returns a ``matplotlib.figure.Figure``
(sized for a 7-inch text column) and never calls ``show``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import matplotlib
import torch
from matplotlib.figure import Figure
from matplotlib.patches import Patch

from vgg_lessons.paper_results import ResultRow

COLUMN_INCHES = 7.0


def plot_paper_errors(
    single: Sequence[ResultRow], multi: Sequence[ResultRow]
) -> Figure:
    """Top-1 and top-5 validation error of each row of Tables 3 and 4, single vs multi-scale."""
    fig = Figure(figsize=(COLUMN_INCHES, 6.4), layout="constrained")
    labels = [f"{r.config}\n{'jit.' if r.jittered else r.train_scale}" for r in single]
    multi_by_key = {(r.config, r.train_scale): r for r in multi}
    for ax, metric in zip(fig.subplots(2, 1, sharey=False), ("top1", "top5")):
        xs = range(len(single))
        ax.plot(
            xs,
            [getattr(r, metric) for r in single],
            "o",
            label="one test scale (Table 3)",
        )
        mx = [
            (i, getattr(multi_by_key[(r.config, r.train_scale)], metric))
            for i, r in enumerate(single)
            if (r.config, r.train_scale) in multi_by_key
        ]
        ax.plot(
            [i for i, _ in mx],
            [v for _, v in mx],
            "s",
            mfc="none",
            label="three test scales (Table 4)",
        )
        for i, r in enumerate(single):
            if r.jittered:
                ax.axvspan(i - 0.4, i + 0.4, color="0.9", zorder=0)
        ax.set_xticks(list(xs), labels, fontsize=10)
        ax.set_xlabel(
            "configuration and training scale S (jit.: S in [256; 512])", fontsize=10
        )
        ax.set_ylabel(f"{'top-1' if metric == 'top1' else 'top-5'} val. error (%)")
        ax.grid(axis="y", alpha=0.3)
    fig.axes[0].legend(fontsize=10, loc="upper right")
    fig.suptitle(
        "ImageNet validation error of the paper's networks (grey: jittered S)",
        fontsize=11,
    )
    return fig


def _show(ax: Any, image: torch.Tensor, title: str = "") -> None:
    ax.imshow(
        image.permute(1, 2, 0).cpu().numpy()
        if image.dim() == 3
        else image.cpu().numpy(),
        **({} if image.dim() == 3 else dict(cmap="inferno")),
    )
    ax.set_title(title, fontsize=9)
    ax.set_xticks([])
    ax.set_yticks([])


def plot_score_maps(
    scenes: Mapping[str, torch.Tensor],
    maps: Mapping[str, torch.Tensor],
    classes: Sequence[str],
) -> Figure:
    """Each scene (uint8 ``(3, H, W)``) beside its class-score map: the winning class per cell.

    Args:
        scenes: title -> image; maps: the same titles -> ``(classes, h, w)`` scores.
    """
    fig = Figure(
        figsize=(COLUMN_INCHES, 3.6 * len(scenes) / 2 + 0.4), layout="constrained"
    )
    axes = fig.subplots(len(scenes), 2, squeeze=False)
    present: set[int] = set()
    for (title, scene), row in zip(scenes.items(), axes):
        _show(row[0], scene, f"{title}: {scene.shape[-1]}x{scene.shape[-2]} pixels")
        winner = maps[title].argmax(0)  # (h, w): the winning class of each cell
        present.update(winner.unique().tolist())
        row[1].imshow(winner.numpy(), cmap="tab10", vmin=-0.5, vmax=9.5)
        h, w = winner.shape
        row[1].set_title(f"winning class of each cell, {h}x{w} cells", fontsize=10)
        row[1].set_xticks([])
        row[1].set_yticks([])
    cmap = matplotlib.colormaps["tab10"]
    handles = [Patch(color=cmap(c), label=classes[c]) for c in sorted(present)]
    fig.legend(handles=handles, loc="outside lower center", ncols=5, fontsize=10)
    return fig


def plot_attributions(
    images: torch.Tensor, columns: Mapping[str, torch.Tensor], titles: Sequence[str]
) -> Figure:
    """Rows of images (uint8 ``(B, 3, H, W)``), each followed by its maps (``(B, H, W)`` each).

    Every map is scaled to its own maximum, so each panel shows where, not how much.
    """
    b = len(images)
    ncols = 1 + len(columns)
    fig = Figure(
        figsize=(COLUMN_INCHES, COLUMN_INCHES / ncols * b + 0.3), layout="constrained"
    )
    axes = fig.subplots(b, ncols, squeeze=False)
    for i in range(b):
        _show(axes[i][0], images[i], titles[i])
        for j, (name, maps) in enumerate(columns.items(), start=1):
            m = maps[i]
            _show(axes[i][j], m / m.max().clamp_min(1e-12), name if i == 0 else "")
    return fig


def pick_examples(
    predicted: torch.Tensor, labels: torch.Tensor, n_images: int = 16, n_wrong: int = 6
) -> list[int]:
    """Test-set indices to show, in index order: the first ``n_wrong`` mistakes, then the
    first right image of each class, then further images, until ``n_images``.

    Args:
        predicted, labels: int64 ``(N,)`` each, the model's class and the true one.
    """
    wrong = (predicted != labels).nonzero().flatten().tolist()[:n_wrong]
    chosen, seen = list(wrong), set()
    for i in (predicted == labels).nonzero().flatten().tolist():
        if len(chosen) == n_images:
            break
        if int(labels[i]) not in seen:
            seen.add(int(labels[i]))
            chosen.append(i)
    spare = [i for i in range(len(labels)) if i not in chosen]
    chosen += spare[: n_images - len(chosen)]
    return sorted(chosen)


def plot_cam_overlays(
    images: torch.Tensor, maps: torch.Tensor, titles: Sequence[str], ncols: int = 8
) -> Figure:
    """Each map over its image, ``ncols`` to a row: uint8 images ``(B, 3, H, W)``, maps
    ``(B, H, W)`` (each scaled to its own peak, inferno at 55% opacity)."""
    nrows = -(-len(images) // ncols)
    fig = Figure(
        figsize=(COLUMN_INCHES, (COLUMN_INCHES / ncols + 0.3) * nrows),
        layout="constrained",
    )
    axes = fig.subplots(nrows, ncols, squeeze=False).flatten()
    for ax, image, cam, title in zip(axes, images, maps, titles):
        _show(ax, image, title)
        ax.title.set_fontsize(7)
        ax.imshow(
            (cam / cam.max().clamp_min(1e-12)).cpu().numpy(), cmap="inferno", alpha=0.55
        )
    for ax in axes[len(images) :]:
        ax.axis("off")
    return fig


def plot_transfer(results: Mapping[str, Any]) -> Figure:
    """Accuracy of probe, fine-tuning and scratch per label budget: mean, and each seed as a dot."""
    kinds = (
        ("probe", "linear probe on frozen features"),
        ("finetune", "fine-tuned"),
        ("scratch", "from scratch"),
    )
    fig = Figure(figsize=(COLUMN_INCHES * 0.7, 3.0), layout="constrained")
    ax = fig.subplots()
    budgets = list(results)
    width = 0.8 / len(kinds)
    for k, (key, label) in enumerate(kinds):
        for b, n in enumerate(budgets):
            r = results[n][key]
            x = b + (k - 1) * width
            ax.bar(
                x,
                100 * r["mean"],
                width * 0.9,
                color=f"C{k}",
                label=label if b == 0 else None,
            )
            ax.plot([x] * len(r["values"]), [100 * v for v in r["values"]], "k.", ms=4)
    ax.set_xticks(
        range(len(budgets)), [f"{results[n]['labels']} labels" for n in budgets]
    )
    ax.set_ylabel("test accuracy on the 5 new classes (%)")
    ax.set_ylim(0, 100)
    ax.axhline(20, color="0.5", lw=0.8, ls=":")
    ax.legend(fontsize=9, loc="upper left")
    return fig
