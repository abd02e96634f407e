"""Figures of the depth grids (the depth chapter): accuracy, time and accuracy per compute
against depth, and the start problem's loss curves and signal spreads.

Each function takes the rows of :mod:`vgg_lessons.train.grid_records`, returns a
``matplotlib.figure.Figure`` and never calls ``show``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from matplotlib.figure import Figure

from vgg_lessons.viz._figures import column_figure


@column_figure
def plot_depth_grid(
    summary: Sequence[Mapping[str, Any]], records: Sequence[Mapping[str, Any]] = ()
) -> Figure:
    """Three panels against depth: test accuracy (mean, each seed as a dot, min-max bar),
    training time per run (CPU seconds; wall seconds dashed), and accuracy per 10^12
    training multiply-accumulates.

    ``summary``: the rows of :func:`vgg_lessons.train.grid_records.depth_summary`;
    ``records``: the depth records, for the per-seed dots."""
    fig = Figure(figsize=(9, 3))
    acc, time, per = fig.subplots(1, 3)
    depths = [row["depth"] for row in summary]
    acc.errorbar(
        depths,
        [100 * r["acc_mean"] for r in summary],
        yerr=[
            [100 * (r["acc_mean"] - r["acc_min"]) for r in summary],
            [100 * (r["acc_max"] - r["acc_mean"]) for r in summary],
        ],
        marker="o",
        capsize=3,
        label="mean (bar: min-max)",
    )
    seeds = [
        (r["depth"], 100 * r["test_acc"])
        for r in records
        if r.get("grid") == "depth" and r.get("test_acc") is not None
    ]
    if seeds:
        acc.scatter(*zip(*seeds), s=10, color="grey", zorder=3, label="one seed")
    acc.set(xlabel="depth (weight layers)", ylabel="test accuracy (%)", xticks=depths)
    acc.legend(fontsize=7)
    time.plot(
        depths, [r["cpu_seconds_mean"] for r in summary], marker="o", label="CPU s"
    )
    time.plot(
        depths,
        [r["seconds_mean"] for r in summary],
        marker="o",
        linestyle="--",
        label="wall s",
    )
    time.set(xlabel="depth (weight layers)", ylabel="seconds per run", xticks=depths)
    time.legend(fontsize=7)
    per.plot(depths, [100 * r["acc_per_tmac"] for r in summary], marker="o")
    per.set(
        xlabel="depth (weight layers)",
        ylabel="accuracy (%) per 10¹² MACs",
        xticks=depths,
    )
    fig.tight_layout()
    return fig


@column_figure
def plot_start_problem(records: Sequence[Mapping[str, Any]]) -> Figure:
    """Left: every start-grid run's training loss, step by step (one colour per
    initialisation, one line style per depth). Right: each stage's output spread at
    initialisation (log scale), same colours and styles."""
    fig = Figure(figsize=(9, 3.2))
    loss, spread = fig.subplots(1, 2)
    inits = sorted({r["init"] for r in records if r.get("grid") == "start"})
    depths = sorted({r["depth"] for r in records if r.get("grid") == "start"})
    colours = {init: f"C{i}" for i, init in enumerate(inits)}
    styles = dict(zip(depths, ["-", "--", "-.", ":"]))
    for r in records:
        if r.get("grid") != "start":
            continue
        ys = [v for row in r["metrics"] for v in row["step_losses"]]
        label = f"{r['init']}, {r['depth']} layers"
        loss.plot(
            range(1, len(ys) + 1),
            ys,
            color=colours[r["init"]],
            linestyle=styles[r["depth"]],
            linewidth=1,
            label=label,
        )
        spread.plot(
            range(1, 6),
            r["signal_at_init"]["activation_std"],
            marker="o",
            color=colours[r["init"]],
            linestyle=styles[r["depth"]],
            label=label,
        )
    loss.set(xlabel="step", ylabel="training loss (nats)")
    spread.set(
        xlabel="stage",
        ylabel="output std at initialisation",
        yscale="log",
        xticks=range(1, 6),
    )
    spread.legend(fontsize=6, ncol=2)
    fig.tight_layout()
    return fig
