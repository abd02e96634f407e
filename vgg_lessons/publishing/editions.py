"""The book's notebooks as editions for Jupyter and Colab, for students and for teachers.

    python -m vgg_lessons.publishing.editions --out editions     # regenerate every edition

The chapters in ``book/`` are written for Jupyter Book (MyST roles and directives,
committed outputs, solved exercises). From every notebook that ``_toc.yml`` lists,
this module writes three editions, outputs stripped:

- ``jupyter/book/NN_x.ipynb``: the chapter as Jupyter and Colab render it: glued
  numbers pasted from the committed outputs, admonitions as blockquotes, exercises as
  headed sections, ``{doc}`` and ``{cite}`` as links. Each exercise's answer cell is
  blank (``answer_x = ...``); its solution, text and code to copy, is in a closed
  ``<details>``. The book's Colab button opens this copy.
- ``teacher/NN_x.ipynb``: nbgrader's source notebook: each answer is a solution cell
  (``### BEGIN SOLUTION`` / ``### END SOLUTION``, the written solution as comments),
  each check an autograded test cell worth one point, whose value (1 right, 0 not)
  nbgrader takes as its score; with ``teacher/nbgrader_config.py``.
- ``student/NN_x.ipynb``: the hand-out: what ``nbgrader generate_assignment`` releases
  from the teacher edition, made by nbgrader's own preprocessors, so it is graded as
  it is (no solutions, no outputs).

In every edition the web page's bookkeeping is left out: the ``glue(...)`` calls that
record numbers for the text (the text has the numbers pasted in), the in-page
explorers (``{vgg-explorer}`` cells, which need the web page) and ``{only} html``
text; ``{only} notebook`` text is kept. The install cell (tag ``colab-install``) is
made from ``_config.yml``'s repository url and ``pyproject.toml``'s package name.

An exercise's answer cell is the code cell that calls a check of
``vgg_lessons.exercises`` (``exercises.check_...(answer)``); its exercise is the
nearest ``{exercise}`` directive above it. In the editions its variable is named after
the check (``check_output_size`` reads ``answer_output_size``), so a check never reads
the answer of an earlier exercise whose cell failed.
"""

from __future__ import annotations

import argparse
import ast
import copy
import io
import json
import re
import sys
import textwrap
import tokenize
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

from vgg_lessons.publishing._myst import (
    Context,
    first_question,
    parse_bibtex,
    split_directive,
    to_plain_markdown,
)
from vgg_lessons.train.checkpoints import check_writable

EDITIONS = ("jupyter", "student", "teacher")
Notebook = dict[str, Any]

#: Seconds nbgrader gives one cell when grading. The slowest cells are the live
#: training of chapters 3 and 5: 401 s and 192 s measured on a busy 2-core machine.
GRADING_TIMEOUT_S = 600
#: What nbgrader puts in place of a solution region (the blank line stays above it).
CODE_STUB = ""
SCORE_COMMENT = (
    "# nbgrader scores this cell by its value: 1 if the check passes, else 0"
)
INSTALL_TAG = "colab-install"
EXPLORER = re.compile(r"^ {0,3}(`{3,}|:{3,})\s*\{vgg-explorer\}", flags=re.M)


@dataclass(frozen=True)
class Publication:
    """Where readers install the package from: read once, used by every install cell.

    Attributes:
        repository: ``_config.yml``'s ``repository.url`` (the one place it is named).
        package: ``pyproject.toml``'s ``[project] name``.
        on_pypi: ``pyproject.toml``'s ``[tool.vgg-lessons] on-pypi``: true once the
            maintainer has uploaded the package to PyPI under that name.
    """

    repository: str
    package: str
    on_pypi: bool = False

    @classmethod
    def of(cls, root: Path) -> Publication:
        """The publication settings of the repository at ``root``."""
        try:
            import tomllib
        except ModuleNotFoundError:  # Python 3.10
            import tomli as tomllib
        import yaml  # the book toolchain's; only the generator needs it

        config = yaml.safe_load((root / "_config.yml").read_text(encoding="utf-8"))
        project = tomllib.loads((root / "pyproject.toml").read_text(encoding="utf-8"))
        ours = project.get("tool", {}).get("vgg-lessons", {})
        return cls(
            config["repository"]["url"],
            project["project"]["name"],
            bool(ours.get("on-pypi", False)),
        )

    def install_cell(self) -> str:
        """The first code cell of every notebook: installs the package where it is missing.

        Installs from PyPI once the package is there (``on_pypi``), else from the
        repository. Never installs by name before that: the name could belong to
        someone else until the maintainer has uploaded it.
        """
        source = (
            self.package
            if self.on_pypi
            else f'"{self.package} @ git+{self.repository}"'
        )
        return (
            "# In Colab (or anywhere vgg_lessons is missing) install it; "
            "locally this does nothing.\n"
            "try:\n"
            "    import vgg_lessons\n"
            "except ImportError:\n"
            f"    %pip install -q {source}"
        )


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


