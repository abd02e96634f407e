"""editions --out: it touches only the files it wrote, and bad input is one line.

The content of the editions is tested in ``test_editions.py``; here: the output folder
(a manifest of what was written; other notebooks there are never removed), empty or
unusable paths, and a broken ``_toc.yml`` or notebook.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from vgg_lessons.publishing import editions


REPO = Path(__file__).resolve().parents[1]


def _book(root: Path, chapters: list[str] = ["01_first"]) -> Path:  # noqa: B006
    """A tiny repository: ``_toc.yml``, an intro page and one small notebook a chapter."""
    (root / "book").mkdir(parents=True)
    (root / "book" / "intro.md").write_text("# Intro\n")
    for name in ("_config.yml", "pyproject.toml"):  # the repository url, the package name
        (root / name).write_text((REPO / name).read_text(encoding="utf-8"))
    entries = "".join(f"  - file: book/{c}\n" for c in chapters)
    (root / "_toc.yml").write_text(
        f"format: jb-book\nroot: book/intro\nchapters:\n{entries}"
    )
    for c in chapters:
        nb = dict(
            nbformat=4,
            nbformat_minor=5,
            metadata={},
            cells=[
                dict(cell_type="markdown", id="t", metadata={}, source=f"# {c}"),
                dict(
                    cell_type="code",
                    id="c",
                    metadata={},
                    execution_count=None,
                    outputs=[],
                    source="x = 1",
                ),
            ],
        )
        (root / "book" / f"{c}.ipynb").write_text(json.dumps(nb))
    return root


def _error(argv: list[str], capsys: pytest.CaptureFixture) -> str:
    with pytest.raises(SystemExit) as exit_info:
        editions.main(argv)
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err
    return err.strip().splitlines()[-1]


def test_notebooks_it_did_not_write_are_never_removed(tmp_path: Path) -> None:
    root = _book(tmp_path / "repo", ["01_first", "02_second"])
    course = tmp_path / "course"
    mine = [
        course / "student" / "my_work.ipynb",
        course / "teacher" / "graded" / "a.ipynb",
    ]
    for path in mine:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("{}")
    assert editions.main(["--out", str(course), "--root", str(root)]) == 0
    assert all(p.read_text() == "{}" for p in mine)
    assert (course / "student" / "02_second.ipynb").is_file()
    # the book drops a chapter: its editions go (this command wrote them), the rest stays
    (root / "_toc.yml").write_text(
        "root: book/intro\nchapters:\n  - file: book/01_first\n"
    )
    assert editions.main(["--out", str(course), "--root", str(root)]) == 0
    assert not (course / "student" / "02_second.ipynb").exists()
    assert (course / "student" / "01_first.ipynb").is_file()
    assert all(p.read_text() == "{}" for p in mine)


def test_a_missing_chapter_is_an_error_and_nothing_is_touched(
    tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    root = _book(tmp_path / "repo")
    course = tmp_path / "course"
    (course / "student").mkdir(parents=True)
    (course / "student" / "01_first.ipynb").write_text("{}")
    (root / "_toc.yml").write_text(
        "root: book/intro\nchapters:\n  - file: book/01_first\n  - file: book/08_missing\n"
    )
    line = _error(["--out", str(course), "--root", str(root)], capsys)
    assert "lists book/08_missing" in line and "08_missing.ipynb" in line
    assert (course / "student" / "01_first.ipynb").read_text() == "{}"


@pytest.mark.parametrize(
    "toc, message",
    [
        ("root: [unclosed\n", "is not valid YAML"),
        ("chapters:\n  - file: book/01_first\n", "has no root: entry"),
        ("just text\n", "has no root: entry"),
    ],
)
def test_a_broken_toc_is_one_line(
    tmp_path: Path, toc: str, message: str, capsys: pytest.CaptureFixture
) -> None:
    root = _book(tmp_path / "repo")
    (root / "_toc.yml").write_text(toc)
    line = _error(["--out", str(tmp_path / "out"), "--root", str(root)], capsys)
    assert message in line and "_toc.yml" in line
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize(
    "text, message",
    [
        ("{not json", "invalid JSON"),
        (json.dumps(dict(cells=[dict(cell_type="code")])), "each with a source"),
        (json.dumps([1, 2]), "a list of cells"),
    ],
)
def test_a_broken_notebook_is_one_line(
    tmp_path: Path, text: str, message: str, capsys: pytest.CaptureFixture
) -> None:
    root = _book(tmp_path / "repo")
    (root / "book" / "01_first.ipynb").write_text(text)
    line = _error(["--out", str(tmp_path / "out"), "--root", str(root)], capsys)
    assert message in line and "01_first.ipynb" in line


@pytest.mark.parametrize(
    "where, message",
    [
        ("", "names no folder"),
        (".", "names no folder"),
        ("FILE", "is a file"),
        ("FILE/below", "is a file"),
        ("LONG", "cannot write under --out"),
    ],
)
def test_unusable_out_paths_are_one_line(
    tmp_path: Path,
    where: str,
    message: str,
    capsys: pytest.CaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    root = _book(tmp_path / "repo")
    (tmp_path / "FILE").write_text("a file")
    out = {"LONG": str(tmp_path / ("x" * 300)), "": ""}.get(
        where, str(tmp_path / where)
    )
    monkeypatch.chdir(tmp_path / "repo")
    line = _error(["--out", out if where != "." else ".", "--root", str(root)], capsys)
    assert message in line
    assert sorted(p.name for p in (tmp_path / "repo").iterdir()) == [
        "_config.yml",
        "_toc.yml",
        "book",
        "pyproject.toml",
    ]


def test_a_read_only_out_folder_is_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Tests run as root, for whom every folder is writable: the check is asked directly."""
    import os

    root = _book(tmp_path / "repo")
    real_access = os.access
    monkeypatch.setattr(
        os, "access", lambda p, m: Path(p) != tmp_path and real_access(p, m)
    )
    line = _error(["--out", str(tmp_path / "out"), "--root", str(root)], capsys)
    assert f"{tmp_path} is not writable" in line
