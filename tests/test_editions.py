"""The editions: Jupyter/Colab, student and teacher notebooks generated from ``book/``.

Fast checks read the committed editions (and regenerate them to see they are current);
the slow ones run them in a kernel where the book toolchain cannot be imported, and
grade the teacher edition with nbgrader.
"""

from __future__ import annotations

import copy
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
from myst_nb.core.variables import format_plain_text
from nbclient import NotebookClient

from vgg_lessons.publishing import editions
from vgg_lessons.publishing._myst import Context, format_glued, parse_bibtex, to_plain_markdown
from vgg_lessons.publishing.glue import RECORD_PREFIX as RECORD

ROOT = Path(__file__).resolve().parents[1]
EDITIONS_DIR = ROOT / "editions"
BOOK = editions.toc_notebooks(ROOT)
NO_TOOLCHAIN = Path(__file__).parent / "no_book_toolchain"  # its sitecustomize blocks myst_nb, ...
RAW_MYST = re.compile(r"\{[A-Za-z][\w:+-]*\}`|^ {0,3}(`{3,}|:{3,})\s*\{", flags=re.M)
book_params = pytest.mark.parametrize("notebook", BOOK, ids=[p.stem for p in BOOK])


def edition_file(edition: str, notebook: Path) -> Path:
    return editions.edition_path(EDITIONS_DIR, edition, notebook)


def cells(path: Path, kind: str) -> list[dict]:
    return [c for c in editions.read_notebook(path)["cells"] if c["cell_type"] == kind]


def check_cells(path: Path) -> list[str]:
    """Sources of the code cells that call an exercise check."""
    return [c["source"] for c in cells(path, "code") if editions.answer_cell(c["source"])]


def run_without_toolchain(path: Path, timeout_s: int = 600, data_env: dict | None = None
                          ) -> nbformat.NotebookNode:
    """Execute a notebook in a kernel that cannot import myst_nb, jupyter_book, sphinx_exercise.

    ``data_env`` adds variables such as ``VGG_LESSONS_DATA`` for chapters that read CIFAR-10.
    """
    nb = nbformat.read(path, as_version=4)
    env = {**os.environ, **(data_env or {}), "PYTHONPATH": os.pathsep.join(
        p for p in (str(NO_TOOLCHAIN), str(ROOT), os.environ.get("PYTHONPATH", "")) if p)}
    client = NotebookClient(nb, timeout=timeout_s, kernel_name="python3",
                            resources={"metadata": {"path": str(path.parent)}})
    client.execute(env=env)
    return nb


def stdout_of(cell: nbformat.NotebookNode) -> str:
    return "".join(o.get("text", "") for o in cell.outputs if o.output_type == "stream")


# ---- MyST to plain markdown --------------------------------------------------------------

@pytest.mark.parametrize("text, spec", [("196", ""), ("0.19876", ".2f"), ("1234567", ","),
                                        ("'85.3%'", ""), ("3.14159", ".0f"), ("12.5", ".1%"),
                                        ("'cat'", "s"), ("2.0", "d")])
def test_glued_values_are_formatted_as_myst_nb_formats_them(text, spec):
    try:
        expected = format_plain_text(text, spec)
    except ValueError as err:  # format(2.0, "d") fails in myst-nb too
        with pytest.raises(ValueError, match=re.escape(str(err))):
            format_glued(text, spec)
        return
    assert format_glued(text, spec) == expected


