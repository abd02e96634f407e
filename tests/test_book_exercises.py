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
import json
import pkgutil
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

import vgg_lessons.exercises
from vgg_lessons.inputs import normalize
from vgg_lessons.publishing._myst import Context, parse_bibtex, to_plain_markdown
from vgg_lessons.publishing.editions import (
    answer_cell,
    doc_targets,
    glued_values,
    read_notebook,
)
from vgg_lessons.train import grid_records, weights

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "book").glob("[0-9][0-9]_*.ipynb"))


#: Checks whose answer the student measures on the chapter's own model and images
#: (the notebook passes them to the check). Here each gets that context from the package,
#: as the chapter builds it: the shipped model and CIFAR-10's test images.
def _chapter_context(name: str, test_split: tuple) -> tuple:
    import torch

    from vgg_lessons.models import build_vgg
    from vgg_lessons.probes import dense

    # chapters 6 and 8 look inside the stronger model, chapters 5 and 7 run the small one
    inside = name in ("check_kernel_numbers", "check_zero_fraction", "check_top_image",
                      "check_random_zero_fraction", "check_mirror_agreement")
    model = weights.load_pretrained(weights.INSPECTED if inside else "vgg11_bn_cifar10")
    images, labels = test_split  # CIFAR-10's test images, uint8, and labels
    if name == "check_kernel_numbers":
        return (model,)
    if name in ("check_zero_fraction", "check_top_image", "check_random_zero_fraction"):
        inputs = normalize(images[:1000])
        if name == "check_random_zero_fraction":
            torch.manual_seed(0)  # as chapter 6 draws its random network
            return build_vgg(**model.config).eval(), inputs[:100]
        return model, inputs[:100] if name == "check_zero_fraction" else inputs
    if name == "check_train_mode_accuracy":  # chapter 5's 1,000 shuffled test images
        pick = torch.randperm(len(images), generator=torch.Generator().manual_seed(1))
        return model, images[pick[:1000]], labels[pick[:1000]]
    if name == "check_tiles_at_384":  # chapter 7's sixteen 4x4 mosaics
        scenes = torch.cat(
            [dense.mosaic(images[16 * i : 16 * i + 16], 4, 4) for i in range(16)]
        )
        return model, scenes, labels[:256], 384
    if name == "check_mirror_agreement":
        return model, images[:100]
    raise KeyError(name)


#: Checks that read the committed grid records (chapter 9), passed as the notebook does.
RECORDS_CONTEXT = {"check_depth_gain", "check_paper_spread"}


#: The measured value, where measuring it here would take long: flip averaging over the
#: 10,000 test images is recorded with the shipped model (to the rounding shown).
RECORDED = {
    "check_flip_tta": lambda: (
        100
        * json.loads(
            (ROOT / "vgg_lessons" / "assets" / "vgg11_bn_cifar10.json").read_text()
        )["test_acc_flip_tta"]
    )
}

#: Checks whose answer is one of the options the question lists (a tile 0-3): its number
#: is on the page by design.
CHOICES = {"check_gradcam_tile"}


def checks() -> dict[str, object]:
    """Every ``check_*`` of every chapter module, by name."""
    found = {}
    for info in pkgutil.iter_modules(vgg_lessons.exercises.__path__):
        if info.name.startswith("chapter"):
            module = importlib.import_module(f"vgg_lessons.exercises.{info.name}")
            found.update(
                {n: getattr(module, n) for n in dir(module) if n.startswith("check_")}
            )
    return found


def renderings(value: object) -> set[str]:
    """The ways a page could print ``value``: 4224 and 4,224; 1.60 and 1.604; (512, 14, 14)."""
    if isinstance(value, (list, tuple)):
        items = [str(int(v)) for v in value]
        return {
            f"({', '.join(items)})",
            f"[{', '.join(items)}]",
            "-".join(items),
            "x".join(items),
            " x ".join(items),
        }
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


def prose(text: str) -> str:
    """``text`` without link targets (URLs) and the chapter numbers of links to chapters
    ("[6. What VGG sees](...)"): digits there are no answers a reader could copy."""
    text = re.sub(r"\]\([^)]*\)", "]", text)
    return re.sub(r"\[\d+\. ", "[", text)


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
    bib = "\n".join(
        p.read_text(encoding="utf-8") for p in sorted(ROOT.glob("book/*.bib"))
    )
    ctx = Context(
        glue=glued_values(nb),
        references=parse_bibtex(bib),
        docs=doc_targets(ROOT, NOTEBOOKS),
    )
    seen, opening = (
        [],
        0,
    )  # rendered text; where the latest exercise's cell starts in it
    for cell in nb["cells"]:
        if cell["cell_type"] == "markdown":
            if re.search(r"\{exercise(-start)?\}", cell["source"]):
                opening = len(seen)
            seen.append(to_plain_markdown(cell["source"], ctx))
            continue
        parts = answer_cell(cell["source"]) if cell["cell_type"] == "code" else None
        if parts is not None:
            call = ast.parse(parts.check_call, mode="eval").body
            name = (
                call.func.attr if isinstance(call.func, ast.Attribute) else call.func.id
            )
            context = [ast.unparse(arg) for arg in call.args[1:]]
            yield name, context, prose("\n".join(seen[:opening]))
        seen.append(output_text(cell))


@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=[n.stem for n in NOTEBOOKS])
def test_no_exercise_answer_is_printed_before_it(notebook: Path, request):
    available = checks()
    found, copyable = 0, []
    for name, context, before in exercises_with_text_before(notebook):
        found += 1
        check = available[name]
        if name in CHOICES:
            continue
        if name in RECORDED:
            value = RECORDED[name]()
        elif name in RECORDS_CONTEXT:
            value = check.solution(grid_records.load_records())
        elif context:
            split = request.getfixturevalue("cifar10_test")  # the real data, once
            value = check.solution(*_chapter_context(name, split))
        else:
            value = check.solution()
        shown = sorted(t for t in renderings(value) if occurs(before, t))
        if shown:
            copyable.append(f"{name}: {shown} already on the page")
    assert found >= 3, (
        f"{notebook.name} has {found} exercises; the book asks for three or more"
    )
    assert copyable == [], "copyable exercises:\n" + "\n".join(copyable)


def test_renderings_and_occurrence():
    assert renderings(4224) == {"4224", "4,224"}
    assert {"1.60", "1.604"} <= renderings(1.6036)
    assert "0.56" in renderings(0.56)
    assert "(512, 14, 14)" in renderings((512, 14, 14))
    assert {"1.21e+17", "1.21e17"} <= renderings(1.2104e17)
    assert occurs("saves 4,224 parameters.", "4,224")
    assert (
        not occurs("0.1577", "1577")
        and not occurs("15.5", "15")
        and not occurs("152", "15")
    )
    assert occurs("field of 15.", "15")
