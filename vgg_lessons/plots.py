"""Figures for the book: each function returns a ``matplotlib.figure.Figure``.

Functions never call ``plt.show()``: a notebook displays the returned figure, a
script saves it. Chapters add their figures below, each in its own section.
"""

from __future__ import annotations

# ---- Receptive fields (chapter 1) ------------------------------------------------------

# ---- Building VGG (chapter 2) ----------------------------------------------------------

# ---- Batch norm and training (chapters 3 and 4) ---------------------------------------

# ---- Feature maps and filters (chapter 6) ----------------------------------------------
