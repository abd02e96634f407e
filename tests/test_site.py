"""The web book's extension (vgg_lessons.publishing.site) without a browser: the explorers' data,
the placement script and the offline configuration."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import nbformat
import numpy as np
import pytest
import torch
import yaml

from vgg_lessons.train import weights
from vgg_lessons.probes import fields
from vgg_lessons.publishing.site import explorer_data, maths

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def model():
    """The model the maps, fields, filters and attribution explorers show."""
    return weights.load_pretrained(weights.INSPECTED)


def test_map_layers_are_every_conv_relu_and_pool(model):
    layers = explorer_data.map_layers(model)
    kinds = [name.split(".")[1].rstrip("0123456789") for name in layers]
    assert kinds.count("pool") == 5 and kinds.count("conv") == kinds.count("relu") == 13  # VGG-16
    assert layers[:5] == ["stage1.conv1", "stage1.relu1", "stage1.conv2", "stage1.relu2", "stage1.pool"]


def test_geometry_index_gives_a_relu_its_convolution_row(model):
    layers = explorer_data.map_layers(model)
    table = fields.layer_table(model, 32)
    rows = dict(zip(layers, explorer_data.geometry_index(model, layers)))
    assert table[rows["stage3.relu2"]].name == "stage3.conv2"
    assert table[rows["stage3.conv2"]].name == "stage3.conv2"
    assert table[rows["stage5.pool"]].name == "stage5.pool"


def test_band_layout_stacks_layers_without_overlap():
    bands, height = explorer_data.band_layout([(16, 32), (64, 8), (3, 1)])
    assert [b["cols"] for b in bands] == [8, 32, 3]
    assert [b["y"] for b in bands] == [0, 64, 80] and height == 81


def test_map_sheet_places_each_channel_and_its_range():
    bands, height = explorer_data.band_layout([(2, 2)])
    fmap = torch.tensor([[[0.0, 1.0], [2.0, 3.0]], [[3.0, 3.0], [3.0, 3.0]]])  # (2, 2, 2)
    sheet, ranges = explorer_data.map_sheet([fmap], bands, height)
    assert sheet.shape == (2, explorer_data.SHEET_WIDTH, 3) and ranges == [[0.0, 3.0]]
    low, high = explorer_data._viridis(torch.tensor([0.0, 1.0]).numpy())
    assert (sheet[0, 0] == low).all() and (sheet[1, 1] == high).all()
    assert (sheet[:, 2:4] == high).all()  # channel 1 is all 3.0, the top of the range
    assert (sheet[:, 4:] == low).all()  # never shown: the scale's low end, no extra colour


def test_sheets_with_at_most_256_colours_are_saved_losslessly_with_a_palette(tmp_path):
    from PIL import Image

    rng = np.random.default_rng(0)
    colours = rng.integers(0, 256, (256, 3), dtype=np.uint8)
    few = colours[rng.integers(0, 256, (20, 30))]  # (20, 30, 3), 256 colours at most
    many = rng.integers(0, 256, (20, 30, 3), dtype=np.uint8)  # about 600 colours
    grey = rng.integers(0, 256, (20, 30), dtype=np.uint8)  # an effective-field strip
    for name, array, mode in (("few.png", few, "P"), ("many.png", many, "RGB"), ("grey.png", grey, "L")):
        explorer_data._save(tmp_path, name, array)
        with Image.open(tmp_path / name) as image:
            assert image.mode == mode
            assert (np.asarray(image if mode == "L" else image.convert("RGB")) == array).all()


def test_placement_script_is_idempotent(tmp_path):
    script = ROOT / "scripts" / "place_explorers.py"
    result = subprocess.run([sys.executable, str(script), "--check"], capture_output=True,
                            text=True, cwd=ROOT)
    assert result.returncode == 0, f"the notebooks lack the explorer cells: {result.stdout}"
    nb = nbformat.read(ROOT / "book" / "06_what_vgg_sees.ipynb", as_version=4)
    ids = [c.get("id") for c in nb.cells if str(c.get("id", "")).startswith("vgg-explorer")]
    assert ids == ["vgg-explorer-live-model", "vgg-explorer-feature-maps",
                   "vgg-explorer-receptive-field", "vgg-explorer-filters"]
    # the live model comes right after the text that promises "an image of your own"
    live = [i for i, c in enumerate(nb.cells) if c.get("id") == "vgg-explorer-live-model"][0]
    promise = [i for i, c in enumerate(nb.cells[:live]) if "of your own" in c.source]
    assert promise and not any(c.cell_type == "markdown" and c.source.startswith("#")
                               for c in nb.cells[promise[-1]:live])
    nb = nbformat.read(ROOT / "book" / "08_what_the_model_looks_at.ipynb", as_version=4)
    at = [i for i, c in enumerate(nb.cells) if c.get("id") == "vgg-explorer-attribution"]
    heading = [i for i, c in enumerate(nb.cells)
               if "## Saliency and Grad-CAM" in c.source.splitlines()]
    following = [i for i, c in enumerate(nb.cells)
                 if "## What came after, and why VGG is still everywhere" in c.source.splitlines()]
    assert len(at) == 1 and heading[0] < at[0] == following[0] - 1  # the end of its section


def test_config_serves_everything_from_the_book():
    config = yaml.safe_load((ROOT / "_config.yml").read_text())
    assert "vgg_lessons.publishing.site" in config["sphinx"]["extra_extensions"]
    assert config["sphinx"]["config"]["nb_merge_streams"] is True
    assert (ROOT / config["html"]["favicon"]).is_file()


PAGE = """<html><head>
    <script>window.MathJax = {"options": {"processHtmlClass": "math"}}</script>
    <script defer="defer" src="../_static/vgg-lessons/mathjax/tex-svg-full.js?v=1"></script>