def answer_name(check_call: str) -> str:
    """The editions' name for an exercise's answer: ``check_x(...)`` reads ``answer_x``."""
    match = re.search(r"\bcheck_(\w+)\s*\(", check_call)
    return f"answer_{match.group(1)}" if match else "answer"


def renamed(source: str, old: str, new: str) -> str:
    """``source`` with the Python name ``old`` replaced by ``new`` (not in strings or comments)."""
    if not source:
        return source
    lines = source.split("\n")
    tokens = list(tokenize.generate_tokens(io.StringIO(source).readline))
    for tok in reversed(tokens):  # from the end, so earlier positions stay valid
        if tok.type == tokenize.NAME and tok.string == old:
            (row, col), (_, end) = tok.start, tok.end
            line = lines[row - 1]
            lines[row - 1] = line[:col] + new + line[end:]
    return "\n".join(lines)


def is_glue_call(node: ast.stmt) -> bool:
    """Whether a statement only records numbers for the web page's text (``glue(...)``):
    a glue call, or a loop or ``if`` whose every statement is one."""
    if isinstance(node, ast.Expr) and isinstance(node.value, ast.Call):
        return getattr(node.value.func, "id", "") == "glue"
    if isinstance(node, (ast.For, ast.If, ast.While, ast.With)):
        inner = [*node.body, *getattr(node, "orelse", [])]
        return all(is_glue_call(n) for n in inner)
    return False


def nested_glue_lines(node: ast.stmt) -> set[int]:
    """Line indices (0-based) of the glue calls inside a compound statement's bodies."""
    lines = set()
    for field_name in ("body", "orelse", "finalbody"):
        for child in getattr(node, field_name, []) or []:
            if is_glue_call(child):
                lines |= set(range(child.lineno - 1, child.end_lineno))
            else:
                lines |= nested_glue_lines(child)
    return lines


def is_glue_import(node: ast.stmt) -> bool:
    """Whether a statement imports ``glue`` (from the package's shim or myst-nb's)."""
    return isinstance(node, ast.ImportFrom) and (node.module or "").endswith(
        "publishing.glue"
    )


def parsed(source: str) -> ast.Module | None:
    """A code cell's syntax tree, IPython magics read as ``pass``; None if it is not Python."""
    try:
        return ast.parse(re.sub(r"^(\s*)[%!].*$", r"\1pass", source, flags=re.M))
    except SyntaxError:
        return None


def names_used(source: str) -> set[str]:
    """Every name a code cell mentions."""
    tree = parsed(source)
    return {n.id for n in ast.walk(tree) if isinstance(n, ast.Name)} if tree else set()


