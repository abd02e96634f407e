"""Figures of the depth grids (the depth chapter): accuracy, time and accuracy per compute
against depth, and the start problem's loss curves and signal spreads.

Each function takes the rows or records of :mod:`vgg_lessons.train.grid_records`,
returns a ``matplotlib.figure.Figure`` sized for the book's column and never calls
``show``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

from matplotlib import colormaps
from matplotlib.figure import Figure

from vgg_lessons.viz._figures import column_figure

#: The start grid's initialisations, in the order the figures show them, with labels.
INIT_LABELS = {"paper": "paper (std 0.1)", "glorot": "Glorot", "he_fan_in": "He fan-in"}
#: Losses above this many nats are drawn at the top edge of the loss panels.
LOSS_CEILING = 2 * math.log(10)


@column_figure
def plot_depth_grid(
    summary: Sequence[Mapping[str, Any]], records: Sequence[Mapping[str, Any]] = ()
) -> Figure:
    """Three panels against depth: test accuracy (mean over seeds, each seed a grey dot),
    training time per run in minutes (CPU time, and wall time dashed), and accuracy per
    10^12 training multiply-accumulates.

    ``summary``: the rows of :func:`vgg_lessons.train.grid_records.depth_summary`;
    ``records``: the depth records, for the per-seed dots."""
    fig = Figure(figsize=(7, 3.3), layout="constrained")
    acc, time, per = fig.subplots(1, 3)
    depths = [row["depth"] for row in summary]
    acc.plot(depths, [100 * r["acc_mean"] for r in summary], marker="o", label="mean")
    seeds = [
        (r["depth"], 100 * r["test_acc"])
        for r in records
        if r.get("grid") == "depth" and r.get("test_acc") is not None
    ]
    if seeds:
        acc.scatter(*zip(*seeds), s=14, color="grey", zorder=3, label="one seed")
    acc.set(title="test accuracy", ylabel="%")
    time.plot(
        depths,
        [r["cpu_seconds_mean"] / 60 for r in summary],
        marker="o",
        color="C1",
        label="CPU time",
    )
    time.plot(
        depths,
        [r["seconds_mean"] / 60 for r in summary],
        marker="o",
        color="C1",
        linestyle="--",
        label="wall time",
    )
    time.set(title="time per run", ylabel="minutes")
    per.plot(depths, [100 * r["acc_per_tmac"] for r in summary], marker="o", color="C2")
    per.set(title="accuracy per compute", ylabel="% per 10¹² MACs")
    for ax in (acc, time, per):
        ax.set(xlabel="weight layers", xticks=depths)
    handles = [h for ax in (acc, time) for h in ax.get_legend_handles_labels()[0]]
    fig.legend(handles=handles, loc="outside lower center", ncol=len(handles))
    return fig


def _start_runs(records: Sequence[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    return [r for r in records if r.get("grid") == "start"]


@column_figure
def plot_start_losses(records: Sequence[Mapping[str, Any]]) -> Figure:
    """The start grid's training loss step by step, one panel per depth, one colour per
    initialisation; the dotted line is a uniform guess's loss, ln 10. A run that
    diverged ends where its record's steps end and says so in its panel; losses above
    :data:`LOSS_CEILING` are drawn at the top edge (marked by a triangle)."""
    runs = _start_runs(records)
    depths = sorted({r["depth"] for r in runs})
    fig = Figure(figsize=(7, 4.6), layout="constrained")
    axes = fig.subplots(2, 2, sharex=True, sharey=True).flatten()
    for ax, depth in zip(axes, depths):
        for i, (init, label) in enumerate(INIT_LABELS.items()):
            for r in runs:
                if r["depth"] != depth or r["init"] != init:
                    continue
                ys = [v for row in r["metrics"] for v in row["step_losses"]]
                first = r["signal_at_init"]["loss"] if r.get("signal_at_init") else None
                if not ys and first is not None:
                    ys = [first]
                clipped = [min(y, LOSS_CEILING) for y in ys]
                ax.plot(
                    range(len(ys)), clipped, color=f"C{i}", linewidth=1, label=label
                )
                if any(y > LOSS_CEILING or y != y for y in ys):
                    ax.plot(0, LOSS_CEILING, marker="^", color=f"C{i}", clip_on=False)
                if r.get("diverged"):
                    ax.text(
                        0.97,
                        0.08 + 0.12 * i,
                        f"{label}: diverged",
                        color=f"C{i}",
                        ha="right",
                        transform=ax.transAxes,
                    )
        ax.axhline(math.log(10), color="grey", linestyle=":", linewidth=1)
        ax.set(title=f"VGG-{depth}, no BN", ylim=(0, LOSS_CEILING * 1.02))
    for ax in axes[len(depths) :]:
        ax.set_visible(False)
    for ax in axes[::2]:
        ax.set(ylabel="training loss")
    for ax in axes[2:]:
        ax.set(xlabel="step")
    handles, labels = axes[0].get_legend_handles_labels()
    unique = dict(zip(labels, handles))
    fig.legend(unique.values(), unique.keys(), loc="outside lower center", ncol=3)
    return fig


@column_figure
def plot_start_spread(records: Sequence[Mapping[str, Any]]) -> Figure:
    """Each stage's output spread at initialisation (standard deviation of its last
    ReLU's output, log scale), one panel per initialisation, one line per depth (darker:
    shallower)."""
    runs = _start_runs(records)
    depths = sorted({r["depth"] for r in runs})
    styles = dict(zip(depths, ["-", "--", "-.", ":"]))
    shades = colormaps["viridis"]
    colours = {
        d: shades(0.85 * i / max(len(depths) - 1, 1)) for i, d in enumerate(depths)
    }
    fig = Figure(figsize=(7, 3.2), layout="constrained")
    axes = fig.subplots(1, 3, sharey=True)
    for ax, (init, label) in zip(axes, INIT_LABELS.items()):
        for r in runs:
            if r["init"] == init and r.get("signal_at_init"):
                ax.plot(
                    range(1, 6),
                    r["signal_at_init"]["activation_std"],
                    marker="o",
                    color=colours[r["depth"]],
                    linestyle=styles[r["depth"]],
                    label=f"VGG-{r['depth']}",
                )
        ax.set(title=label, xlabel="stage", yscale="log", xticks=range(1, 6))
    axes[0].set(ylabel="output std")
    handles, labels = axes[0].get_legend_handles_labels()
    unique = dict(zip(labels, handles))
    fig.legend(
        unique.values(), unique.keys(), loc="outside lower center", ncol=len(unique)
    )
    return fig
