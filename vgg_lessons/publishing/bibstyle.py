"""A Sphinx extension: the reference list labels entries by author and year.

The chapters cite author-year (``bibtex_reference_style: author_year``), so the list
on the references page shows the same labels, "Simonyan and Zisserman, 2015" or
"Luo et al., 2016", sorted by author, instead of pybtex's alpha labels ("SZ15").
List ``vgg_lessons.publishing.bibstyle`` under ``sphinx: extra_extensions`` in ``_config.yml``;
it registers the pybtex style ``author_year`` and makes it the default style of
every ``{bibliography}``. Only the book build imports this module.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

from pybtex.plugin import register_plugin
from pybtex.style.formatting.unsrt import Style as UnsrtStyle
from pybtex.style.labels import BaseLabelStyle


def _surname(person: Any) -> str:
    parts = person.rich_prelast_names + person.rich_last_names
    return " ".join(part.render_as("text") for part in parts)


def author_year_label(entry: Any) -> str:
    """``"Krizhevsky, 2009"``, ``"Simonyan and Zisserman, 2015"``, ``"Luo et al., 2016"``."""
    people = entry.persons.get("author") or entry.persons.get("editor") or []
    names = [_surname(p).replace("{", "").replace("}", "") for p in people]
    if not names:
        who = entry.fields.get("key", entry.key)
    elif len(names) == 1:
        who = names[0]
    elif len(names) == 2:
        who = f"{names[0]} and {names[1]}"
    else:
        who = f"{names[0]} et al."
    return f"{who}, {entry.fields.get('year', 'n.d.')}"


class AuthorYearLabelStyle(BaseLabelStyle):
    """Author-year labels; two entries with the same label get 2016a, 2016b."""

    def format_labels(self, sorted_entries: Iterable[Any]) -> Iterator[str]:
        entries = list(sorted_entries)
        labels = [author_year_label(e) for e in entries]
        seen: dict[str, int] = {}
        for label in labels:
            if labels.count(label) > 1:
                seen[label] = seen.get(label, 0) + 1
                yield label + "abcdefghijklmnopqrstuvwxyz"[seen[label] - 1]
            else:
                yield label


class AuthorYearStyle(UnsrtStyle):
    """pybtex's ``unsrt`` entries, labelled by author and year, sorted by author."""

    default_label_style = AuthorYearLabelStyle
    default_sorting_style = "author_year_title"


def _use_author_year(app: Any, config: Any) -> None:
    config.bibtex_default_style = "author_year"


def setup(app: Any) -> dict[str, Any]:
    register_plugin(
        "pybtex.style.formatting", "author_year", AuthorYearStyle, force=True
    )
    app.connect("config-inited", _use_author_year)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