def without_glue(source: str, used_elsewhere: set[str], hidden: bool) -> str:
    """A code cell without its ``glue(...)`` bookkeeping ("" when nothing else is left).

    Drops the glue calls and the glue import; in a cell the web page hides
    (``hidden``: tag ``remove-cell``) also the assignments made only for them, whose
    names no statement left in the notebook reads.
    """
    tree = parsed(source)
    if tree is None:
        return source
    keep = [n for n in tree.body if not (is_glue_call(n) or is_glue_import(n))]
    nested = set().union(*(nested_glue_lines(n) for n in keep))
    if len(keep) == len(tree.body) and not nested:
        return source
    while hidden:  # assignments whose names nothing reads any more
        read = set(used_elsewhere)
        for node in keep:
            read |= {
                n.id
                for n in ast.walk(node)
                if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load)
            }
        dead = [
            n
            for n in keep
            if isinstance(n, ast.Assign)
            and all(isinstance(t, ast.Name) and t.id not in read for t in n.targets)
        ]
        if not dead:
            break
        keep = [n for n in keep if n not in dead]
    dropped = nested | {
        i
        for n in tree.body
        if n not in keep
        for i in range(n.lineno - 1, cast(int, n.end_lineno))
    }
    lines = [line for i, line in enumerate(source.split("\n")) if i not in dropped]
    text = re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip("\n")
    has_code = any(
        line.strip() and not line.lstrip().startswith("#") for line in text.split("\n")
    )
    return text if has_code else ""


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
) -> tuple[list[dict], str]:
    """One solved answer cell as the Jupyter or teacher edition has it: answer, then check.

    Returns the two cells and the solved code under the exercise's own answer name (the
    Jupyter edition puts it in the solution's ``<details>``).
    """
    what = f"# {exercise.question or exercise.title}"
    name = answer_name(parts.check_call)
    solved = renamed(parts.answer, "answer", name)
    blank = f"{what}\n{name} = ..."
    grade_id = exercise.label or cell.get("id", "exercise")
    if edition == "jupyter":
        check = "\n\n".join(
            p for p in (parts.setup, renamed(parts.check, "answer", name)) if p
        )
        return [
            code_cell(blank, f"{cell['id']}-answer"),
            code_cell(check, f"{cell['id']}-check"),
        ], solved
    written = textwrap.fill(
        " ".join(exercise.solution.split()),
        86,
        initial_indent="# ",
        subsequent_indent="# ",
    )
    solution = "\n".join(s for s in (written, solved) if s)
    score = f"{SCORE_COMMENT}\nint({renamed(parts.check_call, 'answer', name)})"
    test = "\n\n".join(p for p in (parts.setup, score) if p)
    return [
        code_cell(
            f"{blank}\n### BEGIN SOLUTION\n{solution}\n### END SOLUTION",
            f"{cell['id']}-answer",
            nbgrader(f"{grade_id}-answer", solution=True),
        ),
        code_cell(
            test,
            f"{cell['id']}-check",
            nbgrader(f"{grade_id}-check", solution=False, points=1),
        ),
    ], solved


def with_solution_code(cells: list[dict], code: str, cell_id: str) -> None:
    """Put ``code`` at the end of the last solution ``<details>`` above, as a block to copy."""
    for previous in reversed(cells):
        text = previous["source"] if previous["cell_type"] == "markdown" else ""
        at = text.rfind("</details>")
        if at >= 0:
            block = f"```python\n{code}\n```\n\n"
            previous["source"] = text[:at] + block + text[at:]
            return
    raise ValueError(
        f"code cell {cell_id} checks an answer but no solution is above it"
    )


# ---- one edition of one notebook -------------------------------------------------------


def web_only(cell: dict) -> bool:
    """Whether a markdown cell is the web page's in-page explorer (needs the page to run)."""
    return cell["cell_type"] == "markdown" and bool(EXPLORER.search(cell["source"]))


def code_without_glue(nb: Notebook) -> dict[str, str]:
    """cell id -> its code without glue bookkeeping ("" for a cell left with nothing)."""
    code = {c["id"]: c["source"] for c in nb["cells"] if c["cell_type"] == "code"}
    first = {i: without_glue(src, set(), hidden=False) for i, src in code.items()}
    used = {i: names_used(src) for i, src in first.items()}
    cells = {c["id"]: c for c in nb["cells"]}
    result = {}
    for i, src in code.items():
        elsewhere = set().union(*(u for j, u in used.items() if j != i))
        hidden = "remove-cell" in cells[i].get("metadata", {}).get("tags", [])
        result[i] = without_glue(src, elsewhere, hidden=hidden)
    return result