def test_roles_become_values_links_and_plain_text():
    ctx = Context(glue={"n": "1234", "acc": "'85.3%'"},
                  references=parse_bibtex("@article{a2019x,\n  author = {Andr{\\'e} Araujo and Wade"
                                          " Norris and Jack Sim},\n  year = {2019},\n  url = "
                                          "{https://example.org/rf}\n}\n@book{b,\n  author = {Ada "
                                          "Lovelace and Charles Babbage},\n  year = {1843}\n}\n"),
                  docs={"04_training": ("4. Training", "04_training.ipynb")})
    text = ("{glue:text}`n:,` images, {glue:text}`acc`; see {doc}`04_training` and "
            "{doc}`the training chapter <04_training>` {cite}`a2019x`, {cite:t}`b`, {math}`x^2`.")
    assert to_plain_markdown(text, ctx) == (
        "1,234 images, 85.3%; see [4. Training](04_training.ipynb) and "
        "[the training chapter](04_training.ipynb) ([Araujo et al., 2019](https://example.org/rf)), "
        "Lovelace and Babbage (1843), $x^2$.")


def test_a_missing_glue_value_says_to_run_the_notebook():
    with pytest.raises(ValueError, match="no cell glues it: run the notebook"):
        to_plain_markdown("{glue:text}`nowhere`", Context())


def test_directives_become_sections_quotes_and_details():
    text = ("Intro.\n\n```{exercise} Count\n:label: ex-x\nHow many {glue:text}`k`?\n```\n"
            "````{solution} ex-x\n:class: dropdown\nLike this:\n```python\nx = 1\n```\n````\n"
            ":::{note}\nMind the **gap**.\n:::\n\n(a-target)=\n% a comment\n```python\n{glue}`kept`\n```")
    plain = to_plain_markdown(text, Context(glue={"k": "7"}))
    assert plain == ("Intro.\n\n### Exercise: Count\n\nHow many 7?\n\n<details>\n<summary>Solution"
                     "</summary>\n\nLike this:\n```python\nx = 1\n```\n\n</details>\n\n> **Note**\n"
                     ">\n> Mind the **gap**.\n\n```python\n{glue}`kept`\n```")
    student = to_plain_markdown(text, Context(glue={"k": "7"}, keep_solutions=False))
    assert "Solution" not in student and "x = 1" not in student and "How many 7?" in student


def test_an_unknown_directive_becomes_a_readable_note_not_a_raw_fence():
    plain = to_plain_markdown("Before.\n\n```{explorer} receptive-field\n:height: 300\n{\"a\": 1}\n"
                              "```\nAfter.", Context())
    assert plain == ("Before.\n\n> *The online book shows an interactive explorer (receptive-field) "
                     "here; it needs the rendered page.*\n\nAfter.")


def test_a_gated_solution_takes_the_text_up_to_its_end():
    text = "```{solution-start} ex-x\n:class: dropdown\n```\nBecause 2 + 2 = 4.\n```{solution-end}\n```"
    assert to_plain_markdown(text, Context()) == \
        "<details>\n<summary>Solution</summary>\n\nBecause 2 + 2 = 4.\n\n</details>"


# ---- the committed editions ------------------------------------------------------------

def test_committed_editions_are_current():
    generated = editions.generate_editions(ROOT)
    committed = {p.relative_to(EDITIONS_DIR) for e in editions.EDITIONS
                 for p in (EDITIONS_DIR / e).rglob("*") if p.suffix in {".ipynb", ".py"}}
    assert committed == set(generated), \
        "editions/ holds other notebooks than the book's: run python -m vgg_lessons.publishing.editions --out editions"
    stale = [str(rel) for rel, text in generated.items()
             if (EDITIONS_DIR / rel).read_text(encoding="utf-8") != text]
    assert not stale, f"stale editions {stale}: run python -m vgg_lessons.publishing.editions --out editions"


@pytest.mark.parametrize("edition", editions.EDITIONS)
@book_params
def test_editions_hold_no_myst_and_no_outputs(edition, notebook):
    path = edition_file(edition, notebook)
    for cell in cells(path, "markdown"):
        raw = RAW_MYST.search(cell["source"])
        assert raw is None, f"{path.name}: raw MyST {raw.group(0)!r} in\n{cell['source']}"
    for cell in cells(path, "code"):
        assert cell["outputs"] == [] and cell["execution_count"] is None


