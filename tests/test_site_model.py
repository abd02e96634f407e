"""The live-model explorer's data (vgg_lessons.publishing.site.model_data) without a browser:
the layer list follows the model, the float16 weights decode to the model's own values, and
a layer the page cannot run is refused with a message. The page's forward pass itself is
compared with PyTorch in tests/test_live_model_browser.py."""

from __future__ import annotations

import base64
import json

import numpy as np
import pytest
import torch
from torch import nn

from vgg_lessons.train import weights
from vgg_lessons.models import build_vgg
from vgg_lessons.publishing.site import model_data
from vgg_lessons.train import checkpoints


@pytest.fixture(scope="module")
def model():
    """The model the page runs: the small one."""
    return weights.load_pretrained(weights.DEFAULT)


def test_layers_follow_the_model_and_weights_decode_exactly(model, tmp_path):
    images = torch.randint(
        0,
        256,
        (2, 3, 32, 32),
        generator=torch.Generator().manual_seed(0),
        dtype=torch.uint8,
    )
    part = model_data.write_model_data(tmp_path, model, images, [3, 5])
    text = (tmp_path / "model.js").read_text()
    assert text.startswith(model_data.PREFIX)
    data = json.loads(text.removeprefix(model_data.PREFIX).rstrip().rstrip(";"))
    assert part["exact"] and part["bytes"] == len(text.encode())
    layers = data["layers"]
    expected = [
        n for n in model.layer_names
    ]  # every layer (no dropout in the CIFAR head)
    assert [entry["name"] for entry in layers] == expected
    assert [entry["op"] for entry in layers[:4]] == ["conv", "bn", "relu", "pool"]
    assert layers[-1]["shape"] == [10] and layers[-3]["shape"] == [128, 1, 1]
    text = (tmp_path / model_data.WEIGHTS_FILE).read_text()
    assert text.startswith(model_data.WEIGHTS_PREFIX)
    assert len(text.encode()) == data["weights_bytes"] == part["weights_bytes"]
    encoded = json.loads(
        text.removeprefix(model_data.WEIGHTS_PREFIX).rstrip().rstrip(";")
    )
    weights = np.frombuffer(base64.b64decode(encoded), "<f2")
    assert len(weights) == data["n_weights"] == part["n_weights"]
    state = model.state_dict()
    bn_keys = {
        "weight": "weight",
        "bias": "bias",
        "mean": "running_mean",
        "var": "running_var",
    }
    for entry in layers:
        path = model.layer_names[entry["name"]]
        for key, (offset, count) in entry.get("params", {}).items():
            tensor = state[f"{path}.{bn_keys[key] if entry['op'] == 'bn' else key}"]
            assert np.array_equal(
                weights[offset : offset + count].astype(np.float32),
                tensor.flatten().numpy(),
            ), entry["name"]
    pixels = np.frombuffer(base64.b64decode(data["images"]["pixels"]), np.uint8)
    assert np.array_equal(pixels, images.numpy().ravel()) and data["images"][
        "labels"
    ] == [3, 5]
    assert len(base64.b64decode(data["viridis"])) == 256 * 3


def test_a_layer_the_page_cannot_run_is_refused():
    model = build_vgg("A", head="cifar", num_classes=10, width=0.25).eval()
    model.features[0] = nn.Conv2d(3, 16, 3, stride=2, padding=1)
    with pytest.raises(
        ValueError, match="stage1.conv1: the page runs square, stride-1"
    ):
        model_data.layer_list(model)
    with pytest.raises(ValueError, match="needs a VGG from build_vgg"):
        model_data.layer_list(nn.Sequential(nn.Conv2d(3, 4, 3)))


def test_the_chapters_text_says_which_model_the_page_runs_and_why():
    """Chapter 6's sentence above the live model (scripts/place_explorers.py): the small
    model, its accuracy from its card, and its share of the VGG-16's MACs and weights."""
    import importlib.util
    from pathlib import Path

    from vgg_lessons.stats import count_parameters, layer_stats

    path = Path(__file__).resolve().parents[1] / "scripts" / "place_explorers.py"
    spec = importlib.util.spec_from_file_location("place_explorers", path)
    place = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(place)
    text = place.TEXT["live-model"]
    small, big = (weights.load_pretrained(n) for n in (weights.DEFAULT, weights.INSPECTED))
    assert small.config["arch"] == "A" and small.config["width"] == 0.25
    assert "VGG-11 at a quarter of the paper's width" in text
    assert f"{round(100 * weights.get_weights(weights.DEFAULT).meta['test_acc'])}% right" in text
    macs = [layer_stats(m, 32).total_macs for m in (small, big)]
    assert round(macs[1] / macs[0]) == 8 and "an eighth of the multiply-adds" in text
    assert round(count_parameters(big) / count_parameters(small)) == 6 and "a sixth of the weights" in text
