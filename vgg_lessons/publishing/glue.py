"""``glue``: myst-nb's glue where myst-nb is installed, the same record where it is not.

The chapters glue every number their prose states (``glue("rf_pool5", rf)``, then
``{glue:text}`rf_pool5``` in markdown). myst-nb, which builds the book, is not a
dependency of the package, so the notebooks import ``glue`` from here. With myst-nb
present this is myst-nb's own function. Without it (Colab, plain Jupyter) it writes
the very output myst-nb writes: the value's display under myst-nb's record mime types
(which Jupyter does not show) when ``display=False``, and the plain display when
``display=True``. So a notebook's outputs are the same with or without the book
toolchain, and nbval can check them in either environment.
"""

from __future__ import annotations

from typing import Any

RECORD_PREFIX = "application/papermill.record/"  # myst-nb's GLUE_PREFIX


def glue(name: str, value: Any, display: bool = True) -> None:
    """Record ``value`` under ``name`` for the book's ``{glue}`` roles; show it if ``display``.

    Args:
        name: the key the markdown refers to (``{glue:text}`name```).
        value: any object; the book pastes what Jupyter would display for it.
        display: also show the value in the cell's output, as myst-nb does.
    """
    if not isinstance(name, str) or not name:
        raise ValueError(f"glue needs a non-empty string name, got {name!r}")
    try:
        from myst_nb import glue as myst_glue
    except ImportError:  # no book toolchain: write the output myst-nb would write
        from IPython.core.formatters import format_display_data
        from IPython.display import display as ipython_display

        bundle, metadata = format_display_data(value)
        prefix = "" if display else RECORD_PREFIX
        metadata["scrapbook"] = {"name": name, "mime_prefix": prefix}
        ipython_display(
            {prefix + k: v for k, v in bundle.items()}, raw=True, metadata=metadata
        )
        return
    myst_glue(name, value, display=display)