def solved_answers(notebook: Path) -> list[str]:
    """The statements of each book answer cell that compute the answer (not the check)."""
    return [editions.answer_cell(c["source"]).answer for c in cells(notebook, "code")
            if editions.answer_cell(c["source"])]


@book_params
def test_jupyter_edition_runs_the_books_code_without_its_bookkeeping(notebook):
    """Every code cell of the book is there, less glue calls; answer cells are blank."""
    jupyter = [c["source"] for c in cells(edition_file("jupyter", notebook), "code")]
    assert not any(re.search(r"\bglue\b", src) for src in jupyter)
    book_code = [c["source"] for c in cells(notebook, "code")
                 if not editions.answer_cell(c["source"])]
    kept = [src for src in jupyter if not editions.answer_cell(src)
            and not re.search(r"^answer_\w+ = \.\.\.$", src, flags=re.M)]
    assert len(kept) <= len(book_code)
    for src in kept:  # each kept line is a line of the book's code (in the same order)
        lines = [line for line in src.split("\n") if line.strip()]
        assert any(all(line in book for line in lines) for book in book_code), src[:300]


@pytest.mark.parametrize("edition", ["jupyter", "student"])
@book_params
def test_no_solved_answer_in_a_code_cell(edition, notebook):
    """A reader's or student's copy has blank answers; the Jupyter edition's solution code is
    in the closed <details> above the blank cell, the student's nowhere."""
    path = edition_file(edition, notebook)
    code = "\n".join(c["source"] for c in cells(path, "code"))
    prose = "\n".join(c["source"] for c in cells(path, "markdown"))
    blanks = re.findall(r"^(answer_\w+) = \.\.\.$", code, flags=re.M)
    assert len(blanks) == len(set(blanks)) == len(solved_answers(notebook)) >= 3
    for solved, name in zip(solved_answers(notebook), blanks):
        as_edition = editions.renamed(solved, "answer", name)
        assert as_edition not in code
        for line in as_edition.split("\n"):  # the lines that set the answer
            if re.match(rf"\s*{name}\b", line):
                assert line not in code.split("\n"), f"{path.name}: solved line {line!r} in code"
        if edition == "jupyter":
            details = re.findall(r"<details>.*?</details>", prose, flags=re.S)
            assert any(f"```python\n{as_edition}\n```" in d for d in details), as_edition
        else:
            assert as_edition not in prose and "<details>" not in prose


@book_params
def test_student_edition_has_blank_answers_and_no_solutions(notebook):
    path = edition_file("student", notebook)
    n_exercises = len(check_cells(notebook))
    assert n_exercises >= 3, f"{notebook.name} should have at least three exercises"
    answers = [c["source"] for c in cells(path, "code")
               if c.get("metadata", {}).get("nbgrader", {}).get("solution")]
    assert len(answers) == n_exercises
    for source in answers:
        comment, blank = source.rstrip("\n").split("\n")
        assert comment.startswith("# ") and len(comment) > 12
        assert re.fullmatch(r"answer_\w+ = \.\.\.", blank), blank
    assert len(check_cells(path)) == n_exercises
    prose = "\n".join(c["source"] for c in cells(path, "markdown"))
    assert "<details>" not in prose and "Solution" not in prose
    # every checked exercise is there; an open design exercise may have no check
    assert prose.count("### Exercise: ") >= n_exercises


