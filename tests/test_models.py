"""build_vgg against torchvision's VGG: keys, parameter counts, outputs, errors."""

import pytest
import torch
import torchvision
from torch import nn

from vgg_lessons.vgg_configs import CONFIGS, config_name, stage_kernels
from vgg_lessons.models import MIN_INPUT_SIZE, build_vgg

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


def random_torchvision_vgg(name: str, bn: str | None) -> nn.Module:
    """torchvision's model with cheap random weights: built on meta, then filled (no init cost)."""
    model = on_meta(torchvision_vgg, name, bn).to_empty(device="cpu")
    g = torch.Generator().manual_seed(0)
    with torch.no_grad():
        for p in model.parameters():
            p.normal_(std=(2.0 / p[0].numel()) ** 0.5 if p.dim() > 1 else 0.1, generator=g)
        for m in model.modules():
            if isinstance(m, nn.BatchNorm2d):
                m.running_mean.zero_()
                m.running_var.fill_(1.0)
    randomise_buffers_and_biases(model)
    return model


@pytest.mark.parametrize("name", ["vgg16", "vgg16_bn", "vgg11", "vgg19_bn"])
def test_torchvision_names_mean_torchvision_models(name):
    ours, theirs = on_meta(build_vgg, name), on_meta(getattr(torchvision.models, name))
    assert n_params(ours) == n_params(theirs)
    assert {k: v.shape for k, v in ours.state_dict().items()} == \
        {k: v.shape for k, v in theirs.state_dict().items()}
    # Loads strictly (on the meta device: shapes and keys only, no memory).
    ours.load_state_dict(theirs.state_dict(), strict=True, assign=True)


def test_vgg16_counts_are_torchvisions_published_ones():
    assert n_params(on_meta(build_vgg, "vgg16")) == 138_357_544
    assert n_params(on_meta(build_vgg, "vgg16_bn")) == 138_365_992
    assert on_meta(build_vgg, "vgg16").config["bn"] is None
    # The paper's letter with bn= stays the teaching interface: BN, no redundant bias.
    assert n_params(on_meta(build_vgg, "D")) == 138_365_992 - (2 * 64 + 2 * 128 + 3 * 256 + 6 * 512)


@pytest.mark.parametrize("name,bn,conv_bias", [
    ("vgg11", None, False), ("vgg13", "before_relu", True), ("vgg16", "before_relu", False),
])
def test_loads_torchvision_state_dict_strictly_and_gives_same_outputs(name, bn, conv_bias):
    reference = random_torchvision_vgg(name, bn)
    ours = on_meta(build_vgg, name, bn=bn, conv_bias=conv_bias)
    ours.load_state_dict(reference.state_dict(), strict=True, assign=True)
    reference.eval()
    ours.eval()
    x = torch.randn(2, 3, 64, 64)
    with torch.no_grad():
        expected, got = reference(x), ours(x)
    if bn is None or conv_bias:
        assert torch.equal(got, expected)  # the very same operations
    else:
        scale = expected.abs().max().item()  # bias folded into BN's running mean: rounding differs
        torch.testing.assert_close(got, expected, rtol=1e-4, atol=1e-5 * scale)


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
    torch.manual_seed(0)
    model = build_vgg("A-LRN", bn=None, head="cifar", width=0.25).eval()
    lrn = model.layer("stage1.lrn")
    assert isinstance(lrn, nn.LocalResponseNorm)
    # Krizhevsky et al.'s settings, as the paper uses them
    assert (lrn.size, lrn.alpha, lrn.beta, lrn.k) == (5, 1e-4, 0.75, 2.0)
    # it normalises the first convolution's ReLU output, across channels, by hand:
    # b_c = a_c / (k + alpha / n * sum over the n channels around c of a^2) ** beta
    x = torch.randn(1, 3, 32, 32, generator=torch.Generator().manual_seed(1))
    end = int(model.layer_names["stage1.lrn"].split(".")[1])
    with torch.no_grad():
        got = model.features[: end + 1](x)
        a = torch.relu(model.layer("stage1.conv1")(x))  # (1, C, 32, 32)
        square = torch.nn.functional.pad(a.pow(2), (0, 0, 0, 0, 2, 2))  # 2 channels each side
        window = sum(square[:, i : i + a.shape[1]] for i in range(5))
        expected = a / (2.0 + 1e-4 / 5 * window) ** 0.75
    torch.testing.assert_close(got, expected)
    assert model(x).shape == (1, 10)


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
    assert [info["reduction"] for info in model.feature_info] == [1, 2, 4, 8, 16]
    assert model.config["num_classes"] == 10
    out = model(torch.randn(3, 3, 32, 32))
    assert out.shape == (3, 10)


