"""Figures for the book: each function returns a ``matplotlib.figure.Figure``.

Functions never call ``plt.show()``: a notebook displays the returned figure, a
script saves it. This module holds the figures of receptive fields and of the
builder (chapters 1 and 2) and re-exports, by topic, those of training
(:mod:`vgg_lessons.viz.training_plots`, chapters 3 and 4) and of feature maps and
filters (:mod:`vgg_lessons.viz.feature_plots`, chapter 6), so ``plots.X`` finds every figure.
"""

from __future__ import annotations

from typing import cast

from matplotlib.figure import Figure
from matplotlib.patches import Rectangle

from vgg_lessons.viz._figures import column_figure

# ---- Receptive fields (chapter 1) ------------------------------------------------------


def _field_members(specs, top_unit: int) -> list[set[int]]:
    """Indices, per row (input first), of the units that ``top_unit`` of the last layer reads."""
    members = [{top_unit}]
    for spec in reversed(specs):
        below = {
            i * spec.stride - spec.padding + t * spec.dilation
            for i in members[0]
            for t in range(spec.kernel)
        }
        members.insert(0, below)
    return members


@column_figure
def rf_diagram_1d(
    specs, input_size: int, unit: int | None = None, title: str | None = None
) -> Figure:
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
        raise ValueError(
            "no layers to draw: pass a list of LayerSpec, input side first"
        )
    table = rf_table(
        specs, input_size=input_size
    )  # ValueError if the input is too small
    rows = list(table)
    top = rows[-1]
    sizes = [cast(int, r.out_size) for r in rows]  # known: rf_table got input_size
    last_size = sizes[-1]
    unit = last_size // 2 if unit is None else unit
    if not 0 <= unit < last_size:
        raise ValueError(
            f"unit {unit} is outside the last layer's {last_size} outputs; "
            f"choose 0 to {last_size - 1}"
        )
    members = _field_members(specs, unit)
    # (size, jump, start) of every row, input first
    geometry = [(input_size, 1, 0.0)] + [
        (n, r.jump, r.start) for n, r in zip(sizes, rows)
    ]

    fig = Figure(
        figsize=(min(7.0, max(5.0, 0.28 * input_size + 2)), 0.6 * len(geometry) + 1.4),
        layout="constrained",
    )
    ax = fig.subplots()
    for level, ((size, jump, start), chosen) in enumerate(zip(geometry, members)):
        width = 0.8 * min(jump, 1.6) if level else 0.8
        for i in sorted(chosen | set(range(size))):
            x = start + i * jump
            padding = not 0 <= i < size
            filled = i in chosen and not padding
            ax.add_patch(
                Rectangle(
                    (x - width / 2, level - 0.3),
                    width,
                    0.6,
                    facecolor="tab:orange" if filled else "white",
                    edgecolor="tab:gray" if padding else "black",
                    linestyle="--" if padding else "-",
                    linewidth=0.8,
                )
            )
        if level:  # lines from each chosen unit to the units it reads
            spec = specs[level - 1]
            low_size, low_jump, low_start = geometry[level - 1]
            for i in chosen:
                for t in range(spec.kernel):
                    j = i * spec.stride - spec.padding + t * spec.dilation
                    ax.plot(
                        [start + i * jump, low_start + j * low_jump],
                        [level - 0.3, level - 0.7],
                        color="tab:orange",
                        linewidth=0.6,
                        alpha=0.7,
                    )
    inputs = sorted(i for i in members[0] if 0 <= i < input_size)
    lo, hi = min(members[0]), max(members[0])
    ax.annotate(
        "",
        xy=(lo - 0.5, -0.55),
        xytext=(hi + 0.5, -0.55),
        arrowprops=dict(arrowstyle="<->", color="tab:red"),
    )
    label = f"receptive field: {hi - lo + 1} pixels"
    inside = min(hi, input_size - 1) - max(lo, 0) + 1
    if inside < hi - lo + 1:
        label += f", {inside} of them inside the image"
    if len(inputs) < inside:
        label += f"; {len(inputs)} pixels are read, the rest fall in dilation gaps"
    ax.text((lo + hi) / 2, -0.95, label, ha="center", va="top", color="tab:red")
    xs = [
        start + i * jump
        for (size, jump, start), m in zip(geometry, members)
        for i in m | {0, size - 1}
    ]
    ax.set_xlim(min(xs) - 1, max(xs) + 1)
    ax.set_ylim(-1.5, len(geometry) - 0.4)
    ax.set_yticks(range(len(geometry)), ["input"] + [r.name for r in rows])
    ax.set_xlabel("input pixel")
    for side in ("top", "right", "left"):
        ax.spines[side].set_visible(False)
    ax.set_title(title or f"unit {unit} of {top.name} sees {top.rf} input pixels")
    return fig