@book_params
def test_teacher_edition_marks_solutions_and_graded_checks(notebook):
    graded = [c for c in cells(edition_file("teacher", notebook), "code")
              if "nbgrader" in c["metadata"]]
    solutions, tests = graded[0::2], graded[1::2]
    assert len(solutions) == len(tests) == len(check_cells(notebook))
    for solution, test in zip(solutions, tests):
        assert solution["metadata"]["nbgrader"]["solution"] and "### BEGIN SOLUTION" in solution["source"]
        name = re.match(r"# .*\n(answer_\w+) = \.\.\.\n### BEGIN", solution["source"]).group(1)
        assert test["metadata"]["nbgrader"]["grade"] and test["metadata"]["nbgrader"]["points"] == 1
        # the cell's value is its score (nbgrader's partial credit): 1 right, 0 wrong
        assert re.fullmatch(rf"int\(exercises\.check_\w+\({name}\b.*\)\)",
                            test["source"].splitlines()[-1])
    ids = [c["metadata"]["nbgrader"]["grade_id"] for c in graded]
    assert len(set(ids)) == len(ids)


def test_each_check_reads_its_own_exercises_answer():
    """After a failed answer cell, the next check cannot read the previous exercise's answer."""
    for notebook in BOOK:
        for edition in ("jupyter", "student", "teacher"):
            names = []
            for src in (c["source"] for c in cells(edition_file(edition, notebook), "code")):
                if editions.answer_cell(src):
                    (name,) = re.findall(r"\((answer_\w+)\b", src)
                    names.append(name)
                    assert not re.search(r"\banswer\b", src)
            assert len(names) == len(set(names)) >= 3, (edition, notebook.name)


