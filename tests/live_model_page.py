"""A small page with only the live-model explorer, laid out as in the built book.

Shared by tests/test_live_model_browser.py and benchmarks/live_model_forward.py: building
the whole book takes minutes, this takes seconds. The page loads the book's own scripts
(``explorers-model.js`` and the core ``explorers.js``) from ``_static/vgg-lessons/`` and
the data from ``_explorers/model.js``, written by ``model_data.write_model_data``.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import torch

from vgg_lessons.publishing.site import STATIC, model_data

PAGE = "book/live-model.html"
HTML = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Live model</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="../_static/vgg-lessons/explorers.css">
<script defer src="../_static/vgg-lessons/explorers.js"></script>
<script defer src="../_static/vgg-lessons/explorers-model.js"></script>
</head><body>
<div class="vgg-explorer" data-explorer="live-model">
<p class="vgg-explorer-status">Loading</p></div>
</body></html>
"""


def write_page(
    folder: Path, model: torch.nn.Module, images_u8: torch.Tensor, labels: list[int]
) -> Path:
    """Write the page, the scripts and ``model.js`` into ``folder``; return the page's path."""
    static = folder / "_static" / "vgg-lessons"
    static.mkdir(parents=True, exist_ok=True)
    for name in ("explorers.js", "explorers-model.js", "explorers.css"):
        shutil.copy(STATIC / "vgg-lessons" / name, static / name)
    model_data.write_model_data(folder / "_explorers", model, images_u8, labels)
    page = folder / PAGE
    page.parent.mkdir(parents=True, exist_ok=True)
    page.write_text(HTML, encoding="utf-8")
    return page
