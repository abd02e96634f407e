"""build_vgg against torchvision's VGG: keys, parameter counts, outputs, errors."""

import pytest
import torch
import torchvision
from torch import nn

from vgg_lessons.models import CONFIGS, MIN_INPUT_SIZE, build_vgg, config_name, stage_kernels

# torchvision's published parameter counts (ImageNet head, 1000 classes).
TORCHVISION_PARAMS = {
    ("vgg11", None): 132_863_336, ("vgg11", "before_relu"): 132_868_840,
    ("vgg13", None): 133_047_848, ("vgg13", "before_relu"): 133_053_736,
    ("vgg16", None): 138_357_544, ("vgg16", "before_relu"): 138_365_992,
    ("vgg19", None): 143_667_240, ("vgg19", "before_relu"): 143_678_248,
}


def on_meta(build, *args, **kwargs) -> nn.Module:
    """Build a model on the meta device: shapes without memory or initialisation (fast)."""
    with torch.device("meta"):
        return build(*args, **kwargs)


def n_params(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


def torchvision_vgg(name: str, bn: str | None) -> nn.Module:
    return getattr(torchvision.models, name + ("_bn" if bn else ""))()


def randomise_buffers_and_biases(model: nn.Module) -> None:
    """Give BN running stats and biases non-trivial values so that a comparison means something."""
    g = torch.Generator().manual_seed(0)
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, nn.BatchNorm2d):
                m.running_mean.normal_(generator=g)
                m.running_var.uniform_(0.5, 2.0, generator=g)
                m.weight.uniform_(0.5, 1.5, generator=g)
                m.bias.normal_(generator=g)
            elif isinstance(m, (nn.Conv2d, nn.Linear)) and m.bias is not None:
                m.bias.normal_(std=0.1, generator=g)


@pytest.mark.parametrize("name,bn", sorted(TORCHVISION_PARAMS, key=str))
def test_parameter_counts_equal_torchvision(name, bn):
    # conv_bias=True keeps the (redundant) conv bias before BN, as torchvision does.
    assert n_params(on_meta(build_vgg, name, bn=bn, conv_bias=True)) == TORCHVISION_PARAMS[name, bn]
    assert n_params(on_meta(torchvision_vgg, name, bn)) == TORCHVISION_PARAMS[name, bn]


@pytest.mark.parametrize("name", ["vgg11", "vgg13", "vgg16", "vgg19"])
def test_default_bn_model_drops_one_bias_per_conv(name):
    # A conv followed directly by BN has no bias: one fewer parameter per output channel.
    model = on_meta(build_vgg, name, bn="before_relu")
    conv_channels = sum(m.out_channels for m in model.modules() if isinstance(m, nn.Conv2d))
    assert all(m.bias is None for m in model.modules() if isinstance(m, nn.Conv2d))
    assert n_params(model) == TORCHVISION_PARAMS[name, "before_relu"] - conv_channels


@pytest.mark.parametrize("name,bn,conv_bias", [
    ("vgg11", None, False), ("vgg13", "before_relu", True), ("vgg16", "before_relu", False),
])
def test_loads_torchvision_state_dict_strictly_and_gives_same_outputs(name, bn, conv_bias):
    torch.manual_seed(0)
    reference = torchvision_vgg(name, bn)
    randomise_buffers_and_biases(reference)
    ours = build_vgg(name, bn=bn, conv_bias=conv_bias)
    ours.load_state_dict(reference.state_dict(), strict=True)
    reference.eval()
    ours.eval()
    x = torch.randn(2, 3, 64, 64)
    with torch.no_grad():
        expected, got = reference(x), ours(x)
    if bn is None or conv_bias:
        assert torch.equal(got, expected)  # the very same operations
    else:
        torch.testing.assert_close(got, expected)  # bias folded into BN's running mean


def test_state_dict_keys_match_torchvision_with_conv_bias():
    ours = on_meta(build_vgg, "vgg16", bn="before_relu", conv_bias=True).state_dict()
    theirs = on_meta(torchvision.models.vgg16_bn).state_dict()
    assert list(ours) == list(theirs)
    assert all(ours[k].shape == theirs[k].shape for k in ours)


def test_folded_bias_also_matches_in_training_mode():
    # In train mode BN uses batch statistics, so a conv bias before BN has no effect at all.
    torch.manual_seed(1)
    from torchvision.models.vgg import cfgs, make_layers  # torchvision's features alone
    reference = make_layers(cfgs["A"], batch_norm=True)
    randomise_buffers_and_biases(reference)
    ours = build_vgg("vgg11", bn="before_relu", head="cifar")
    missing, unexpected = ours.load_state_dict(
        {f"features.{k}": v for k, v in reference.state_dict().items()}, strict=False)
    assert unexpected == [] and all(k.startswith("classifier.") for k in missing)
    x = torch.randn(4, 3, 32, 32)
    torch.testing.assert_close(ours.forward_features(x), reference(x), atol=1e-4, rtol=1e-4)


def test_blog_vgg13_is_vgg11():
    assert stage_kernels([1, 1, 2, 2, 2]) == CONFIGS["A"]
    assert stage_kernels([2, 2, 2, 2, 2]) == CONFIGS["B"]
    assert config_name([1, 1, 2, 2, 2]) == "A"
    assert config_name("vgg13") == "B"
    assert config_name([3, 3, 3, 3, 3]) == "custom[3,3,3,3,3]"


