"""The book's notebooks as editions for Jupyter and Colab, for students and for teachers.

    python -m vgg_lessons.publishing.editions --out editions     # regenerate every edition

The chapters in ``book/`` are written for Jupyter Book (MyST roles and directives,
committed outputs, solved exercises). From every notebook that ``_toc.yml`` lists,
this module writes three editions, outputs stripped:

- ``jupyter/book/NN_x.ipynb``: the chapter as Jupyter and Colab render it: glued
  numbers pasted from the committed outputs, admonitions as blockquotes, exercises as
  headed sections, solutions in ``<details>``, ``{doc}`` and ``{cite}`` as links. Its
  code cells are the book's. The book's Colab button opens this copy.
- ``student/NN_x.ipynb``: no solutions; each exercise's answer cell reads
  ``answer = ...`` under a one-line comment of what to compute, then its check cell.
- ``teacher/NN_x.ipynb``: nbgrader's source notebook: each answer is a solution cell
  (``### BEGIN SOLUTION`` / ``### END SOLUTION``, the written solution as comments),
  each check an autograded test cell worth one point.

An exercise's answer cell is the code cell that calls a check of
``vgg_lessons.exercises`` (``exercises.check_...(answer)``); its exercise is the
nearest ``{exercise}`` directive above it.
"""

from __future__ import annotations

import argparse
import ast
import copy
import json
import re
import sys
import textwrap
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from vgg_lessons.publishing._myst import (
    Context,
    first_question,
    parse_bibtex,
    split_directive,
    to_plain_markdown,
)
from vgg_lessons.train.checkpoints import check_writable

EDITIONS = ("jupyter", "student", "teacher")
UNANSWERED = "answer = ..."
Notebook = dict[str, Any]


@dataclass
class Exercise:
    """An exercise as its directive states it: label, title, question, written solution."""

    label: str
    title: str
    question: str
    solution: str


@dataclass
class AnswerCell:
    """A solved answer cell cut in three: imports, the answer itself, and the check."""

    setup: str
    answer: str
    check: str
    check_call: str  # ``exercises.check_x(answer, ...)``, the expression a test asserts


# ---- reading the book ------------------------------------------------------------------


def toc_entries(node: Any) -> Iterator[str]:
    """Every ``file:`` below a ``_toc.yml`` node, depth first (chapters, parts, sections)."""
    if isinstance(node, list):
        for item in node:
            yield from toc_entries(item)
    elif isinstance(node, dict):
        if "file" in node:
            yield node["file"]
        for value in node.values():
            if isinstance(value, list):
                yield from toc_entries(value)


def toc_notebooks(root: Path) -> list[Path]:
    """Every notebook ``_toc.yml`` lists, in book order (``root/book/01_x.ipynb``, ...).

    Raises:
        ValueError: ``_toc.yml`` is not YAML, has no ``root:``, or lists a page that
            is neither a notebook nor a Markdown file (the message names it).
    """
    toc = _read_toc(root / "_toc.yml")
    files = [toc["root"], *toc_entries(toc)]
    paths = []
    for f in files:
        base = root / str(f).removesuffix(".ipynb").removesuffix(".md")
        found = [base.with_name(base.name + s) for s in (".ipynb", ".md")]
        if not any(p.is_file() for p in found):
            raise ValueError(
                f"{root / '_toc.yml'} lists {f}, but there is no {found[0].name} or "
                f"{found[1].name} in {base.parent}; add the page or remove the entry"
            )
        paths.append(found[0])
    return [p for p in paths if p.is_file()]


def _read_toc(path: Path) -> dict[str, Any]:
    """``_toc.yml`` as a dict with a ``root:`` (ValueError, one line, if it is not one)."""
    import yaml  # the book toolchain's; only the generator needs it

    try:
        toc = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (yaml.YAMLError, UnicodeDecodeError) as err:
        detail = str(err).replace("\n", " ")
        raise ValueError(f"{path} is not valid YAML ({detail}); fix it") from None
    if not isinstance(toc, dict) or not toc.get("root"):
        raise ValueError(
            f"{path} has no root: entry (the book's first page, e.g. root: book/intro); "
            "add one"
        )
    return toc