</head><body><p>A size <span class="math notranslate nohighlight">\\(n_\\text{out} &lt; n\\)</span>.</p>
<div class="math notranslate nohighlight">
\\[ r_\\ell = r_{\\ell-1} + (k_\\ell - 1)\\, j_{\\ell-1} \\]</div></body></html>"""


def test_maths_is_typeset_when_the_book_is_built(tmp_path: Path):
    page = tmp_path / "page.html"
    page.write_text(PAGE, encoding="utf-8")
    assert maths.typeset_pages([page]) == 2
    html = page.read_text(encoding="utf-8")
    assert html.count("<mjx-container") == 2 and html.count("<svg") == 2
    assert 'display="true"' in html and "\\(" not in html and "\\[" not in html
    assert "MathJax" not in html.split("<body>")[0], "MathJax's scripts are still in the head"
    assert 'aria-label="n_\\text{out} &lt; n"' in html  # the TeX, for screen readers
    assert maths.typeset_pages([page]) == 0  # typeset pages are left as they are


def test_maths_names_the_formula_it_cannot_typeset(tmp_path: Path):
    page = tmp_path / "page.html"
    page.write_text('<span class="math notranslate nohighlight">\\(\\frac{a}{\\)</span>',
                    encoding="utf-8")
    with pytest.raises(RuntimeError, match=r"could not typeset.*\\frac\{a\}"):
        maths.typeset_pages([page])


def test_random_model_is_seeded_without_touching_the_global_rng(model):
    torch.manual_seed(123)
    expected_next = torch.rand(3)
    torch.manual_seed(123)
    first = explorer_data.random_model(model)
    torch.testing.assert_close(torch.rand(3), expected_next)  # the caller's stream goes on
    second = explorer_data.random_model(model)
    for (name, a), b in zip(first.state_dict().items(), second.state_dict().values()):
        torch.testing.assert_close(a, b, msg=name)
    assert not torch.equal(first.features[0].weight, model.features[0].weight)
