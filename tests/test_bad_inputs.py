"""Bad input to the library's functions: one line naming it, never a traceback from torch,
and nothing silently wrong (issue 19): data, evaluation, probes, receptive fields."""

from __future__ import annotations

import os

import numpy as np
import pytest
import torch
from PIL import Image
from test_data import _make_folder
from torch import nn

from vgg_lessons.inputs import from_unit, normalize
from vgg_lessons.models import build_vgg, fully_convolutional
from vgg_lessons.probes.attribution import grad_cam, saliency
from vgg_lessons.probes.fields import empirical_rf, layer_spec
from vgg_lessons.probes.hooks import feature_maps, top_activating_images
from vgg_lessons.receptive_field import rf_table
from vgg_lessons.stats import layer_stats
from vgg_lessons.train.data import load_cifar10
from vgg_lessons.train.loop import fit
from vgg_lessons.train.metrics import evaluate


def _one_line(err: pytest.ExceptionInfo) -> str:
    assert "\n" not in str(err.value)
    return str(err.value)


@pytest.fixture(scope="module")
def model() -> nn.Module:
    torch.manual_seed(0)
    return build_vgg("A", head="cifar", width=0.125).eval()


@pytest.fixture()
def images() -> torch.Tensor:
    return torch.randint(
        0,
        256,
        (2, 3, 32, 32),
        dtype=torch.uint8,
        generator=torch.Generator().manual_seed(0),
    )


# ---- data ----------------------------------------------------------------------------
def test_an_image_rewritten_in_place_is_decoded_again(tmp_path, monkeypatch) -> None:
    """Same size, same modification time, other pixels: the cache must not serve the old."""
    root = tmp_path / "cifar"
    _make_folder(root, {"train": 1})
    monkeypatch.setenv("VGG_LESSONS_CACHE", str(tmp_path / "cache"))
    first = load_cifar10("train", root)[0]
    path = sorted((root / "train" / "cat").iterdir())[0]
    st = path.stat()
    pixels = np.asarray(Image.open(path)).copy()
    pixels[0, 0] = 255 - pixels[0, 0]
    Image.fromarray(pixels).save(path)
    assert path.stat().st_size == st.st_size
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns))
    again = load_cifar10("train", root)[0]
    index = 3  # the classes are interleaved: the first cat is image 3
    assert not torch.equal(again[index], first[index])
    assert torch.equal(again[index], torch.from_numpy(pixels).permute(2, 0, 1))


def test_a_decompression_bomb_is_named(tmp_path, monkeypatch) -> None:
    root = tmp_path / "cifar"
    _make_folder(root, {"train": 1})
    monkeypatch.setattr(
        Image, "MAX_IMAGE_PIXELS", 32 * 32 * 2
    )  # 64x64 counts as a bomb
    Image.new("RGB", (96, 96)).save(root / "train" / "cat" / "bomb.png")
    with pytest.raises(ValueError, match="bomb.png is far too large an image") as err:
        load_cifar10("train", root, cache=tmp_path / "cache")
    _one_line(err)


@pytest.mark.parametrize("root", [123, ""])
def test_a_root_that_is_no_path_is_one_line(root) -> None:
    with pytest.raises(ValueError, match="root is the CIFAR-10 folder") as err:
        load_cifar10("train", root)
    _one_line(err)


# ---- evaluate and fit ------------------------------------------------------------------
@pytest.mark.parametrize(
    "labels, message",
    [
        (torch.tensor([0, 10]), r"class indices in 0\.\.9"),
        (torch.tensor([0.0, 1.0]), "whole class indices"),
        (torch.tensor([-1, 1]), r"class indices in 0\.\.9"),
    ],
)
def test_evaluate_refuses_bad_labels(model, images, labels, message) -> None:
    with pytest.raises(ValueError, match=message) as err:
        evaluate(model, images, labels)
    _one_line(err)


