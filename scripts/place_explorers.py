"""Put the in-page explorers into chapters 1, 6 and 8: one markdown cell each, idempotent.

Each explorer is a markdown cell holding a ``{vgg-explorer}`` directive (rendered by
``vgg_lessons.publishing.site`` in the web book) and a sentence saying what needs a kernel. It goes
at the end of the section under a given heading (before the next cell with a heading of
that level or higher). Run again, it rewrites the same cells in place and changes nothing else;
a notebook whose heading is missing is an error (the heading was renamed: update PLACES).

    python scripts/place_explorers.py          # edit the notebooks
    python scripts/place_explorers.py --check  # exit 1 if a notebook would change
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parents[1]
#: The directive's content: the web book's extension ignores it (the explorer is drawn in
#: its place), while Jupyter and Colab show it, as a code block, where the explorer would be.
JUPYTER_NOTE = ("The explorer is drawn here in the web book; Jupyter and Colab show this "
                "note instead.")

TEXT = {
    "field-arithmetic": (
        "**Explorer in the page (no kernel needed).** Change the kernel, stride, padding, "
        "dilation, depth and input size: the table (output size, jump, field and start of "
        "each layer) and the middle unit's field are recomputed in the page with the "
        "formulas above, as `rf_table` computes them. In Jupyter or Colab, "
        "`receptive_field_explorer()` (the code cell above) draws the same with a figure "
        "and sliders."),
    "feature-maps": (
        "**Explorer in the page (no kernel needed).** Pick one of 16 test images (a red "
        "underline marks one the model gets wrong), a layer (every stage's convolution, "
        "ReLU and pooling output) and a channel (or click one in the grid), and switch "
        "between the trained and random weights; below it, the model's prediction and top 3. "
        "The maps were computed from this chapter's VGG-16 when this book was built. In "
        "Jupyter or Colab, the `FeatureMapExplorer` widget of the code cell above does the "
        "same for any test image or an image of your own."),
    "live-model": (
        "**Explorer in the page (no kernel needed): the model itself.** Drop an image of "
        "your own here or choose a file (it is centre-cropped to a square and downscaled "
        "to 32x32 pixels, shown as the model sees it), or pick one of the 16 test images: "
        "a model runs in this page, in plain JavaScript, and shows its prediction, its "
        "top 3 and the feature maps of every layer (pick a layer; click a channel or use "
        "the arrow keys; order the channels by number or strongest first). It is the small "
        "model of chapter 4 (VGG-11 at a quarter of the paper's width, 82% right), not this "
        "chapter's VGG-16: it needs an eighth of the multiply-adds and a sixth of the "
        "weights, which the page downloads. Its weights were exported when this book was "
        "built; the page computes the same logits as PyTorch."),
    "receptive-field": (
        "**Explorer in the page (no kernel needed): receptive fields.** Click a unit on a "
        "layer's map: its theoretical field is drawn on the input, at the place "
        "`layer_table(model, 32)` gives (centre `start + unit * jump`, side `rf`). For the "
        "centre unit the shading shows its effective field, measured by back-propagation."),
    "filters": (
        "**Explorer in the page (no kernel needed).** The first layer's kernels, and for "
        "every channel of `stage4.bn2` an image painted to excite it and its top 8 of the "
        "first 1,000 test images, all computed when this book was built. In Jupyter or "
        "Colab, the `FilterViewer` widget of the code cell above shows any layer and "
        "channel."),
    "attribution": (
        "**Explorer in the page (no kernel needed): saliency and Grad-CAM.** Pick one of "
        "the 16 test images of the figure above (a red underline marks one the model gets "
        "wrong), a map (saliency, "
        "or Grad-CAM at the last ReLU of stages 2 to 5) and a target class (click its tile: "
        "the strip shows the map for every class), and switch to random weights to run the "
        "sanity check above on that map: its rank correlation with the trained map is "
        "printed below it. The maps were computed from this chapter's VGG-16 with "
        "`attribution.saliency` and `attribution.grad_cam` (Grad-CAM averaged over 18 "
        "moved and mirrored copies, `jitter=2`, as above) when this book was built; in "
        "Jupyter or Colab, call them on any image."),
}

#: notebook -> [(heading line, explorers placed at the end of its section)]
PLACES = {
    "book/01_receptive_fields.ipynb": [("## Explore: how the field grows", ["field-arithmetic"])],
    "book/06_what_vgg_sees.ipynb": [
        ("## Feature maps, stage by stage", ["live-model", "feature-maps", "receptive-field"]),
        ("## What a deeper channel responds to", ["filters"]),
    ],
    "book/08_what_the_model_looks_at.ipynb": [("## Saliency and Grad-CAM", ["attribution"])],
}


def cell_id(kind: str) -> str:
    return f"vgg-explorer-{kind}"


def explorer_cell(kind: str) -> nbformat.NotebookNode:
    source = f"{TEXT[kind]}\n\n```{{vgg-explorer}} {kind}\n{JUPYTER_NOTE}\n```"
    cell = nbformat.v4.new_markdown_cell(source)
    cell.id = cell_id(kind)
    return cell


def _level(cell: nbformat.NotebookNode) -> int | None:
    """The highest level of the headings in a markdown cell (``##`` -> 2), else None."""
    if cell.cell_type != "markdown":
        return None
    levels = [len(m.group(1)) for m in re.finditer(r"^(#{1,6}) ", cell.source, re.MULTILINE)]
    return min(levels, default=None)


def section_end(cells: list, heading: str, name: str) -> int:
    """Index after the last cell of the section that ``heading`` opens."""
    starts = [i for i, c in enumerate(cells)
              if c.cell_type == "markdown" and heading in c.source.splitlines()]
    if len(starts) != 1:
        raise SystemExit(f"{name}: expected one cell with the heading {heading!r}, found "
                         f"{len(starts)}; update PLACES in scripts/place_explorers.py")
    level = heading.count("#", 0, heading.index(" "))
    for i in range(starts[0] + 1, len(cells)):
        found = _level(cells[i])
        if found is not None and found <= level:
            return i
    return len(cells)


def place(notebook: nbformat.NotebookNode, places: list, name: str) -> nbformat.NotebookNode:
    """``notebook`` with its explorer cells removed and placed anew (same cells, same spot)."""
    kinds = {cell_id(k) for _, ks in places for k in ks}
    notebook.cells = [c for c in notebook.cells if c.get("id") not in kinds]
    for heading, ks in places:
        at = section_end(notebook.cells, heading, name)
        notebook.cells[at:at] = [explorer_cell(k) for k in ks]
    return notebook


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="change nothing; exit 1 if needed")
    args = parser.parse_args(argv)
    stale = []
    for name, places in PLACES.items():
        path = ROOT / name
        before = path.read_text(encoding="utf-8")
        notebook = place(nbformat.reads(before, as_version=4), places, name)
        after = nbformat.writes(notebook) + "\n"
        if after != before:
            stale.append(name)
            if not args.check:
                path.write_text(after, encoding="utf-8")
    verb = "would change" if args.check else "changed"
    print(f"{verb}: {', '.join(stale)}" if stale else "explorers in place; nothing to change")
    return 1 if args.check and stale else 0


if __name__ == "__main__":
    sys.exit(main())