@pytest.mark.parametrize("head", ["cifar", "imagenet"])
def test_forward_returns_logits_not_probabilities(head):
    # The output is the last linear layer's, untouched: a softmax or log-softmax after it
    # (which would make these tests fail) squashes the gradients of CrossEntropyLoss.
    torch.manual_seed(0)
    model = build_vgg("A", head=head, width=0.25, num_classes=10).eval()
    last_linear = [m for m in model.modules() if isinstance(m, nn.Linear)][-1]
    seen = []
    last_linear.register_forward_hook(lambda m, i, o: seen.append(o.clone()))
    with torch.no_grad():
        out = model(torch.randn(4, 3, 32, 32) * 5)
    assert torch.equal(out, seen[0])
    assert not torch.allclose(out.exp().sum(1), torch.ones(4))  # not log-probabilities
    assert not torch.allclose(out.sum(1), torch.ones(4))  # not probabilities


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
    (dict(arch=None), "got NoneType None"),
    (dict(arch=11), r"got int 11 \(did you mean 'vgg11'\?\)"),
])
def test_bad_arguments_raise_clear_errors(kwargs, message):
    with pytest.raises(ValueError, match=message) as err:
        build_vgg(**kwargs)
    assert "\n" not in str(err.value)


@pytest.mark.parametrize("shape,message", [
    ((1, 3, 16, 16), f"at least {MIN_INPUT_SIZE}x{MIN_INPUT_SIZE}"),
    ((1, 3, 31, 64), "31x64 pixels is too small"),
    ((3, 32, 32), "add a batch dimension"),
    ((1, 1, 32, 32), r"expected 3-channel images .*got shape \(1, 1, 32, 32\)"),
    ((2, 32, 32, 3), r"channels go second: x.permute\(0, 3, 1, 2\)$"),
])
def test_bad_inputs_raise_clear_errors(shape, message):
    model = build_vgg("A", head="cifar", width=0.25)
    with pytest.raises(ValueError, match=message):
        model(torch.randn(*shape))


def test_uint8_images_get_a_one_line_error_that_names_the_transform():
    from vgg_lessons.train.weights import get_weights

    model = build_vgg("A", head="cifar", width=0.25).eval()
    images = torch.randint(0, 256, (2, 3, 32, 32), dtype=torch.uint8)
    with pytest.raises(ValueError, match=r"expected float model input, got torch.uint8 .*inputs.normalize\(images\)"):
        model(images)
    assert model(get_weights().transforms()(images)).shape == (2, 10)


def test_feature_info_follows_timm_the_layer_before_each_pool():
    model = build_vgg("B", bn="after_relu", head="cifar", width=0.25).eval()
    before_pool = [model.features[i - 1] for i, m in enumerate(model.features)
                   if isinstance(m, nn.MaxPool2d)]
    sizes = {}
    for info in model.feature_info:
        layer = model.get_submodule(info["module"])
        layer.register_forward_hook(lambda m, i, o, key=info["module"]: sizes.update({key: o.shape}))
    model(torch.randn(1, 3, 64, 64))
    assert [model.get_submodule(i["module"]) for i in model.feature_info] == before_pool
    for info in model.feature_info:
        shape = sizes[info["module"]]
        assert (shape[1], 64 // shape[-1]) == (info["num_chs"], info["reduction"])
        assert model.layer(info["name"]) is model.get_submodule(info["module"])
    assert model.feature_info[0]["name"] == "stage1.bn2"  # BN after the ReLU, before the pool


def test_unknown_layer_name_raises_clear_error():
    with pytest.raises(ValueError, match="no layer named 'stage9.conv1'"):
        build_vgg("A", head="cifar", width=0.25).layer("stage9.conv1")


@pytest.mark.parametrize("head", ["cifar", "imagenet"])
def test_reset_classifier_replaces_only_the_last_linear_layer(head):
    torch.manual_seed(0)
    model = build_vgg("A", head=head, width=0.125, num_classes=10).eval()
    before = {k: v.clone() for k, v in model.state_dict().items()}
    last = max(i for i, m in enumerate(model.classifier) if isinstance(m, torch.nn.Linear))
    model.reset_classifier(3)
    after = model.state_dict()
    changed = {k for k in before if k not in after or not torch.equal(before[k], after[k])}
    assert changed == {f"classifier.{last}.weight", f"classifier.{last}.bias"}
    assert model.config["num_classes"] == 3 and model.classifier[last].out_features == 3
    assert torch.count_nonzero(model.classifier[last].bias) == 0
    assert 0.005 < model.classifier[last].weight.std().item() < 0.02  # N(0, 0.01)
    size = 32 if head == "cifar" else 224
    assert model(torch.randn(2, 3, size, size)).shape == (2, 3)
    with pytest.raises(ValueError, match="num_classes must be a positive whole number, got 0"):
        model.reset_classifier(0)
