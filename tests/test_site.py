"""The web book's extension (vgg_lessons.publishing.site) without a browser: the explorers' data,
the placement script and the offline configuration."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
import torch
import yaml

from vgg_lessons.train import weights
from vgg_lessons.probes import fields
from vgg_lessons.publishing.site import MATHJAX, STATIC
from vgg_lessons.publishing.site import explorer_data

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def model():
    return weights.load_pretrained()


def test_map_layers_are_every_conv_relu_and_pool(model):
    layers = explorer_data.map_layers(model)
    kinds = [name.split(".")[1].rstrip("0123456789") for name in layers]
    assert kinds.count("pool") == 5 and kinds.count("conv") == kinds.count("relu") == 8
    assert layers[:3] == ["stage1.conv1", "stage1.relu1", "stage1.pool"]


def test_geometry_index_gives_a_relu_its_convolution_row(model):
    layers = explorer_data.map_layers(model)
    table = fields.layer_table(model, 32)
    rows = dict(zip(layers, explorer_data.geometry_index(model, layers)))
    assert table[rows["stage3.relu2"]].name == "stage3.conv2"
    assert table[rows["stage3.conv2"]].name == "stage3.conv2"
    assert table[rows["stage5.pool"]].name == "stage5.pool"


def test_pick_images_includes_mistakes_and_each_class():
    labels = torch.arange(40) % 10
    predicted = labels.clone()
    predicted[[2, 13, 27]] = 0  # three mistakes
    chosen = explorer_data.pick_images(predicted, labels)
    assert len(chosen) == explorer_data.N_IMAGES == len(set(chosen)) and chosen == sorted(chosen)
    assert {2, 13, 27} <= set(chosen)
    assert set(labels[chosen].tolist()) == set(range(10))


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


def test_placement_script_is_idempotent(tmp_path):
    script = ROOT / "scripts" / "place_explorers.py"
    result = subprocess.run([sys.executable, str(script), "--check"], capture_output=True,
                            text=True, cwd=ROOT)
    assert result.returncode == 0, f"the notebooks lack the explorer cells: {result.stdout}"
    nb = nbformat.read(ROOT / "book" / "06_what_vgg_sees.ipynb", as_version=4)
    ids = [c.get("id") for c in nb.cells if str(c.get("id", "")).startswith("vgg-explorer")]
    assert ids == ["vgg-explorer-feature-maps", "vgg-explorer-receptive-field",
                   "vgg-explorer-filters"]
    nb = nbformat.read(ROOT / "book" / "07_the_paper.ipynb", as_version=4)
    at = [i for i, c in enumerate(nb.cells) if c.get("id") == "vgg-explorer-attribution"]
    heading = [i for i, c in enumerate(nb.cells)
               if "## What the trained model looks at" in c.source.splitlines()]
    following = [i for i, c in enumerate(nb.cells) if "## Features reused" in c.source.splitlines()]
    assert len(at) == 1 and heading[0] < at[0] == following[0] - 1  # the end of its section


def test_config_serves_everything_from_the_book():
    config = yaml.safe_load((ROOT / "_config.yml").read_text())
    assert "vgg_lessons.publishing.site" in config["sphinx"]["extra_extensions"]
    assert config["sphinx"]["config"]["nb_merge_streams"] is True
    assert (ROOT / config["html"]["favicon"]).is_file()
    assert (STATIC / MATHJAX).is_file() and (STATIC / MATHJAX).stat().st_size > 1_000_000


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