@column_figure
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
        raise ValueError(
            "the table has no convolution or pooling rows to plot; build it with "
            "rf_table(specs) or layer_table(model, input_size)"
        )
    fig = Figure(figsize=(7, 4.5), layout="constrained")
    ax = fig.subplots()
    x = range(len(rows))
    colours = ["tab:blue" if r.kind == "conv" else "tab:gray" for r in rows]
    ax.bar(x, [r.rf for r in rows], color=colours, label="receptive field")
    ax.plot(x, [r.jump for r in rows], "o-", color="tab:orange", label="jump")
    ax.set_yscale("log", base=2)
    ax.set_xticks(list(x), [r.name for r in rows], rotation=70)
    ax.set_ylabel("input pixels")
    ax.legend(loc="upper left")
    ax.set_title(title)
    return fig


@column_figure
def effective_rf_map(
    erf, rf: int | None = None, title: str | None = None, *, centre: float | None = None
) -> Figure:
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
    values = np.asarray(
        erf.detach().cpu() if hasattr(erf, "detach") else erf, dtype=float
    )
    if values.ndim != 2:
        raise ValueError(f"erf must be an (H, W) map, got shape {values.shape}")
    values = values / values.max() if values.max() > 0 else values
    h, w = values.shape
    cy = cx = (h - 1) / 2 if centre is None else centre
    fig = Figure(
        figsize=(6, 8), layout="constrained"
    )  # in rows: the map, then its profile
    left, right = fig.subplots(2, 1, gridspec_kw=dict(height_ratios=[1.5, 1]))
    image = left.imshow(values, cmap="magma")
    left.add_patch(
        Rectangle(
            (cx - rf / 2, cy - rf / 2),
            rf,
            rf,
            fill=False,
            edgecolor="tab:cyan",
            linestyle="--",
            linewidth=1.5,
        )
    )
    left.set_xlim(-0.5, w - 0.5)
    left.set_ylim(h - 0.5, -0.5)
    left.set_title("gradient magnitude; dashed: theoretical field")
    fig.colorbar(image, ax=left, shrink=0.8, label="relative gradient")
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


@column_figure
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
        raise ValueError(
            "the table has no rows; build it with layer_stats(model, input_size)"
        )
    names = list(totals)
    panels = [
        ("params", 1e6, "parameters (millions)", "tab:blue"),
        ("macs", 1e9, "MACs (billions)", "tab:orange"),
        ("activation_bytes", 2**20, "activations (MiB)", "tab:green"),
    ]
    fig = Figure(figsize=(7, 7), layout="constrained")
    for ax, (key, scale, label, colour) in zip(fig.subplots(3, 1, sharex=True), panels):
        values = [totals[n][key] / scale for n in names]
        ax.bar(names, values, color=colour)
        ax.set_ylabel(label)
        total = sum(values)
        for i, v in enumerate(values):
            share = 100 * v / total if total else 0.0
            ax.text(i, v, f"{share:.0f}%", ha="center", va="bottom")
        ax.margins(y=0.2)
    if title:
        fig.suptitle(title)
    return fig