def edition_of(
    nb: Notebook, ctx: Context, edition: str, publication: Publication | None = None
) -> Notebook:
    """The ``edition`` ("jupyter", "student" or "teacher") of one book notebook.

    Raises:
        ValueError: an unknown edition, or an answer cell with no exercise (or, in the
            Jupyter edition, no solution) above it.
    """
    if edition not in EDITIONS:
        raise ValueError(
            f"unknown edition {edition!r}; choose one of {', '.join(EDITIONS)}"
        )
    if edition == "student":
        return released(edition_of(nb, ctx, "teacher", publication))
    ctx = copy.copy(ctx)
    ctx.glue = glued_values(nb)
    ctx.keep_solutions = edition == "jupyter"
    ctx.tags = frozenset({"notebook", edition})
    code = code_without_glue(nb)
    cells: list[dict] = []
    exercise: Exercise | None = None
    for cell in nb["cells"]:
        if cell["cell_type"] == "markdown":
            found = exercises_in(cell["source"], ctx)
            exercise = found[-1] if found else exercise
            text = to_plain_markdown(cell["source"], ctx)
            if text.strip() and not web_only(cell):
                cells.append({**cell, "source": text})
            continue
        if cell["cell_type"] != "code":
            cells.append(cell)
            continue
        metadata = cell.get("metadata", {})
        if publication and INSTALL_TAG in metadata.get("tags", []):
            cells.append(code_cell(publication.install_cell(), cell["id"], metadata))
            continue
        parts = answer_cell(cell["source"])
        if parts is None:
            if code[cell["id"]]:
                cells.append(code_cell(code[cell["id"]], cell["id"], metadata))
            continue
        if exercise is None:
            raise ValueError(
                f"code cell {cell['id']} checks an answer but no exercise is above it"
            )
        new, solved = exercise_cells(cell, parts, exercise, edition)
        if edition == "jupyter":
            with_solution_code(cells, solved, cell["id"])
        cells.extend(new)
    return {**nb, "cells": [to_file_cell(c) for c in cells]}


def nbgrader_config() -> str:
    """The course's ``nbgrader_config.py``: the stub and the timeout the editions assume."""
    return f"""# nbgrader settings for vgg-lessons (see the README, "For teachers"). Generated by
# `python -m vgg_lessons.publishing.editions`: copy it into your course directory.
c = get_config()  # noqa: F821 (nbgrader defines it)

# A released answer cell keeps the question and its blank line (`answer_x = ...`);
# the solution region below them is removed, with nothing in its place.
c.ClearSolutions.code_stub = {{"python": {CODE_STUB!r}}}

# Seconds per cell when grading. A cell that runs longer (an endless loop) is
# interrupted, its exercise scores zero and grading goes on. The slowest cells are the
# live training of chapters 3 and 5 (401 s and 192 s measured on a busy 2-core
# machine): {GRADING_TIMEOUT_S} s leaves them a margin of half as much again.
c.Execute.timeout = {GRADING_TIMEOUT_S}
"""


def released(teacher: Notebook) -> Notebook:
    """What ``nbgrader generate_assignment`` releases from a teacher notebook.

    Made by nbgrader's own preprocessors, in its order (lock the graded cells, clear
    the solutions, clear outputs, record checksums), so a student's copy of this
    notebook is graded by ``nbgrader autograde`` as it is.
    """
    import nbformat  # nbgrader's dependencies; only the generator needs them
    from nbgrader.preprocessors import (
        CheckCellMetadata,
        ClearOutput,
        ClearSolutions,
        ComputeChecksums,
        LockCells,
    )
    from traitlets.config import Config

    config = Config()
    config.ClearSolutions.code_stub = {"python": CODE_STUB}
    nb = nbformat.from_dict(copy.deepcopy(teacher))
    for cell in nb.cells:
        if isinstance(cell.source, list):
            cell.source = "".join(cell.source)
    resources: dict = {}
    for step in (
        LockCells,
        ClearSolutions,
        ClearOutput,
        CheckCellMetadata,
        ComputeChecksums,
    ):
        nb, resources = step(config=config).preprocess(nb, resources)
    plain = json.loads(nbformat.writes(nb))
    for cell in plain["cells"]:
        cell["source"] = "".join(cell["source"])
    return {**plain, "cells": [to_file_cell(c) for c in plain["cells"]]}


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
    publication = Publication.of(root)
    files = {Path("teacher") / "nbgrader_config.py": nbgrader_config()}
    for path in notebooks:
        nb = read_notebook(path)
        teacher = edition_of(nb, ctx, "teacher", publication)
        made = {
            "jupyter": edition_of(nb, ctx, "jupyter", publication),
            "teacher": teacher,
            "student": released(teacher),
        }
        for edition in EDITIONS:
            files[edition_path(Path(), edition, path)] = notebook_text(made[edition])
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
        f"wrote {sum(p.suffix == '.ipynb' for p in written)} notebooks under {args.out}: "
        f"{', '.join(EDITIONS)} editions"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
