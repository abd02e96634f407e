"""The chapter-6 explorers driven headless: change a control in code, check what is shown.

What a widget shows must be what ``probes`` computes, on its own, for that image,
layer and channel; and the PNG on screen must be that result drawn.
"""

from __future__ import annotations

import io
from datetime import datetime, timezone

import numpy as np
import pytest
import torch
from PIL import Image

from vgg_lessons.viz import feature_plots
from vgg_lessons.probes import activation_max
from vgg_lessons.probes import hooks
from vgg_lessons.viz import _explorers
from vgg_lessons.viz import rf_widgets
from vgg_lessons.viz import widgets
from vgg_lessons.inputs import CLASSES
from vgg_lessons.models import build_vgg


@pytest.fixture(scope="module")
def model():
    torch.manual_seed(0)
    return build_vgg("A", bn="before_relu", head="cifar", width=0.25).eval()


@pytest.fixture(scope="module")
def images() -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(2)
    return (torch.randint(0, 256, (12, 3, 32, 32), generator=g, dtype=torch.uint8),
            torch.randint(0, 10, (12,), generator=g))


def decoded(png: bytes) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(png)).convert("RGB"))


def reference_maps(model, image_u8: torch.Tensor, layer: str) -> torch.Tensor:
    x = activation_max.default_preprocess(image_u8[None].float() / 255)
    return hooks.feature_maps(model, x, layer)[layer][0]


def pick_file(upload, name: str, kind: str, content: bytes) -> None:
    """Do to a FileUpload what picking one file does, in the installed ipywidgets."""
    import ipywidgets

    if int(ipywidgets.__version__.split(".")[0]) >= 8:
        upload.value = ({"name": name, "type": kind, "size": len(content),
                         "content": memoryview(content),
                         "last_modified": datetime.now(timezone.utc)},)
    else:  # ipywidgets 7 (Colab's 7.7): a read-only dict the front end fills
        upload.set_trait("value", {name: {"metadata": {"name": name, "type": kind,
                                                       "size": len(content), "lastModified": 0},
                                          "content": content}})


def png_of(array: np.ndarray) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(array).save(buf, format="PNG")
    return buf.getvalue()


def test_feature_map_explorer_shows_what_probes_computes(model, images):
    imgs, labels = images
    ex = widgets.FeatureMapExplorer(model, imgs, labels)
    first_grid = ex.grid.value
    assert ex.layer.value == "stage1.conv1" and ex.channel.max == 15

    ex.index.value = 3
    ex.layer.value = "stage3.bn2"
    ex.channel.value = 5
    expected = reference_maps(model, imgs[3], "stage3.bn2")
    assert ex.channel.max == 63  # the slider follows the layer's channel count
    torch.testing.assert_close(ex.current["maps"], expected)
    torch.testing.assert_close(ex.current["channel_map"], expected[5])
    assert ex.grid.value != first_grid
    np.testing.assert_array_equal(decoded(ex.grid.value), feature_plots.tile_channels(expected))
    np.testing.assert_array_equal(decoded(ex.enlarged.value),
                                  feature_plots.overlay_channel(imgs[3], expected[5]))

    with torch.no_grad():
        probs = torch.softmax(model(activation_max.default_preprocess(imgs[3:4].float() / 255))[0], 0)
    torch.testing.assert_close(ex.current["probs"], probs)
    top = int(probs.argmax())
    assert f"<td>{CLASSES[top]}</td><td style='text-align:right'>{probs[top]:.1%}" in \
        ex.prediction.value
    assert f"true class: {CLASSES[int(labels[3])]}" in ex.note.value

    # Back to a channel of another layer: the enlarged map changes with it.
    ex.layer.value = "stage5.pool"
    ex.channel.value = 100
    expected = reference_maps(model, imgs[3], "stage5.pool")
    torch.testing.assert_close(ex.current["channel_map"], expected[100])
    assert ex.current["maps"].shape == (128, 1, 1)


