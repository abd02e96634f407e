"""The attribution explorer's data (vgg_lessons.publishing.site.attribution_data), without a browser:
which map lands in which tile, scaled and coloured how, and the per-map sanity check."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pytest
import torch
from matplotlib import colormaps

from vgg_lessons.train import weights
from vgg_lessons.probes import attribution
from vgg_lessons.models import build_vgg
from vgg_lessons.publishing.site import attribution_data
from vgg_lessons.publishing.site import explorer_data

LAYERS = ("stage3.relu2", "stage5.relu2")


@pytest.fixture(scope="module")
def tiny_and_images():
    torch.manual_seed(0)
    model = build_vgg("A", head="cifar", width=1 / 16).eval()
    images = torch.randint(0, 256, (3, 3, 32, 32), dtype=torch.uint8)
    return model, images


def test_attribution_maps_index_method_class_and_image(tiny_and_images):
    model, images = tiny_and_images
    maps = attribution_data.attribution_maps(model, images, LAYERS)
    assert maps.shape == (1 + len(LAYERS), 10, 3, 32, 32)
    for k in (0, 7):  # each class's slice is that class's map, computed on its own
        torch.testing.assert_close(maps[0, k], attribution.saliency(model, images, k))
        torch.testing.assert_close(maps[2, k], attribution.grad_cam(model, images, "stage5.relu2", k,
                                                                    jitter=2))
    torch.testing.assert_close(maps[1, 3, 2], attribution.grad_cam(model, images[2:], "stage3.relu2", 3,
                                                                 jitter=2)[0])
    # Read as chapter 8 reads it: the mean over moved and mirrored copies, not one view.
    assert attribution_data.GRADCAM_JITTER == 2
    assert not torch.allclose(maps[2, 0], attribution.grad_cam(model, images, "stage5.relu2", 0))


def test_sheet_puts_method_rows_and_class_columns_scaled_to_their_peak():
    maps = torch.zeros(2, 3, 4, 4)
    maps[1, 2] = torch.arange(16.0).reshape(4, 4)  # method 1, class 2: a ramp up to 15
    maps[0, 1, 0, 0] = 0.5  # a single bright pixel: scaled to the peak
    sheet = attribution_data.attribution_sheet(maps)
    assert sheet.shape == (8, 12, 3) and sheet.dtype == np.uint8
    inferno = (colormaps["inferno"](np.array([0.0, 1.0]))[:, :3] * 255).round().astype(np.uint8)
    assert (sheet[4 + 3, 8 + 3] == inferno[1]).all()  # the ramp's peak, bottom right of its tile
    assert (sheet[4, 8] == inferno[0]).all()
    assert (sheet[0, 4] == inferno[1]).all() and (sheet[0, 5] == inferno[0]).all()
    assert (sheet[:4, :4] == inferno[0]).all()  # an all-zero map stays black (no division by 0)


def test_similarity_is_the_rank_correlation_in_hundredths_and_none_when_flat():
    torch.manual_seed(1)
    trained = torch.rand(2, 3, 4, 6, 6)  # (methods, classes, images, H, W)
    random = torch.rand(2, 3, 4, 6, 6)
    random[1, 0, 2] = 0  # Grad-CAM of the random model found nothing
    random[0, 2, 1] = trained[0, 2, 1] * 2  # the same order of pixels
    table = attribution_data.similarity_hundredths(trained, random)
    assert len(table) == 4 and len(table[0]) == 2 and len(table[0][0]) == 3  # [image][method][class]
    assert table[2][1][0] is None and table[1][0][2] == 100
    expected = attribution.rank_correlation(trained[1, 1], random[1, 1])  # method 1, class 1, all images
    assert [table[i][1][1] for i in range(4)] == [round(100 * v) for v in expected.tolist()]


def test_zero_masks_mark_all_zero_maps_per_image():
    maps = torch.ones(2, 3, 2, 4, 4)
    maps[1, 2, 0] = 0
    maps[0, 0, 1] = 0
    assert attribution_data.zero_masks(maps) == ["000001", "100000"]


def test_attribution_data_writes_one_sheet_per_weights_and_image(tmp_path, tiny_and_images):
    model, images = tiny_and_images
    torch.manual_seed(1)
    other = build_vgg("A", head="cifar", width=1 / 16).eval()
    saved = {}

    def save(folder, name, array):
        saved[name] = array
        return name

    part = attribution_data.attribution_data(tmp_path, {"trained": model, "random": other}, images, save)
    assert [m["units"] for m in part["methods"]] == [32, 16, 8, 4, 2]
    assert [m.get("copies") for m in part["methods"]] == [None] + [attribution.JITTER_COPIES] * 4
    assert part["methods"][part["default_method"]]["layer"] == "stage3.relu2"  # VGG-11's stage 3
    assert part["sheets"]["random"] == [f"attribution/random-{i:02d}.png" for i in range(3)]
    assert saved["attribution/trained-01.png"].shape == (5 * 32, 10 * 32, 3)
    assert len(part["similarity"]) == 3 and all(len(z) == 50 for z in part["zero"]["trained"])


def test_the_chapters_explorer_text_states_what_the_data_holds():
    """The sentence above the explorer in chapter 7 (scripts/place_explorers.py) says 16
    images and Grad-CAM at the last ReLU of stages 2 to 5: the data's constants."""
    path = Path(__file__).resolve().parents[1] / "scripts" / "place_explorers.py"
    spec = importlib.util.spec_from_file_location("place_explorers", path)
    place = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(place)
    text = place.TEXT["attribution"]
    assert f"{explorer_data.N_IMAGES} test images" in text
    assert "Grad-CAM at the last ReLU of stages 2 to 5" in text
    assert attribution_data.GRADCAM_STAGES == (2, 3, 4, 5)
    assert f"averaged over {attribution.JITTER_COPIES} moved and mirrored copies" in text
    assert f"`jitter={attribution_data.GRADCAM_JITTER}`" in text


@pytest.mark.parametrize(
    "name, expected",
    [
        ("vgg11_bn_cifar10", ("stage2.relu1", "stage3.relu2", "stage4.relu2", "stage5.relu2")),
        ("vgg16_bn_w05_cifar10", ("stage2.relu2", "stage3.relu3", "stage4.relu3", "stage5.relu3")),
    ],
)
def test_gradcam_layers_are_the_last_relu_of_stages_2_to_5(name, expected):
    """Named by hand from the configurations: VGG-11 has 1, 2, 2, 2 convolutions in stages
    2-5, VGG-16 has 2, 3, 3, 3."""
    assert attribution_data.gradcam_layers(weights.load_pretrained(name)) == expected


def test_gradcam_layers_of_a_model_without_layer_names_is_a_one_line_error():
    with pytest.raises(ValueError, match="need a VGG from build_vgg"):
        attribution_data.gradcam_layers(torch.nn.Sequential(torch.nn.ReLU()))
