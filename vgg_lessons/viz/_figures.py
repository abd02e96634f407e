"""The book's figure policy, in one place: sized for the text column, readable fonts (private).

Every public plot function is decorated with :func:`column_figure`. It draws the
figure with 11-12 pt fonts, and then makes sure of the two things a reader needs:
the figure is at most :data:`COLUMN_INCHES` wide (so the page never shrinks it,
and its text, below the size it was drawn at), and no text in it is smaller than
:data:`MIN_POINTS`.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, TypeVar, cast

import matplotlib
from matplotlib.figure import Figure
from matplotlib.text import Text

#: Width of the book's text column, in inches: a figure this wide is shown at its size.
COLUMN_INCHES = 7.0
#: Smallest font size in a figure, in points.
MIN_POINTS = 11.0
#: Font sizes the figures are drawn with (titles 12 pt, everything else 11 pt).
FONTS: dict[str, Any] = {
    "font.size": 11,
    "axes.titlesize": 12,
    "axes.labelsize": 11,
    "xtick.labelsize": 11,
    "ytick.labelsize": 11,
    "legend.fontsize": 11,
    "figure.titlesize": 12,
    "legend.title_fontsize": 11,
}

F = TypeVar("F", bound=Callable[..., Figure])


def fit_column(fig: Figure) -> Figure:
    """Cap ``fig``'s width at the column (height kept) and raise any text below MIN_POINTS."""
    width, height = fig.get_size_inches()
    if width > COLUMN_INCHES:
        fig.set_size_inches(COLUMN_INCHES, height)
    for text in fig.findobj(Text):
        if float(text.get_fontsize()) < MIN_POINTS:
            text.set_fontsize(MIN_POINTS)
    return fig


def column_figure(plot: F) -> F:
    """Decorator: run a plot function under :data:`FONTS`, then :func:`fit_column` its figure."""

    @functools.wraps(plot)
    def draw(*args, **kwargs) -> Figure:
        with matplotlib.rc_context(cast(Any, FONTS)):
            fig = plot(*args, **kwargs)
        return fit_column(fig)

    return draw  # type: ignore[return-value]