def test_upload_is_resized_with_a_note(model, images):
    imgs, labels = images
    ex = widgets.FeatureMapExplorer(model, imgs, labels, layers=["stage1.conv1", "stage2.bn1"])
    picture = np.zeros((40, 50, 3), dtype=np.uint8)
    picture[:, 25:, 0] = 255  # right half red
    content = png_of(picture)
    pick_file(ex.upload, "mine.png", "image/png", content)
    assert ex.source.value == "my upload"
    assert "50x40" in ex.note.value and "resized to 32x32" in ex.note.value
    shown = ex.current["image"]
    assert shown.shape == (3, 32, 32) and shown.dtype == torch.uint8
    assert shown[0, :, -4:].min() == 255 and shown[0, :, :4].max() == 0  # still red on the right
    ex.layer.value = "stage2.bn1"
    torch.testing.assert_close(ex.current["maps"], reference_maps(model, shown, "stage2.bn1"))

    pick_file(ex.upload, "notes.txt", "text/plain", b"hello")
    assert "could not read the upload as an image" in ex.note.value


def test_filter_viewer_shows_kernels_maximisation_and_top_images(model, images):
    imgs, _ = images
    fv = widgets.FilterViewer(model, imgs, k=4, act_max=dict(steps=3))
    assert fv.current["layer"] == "stage1.conv1" and fv.current["probe"] == "stage1.bn1"
    kernels = hooks.first_layer_filter_images(model)
    torch.testing.assert_close(fv.current["kernels"], kernels)
    np.testing.assert_array_equal(decoded(fv.kernels.value), _explorers.enlarge(kernels, 8))

    fv.layer.value = "stage3.conv2"
    fv.channel.value = 7
    assert fv.current["probe"] == "stage3.bn2" and fv.current["kernels"] is None
    inputs = activation_max.default_preprocess(imgs.float() / 255)
    idx, values = hooks.top_activating_images(model, inputs, "stage3.bn2", 7, k=4)
    assert fv.current["top_indices"].tolist() == idx.tolist()
    torch.testing.assert_close(fv.current["top_values"], values)
    np.testing.assert_array_equal(decoded(fv.top.value), _explorers.enlarge(imgs[idx], 3))
    expected = activation_max.maximize_activation(model, "stage3.bn2", 7, steps=3)
    torch.testing.assert_close(fv.current["maxact"], expected)
    np.testing.assert_array_equal(decoded(fv.maxact.value), _explorers.enlarge(expected[None], 5))


def test_trained_versus_random_side_by_side(model, images):
    imgs, labels = images
    torch.manual_seed(1)
    other = build_vgg(**model.config).eval()
    tv = widgets.TrainedVsRandom(model, other, imgs, labels)
    tv.index.value = 5
    tv.layer.value = "stage2.conv1"
    for name, net in (("trained", model), ("random", other)):
        expected = reference_maps(net, imgs[5], "stage2.conv1")
        torch.testing.assert_close(tv.current[f"maps_{name}"], expected)
        np.testing.assert_array_equal(decoded(tv.grids[name].value), feature_plots.tile_channels(expected))
    assert not torch.allclose(tv.current["maps_trained"], tv.current["maps_random"])


def test_explorers_reject_wrong_input(model, images):
    imgs, _ = images
    with pytest.raises(ValueError, match="expected uint8 images in 0..255"):
        widgets.FeatureMapExplorer(model, imgs.float())
    deeper = build_vgg("B", bn="before_relu", head="cifar", width=0.25).eval()
    with pytest.raises(ValueError, match="same configuration"):
        widgets.TrainedVsRandom(model, deeper, imgs)


def test_tile_channels_places_and_colours_each_channel():
    maps = torch.tensor([[[0.0, 1.0], [1.0, 1.0]], [[2.0, 2.0], [2.0, 2.0]]])  # (2, 2, 2)
    grid = feature_plots.tile_channels(maps, cell=4, pad=1)  # 2 columns, cells of 4x4 (factor 2)
    assert grid.shape == (4, 9, 3)
    lo, mid, hi = (feature_plots.colorize(torch.tensor([[v]]), 0.0, 2.0)[0, 0] for v in (0.0, 1.0, 2.0))
    np.testing.assert_array_equal(grid[0, 0], lo)        # channel 0, top-left pixel (0)
    np.testing.assert_array_equal(grid[3, 3], mid)       # channel 0, bottom-right (1)
    np.testing.assert_array_equal(grid[:, 4], np.full((4, 3), 255))  # the white gap
    np.testing.assert_array_equal(grid[2, 7], hi)        # channel 1 (2, the shared maximum)


