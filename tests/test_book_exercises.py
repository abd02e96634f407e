"""No exercise can be answered by copying a number printed above it (issue 21).

For every exercise of every chapter, the value its check accepts must not occur
verbatim in what the reader has seen before the exercise: the chapter's markdown with
the glued numbers pasted in (as the page shows them) and the outputs of its code
cells, up to the markdown cell that opens the exercise. Earlier exercises' written
solutions count too: a reader can open their dropdowns.

A check that needs the notebook's own objects (``check_x(answer, model, images)``) is
left out: its answer depends on them, not on a number the page could print. Every
other check gives its right value with ``check.solution()`` (``NumberCheck`` rows do).
"""

from __future__ import annotations

import ast
import importlib
import pkgutil
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

import vgg_lessons.exercises
from vgg_lessons.publishing._myst import Context, parse_bibtex, to_plain_markdown
from vgg_lessons.publishing.editions import (
    answer_cell,
    doc_targets,
    glued_values,
    read_notebook,
)

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "book").glob("[0-9][0-9]_*.ipynb"))

#: Chapters 5-7 fail today (chapter 4 passes) and are being rewritten elsewhere; strict,
#: so the marks go when the rewrite lands.
BEING_REWRITTEN = pytest.mark.xfail(
    strict=True, reason="issue 21: chapters 4-7 being rewritten on branch content47"
)


def checks() -> dict[str, object]:
    """Every ``check_*`` of every chapter module, by name."""
    found = {}
    for info in pkgutil.iter_modules(vgg_lessons.exercises.__path__):
        if info.name.startswith("chapter"):
            module = importlib.import_module(f"vgg_lessons.exercises.{info.name}")
            found.update({n: getattr(module, n) for n in dir(module) if n.startswith("check_")})
    return found


def renderings(value: object) -> set[str]:
    """The ways a page could print ``value``: 4224 and 4,224; 1.60 and 1.604; (512, 14, 14)."""
    if isinstance(value, (list, tuple)):
        items = [str(int(v)) for v in value]
        return {f"({', '.join(items)})", f"[{', '.join(items)}]", "-".join(items),
                "x".join(items), " x ".join(items)}
    number = float(value)
    large = set()
    if abs(number) >= 1e6:  # also as 1.21e+17 and 1.21e17
        large = {f"{number:.2e}", f"{number:.3g}"}
        large |= {t.replace("e+", "e") for t in large}
    if number.is_integer():
        return {str(int(number)), f"{int(number):,}"} | large
    shown = {f"{number:#.3g}", f"{number:#.4g}"} | large
    if len(repr(number)) <= 8:
        shown.add(repr(number))
    return shown


def occurs(text: str, token: str) -> bool:
    """Whether ``token`` stands in ``text`` as a whole number (not inside a longer one)."""
    return re.search(rf"(?<![\d.,]){re.escape(token)}(?!\d|[.,]\d)", text) is not None


def output_text(cell: dict) -> str:
    """What a code cell shows: its streams and plain-text results (glue records excluded)."""
    parts = []
    for output in cell.get("outputs", []):
        if output.get("metadata", {}).get("scrapbook"):
            continue
        if output["output_type"] == "stream":
            parts.append("".join(output["text"]))
        elif "text/plain" in output.get("data", {}):
            parts.append("".join(output["data"]["text/plain"]))
    return "\n".join(parts)


def exercises_with_text_before(notebook: Path) -> Iterator[tuple[str, list[str], str]]:
    """(check name, extra argument sources, text seen before the exercise) per answer cell."""
    nb = read_notebook(notebook)
    bib = "\n".join(p.read_text(encoding="utf-8") for p in sorted(ROOT.glob("book/*.bib")))
    ctx = Context(glue=glued_values(nb), references=parse_bibtex(bib),
                  docs=doc_targets(ROOT, NOTEBOOKS))
    seen, opening = [], 0  # rendered text; where the latest exercise's cell starts in it
    for cell in nb["cells"]:
        if cell["cell_type"] == "markdown":
            if re.search(r"\{exercise(-start)?\}", cell["source"]):
                opening = len(seen)
            seen.append(to_plain_markdown(cell["source"], ctx))
            continue
        parts = answer_cell(cell["source"]) if cell["cell_type"] == "code" else None
        if parts is not None:
            call = ast.parse(parts.check_call, mode="eval").body
            name = call.func.attr if isinstance(call.func, ast.Attribute) else call.func.id
            context = [ast.unparse(arg) for arg in call.args[1:]]
            yield name, context, "\n".join(seen[:opening])
        seen.append(output_text(cell))


def chapter_params() -> list:
    params = []
    for notebook in NOTEBOOKS:
        marks = [BEING_REWRITTEN] if 5 <= int(notebook.stem[:2]) <= 7 else []
        params.append(pytest.param(notebook, id=notebook.stem, marks=marks))
    return params


@pytest.mark.parametrize("notebook", chapter_params())
def test_no_exercise_answer_is_printed_before_it(notebook: Path):
    available = checks()
    found, copyable = 0, []
    for name, context, before in exercises_with_text_before(notebook):
        found += 1
        check = available[name]
        if context:  # the answer depends on the notebook's model or images: not fixed text
            continue
        assert hasattr(check, "solution"), (
            f"{name}: give the check a solution() that returns its right value, so that "
            f"this test can look for it on the page")
        value = check.solution()
        shown = sorted(t for t in renderings(value) if occurs(before, t))
        if shown:
            copyable.append(f"{name}: {shown} already on the page")
    assert found >= 3, f"{notebook.name} has {found} exercises; the book asks for three or more"
    assert copyable == [], "copyable exercises:\n" + "\n".join(copyable)


def test_renderings_and_occurrence():
    assert renderings(4224) == {"4224", "4,224"}
    assert {"1.60", "1.604"} <= renderings(1.6036)
    assert "0.56" in renderings(0.56)
    assert "(512, 14, 14)" in renderings((512, 14, 14))
    assert {"1.21e+17", "1.21e17"} <= renderings(1.2104e17)
    assert occurs("saves 4,224 parameters.", "4,224")
    assert not occurs("0.1577", "1577") and not occurs("15.5", "15") and not occurs("152", "15")
    assert occurs("field of 15.", "15")
