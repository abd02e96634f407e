"""Tests for vgg_lessons.probes.hooks: hooks, filters, activation maximisation, top images."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from vgg_lessons.probes import activation_max
from vgg_lessons.probes import hooks
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
    maps = hooks.feature_maps(model, images, names)
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
    maps = hooks.feature_maps(model, images, ["stage1.bn1", "features.2"])
    assert (maps["stage1.bn1"] < 0).any()
    torch.testing.assert_close(maps["features.2"], maps["stage1.bn1"].clamp_min(0))


def test_module_paths_and_readable_names_give_the_same_map(model, images):
    maps = hooks.feature_maps(model, images, ["stage2.conv1", "features.4"])
    torch.testing.assert_close(maps["stage2.conv1"], maps["features.4"])


def test_feature_maps_leaves_no_hooks_and_keeps_the_mode(model, images):
    before = _hook_count(model)
    hooks.feature_maps(model, images, "stage2.conv1")
    assert _hook_count(model) == before == 0
    assert not model.training


def test_recording_removes_hooks_on_error(model, images):
    with pytest.raises(ValueError, match="too small"):
        with hooks.recording(model, ["stage1.conv1", "stage2.conv1"]):
            assert _hook_count(model) == 2
            model(images[:, :, :16, :16])  # VGG refuses inputs under 32x32
    assert _hook_count(model) == 0


def test_recorder_keeps_the_graph_when_asked(model, images):
    x = images[:2].clone().requires_grad_(True)
    with hooks.FeatureRecorder(model, "stage2.bn1", detach=False) as rec:
        model(x)
    rec.maps["stage2.bn1"][:, 3].mean().backward()
    assert x.grad is not None and x.grad.abs().sum() > 0
    model.zero_grad(set_to_none=True)


def test_unknown_layer_and_empty_list_say_what_to_do(model, images):
    with pytest.raises(ValueError, match="no layer named 'stage9.conv1'.*layer_names"):
        hooks.feature_maps(model, images, ["stage9.conv1"])
    with pytest.raises(ValueError, match="no layers given"):
        hooks.feature_maps(model, images, [])
    plain = nn.Sequential(nn.Conv2d(3, 4, 3), nn.ReLU())
    with pytest.raises(ValueError, match="no layer named 'conv'.*named_modules"):
        hooks.feature_maps(plain, images, "conv")
    assert hooks.feature_maps(plain, images, "0")["0"].shape == (6, 4, 30, 30)


# ---- filters -------------------------------------------------------------------------
def test_filters_are_a_copy_of_the_conv_weights(model):
    w = hooks.filters(model, "stage2.conv1")
    assert w.shape == (32, 16, 3, 3)
    assert torch.equal(w, model.features[4].weight.detach())
    w.zero_()  # a copy: the model is untouched
    assert model.features[4].weight.abs().sum() > 0
    with pytest.raises(ValueError, match="is a ReLU, which has no filters.*convolution"):
        hooks.filters(model, "stage2.relu1")


def test_first_layer_filter_images_scale_each_kernel_about_grey():
    model = build_vgg("A", bn=None, head="cifar", width=1 / 32)  # 2 first-layer kernels
    conv = model.features[0]
    with torch.no_grad():
        conv.weight.zero_()
        conv.weight[0, 0, 1, 1] = 2.0   # kernel 0: a red centre, twice the size of ...
        conv.weight[0, 2, 0, 0] = -1.0  # ... a negative blue corner
        conv.weight[1] = 0.001          # kernel 1: tiny but uniform -> all white
    rgb = hooks.first_layer_filter_images(model)
    assert rgb.shape == (2, 3, 3, 3)
    assert rgb[0, 0, 1, 1] == 1.0 and rgb[0, 2, 0, 0] == 0.25 and rgb[0, 1, 2, 2] == 0.5
    torch.testing.assert_close(rgb[1], torch.ones(3, 3, 3))
    grey = build_vgg("A", bn=None, head="cifar", width=1 / 32, in_channels=1)
    with pytest.raises(ValueError, match="1 input channels; only RGB"):
        hooks.first_layer_filter_images(grey)


# ---- activation maximisation ---------------------------------------------------------
def _response(model, x01, layer, channel):
    x = activation_max.default_preprocess(x01 if x01.dim() == 4 else x01[None])
    return hooks.feature_maps(model, x, layer)[layer][:, channel].mean(dim=(1, 2))


@pytest.mark.slow
def test_maximize_activation_drives_its_channel_beyond_real_looking_inputs(model):
    layer, channels = "stage3.bn2", [5, 17]
    out = activation_max.maximize_activation(model, layer, channels, steps=12, seed=0)
    assert out.shape == (2, 3, 32, 32)
    assert out.min() >= 0 and out.max() <= 1
    noise = torch.rand(64, 3, 32, 32, generator=torch.Generator().manual_seed(3))
    for i, c in enumerate(channels):
        gained = _response(model, out[i], layer, c).item()
        assert gained > _response(model, noise, layer, c).max().item()
        # and it is specific: image i excites channel c more than the other image does
        assert gained > _response(model, out[1 - i], layer, c).item()
    again = activation_max.maximize_activation(model, layer, channels, steps=12, seed=0)
    torch.testing.assert_close(out, again)
    assert _hook_count(model) == 0
    assert all(p.grad is None for p in model.parameters())


def test_maximize_activation_single_channel_and_errors(model):
    img = activation_max.maximize_activation(model, "stage2.conv1", 0, steps=2)
    assert img.shape == (3, 32, 32)
    with pytest.raises(ValueError, match="has 64 channels .*channel 64 does not exist"):
        activation_max.maximize_activation(model, "stage3.bn2", 64, steps=1)
    with pytest.raises(ValueError, match="training mode.*model.eval"):
        activation_max.maximize_activation(model.train(), "stage3.bn2", 0, steps=1)
    model.eval()


# ---- top activating images -----------------------------------------------------------
def test_top_activating_images_match_a_brute_force_ranking(model, images):
    layer, channel = "stage4.bn1", 7
    # Reference: one image at a time through the whole features stack, by hand.
    index = int(model.layer_names[layer].split(".")[1])
    with torch.no_grad():
        responses = torch.stack([model.features[:index + 1](img[None])[0, channel].mean()
                                 for img in images])
    expected = sorted(range(len(images)), key=lambda i: -responses[i].item())[:3]
    idx, values = hooks.top_activating_images(model, images, layer, channel, k=3)
    assert idx.tolist() == expected
    torch.testing.assert_close(values, responses[expected], rtol=1e-4, atol=1e-5)
    scores = hooks.channel_scores(model, images, layer, batch_size=4)  # two batches
    assert scores.shape == (6, 128)
    idx2, _ = hooks.top_activating_images(model, images, layer, channel, k=3, scores=scores)
    assert idx2.tolist() == expected
    with pytest.raises(ValueError, match="k must be between 1 and the number of images"):
        hooks.top_activating_images(model, images, layer, channel, k=7, scores=scores)


# ---- chapter 6 exercise checks (built on probes) -------------------------------------
def test_chapter6_checks_accept_the_right_answer_and_hint_otherwise(model, images, capsys):
    from vgg_lessons.exercises import chapter6 as exercises

    assert exercises.check_map_side(72 // 2**3)  # three pools before stage 4
    assert not exercises.check_map_side(32 // 2**3)
    in_channels = model.layer("stage3.conv1").in_channels
    assert exercises.check_kernel_numbers(3 * 3 * in_channels, model)
    assert not exercises.check_kernel_numbers(3 * 3, model)
    assert "one input channel" in capsys.readouterr().out
    with torch.no_grad():  # by hand: conv-bn-relu, pool, conv-bn-relu = features[:7]
        zeros = (model.features[:7](images) == 0).float().mean().item()
    assert exercises.check_zero_fraction(zeros, model, images)
    assert not exercises.check_zero_fraction(100 * zeros, model, images)
    assert "percentage" in capsys.readouterr().out
    with torch.no_grad():
        means = model.features[:17](images)[:, 3].mean(dim=(1, 2))  # up to stage4.bn1
    assert exercises.check_top_image(int(means.argmax()), model, images)
    assert not exercises.check_top_image(int(means.argmin()), model, images)
    assert "least" in capsys.readouterr().out
    assert not exercises.check_top_image("3", model, images)


# ---- defects found by trying to break them ------------------------------------------
def test_an_empty_layer_name_is_an_error_not_the_logits(model, images):
    for bad in ("", [""]):
        with pytest.raises(ValueError, match="non-empty string"):
            hooks.feature_maps(model, images, bad)


def test_uint8_images_go_through_the_weights_transform(model):
    from vgg_lessons.train.weights import get_weights

    u8 = torch.randint(0, 256, (3, 3, 32, 32), dtype=torch.uint8,
                       generator=torch.Generator().manual_seed(4))
    as_input = get_weights().transforms()(u8)
    got = hooks.feature_maps(model, u8, "stage2.conv1")["stage2.conv1"]
    torch.testing.assert_close(got, hooks.feature_maps(model, as_input, "stage2.conv1")["stage2.conv1"])
    torch.testing.assert_close(hooks.channel_scores(model, u8, "stage1.bn1"),
                               hooks.channel_scores(model, as_input, "stage1.bn1"))


def test_maximize_activation_of_a_linear_layer(model):
    """A class score of the head: the painted image scores that class above a grey one."""
    img = activation_max.maximize_activation(model, "head.fc", 3, steps=20, seed=0)
    assert img.shape == (3, 32, 32) and 0 <= img.min() and img.max() <= 1  # 0..1 RGB
    again = activation_max.maximize_activation(model, "head.fc", 3, steps=20, seed=0)
    torch.testing.assert_close(img, again)  # seeded: the same image twice
    grey = torch.full((1, 3, 32, 32), 0.5)
    noise = torch.rand(16, 3, 32, 32, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        painted = model(activation_max.default_preprocess(img[None]))[0, 3]
        plain = model(activation_max.default_preprocess(grey))[0, 3]
        random = model(activation_max.default_preprocess(noise))[:, 3]
    # a random model's class scores are small (N(0, 0.01) head): measured 0.0016
    # painted, -0.0018 grey, at most -0.036 for 16 noise images
    assert painted > plain and painted > random.max() + 0.02


def test_no_images_is_a_one_line_error(model, images):
    with pytest.raises(ValueError, match=r"no images \(an empty batch"):
        hooks.channel_scores(model, images[:0], "stage1.conv1")
    with pytest.raises(ValueError, match=r"no images \(an empty batch"):
        hooks.top_activating_images(model, images[:0], "stage1.conv1", 0, k=1)


# ---- activation maximisation: smooth images, not saturated pixel noise ----------------
def _saturated_share(x: torch.Tensor) -> float:
    return float(((x < 0.02) | (x > 0.98)).float().mean())


def _pixel_detail(x: torch.Tensor) -> float:
    """Mean absolute difference of horizontally and vertically neighbouring pixels."""
    return float((x[..., 1:, :] - x[..., :-1, :]).abs().mean()
                 + (x[..., :, 1:] - x[..., :, :-1]).abs().mean())


def test_maximize_activation_paints_smooth_images_that_still_excite_the_channel():
    from vgg_lessons.probes import activation_max
    from vgg_lessons.probes import hooks
    from vgg_lessons.train import weights

    model = weights.load_pretrained("vgg11_bn_cifar10")
    layer, channels = "stage4.bn2", [0, 1, 2]
    painted = activation_max.maximize_activation(model, layer, channels, seed=0)
    unblurred = activation_max.maximize_activation(model, layer, channels, seed=0, blur=0)
    # Without the blur the climb ends in saturated stripes (measured: a third of the
    # pixels at 0 or 1); with it almost none are, and neighbouring pixels differ far less.
    assert _saturated_share(unblurred) > 0.15 and _saturated_share(painted) < 0.02
    assert _pixel_detail(painted) < _pixel_detail(unblurred) / 3
    # ... and each painted image still drives its channel harder than a grey image.
    grey = torch.full((1, 3, 32, 32), 0.5)
    with torch.no_grad():
        scores = hooks.channel_scores(model, activation_max.default_preprocess(painted), layer)
        grey_scores = hooks.channel_scores(model, activation_max.default_preprocess(grey), layer)
    for row, c in enumerate(channels):
        assert scores[row, c] > grey_scores[0, c] + 1.0
    with pytest.raises(ValueError, match="blur >= 0"):
        activation_max.maximize_activation(model, layer, 0, blur=-1)
