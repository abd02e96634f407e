"""Sphinx extension: number exercises per chapter (Exercise 2.1, 2.2, ...), not across the book.

sphinx-exercise numbers its exercises with Sphinx's figure numbering (``numfig``), which
counts across the whole book unless the table of contents is numbered (and this book's
chapter titles carry their own numbers). After Sphinx has assigned the numbers, this
extension renumbers each page's exercises from 1, prefixed with the chapter number that
starts the page's file name (``book/02_building_vgg`` -> 2.1, 2.2, ...). Pages without
a number (the introduction) count from 1.

Enabled in ``_config.yml`` (``sphinx.extra_extensions``).
"""

from __future__ import annotations

import re
from pathlib import PurePosixPath
from typing import Any

#: The enumerable type sphinx-exercise registers its numbered exercises under.
FIGTYPE = "exercise"


def chapter_number(docname: str) -> int | None:
    """The chapter number of a page (``book/02_building_vgg`` -> 2), or None."""
    match = re.match(r"(\d+)_", PurePosixPath(docname).name)
    return int(match.group(1)) if match else None


def renumber(fignumbers: dict[str, dict[str, dict[str, tuple[int, ...]]]]) -> list[str]:
    """Renumber every page's exercises in place, in page order; return the pages changed.

    Args:
        fignumbers: Sphinx's ``env.toc_fignumbers``: page -> type -> node id -> number.
    """
    changed = []
    for docname, types in fignumbers.items():
        numbers = types.get(FIGTYPE)
        if not numbers:
            continue
        prefix = chapter_number(docname)
        # dicts keep insertion order: Sphinx registered them walking the page top down
        new: dict[str, tuple[int, ...]] = {
            node_id: (prefix, i) if prefix is not None else (i,)
            for i, node_id in enumerate(numbers, start=1)
        }
        if new != numbers:
            types[FIGTYPE] = new
            changed.append(docname)
    return changed


def _env_get_updated(app: Any, env: Any) -> list[str]:
    return renumber(env.toc_fignumbers)


def setup(app: Any) -> dict[str, Any]:
    """Sphinx entry point: run after Sphinx's own figure numbering (priority 500)."""
    app.connect("env-get-updated", _env_get_updated, priority=900)
    return {"version": "1", "parallel_read_safe": True, "parallel_write_safe": True}
