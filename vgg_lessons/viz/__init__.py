"""Figures and explorers: every figure function of the book and the ipywidgets explorers.

Holds ``plots`` (receptive fields and architecture), ``training_plots``, ``feature_plots``,
``paper_figures``, ``depth_plots`` (the depth grids), ``widgets`` and ``rf_widgets``
(the ipywidgets explorers), and the
private ``_figures`` (the column policy), ``_images`` (renderers) and ``_explorers``. May
import the theory, ``train`` and ``probes``; never ``exercises`` or ``publishing``.
"""
