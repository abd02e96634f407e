"""Layer statistics against torchvision's published figures, torchinfo and hand counts."""

from __future__ import annotations

import pytest
import torch
import torchinfo
import torchvision
from torch import nn

from vgg_lessons import stats
from vgg_lessons.models import build_vgg


def meta(fn, *args, **kwargs) -> nn.Module:
    with torch.device("meta"):
        return fn(*args, **kwargs)


@pytest.mark.parametrize("arch", ["vgg11", "vgg13", "vgg16", "vgg19"])
def test_totals_match_torchvision_weight_tables(arch):
    meta_info = torchvision.models.get_model_weights(arch).IMAGENET1K_V1.meta
    for model in (meta(build_vgg, arch, bn=None), meta(torchvision.models.get_model, arch)):
        table = stats.layer_stats(model, 224)
        # torchvision's "GFLOPS" are MACs, rounded to three decimals
        assert round(table.total_macs / 1e9, 3) == meta_info["_ops"]
        assert table.total_params == stats.count_parameters(model) == meta_info["num_params"]


def test_per_layer_against_torchinfo():
    model = meta(torchvision.models.vgg11_bn)
    ours = {r.path: r for r in stats.layer_stats(model, 224, batch_size=2)}
    info = torchinfo.summary(model, input_size=(2, 3, 224, 224), device="meta", verbose=0)
    paths = {m: p for p, m in model.named_modules()}
    leaves = [layer for layer in info.summary_list if layer.is_leaf_layer]
    assert len(leaves) == len(ours)
    for layer in leaves:
        row = ours[paths[layer.module]]
        assert list(row.output_shape) == layer.output_size
        assert row.params == layer.num_params
        # torchinfo also counts one mult-add per bias use (conv: per output element;
        # linear: per output feature and image) and per BN parameter and image;
        # we count weights only, as torchvision does. Remove its extras to compare.
        m = layer.module
        extra = 0
        if isinstance(m, (nn.Conv2d, nn.Linear)) and m.bias is not None:
            extra = row.output_shape[0] * m.bias.numel() * (
                row.output_shape[2] * row.output_shape[3] if isinstance(m, nn.Conv2d) else 1)
        elif isinstance(m, nn.BatchNorm2d):
            extra = row.output_shape[0] * layer.num_params
        assert row.macs == layer.macs - extra, row.name
    assert sum(r.params for r in ours.values()) == info.total_params


def test_hand_counted_small_model():
    model = nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
                          nn.Linear(8 * 4 * 4, 10))
    table = stats.layer_stats(model, 8, batch_size=2, bytes_per_element=2)
    assert [r.type for r in table] == ["Conv2d", "ReLU", "MaxPool2d", "Flatten", "Linear"]
    assert [r.output_shape for r in table] == [(2, 8, 8, 8), (2, 8, 8, 8), (2, 8, 4, 4),
                                               (2, 128), (2, 10)]
    assert [r.macs for r in table] == [2 * 8 * 8 * 8 * 27, 0, 0, 0, 2 * 128 * 10]
    assert [r.params for r in table] == [8 * 27 + 8, 0, 0, 0, 1290]
    assert table.total_activation_bytes == 2 * 2 * (512 + 512 + 128 + 128 + 10)
    assert next(model.parameters()).device.type == "cpu" and model.training  # untouched


def test_vgg_names_stages_and_scaling():
    model = meta(build_vgg, "D", bn="before_relu", head="cifar", width=0.25)
    one = stats.layer_stats(model, 32)
    four = stats.layer_stats(model, 32, batch_size=4)
    assert one[0].name == "stage1.conv1" and one[1].type == "BatchNorm2d"
    assert one.row("features.1").name == "stage1.bn1"
    assert four.total_macs == 4 * one.total_macs
    assert four.total_activation_bytes == 4 * one.total_activation_bytes
    assert four.total_params == one.total_params == stats.count_parameters(model)
    totals = one.stage_totals()
    assert list(totals) == ["stage1", "stage2", "stage3", "stage4", "stage5", "head"]
    for key, total in (("params", one.total_params), ("macs", one.total_macs),
                       ("activation_bytes", one.total_activation_bytes)):
        assert sum(t[key] for t in totals.values()) == total
    assert totals["head"]["macs"] == 128 * 10  # one linear layer after global pooling
    assert one.to_dicts()[0]["output_shape"] == [1, 16, 32, 32]


def test_count_parameters_trainable_only():
    model = nn.Sequential(nn.Linear(4, 3), nn.Linear(3, 2))
    model[0].requires_grad_(False)
    assert stats.count_parameters(model) == 15 + 8
    assert stats.count_parameters(model, trainable_only=True) == 8


def test_display_in_terminal_and_notebook():
    table = stats.layer_stats(meta(build_vgg, "D", bn=None), 224)
    text = str(table)
    assert "15.47 G" in text.splitlines()[-1] and "138.36 M" in text.splitlines()[-1]
    assert "stage5.conv3" in text and "MiB" in text and "KiB" in text
    assert len({len(line) for line in text.splitlines()}) <= 2  # aligned (lines end at the last column)
    html = table._repr_html_()
    assert html.count("<tr") == len(table) + 2 and "<tfoot>" in html
    assert "text-align:right\">138.36 M</th>" in html  # numbers right-aligned, totals in the footer
    assert stats.format_bytes(6 * 1024 * 1024) == "6.00 MiB"
    assert stats.format_count(1_790) == "1.79 k"


def test_errors():
    with pytest.raises(ValueError, match="too small: five 2x2 max-pools need at least 32x32"):
        stats.layer_stats(meta(build_vgg, "A", head="cifar"), 16)
    with pytest.raises(ValueError, match="cannot take a 1x3x3x3 input.*larger input_size"):
        stats.layer_stats(nn.Sequential(nn.Conv2d(3, 4, 5)), 3)
    with pytest.raises(ValueError, match="batch_size must be a positive whole number"):
        stats.layer_stats(nn.Sequential(nn.Conv2d(3, 4, 5)), 8, batch_size=0)


def test_layer_stats_inside_a_recording_keeps_the_recorded_maps():
    from vgg_lessons.probes.hooks import recording

    model = build_vgg("A", head="cifar", width=0.125).eval()
    x = torch.randn(1, 3, 32, 32)
    with recording(model, "stage1.conv1") as maps:
        model(x)
        stats.layer_stats(model, 32)  # runs a meta-device copy: must not fire our hooks
    assert maps["stage1.conv1"].device.type == "cpu"
    assert torch.equal(maps["stage1.conv1"], model.layer("stage1.conv1")(x))