def read_notebook(path: Path) -> Notebook:
    """A notebook file as its JSON dict (cell sources joined into one string)."""
    try:
        nb = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise ValueError(
            f"{path} is not a notebook (invalid JSON: {err}); restore it from git"
        ) from None
    cells = nb.get("cells") if isinstance(nb, dict) else None
    if not isinstance(cells, list) or not all(
        isinstance(c, dict) and "source" in c for c in cells
    ):
        raise ValueError(
            f"{path} is not a valid notebook: it needs a list of cells, each with a "
            "source; restore it from git or re-save it in Jupyter"
        )
    for cell in nb["cells"]:
        if isinstance(cell.get("source"), list):
            cell["source"] = "".join(cell["source"])
    return nb


def glued_values(nb: Notebook) -> dict[str, str]:
    """name -> the text myst-nb pastes for it, from the notebook's committed glue outputs."""
    values = {}
    for cell in nb["cells"]:
        for output in cell.get("outputs", []):
            record = output.get("metadata", {}).get("scrapbook")
            if not record:
                continue
            data = {
                k.removeprefix(record.get("mime_prefix", "")): v
                for k, v in output.get("data", {}).items()
            }
            text = data.get("text/markdown", data.get("text/plain"))
            values[record["name"]] = (
                "".join(text) if isinstance(text, list) else str(text)
            )
    return values


def notebook_title(nb: Notebook, fallback: str) -> str:
    """The text of the notebook's first markdown heading."""
    for cell in nb["cells"]:
        match = re.search(r"^#+\s+(.+)$", cell["source"], flags=re.M)
        if cell["cell_type"] == "markdown" and match:
            return match.group(1).strip()
    return fallback


def doc_targets(root: Path, notebooks: list[Path]) -> dict[str, tuple[str, str]]:
    """Every way a ``{doc}`` role may name a chapter -> (title, link to the edition's copy)."""
    docs = {}
    for path in notebooks:
        rel = path.relative_to(root).with_suffix("").as_posix()  # book/04_training
        entry = (notebook_title(read_notebook(path), path.stem), f"{path.stem}.ipynb")
        for name in {rel, f"/{rel}", path.stem, f"./{path.stem}"}:
            docs[name] = entry
    return docs


# ---- exercises -------------------------------------------------------------------------


def exercises_in(markdown: str, ctx: Context) -> list[Exercise]:
    """The exercises of one markdown cell, each with the solution that follows it."""
    lines, found, i = markdown.split("\n"), [], 0
    while i < len(lines):
        split = split_directive(lines, i)
        if not split:
            i += 1
            continue
        directive, i = split
        if directive.name in {"exercise", "exercise-start"}:
            found.append(
                Exercise(
                    directive.options.get("label", ""),
                    directive.arg,
                    first_question(directive.body, ctx),
                    "",
                )
            )
        elif directive.name in {"solution", "solution-start"} and found:
            found[-1].solution = to_plain_markdown(directive.body, ctx)
    return found


def is_check(node: ast.AST) -> bool:
    """Whether a statement calls a check (``exercises.check_x(...)`` or ``check_x(...)``)."""
    for sub in ast.walk(node):
        if isinstance(sub, ast.Call):
            func = sub.func
            name = (
                func.attr
                if isinstance(func, ast.Attribute)
                else getattr(func, "id", "")
            )
            if name.startswith("check_"):
                return True
    return False


def answer_cell(source: str) -> AnswerCell | None:
    """``source`` cut into imports, answer and check, or None when it calls no check."""
    try:
        tree = ast.parse(source)
    except SyntaxError:  # IPython magics: not an answer cell
        return None
    lines = source.split("\n")
    parts: dict[str, list[str]] = {"setup": [], "answer": [], "check": []}
    call = ""
    for node in tree.body:
        text = "\n".join(lines[node.lineno - 1 : node.end_lineno])
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            parts["setup"].append(text)
        elif is_check(node):
            parts["check"].append(text)
            value = node.value if isinstance(node, (ast.Expr, ast.Assign)) else node
            call = call or ast.get_source_segment(source, value) or ""
        else:
            parts["answer"].append(text)
    if not parts["check"]:
        return None
    setup, answer, check = ("\n".join(parts[k]) for k in ("setup", "answer", "check"))
    return AnswerCell(setup, answer, check, call)