@pytest.mark.parametrize("arch,weight_layers", [("A", 11), ("A-LRN", 11), ("B", 13), ("C", 16),
                                                ("D", 16), ("E", 19)])
def test_table1_depths(arch, weight_layers):
    model = on_meta(build_vgg, arch, bn=None)
    convs = [m for m in model.modules() if isinstance(m, nn.Conv2d)]
    linears = [m for m in model.modules() if isinstance(m, nn.Linear)]
    assert len(convs) + len(linears) == weight_layers
    assert [c.out_channels for c in convs][-1] == 512


def test_config_c_has_1x1_convs_ending_stages_3_to_5():
    model = on_meta(build_vgg, "C", bn=None)
    for stage in (3, 4, 5):
        last = model.layer(f"stage{stage}.conv3")
        assert last.kernel_size == (1, 1) and last.padding == (0, 0)
    assert model.layer("stage2.conv2").kernel_size == (3, 3)


def test_a_lrn_has_local_response_norm_after_first_conv():
    model = build_vgg("A-LRN", bn=None, head="cifar")
    assert isinstance(model.layer("stage1.lrn"), nn.LocalResponseNorm)
    assert model(torch.randn(1, 3, 32, 32)).shape == (1, 10)


@pytest.mark.parametrize("bn,order", [
    ("before_relu", [nn.Conv2d, nn.BatchNorm2d, nn.ReLU]),
    ("after_relu", [nn.Conv2d, nn.ReLU, nn.BatchNorm2d]),
    (None, [nn.Conv2d, nn.ReLU]),
])
def test_bn_placement_order_and_bias(bn, order):
    model = build_vgg("A", bn=bn, head="cifar", width=0.25)
    first = [type(m) for m in model.features[:len(order)]]
    assert first == order
    conv = model.layer("stage1.conv1")
    assert (conv.bias is None) == (bn == "before_relu")


def test_width_scales_channels_and_cifar_head():
    model = build_vgg("A", head="cifar", width=0.25)
    assert [info["num_chs"] for info in model.feature_info] == [16, 32, 64, 128, 128]
    assert model.config["num_classes"] == 10
    out = model(torch.randn(3, 3, 32, 32))
    assert out.shape == (3, 10)


def test_forward_returns_logits_not_probabilities():
    torch.manual_seed(0)
    model = build_vgg("A", head="cifar", width=0.25).eval()
    with torch.no_grad():
        out = model(torch.randn(4, 3, 32, 32) * 5)
    assert not torch.allclose(out.sum(1), torch.ones(4))
    assert (out < 0).any()


def test_stages_run_one_by_one_equal_the_whole():
    torch.manual_seed(0)
    model = build_vgg("D", head="cifar", width=0.25).eval()
    x = torch.randn(2, 3, 32, 32)
    h, sizes = x, []
    for stage in model.stages:
        h = stage(h)
        sizes.append(tuple(h.shape[1:]))
    assert sizes == [(16, 16, 16), (32, 8, 8), (64, 4, 4), (128, 2, 2), (128, 1, 1)]
    torch.testing.assert_close(h, model.forward_features(x))
    # The views share the model's parameters: nothing is copied.
    assert model.stages[0][0] is model.features[0]


def test_layer_names_are_stable_and_addressable():
    model = on_meta(build_vgg, "vgg16", bn="before_relu")
    assert model.layer_names["stage5.conv3"] == "features.40"  # the paper's conv5_3
    assert model.layer("stage5.conv3") is model.features[40]
    assert model.layer("features.40") is model.features[40]
    assert model.layer("head.fc1") is model.classifier[0]
    assert model.readable_name("features.40") == "stage5.conv3"
    # 13 conv biases fewer than torchvision's vgg16_bn (no bias before BN).
    assert len(model.state_dict()) == len(on_meta(torchvision.models.vgg16_bn).state_dict()) - 13


@pytest.mark.parametrize("kwargs,message", [
    (dict(arch="F"), "unknown VGG configuration 'F'"),
    (dict(arch=[2, 2, 3, 3]), "VGG has 5 stages, but 4"),
    (dict(arch=[2, 0, 3, 3, 3]), "stage 2 has 0 convolutions"),
    (dict(arch="A", width=0), "width must be a positive number"),
    (dict(arch="A", width=-0.5), "width must be a positive number"),
    (dict(arch="A", bn="after"), "unknown bn placement 'after'"),
    (dict(arch="A", head="tiny"), "unknown head 'tiny'"),
    (dict(arch="A", num_classes=0), "num_classes must be a positive whole number"),
])
def test_bad_arguments_raise_clear_errors(kwargs, message):
    with pytest.raises(ValueError, match=message):
        build_vgg(**kwargs)


@pytest.mark.parametrize("shape,message", [
    ((1, 3, 16, 16), f"at least {MIN_INPUT_SIZE}x{MIN_INPUT_SIZE}"),
    ((1, 3, 31, 64), "31x64 pixels is too small"),
    ((3, 32, 32), "add a batch dimension"),
    ((1, 1, 32, 32), "takes 3-channel images, got 1"),
])
def test_bad_inputs_raise_clear_errors(shape, message):
    model = build_vgg("A", head="cifar", width=0.25)
    with pytest.raises(ValueError, match=message):
        model(torch.randn(*shape))


def test_unknown_layer_name_raises_clear_error():
    with pytest.raises(ValueError, match="no layer named 'stage9.conv1'"):
        build_vgg("A", head="cifar", width=0.25).layer("stage9.conv1")
