"""Tests for vgg_lessons.probes: hooks, filters, activation maximisation, top images."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from vgg_lessons import probes
from vgg_lessons.models import build_vgg


@pytest.fixture(scope="module")
def model() -> nn.Module:
    torch.manual_seed(0)
    return build_vgg("A", bn="before_relu", head="cifar", width=0.25).eval()


@pytest.fixture(scope="module")
def images() -> torch.Tensor:
    return torch.randn(6, 3, 32, 32, generator=torch.Generator().manual_seed(1))


def _hook_count(model: nn.Module) -> int:
    return sum(len(m._forward_hooks) for m in model.modules())


# ---- feature maps --------------------------------------------------------------------
def test_feature_maps_match_running_the_layers_by_hand(model, images):
    """Reference: slice model.features by hand up to each layer (torchvision indices)."""
    names = ["stage1.conv1", "stage1.bn1", "stage1.relu1", "stage3.conv2", "stage5.pool"]
    maps = probes.feature_maps(model, images, names)
    assert list(maps) == names
    with torch.no_grad():
        for name in names:
            index = int(model.layer_names[name].split(".")[1])
            expected = model.features[:index + 1](images.clone())
            torch.testing.assert_close(maps[name], expected)
    assert maps["stage3.conv2"].shape == (6, 64, 8, 8)
    assert maps["stage5.pool"].shape == (6, 128, 1, 1)


def test_stored_output_is_a_copy_not_overwritten_by_inplace_relu(model, images):
    # stage1.bn1 is followed by ReLU(inplace=True): without a copy it would be clamped at 0.
    maps = probes.feature_maps(model, images, ["stage1.bn1", "features.2"])
    assert (maps["stage1.bn1"] < 0).any()
    torch.testing.assert_close(maps["features.2"], maps["stage1.bn1"].clamp_min(0))


def test_module_paths_and_readable_names_give_the_same_map(model, images):
    maps = probes.feature_maps(model, images, ["stage2.conv1", "features.4"])
    torch.testing.assert_close(maps["stage2.conv1"], maps["features.4"])


def test_feature_maps_leaves_no_hooks_and_keeps_the_mode(model, images):
    before = _hook_count(model)
    probes.feature_maps(model, images, "stage2.conv1")
    assert _hook_count(model) == before == 0
    assert not model.training


def test_recording_removes_hooks_on_error(model, images):
    with pytest.raises(ValueError, match="too small"):
        with probes.recording(model, ["stage1.conv1", "stage2.conv1"]):
            assert _hook_count(model) == 2
            model(images[:, :, :16, :16])  # VGG refuses inputs under 32x32
    assert _hook_count(model) == 0


def test_recorder_keeps_the_graph_when_asked(model, images):
    x = images[:2].clone().requires_grad_(True)
    with probes.FeatureRecorder(model, "stage2.bn1", detach=False) as rec:
        model(x)
    rec.maps["stage2.bn1"][:, 3].mean().backward()
    assert x.grad is not None and x.grad.abs().sum() > 0
    model.zero_grad(set_to_none=True)


def test_unknown_layer_and_empty_list_say_what_to_do(model, images):
    with pytest.raises(ValueError, match="no layer named 'stage9.conv1'.*layer_names"):
        probes.feature_maps(model, images, ["stage9.conv1"])
    with pytest.raises(ValueError, match="no layers given"):
        probes.feature_maps(model, images, [])
    plain = nn.Sequential(nn.Conv2d(3, 4, 3), nn.ReLU())
    with pytest.raises(ValueError, match="no layer named 'conv'.*named_modules"):
        probes.feature_maps(plain, images, "conv")
    assert probes.feature_maps(plain, images, "0")["0"].shape == (6, 4, 30, 30)