def code_cell(source: str, cell_id: str, metadata: dict | None = None) -> dict:
    """A fresh code cell, no outputs."""
    return {
        "cell_type": "code",
        "execution_count": None,
        "id": cell_id,
        "metadata": metadata or {},
        "outputs": [],
        "source": source,
    }


def nbgrader(grade_id: str, *, solution: bool, points: int = 0) -> dict:
    """nbgrader's cell metadata (schema 3) for a solution cell or an autograded test cell."""
    meta = {
        "grade": not solution,
        "grade_id": grade_id,
        "locked": not solution,
        "schema_version": 3,
        "solution": solution,
        "task": False,
    }
    if not solution:
        meta["points"] = points
    return {"nbgrader": meta}


def exercise_cells(
    cell: dict, parts: AnswerCell, exercise: Exercise, edition: str
) -> list[dict]:
    """The student's or teacher's cells for one solved answer cell: answer, then check."""
    what = f"# {exercise.question or exercise.title}"
    check = "\n\n".join(p for p in (parts.setup, parts.check) if p)
    grade_id = exercise.label or cell.get("id", "exercise")
    if edition == "student":
        return [
            code_cell(f"{what}\n{UNANSWERED}", f"{cell['id']}-answer"),
            code_cell(check, f"{cell['id']}-check"),
        ]
    written = textwrap.fill(
        " ".join(exercise.solution.split()),
        86,
        initial_indent="# ",
        subsequent_indent="# ",
    )
    solution = "\n".join(s for s in (written, parts.answer) if s)
    test = "\n\n".join(
        p
        for p in (parts.setup, f'assert {parts.check_call}, "see the message above"')
        if p
    )
    return [
        code_cell(
            f"{what}\n### BEGIN SOLUTION\n{solution}\n### END SOLUTION",
            f"{cell['id']}-answer",
            nbgrader(f"{grade_id}-answer", solution=True),
        ),
        code_cell(
            test,
            f"{cell['id']}-check",
            nbgrader(f"{grade_id}-check", solution=False, points=1),
        ),
    ]


# ---- one edition of one notebook -------------------------------------------------------


def edition_of(nb: Notebook, ctx: Context, edition: str) -> Notebook:
    """The ``edition`` ("jupyter", "student" or "teacher") of one book notebook.

    Raises:
        ValueError: an unknown edition, or an answer cell with no exercise above it.
    """
    if edition not in EDITIONS:
        raise ValueError(
            f"unknown edition {edition!r}; choose one of {', '.join(EDITIONS)}"
        )
    ctx = copy.copy(ctx)
    ctx.glue = glued_values(nb)
    ctx.keep_solutions = edition == "jupyter"
    cells: list[dict] = []
    exercise: Exercise | None = None
    for cell in nb["cells"]:
        if cell["cell_type"] == "markdown":
            found = exercises_in(cell["source"], ctx)
            exercise = found[-1] if found else exercise
            text = to_plain_markdown(cell["source"], ctx)
            if text.strip():
                cells.append({**cell, "source": text})
            continue
        if cell["cell_type"] != "code":
            cells.append(cell)
            continue
        parts = answer_cell(cell["source"]) if edition != "jupyter" else None
        if parts is None:
            cells.append(code_cell(cell["source"], cell["id"], cell.get("metadata")))
            continue
        if exercise is None:
            raise ValueError(
                f"code cell {cell['id']} checks an answer but no exercise is above it"
            )
        cells.extend(exercise_cells(cell, parts, exercise, edition))
    return {**nb, "cells": [to_file_cell(c) for c in cells]}


def to_file_cell(cell: dict) -> dict:
    """A cell as nbformat writes it: source split into lines, outputs of code cells empty."""
    cell = dict(cell)
    cell["source"] = cell["source"].splitlines(keepends=True)
    if cell["cell_type"] == "code":
        cell["outputs"], cell["execution_count"] = [], None
        cell["metadata"] = {
            k: v for k, v in cell.get("metadata", {}).items() if k != "execution"
        }
    return cell