# ---- Receptive-field explorer (chapter 1) ----------------------------------------------

def test_receptive_field_explorer_redraws_and_explains_a_too_deep_stack(capsys):
    ui = rf_widgets.receptive_field_explorer()
    sliders = {s.description: s for box in ui.children[:2] for s in box.children}
    assert set(sliders) == {"kernel", "stride", "padding", "dilation", "depth"}
    out = ui.children[2]
    sliders["dilation"].value = 2  # must redraw without error
    sliders["stride"].value = 3
    sliders["depth"].value = 6  # 3**6 input pixels per output: too many to draw
    printed = capsys.readouterr().out + "".join(o.get("text", "") for o in out.outputs)
    assert "lower the depth, stride or kernel" in printed


# ---- defects found by trying to break them ------------------------------------------
def test_layers_given_as_one_string_is_one_layer(model, images):
    imgs, labels = images
    ex = widgets.FeatureMapExplorer(model, imgs, labels, layers="stage2.conv1")
    assert list(ex.layer.options) == ["stage2.conv1"]
    with pytest.raises(ValueError, match="layer 'stage9' cannot be explored"):
        widgets.FeatureMapExplorer(model, imgs, labels, layers=["stage9"])


def test_an_empty_image_set_is_a_one_line_error(model, images):
    imgs, _ = images
    for explorer in (lambda x: widgets.FeatureMapExplorer(model, x),
                     lambda x: widgets.FilterViewer(model, x)):
        with pytest.raises(ValueError, match=r"no images \(an empty batch"):
            explorer(imgs[:0])


def test_a_decompression_bomb_upload_is_refused_in_the_note(model, images, monkeypatch):
    from PIL import Image as PILImage

    monkeypatch.setattr(PILImage, "MAX_IMAGE_PIXELS", 1000)  # a 100x100 PNG is then a "bomb"
    with pytest.raises(ValueError, match="too large to open safely"):
        _explorers.image_from_upload(png_of(np.zeros((100, 100, 3), np.uint8)))
    ex = widgets.FeatureMapExplorer(model, images[0])
    pick_file(ex.upload, "huge.png", "image/png", png_of(np.zeros((100, 100, 3), np.uint8)))
    assert "too large to open safely" in ex.note.value


def test_filter_viewer_reads_before_the_relu_for_every_bn_placement(images):
    imgs, _ = images
    for bn, probe in (("before_relu", "stage2.bn1"), ("after_relu", "stage2.conv1"),
                      (None, "stage2.conv1")):
        net = build_vgg("A", bn=bn, head="cifar", width=0.125).eval()
        fv = widgets.FilterViewer(net, imgs[:4], k=2, layers="stage2.conv1",
                                  act_max=dict(steps=1))
        assert fv.current["probe"] == probe
        names = list(net.layer_names)
        assert names.index(probe) < names.index("stage2.relu1")  # the note's claim holds


@pytest.mark.slow
def test_explorers_work_with_colabs_ipywidgets_7_7(tmp_path):
    """This file's tests again, in a virtual environment with Colab's ipywidgets 7.7.1."""
    import os
    import subprocess
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--system-site-packages", str(venv)],
                   check=True)
    python = str(venv / "bin" / "python")
    pip = subprocess.run([python, "-m", "pip", "install", "-q", "ipywidgets==7.7.1"],
                         capture_output=True, text=True, timeout=600)
    assert pip.returncode == 0, pip.stderr[-2000:]
    env = {**os.environ, "PYTHONPATH": str(root)}
    version = subprocess.run([python, "-c", "import ipywidgets; print(ipywidgets.__version__)"],
                             capture_output=True, text=True, env=env)
    assert version.stdout.strip() == "7.7.1"
    result = subprocess.run(
        [python, "-m", "pytest", str(Path(__file__)), "-q", "-p", "no:cacheprovider",
         "-p", "no:benchmark", "-n", "0", "-o", "addopts=", "-m", "not slow"],
        capture_output=True, text=True, cwd=root, env=env, timeout=900)
    assert result.returncode == 0, result.stdout[-3000:]
    assert " passed" in result.stdout and "failed" not in result.stdout