def test_student_edition_is_what_nbgrader_releases(tmp_path):
    """`nbgrader generate_assignment` on each teacher notebook gives the student edition."""
    course = tmp_path / "course"
    (course / "source" / "ch").mkdir(parents=True)
    shutil.copy(EDITIONS_DIR / "teacher" / "nbgrader_config.py", course)
    for notebook in BOOK:
        shutil.copy(edition_file("teacher", notebook), course / "source" / "ch")
    result = subprocess.run([sys.executable, "-m", "nbgrader", "generate_assignment", "ch"],
                            cwd=course, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    for notebook in BOOK:
        released = json.loads((course / "release" / "ch" / notebook.name).read_text())
        student = json.loads(edition_file("student", notebook).read_text())
        assert [(c["cell_type"], c["source"], c["metadata"]) for c in released["cells"]] == \
            [(c["cell_type"], c["source"], c["metadata"]) for c in student["cells"]], notebook.name


@pytest.mark.parametrize("edition", editions.EDITIONS)
@book_params
def test_editions_leave_out_the_web_pages_text(edition, notebook):
    """No in-page explorer, no rocket button, no page that hides or shows a cell."""
    prose = "\n".join(c["source"] for c in cells(edition_file(edition, notebook), "markdown"))
    code = "\n".join(c["source"] for c in cells(edition_file(edition, notebook), "code"))
    for web_only in ("Explorer in the page", "Web book only", "rocket button",
                     r"this page\s+(hides|shows)", "in-page explorer", r"\bglue\("):
        for text in (prose, code):
            assert not re.search(web_only, text), f"{edition}/{notebook.name}: {web_only!r}"


def test_only_directives_keep_notebook_text_and_drop_web_text():
    text = ("A.\n\n```{only} html\nOn this page.\n```\n```{only} notebook\nIn this notebook.\n```\n"
            "```{only} not html\nNot the page.\n```\n```{only} html or latex\nPrinted.\n```")
    assert to_plain_markdown(text, Context()) == "A.\n\nIn this notebook.\n\nNot the page."
    per_edition = "```{only} jupyter\nDropdowns.\n```\n```{only} student or teacher\nPoints.\n```"
    assert to_plain_markdown(per_edition, Context(tags=frozenset({"notebook", "student"}))) \
        == "Points."
    assert to_plain_markdown(per_edition, Context(tags=frozenset({"notebook", "jupyter"}))) \
        == "Dropdowns."
    with pytest.raises(ValueError, match="cannot read the \\{only\\} expression 'html and'"):
        to_plain_markdown("```{only} html and\nx\n```", Context())


def test_glue_bookkeeping_is_dropped_and_what_it_alone_needed_too():
    source = ("from vgg_lessons.publishing.glue import glue\nimport torch\n\n"
              "x = 2\nunused = x + 1\n"
              "glue('u', unused)\nfor k in range(2):\n    y = k\n    glue(f'k{k}', y)\n"
              "for k in range(2):\n    glue(f'only{k}', k)")
    assert editions.without_glue(source, set(), hidden=True) == \
        "import torch\n\nfor k in range(2):\n    y = k"  # x was read only by `unused`
    assert "x = 2" in editions.without_glue(source, {"x"}, hidden=True)
    assert "unused = x + 1" in editions.without_glue(source, set(), hidden=False)
    assert editions.without_glue("glue('a', 1)\nglue('b', 2)", set(), hidden=True) == ""


def test_install_cells_derive_from_the_config_and_pyproject():
    """One constant names the repository (_config.yml); every install cell is made from it."""
    import yaml

    url = yaml.safe_load((ROOT / "_config.yml").read_text())["repository"]["url"]
    publication = editions.Publication.of(ROOT)
    assert publication.repository == url and publication.package == "vgg-lessons"
    for notebook in BOOK:
        for path in [notebook, *(edition_file(e, notebook) for e in editions.EDITIONS)]:
            (first, *_) = cells(path, "code")
            assert first["source"] == publication.install_cell(), path
    on_pypi = editions.Publication(url, "vgg-lessons", on_pypi=True).install_cell()
    assert on_pypi.endswith("%pip install -q vgg-lessons") and "git+" not in on_pypi
    assert f'"vgg-lessons @ git+{url}"' in publication.install_cell()
    config_links = (ROOT / "_config.yml").read_text().count("github.com")
    assert config_links == 1, "the repository url appears once in _config.yml"


# ---- the book side ---------------------------------------------------------------------

@book_params
def test_book_notebooks_are_prepared(notebook, tmp_path):
    """Every notebook imports glue from the package and gates its solved answers."""
    copy = tmp_path / notebook.name
    shutil.copy(notebook, copy)
    result = subprocess.run([sys.executable, str(ROOT / "scripts" / "prepare_book_notebooks.py"),
                             str(copy)], capture_output=True, text=True, cwd=ROOT,
                            env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert result.returncode == 0, result.stderr
    assert copy.read_bytes() == notebook.read_bytes(), \
        f"run python scripts/prepare_book_notebooks.py {notebook.relative_to(ROOT)}"
    assert "myst_nb" not in notebook.read_text(encoding="utf-8")


def test_prepare_gates_answers_once_and_keeps_outputs(tmp_path):
    answer = {"cell_type": "code", "execution_count": 2, "id": "c2", "metadata": {},
              "outputs": [{"name": "stdout", "output_type": "stream", "text": ["✓ Correct!\n"]}],
              "source": ["answer = 15\n", "passed = exercises.check_output_size(answer)"]}
    nb = {"cells": [
        {"cell_type": "code", "execution_count": 1, "id": "c1", "metadata": {}, "outputs": [],
         "source": ["%matplotlib inline\n", "import torch\n", "from myst_nb import glue\n", "\n",
                    "from vgg_lessons import exercises\n", "from vgg_lessons.models import build_vgg"]},
        {"cell_type": "markdown", "id": "m1", "metadata": {}, "source": [
            "## Exercises\n", "```{exercise} Size\n", ":label: ex-a\n", "How many?\n", "```\n",
            "```{solution} ex-a\n", ":class: dropdown\n", "Fifteen, because $x$.\n", "```"]},
        answer], "metadata": {}, "nbformat": 4, "nbformat_minor": 5}
    path = tmp_path / "nb.ipynb"
    path.write_text(json.dumps(nb))
    script = [sys.executable, str(ROOT / "scripts" / "prepare_book_notebooks.py"), str(path)]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    subprocess.run(script, check=True, capture_output=True, env=env)
    once = path.read_text()
    subprocess.run(script, check=True, capture_output=True, env=env)
    assert path.read_text() == once, "a second run must change nothing"
    done = json.loads(once)["cells"]
    assert "".join(done[0]["source"]) == ("%matplotlib inline\nimport torch\n\nfrom vgg_lessons import "
                                          "exercises\nfrom vgg_lessons.models import build_vgg\n"
                                          "from vgg_lessons.publishing.glue import glue")
    assert "".join(done[1]["source"]).endswith(
        "```{solution-start} ex-a\n:class: dropdown\n```\nFifteen, because $x$.")
    assert done[2] == answer
    assert "".join(done[3]["source"]) == "```{solution-end}\n```" and len(done) == 4


def test_built_book_shows_answers_only_inside_solution_dropdowns(book_html):
    import bs4  # the book theme's own dependency
    for notebook in BOOK:
        page = book_html / notebook.relative_to(ROOT).with_suffix(".html")
        soup = bs4.BeautifulSoup(page.read_text(encoding="utf-8"), "html.parser")
        answers = [cell for cell in soup.select("div.cell")
                   if re.search(r"\bcheck_\w+\(", cell.get_text())]
        assert len(answers) == len(check_cells(notebook)), page.name
        for cell in answers:
            dropdown = cell.find_parent("div", class_="solution")
            assert dropdown is not None and "dropdown" in dropdown["class"], \
                f"{page.name}: an answer cell outside a solution dropdown:\n{cell.get_text()[:200]}"


# ---- running the editions as a reader would -----------------------------------------------

def both_editions(notebook: Path) -> tuple[nbformat.NotebookNode, list[int], list[int]]:
    """The student edition's code cells, each check followed by the solution and the check again.

    The solution is the code block of the Jupyter edition's <details> for that exercise.
    Run top to bottom, this executes every code cell of both editions (their code cells
    are the same but for the check cells' form), blank answers first, so one run checks
    both without running the chapter twice. Returns the notebook and the indices of the
    blank answers' checks and of the solved answers' checks.
    """
    student = [c for c in nbformat.read(edition_file("student", notebook), as_version=4).cells
               if c.cell_type == "code"]
    jupyter = nbformat.read(edition_file("jupyter", notebook), as_version=4)
    prose = "\n".join(c.source for c in jupyter.cells if c.cell_type == "markdown")
    solutions = iter(re.findall(r"```python\n(.*?)\n```\n\n</details>", prose, flags=re.S))
    jupyter_code = [c.source for c in jupyter.cells if c.cell_type == "code"]
    assert len(jupyter_code) == len(student)
    combined, blank_checks, solved_checks = [], [], []
    for cell, theirs in zip(student, jupyter_code):
        if cell.metadata.get("nbgrader", {}).get("grade"):
            blank_checks.append(len(combined))
            again = copy.deepcopy(cell)
            again.id = f"{cell.id}-again"  # cell ids stay unique (nbformat would rename it)
            combined += [cell, nbformat.v4.new_code_cell(next(solutions)), again]
            solved_checks.append(len(combined) - 1)
            continue
        assert cell.source.rstrip("\n") == theirs, "the Jupyter and student editions run the same code"
        combined.append(cell)
    assert next(solutions, None) is None, "a solution without its exercise"
    jupyter.cells = combined
    return jupyter, blank_checks, solved_checks


#: Kernels that run the editions at once, one thread each: on a 2-core machine two
#: single-thread kernels finish the nine chapters sooner than one two-thread kernel.
EDITION_KERNELS = 2


@pytest.fixture(scope="module")
def editions_ran(tmp_path_factory, cifar10_env) -> dict:
    """Every chapter's combined editions (:func:`both_editions`), run without the book
    toolchain, :data:`EDITION_KERNELS` kernels at a time: chapter name -> (the run
    notebook, or the error that stopped it; blank checks; solved checks)."""
    from concurrent.futures import ThreadPoolExecutor

    folder = tmp_path_factory.mktemp("editions-run")
    env = {**cifar10_env, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}

    def run(notebook: Path) -> tuple:
        nb, blank, solved = both_editions(notebook)
        path = folder / notebook.name
        nbformat.write(nb, path)
        try:
            return run_without_toolchain(path, data_env=env), blank, solved
        except Exception as err:  # reported by that chapter's test, with the failing cell
            return err, blank, solved

    with ThreadPoolExecutor(EDITION_KERNELS) as pool:
        return dict(zip((n.name for n in BOOK), pool.map(run, BOOK)))


@pytest.mark.slow
@book_params
def test_jupyter_and_student_editions_run_without_the_book_toolchain(notebook, editions_ran):
    ran, student_checks, solved = editions_ran[notebook.name]
    if isinstance(ran, Exception):
        raise ran  # the failing cell's traceback

    def score(cell: nbformat.NotebookNode) -> str:
        (result,) = [o for o in cell.outputs if o.output_type == "execute_result"]
        return result["data"]["text/plain"]

    for i in student_checks:
        assert "not answered yet" in stdout_of(ran.cells[i]).lower(), \
            f"{notebook.name}: a blank answer's check printed {stdout_of(ran.cells[i])!r}"
        assert score(ran.cells[i]) == "0"
    for i in solved:
        verdict = stdout_of(ran.cells[i]).lower()
        # "✓ Correct!", or an estimate's or a prediction's "✓ Within ..."
        assert verdict.lstrip().startswith("✓") and "not yet" not in verdict, \
            f"{notebook.name}: a solved answer's check printed {stdout_of(ran.cells[i])!r}"
        assert score(ran.cells[i]) == "1"


def readme_teacher_steps() -> tuple[str, str, str]:
    """The README's teacher steps: the install line, the lines before collecting, and after."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    block = re.search(r"<!-- teacher-steps[^>]*-->\n```bash\n(.*?)\n```", readme, flags=re.S)
    assert block, "README.md: the teacher steps' bash block is missing"
    lines = block.group(1).split("\n")
    (install,) = [line for line in lines if line.startswith("pip install")]
    collect = next(i for i, line in enumerate(lines) if line.startswith("# 4. Collect"))
    before = [line for line in lines[:collect] if line != install]
    return install, "\n".join(before), "\n".join(lines[collect:])


@pytest.mark.slow
def test_readme_teacher_steps(tmp_path):
    """The README's teacher section, run line by line on chapter 1 with three submissions.

    All but the `pip install` line run as written (nbgrader and the package are the test
    environment's); the grading kernel imports this checkout's vgg_lessons (PYTHONPATH)
    and cannot import the book toolchain. Scores are read from the exported grades.csv.
    """
    import csv

    install, before, after = readme_teacher_steps()
    url = editions.Publication.of(ROOT).repository
    assert "nbgrader" in install and f"vgg-lessons @ git+{url}" in install
    env = {**os.environ, "REPO": str(ROOT), "PYTHONPATH": os.pathsep.join(
        p for p in (str(NO_TOOLCHAIN), str(ROOT), os.environ.get("PYTHONPATH", "")) if p)}

    def bash(script: str, cwd: Path) -> None:
        result = subprocess.run(["bash", "-euo", "pipefail", "-c", script], cwd=cwd, env=env,
                                capture_output=True, text=True, timeout=900)
        assert result.returncode == 0, f"{script}\nfailed:\n{result.stderr[-3000:]}"

    bash(before, tmp_path)
    course = tmp_path / "course"
    name = BOOK[0].name
    released = nbformat.read(course / "release" / "ch1" / name, as_version=4)
    student = nbformat.read(edition_file("student", BOOK[0]), as_version=4)
    assert [(c.source, c.metadata) for c in released.cells] == \
        [(c.source, c.metadata) for c in student.cells], "the hand-out is the release"

    teacher = nbformat.read(edition_file("teacher", BOOK[0]), as_version=4)
    solved = [re.search(r"### BEGIN SOLUTION\n(.*)\n### END SOLUTION", c.source, flags=re.S)[1]
              for c in teacher.cells if c.metadata.get("nbgrader", {}).get("solution")]
    crash = ["raise RuntimeError('a crashing cell')" if i == 1 else s
             for i, s in enumerate(solved)]
    for student_id, fills in {"right": solved, "blank": None, "crash": crash}.items():
        submission = copy.deepcopy(released)  # as a student returns it: answers appended
        answers = [c for c in submission.cells if c.metadata.get("nbgrader", {}).get("solution")]
        for cell, fill in zip(answers, fills or []):
            cell.source = f"{cell.source.rstrip()}\n{fill}"
        folder = course / "submitted" / student_id / "ch1"
        folder.mkdir(parents=True)
        nbformat.write(submission, folder / name)

    bash(after, course)
    with open(course / "grades.csv", newline="") as f:
        rows = {row["student_id"]: row for row in csv.DictReader(f)}
    n = len(solved)
    assert n >= 3 and all(float(r["max_score"]) == n for r in rows.values())
    assert {k: float(r["score"]) for k, r in rows.items()} == \
        {"right": n, "blank": 0, "crash": n - 1}


def test_colab_button_opens_the_jupyter_edition():
    """Jupyter Book's Colab link is ``path_to_book`` + the page's path: the Jupyter edition."""
    import yaml

    path_to_book = yaml.safe_load((ROOT / "_config.yml").read_text())["repository"]["path_to_book"]
    for notebook in BOOK:
        opened = ROOT / path_to_book / notebook.relative_to(ROOT)
        assert opened == edition_file("jupyter", notebook) and opened.is_file()


def test_the_command_writes_every_edition_and_names_a_wrong_root(tmp_path, capsys):
    assert editions.main(["--out", str(tmp_path / "out"), "--root", str(ROOT)]) == 0
    written = {p.relative_to(tmp_path / "out") for p in (tmp_path / "out").rglob("*.*")}
    # every edition, and the manifest of what the command wrote (only those are removed)
    assert written == set(editions.generate_editions(ROOT)) | {Path(editions.MANIFEST)}
    with pytest.raises(SystemExit):
        editions.main(["--out", str(tmp_path / "out"), "--root", str(tmp_path)])
    assert f"no _toc.yml in {tmp_path}; pass --root with the repository root" in capsys.readouterr().err


@pytest.mark.slow
def test_glue_shim_writes_what_myst_nb_writes(tmp_path):
    """With or without myst-nb the glue cells' outputs are equal, so nbval passes in both."""
    source = ('from vgg_lessons.publishing.glue import glue\nglue("n", 1234, display=False)\n'
              'glue("acc", f"{0.853:.1%}")\nglue("pair", (2, 3.5), display=False)')
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(source)])
    path = tmp_path / "glue.ipynb"
    nbformat.write(nb, path)
    without = run_without_toolchain(path).cells[0].outputs
    with_myst = nbformat.read(path, as_version=4)
    NotebookClient(with_myst, timeout=120, kernel_name="python3").execute()
    assert len(without) == 3 and without == with_myst.cells[0].outputs
    assert without[0]["metadata"]["scrapbook"] == {"name": "n", "mime_prefix": RECORD}
    assert without[0]["data"] == {RECORD + "text/plain": "1234"}
    assert without[1]["data"]["text/plain"] == "'85.3%'"  # display=True: shown as Jupyter shows it


def test_glue_shim_names_a_bad_key():
    from vgg_lessons.publishing.glue import glue

    with pytest.raises(ValueError, match="glue needs a non-empty string name, got 3"):
        glue(3, 1)
