"""Make the book's notebooks run without the book toolchain and hide their solved answers.

    python scripts/prepare_book_notebooks.py [book/NN_x.ipynb ...]   # default: every book/*.ipynb

Three changes, all idempotent (a second run changes nothing) and neither touching an
output, so nbval's checks and the committed outputs stay as they are:

1. ``from myst_nb import glue`` becomes ``from vgg_lessons.publishing.glue import glue`` (placed
   among the package's imports): the package's shim, which calls myst-nb where it is
   installed and writes the same output where it is not (Colab, plain Jupyter).
2. Each exercise's solution (```` ```{solution} label ```` at the end of a markdown cell)
   whose next cell is the solved answer cell (it calls a ``check_...``) becomes
   sphinx-exercise's gated pair: ``{solution-start}`` there, and a new markdown cell
   ``{solution-end}`` after the answer cell. The rendered page then shows the answer
   cell, and its check's output, only inside the closed solution dropdown; nbval still
   runs and checks it.

3. The install cell (the code cell tagged ``colab-install``) becomes the one that
   ``vgg_lessons.publishing.editions.Publication`` makes from ``_config.yml``'s
   repository url and ``pyproject.toml`` (the PyPI name once ``on-pypi`` is true).

Run it on notebooks whose other cells changed too; it only looks for these patterns.
"""

from __future__ import annotations

import ast
import json
import re
import sys
from pathlib import Path

from vgg_lessons.publishing._myst import FENCE_OPEN, split_directive
from vgg_lessons.publishing.editions import INSTALL_TAG, Publication, answer_cell

ROOT = Path(__file__).resolve().parents[1]
MYST_GLUE = "from myst_nb import glue"
SHIM_GLUE = "from vgg_lessons.publishing.glue import glue"


def text(cell: dict) -> str:
    return "".join(cell["source"]) if isinstance(cell["source"], list) else cell["source"]


def lines_of(source: str) -> list[str]:
    """A cell source as nbformat stores it: lines, each with its newline but the last."""
    return source.splitlines(keepends=True)


def with_shim_import(source: str) -> str:
    """``source`` with myst-nb's glue import swapped for the shim's, in isort's place."""
    lines = [line for line in source.split("\n") if line.strip() != MYST_GLUE]
    if len(lines) == len(source.split("\n")):
        return source
    # IPython magics (%matplotlib inline) are not Python: parse them as `pass`
    tree = ast.parse("\n".join(re.sub(r"^(\s*)[%!].*$", r"\1pass", line) for line in lines))
    ours = [node for node in tree.body if isinstance(node, ast.ImportFrom)
            and (node.module or "").split(".")[0] == "vgg_lessons"]
    after = [node for node in ours if (node.module or "") > "vgg_lessons.publishing.glue"]
    if after:
        at = after[0].lineno - 1
    elif ours:
        at = ours[-1].end_lineno
    else:  # no package import yet: a group of its own after the imports
        imports = [n for n in tree.body if isinstance(n, (ast.Import, ast.ImportFrom))]
        at = imports[-1].end_lineno if imports else 0
        lines.insert(at, "")
        at += 1
    lines.insert(at, SHIM_GLUE)
    return "\n".join(lines)


def trailing_solution(source: str) -> tuple[int, str] | None:
    """(line index, label) of a plain ``{solution}`` directive that ends the cell, or None."""
    lines, i, found = source.split("\n"), 0, None
    while i < len(lines):
        split = split_directive(lines, i)
        if split:
            directive, end = split
            rest = "\n".join(lines[end:]).strip()
            if directive.name == "solution" and not rest:
                found = (i, directive.arg)
            i = end
        else:
            i += 1
    return found


def gate_solution(source: str, line: int) -> str:
    """``source`` with the ``{solution}`` directive opening at ``line`` made ``{solution-start}``.

    The gated start directive keeps only its options: sphinx-exercise drops a
    ``solution-start`` body, and shows what follows it, up to ``solution-end``, in the
    dropdown. So the written solution moves out of the fence, right below it.
    """
    lines = source.rstrip("\n").split("\n")
    fence = FENCE_OPEN.match(lines[line])["fence"]
    options = line + 1
    while options < len(lines) - 1 and re.match(r"^:[\w-]+:", lines[options]):
        options += 1
    start = [lines[line].replace("{solution}", "{solution-start}", 1), *lines[line + 1:options], fence]
    return "\n".join(lines[:line] + start + lines[options:-1])  # the last line closed the fence


def solution_end_cell(answer: dict, fence: str) -> dict:
    """The markdown cell that closes a gated solution after ``answer``."""
    return {"cell_type": "markdown", "id": f"{answer.get('id', 'answer')}-end"[:64],
            "metadata": {}, "source": lines_of(f"{fence}{{solution-end}}\n{fence}")}


def prepare(nb: dict, install: str | None = None) -> int:
    """Apply the changes to ``nb`` in place; return how many cells changed or were added.

    ``install`` is the install cell's source (default: the one this repository makes).
    """
    install = install or Publication.of(ROOT).install_cell()
    changes, cells, i = 0, nb["cells"], 0
    while i < len(cells):
        cell = cells[i]
        source = text(cell)
        tags = cell.get("metadata", {}).get("tags", [])
        if cell["cell_type"] == "code" and INSTALL_TAG in tags and source != install:
            cell["source"] = lines_of(install)
            changes += 1
        if cell["cell_type"] == "code" and MYST_GLUE in source:
            cell["source"] = lines_of(with_shim_import(source))
            changes += 1
        found = trailing_solution(source) if cell["cell_type"] == "markdown" else None
        following = cells[i + 1] if i + 1 < len(cells) else None
        if found and following and following["cell_type"] == "code" \
                and answer_cell(text(following)) is not None:
            cell["source"] = lines_of(gate_solution(source, found[0]))
            fence = FENCE_OPEN.match(source.split("\n")[found[0]])["fence"]
            cells.insert(i + 2, solution_end_cell(following, fence))
            changes += 2
        i += 1
    return changes


def main(argv: list[str]) -> int:
    paths = [Path(a) for a in argv] or sorted((ROOT / "book").glob("*.ipynb"))
    for path in paths:
        if path.suffix != ".ipynb" or not path.is_file():
            print(f"not a notebook file: {path}; pass paths such as book/01_receptive_fields.ipynb")
            return 2
        nb = json.loads(path.read_text(encoding="utf-8"))
        changes = prepare(nb)
        if changes:  # written as nbformat writes notebooks, so unchanged cells stay byte-equal
            path.write_text(json.dumps(nb, indent=1, sort_keys=True, ensure_ascii=False) + "\n",
                            encoding="utf-8")
        print(f"{path}: {changes} cell(s) changed or added")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