def test_evaluate_and_fit_take_int32_labels(model, images) -> None:
    labels = torch.tensor([3, 5])
    assert (
        evaluate(model, images, labels.int())["loss"]
        == evaluate(model, images, labels)["loss"]
    )
    torch.manual_seed(0)
    small = build_vgg("A", head="cifar", width=0.125)
    data = torch.randint(0, 256, (8, 3, 32, 32), dtype=torch.uint8)
    history = fit(
        small,
        (data, (torch.arange(8) % 10).int()),
        epochs=1,
        batch_size=4,
        progress=False,
        device="cpu",
    )
    assert len(history) == 1


def test_evaluate_refuses_an_empty_batch(model) -> None:
    with pytest.raises(ValueError, match="empty batch"):
        evaluate(
            model, torch.zeros(0, 3, 32, 32, dtype=torch.uint8), torch.zeros(0).long()
        )


# ---- probes ----------------------------------------------------------------------------
@pytest.mark.parametrize(
    "target", [1.5, 2.7, float("nan"), "cat", torch.tensor([1.5, 2.0]), True]
)
@pytest.mark.parametrize("probe", ["saliency", "grad_cam"])
def test_a_target_that_is_no_class_index_is_refused(
    model, images, probe, target
) -> None:
    with pytest.raises(ValueError, match="target must be a class index") as err:
        if probe == "saliency":
            saliency(model, images, target)
        else:
            grad_cam(model, images, "stage5.relu1", target)
    _one_line(err)


@pytest.mark.parametrize("layers", [None, 3, ["stage1.conv1", 3]])
def test_layers_that_are_no_names_are_refused(model, images, layers) -> None:
    with pytest.raises(ValueError, match="named by a") as err:
        feature_maps(model, images, layers)
    _one_line(err)


@pytest.mark.parametrize("layer", [None, 3])
def test_grad_cam_at_a_layer_that_is_no_name(model, images, layer) -> None:
    with pytest.raises(ValueError, match="non-empty string") as err:
        grad_cam(model, images, layer)
    _one_line(err)


def test_grad_cam_needs_a_layer_with_maps_that_runs(model, images) -> None:
    with pytest.raises(
        ValueError, match=r"layer 'head.fc' has output of shape \(2, 10\)"
    ):
        grad_cam(model, images, "head.fc")

    class Unused(nn.Module):  # a layer the forward pass never calls
        def __init__(self):
            super().__init__()
            self.net, self.spare = model, nn.Conv2d(3, 3, 1)

        def forward(self, x):
            return self.net(x)

    with pytest.raises(ValueError, match="'spare' did not run in the forward pass"):
        grad_cam(Unused(), images, "spare")


@pytest.mark.parametrize("probe", ["feature_maps", "saliency", "grad_cam"])
def test_probes_refuse_an_empty_batch(model, probe) -> None:
    empty = torch.zeros(0, 3, 32, 32, dtype=torch.uint8)
    call = dict(
        feature_maps=lambda: feature_maps(model, empty, "stage1.conv1"),
        saliency=lambda: saliency(model, empty),
        grad_cam=lambda: grad_cam(model, empty, "stage5.relu1"),
    )[probe]
    with pytest.raises(ValueError, match="empty batch"):
        call()


@pytest.mark.parametrize("channel, k", [(1.5, 3), (0, 2.5), (True, 3)])
def test_channel_and_k_must_be_whole_numbers(model, images, channel, k) -> None:
    with pytest.raises(ValueError, match="must be a whole number") as err:
        top_activating_images(model, images, "stage1.conv1", channel, k)
    _one_line(err)


def test_a_float64_model_takes_the_same_images(model, images) -> None:
    double = build_vgg("A", head="cifar", width=0.125).double().eval()
    double.load_state_dict(model.state_dict())
    got = feature_maps(double, images, "stage2.conv1")["stage2.conv1"]
    assert got.dtype == torch.float64
    torch.testing.assert_close(
        got.float(),
        feature_maps(model, images, "stage2.conv1")["stage2.conv1"],
        atol=1e-4,
        rtol=1e-4,
    )
    assert saliency(double, images).dtype == torch.float64
    assert grad_cam(double, images, "stage5.relu1").shape == (2, 32, 32)


