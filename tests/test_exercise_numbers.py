"""Exercises are numbered per chapter (Exercise 2.1, ...), not across the book."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from vgg_lessons.publishing.exercise_numbers import chapter_number, renumber


def test_chapter_number_comes_from_the_file_name():
    assert chapter_number("book/02_building_vgg") == 2
    assert chapter_number("book/10_more") == 10
    assert chapter_number("book/intro") is None


def test_renumber_counts_each_page_from_one_in_page_order():
    numbers = {
        "book/01_a": {"exercise": {"ex-1": (1,), "ex-2": (2,)}, "figure": {"f": (1,)}},
        "book/02_b": {"exercise": {"ex-3": (3,), "ex-4": (4,), "ex-5": (5,)}},
        "book/intro": {"exercise": {"ex-6": (6,)}},
    }
    assert renumber(numbers) == ["book/01_a", "book/02_b", "book/intro"]
    assert numbers["book/01_a"]["exercise"] == {"ex-1": (1, 1), "ex-2": (1, 2)}
    assert numbers["book/02_b"]["exercise"] == {"ex-3": (2, 1), "ex-4": (2, 2), "ex-5": (2, 3)}
    assert numbers["book/intro"]["exercise"] == {"ex-6": (1,)}
    assert numbers["book/01_a"]["figure"] == {"f": (1,)}  # other types untouched
    assert renumber(numbers) == []  # a second run changes nothing


def test_a_sphinx_build_shows_per_chapter_numbers(tmp_path: Path):
    sphinx_app = pytest.importorskip("sphinx.application")
    pytest.importorskip("sphinx_exercise")
    src = tmp_path / "src"
    (src / "book").mkdir(parents=True)
    (src / "conf.py").write_text(
        "extensions = ['sphinx_exercise', 'vgg_lessons.publishing.exercise_numbers']\n"
    )
    (src / "index.rst").write_text(
        "Book\n====\n\n.. toctree::\n\n   book/01_a\n   book/02_b\n"
    )
    for number, name in [(1, "01_a"), (2, "02_b")]:
        body = "".join(
            f".. exercise:: Question {i}\n   :label: ex-{number}-{i}\n\n   Why?\n\n"
            for i in (1, 2)
        )
        (src / "book" / f"{name}.rst").write_text(f"Chapter {number}\n=========\n\n{body}")
    app = sphinx_app.Sphinx(str(src), str(src), str(tmp_path / "html"),
                            str(tmp_path / "doctrees"), "html", status=None, warning=None)
    app.build()
    page = (tmp_path / "html" / "book" / "02_b.html").read_text()
    numbers = re.findall(r"Exercise (\d+(?:\.\d+)*)", page)
    assert numbers[:2] == ["2.1", "2.2"], numbers