def notebook_text(nb: Notebook) -> str:
    """A notebook as the file nbformat writes (so regenerating is byte-for-byte stable)."""
    return json.dumps(nb, indent=1, sort_keys=True, ensure_ascii=False) + "\n"


# ---- all editions ----------------------------------------------------------------------


def edition_path(out: Path, edition: str, notebook: Path) -> Path:
    """Where an edition of a notebook goes; the Jupyter edition mirrors ``book/`` for Colab."""
    if edition == "jupyter":
        return out / "jupyter" / notebook.parent.name / notebook.name
    return out / edition / notebook.name


def generate_editions(root: Path) -> dict[Path, str]:
    """Every edition of every notebook in ``_toc.yml``: path relative to the output -> text."""
    notebooks = toc_notebooks(root)
    if not notebooks:
        raise ValueError(
            f"{root / '_toc.yml'} lists no notebook; run from the repository root"
        )
    bib = sorted(root.glob("book/*.bib"))
    ctx = Context(
        references=parse_bibtex("\n".join(p.read_text(encoding="utf-8") for p in bib)),
        docs=doc_targets(root, notebooks),
    )
    files = {}
    for path in notebooks:
        nb = read_notebook(path)
        for edition in EDITIONS:
            files[edition_path(Path(), edition, path)] = notebook_text(
                edition_of(nb, ctx, edition)
            )
    return files


#: The list of files the last run wrote, in the output folder: the only ones it removes.
MANIFEST = ".editions-manifest.json"


def check_out_folder(out: Path) -> None:
    """Refuse an output path that is empty, a file, under a file, or not writable.

    Raises:
        ValueError: one line naming the path and what to do.
    """
    if not str(out).strip() or str(out) == ".":
        raise ValueError(
            f"--out {str(out)!r} names no folder of its own; give one such as editions"
        )
    check_writable(out, "--out")


def _manifest(out: Path) -> set[Path]:
    """The files a previous run wrote under ``out`` (none without a manifest)."""
    try:
        listed = json.loads((out / MANIFEST).read_text(encoding="utf-8"))
        return {Path(p) for p in listed if isinstance(p, str)}
    except (OSError, ValueError, TypeError):
        return set()


def write_editions(root: Path, out: Path) -> list[Path]:
    """Write every edition under ``out``, and the manifest of what was written.

    Only files this command wrote before (listed in ``out/.editions-manifest.json``)
    and no longer part of the book are removed: other notebooks in ``out`` (a course's
    own ``student/`` work, say) are never touched. All editions are generated before
    anything is written.
    """
    files = generate_editions(root)
    for rel in sorted(_manifest(out) - set(files)):
        if not rel.is_absolute() and ".." not in rel.parts:
            (out / rel).unlink(missing_ok=True)
    for rel, text in files.items():
        (out / rel).parent.mkdir(parents=True, exist_ok=True)
        (out / rel).write_text(text, encoding="utf-8")
    manifest = json.dumps(sorted(p.as_posix() for p in files), indent=1) + "\n"
    (out / MANIFEST).write_text(manifest, encoding="utf-8")
    return [out / rel for rel in files]


def main(argv: list[str] | None = None) -> int:
    """Command line: ``python -m vgg_lessons.publishing.editions --out DIR [--root REPO]``."""
    parser = argparse.ArgumentParser(
        prog="python -m vgg_lessons.publishing.editions",
        description="Write the Jupyter, student and teacher editions "
        "of every notebook in _toc.yml.",
    )
    parser.add_argument(
        "--out", type=Path, required=True, help="folder to write, e.g. editions"
    )
    parser.add_argument(
        "--root",
        type=Path,
        default=Path("."),
        help="the repository root, holding _toc.yml (default: here)",
    )
    args = parser.parse_args(argv)
    if not (args.root / "_toc.yml").is_file():
        parser.error(
            f"no _toc.yml in {args.root}; pass --root with the repository root"
        )
    try:
        check_out_folder(args.out)
        written = write_editions(args.root, args.out)
    except ValueError as err:
        parser.error(str(err))
    except OSError as err:  # a full disk, a name too long, permissions
        parser.error(f"cannot write under --out {args.out}: {err.strerror or err}")
    print(
        f"wrote {len(written)} notebooks under {args.out}: {', '.join(EDITIONS)} editions"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