@pytest.mark.parametrize("probe", ["saliency", "grad_cam"])
def test_probes_in_training_mode_leave_the_running_statistics(probe, images) -> None:
    torch.manual_seed(0)
    net = build_vgg("A", head="cifar", width=0.125).train()
    before = {k: v.clone() for k, v in net.state_dict().items()}
    if probe == "saliency":
        saliency(net, images, 3)
    else:
        grad_cam(net, images, "stage5.relu1", 3)
    assert net.training
    for k, v in net.state_dict().items():
        assert torch.equal(v, before[k]), f"{k} changed"


def test_the_fully_convolutional_copy_names_too_small_an_input() -> None:
    vgg = build_vgg("A", width=0.0625, num_classes=10)  # the ImageNet head
    with pytest.raises(ValueError, match="64x64 pixels are too small.*224x224") as err:
        fully_convolutional(vgg)(torch.zeros(1, 3, 64, 64))
    _one_line(err)


# ---- receptive fields and sizes ----------------------------------------------------------
@pytest.mark.parametrize("kernel, dilation", [(4, 1), (2, 1), (6, 1), (2, 3)])
def test_same_padding_with_an_even_kernel_matches_pytorch(kernel, dilation) -> None:
    net = nn.Sequential(
        nn.Conv2d(1, 1, kernel, padding="same", dilation=dilation),
        nn.Conv2d(1, 1, 3, stride=2, padding=1),
    )
    x = torch.zeros(1, 1, 32, 32)
    table = rf_table([layer_spec(str(i), m) for i, m in enumerate(net)], 32)
    assert [r.out_size for r in table] == [net[0](x).shape[-1], net(x).shape[-1]]


@pytest.mark.parametrize("size", [np.int64(32), np.int32(32)])
def test_layer_stats_takes_numpy_sizes(model, size) -> None:
    assert len(layer_stats(model, input_size=size)) == len(
        layer_stats(model, input_size=32)
    )


@pytest.mark.parametrize("size", [(224,), 224.0, "224", (224, 224, 3)])
def test_layer_stats_refuses_sizes_that_are_no_side(model, size) -> None:
    with pytest.raises(ValueError, match="input_size") as err:
        layer_stats(model, input_size=size)
    _one_line(err)


@pytest.mark.parametrize("size", [64.0, "64", 0])
def test_empirical_rf_refuses_sizes_that_are_no_side(model, size) -> None:
    with pytest.raises(ValueError, match="input_size") as err:
        empirical_rf(model, "stage1.conv1", input_size=size)
    _one_line(err)


# ---- probe input: model input or uint8 images, nothing in between ------------------------
@pytest.mark.parametrize(
    "convert, message",
    [
        (lambda u8: u8.float(), "pass them as uint8"),
        (lambda u8: u8.float() / 255, "look like images / 255"),
        (lambda u8: torch.full(u8.shape, float("nan")), "NaN or infinite"),
        (
            lambda u8: normalize(u8).index_fill(0, torch.tensor([1]), float("inf")),
            "NaN or infinite",
        ),
    ],
)
@pytest.mark.parametrize("probe", ["feature_maps", "saliency", "grad_cam"])
def test_probes_refuse_floats_that_are_not_model_input(
    model, images, convert, message, probe
) -> None:
    x = convert(images)
    call = dict(
        feature_maps=lambda: feature_maps(model, x, "stage1.conv1"),
        saliency=lambda: saliency(model, x),
        grad_cam=lambda: grad_cam(model, x, "stage5.relu1"),
    )[probe]
    with pytest.raises(ValueError, match=message) as err:
        call()
    _one_line(err)


def test_probes_take_normalised_and_unit_floats_converted(model, images) -> None:
    expected = saliency(model, images, 3)
    torch.testing.assert_close(saliency(model, normalize(images), 3), expected)
    torch.testing.assert_close(
        saliency(model, from_unit(images / 255), 3), expected, rtol=1e-4, atol=1e-6
    )
