"""Receptive fields against hand-computed values, PyTorch's own shapes and measurement."""

from __future__ import annotations

import math

import pytest
import torch
import torchvision
from torch import nn

from vgg_lessons import receptive_field
from vgg_lessons.probes import fields
from vgg_lessons.vgg_configs import CONFIGS
from vgg_lessons.models import build_vgg

ARCHS = list(CONFIGS)


def meta_vgg(arch: str, **kwargs) -> nn.Module:
    with torch.device("meta"):
        return build_vgg(arch, **kwargs)


# ---- pencil and paper ------------------------------------------------------------------
def test_known_vgg_values():
    d = fields.layer_table(meta_vgg("D"), 224)
    assert d.row("stage5.conv3").rf == 196
    pool5 = d.row("stage5.pool")
    assert (pool5.rf, pool5.jump, pool5.effective_padding, pool5.out_size) == (212, 32, 90, 7)
    assert fields.layer_table(meta_vgg("A"), 224).row("stage5.pool").rf == 150


def test_single_steps_by_hand():
    # two 3x3 convolutions see 5x5, three see 7x7 (the paper's argument for 3x3 stacks)
    three = receptive_field.rf_table([receptive_field.LayerSpec(f"c{i}", 3, padding=1) for i in range(3)], 32)
    assert [r.rf for r in three] == [3, 5, 7]
    assert [r.out_size for r in three] == [32, 32, 32]
    assert receptive_field.next_rf(1, 1, 3, dilation=2) == 5
    assert receptive_field.next_rf(3, 2, 3) == 7  # after a stride-2 layer each tap is 2 pixels
    assert receptive_field.next_jump(2, 2) == 4
    assert receptive_field.next_start(0.0, 1, 2) == 0.5  # 2x2 pool: first unit centred between pixels 0 and 1
    assert receptive_field.next_start(0.0, 1, 3, padding=1) == 0.0
    table = receptive_field.rf_table([receptive_field.LayerSpec("c", 3, stride=2), receptive_field.LayerSpec("p", 2, 2, kind="pool")])
    assert [(r.jump, r.rf, r.start, r.out_size) for r in table] == [(2, 3, 1.0, None),
                                                                  (4, 5, 2.0, None)]


@pytest.mark.parametrize("n,k,s,p,d,ceil", [(32, 3, 1, 1, 1, False), (17, 5, 2, 1, 1, False),
                                            (20, 3, 3, 0, 2, False), (7, 2, 2, 0, 1, True),
                                            (9, 3, 2, 1, 1, True), (6, 3, 2, 0, 1, True)])
def test_output_size_matches_pytorch(n, k, s, p, d, ceil):
    x = torch.zeros(1, 1, n, n)
    layer = (nn.MaxPool2d(k, s, p, dilation=d, ceil_mode=True) if ceil
             else nn.Conv2d(1, 1, k, s, p, d))
    assert receptive_field.output_size(n, k, s, p, d, ceil) == layer(x).shape[-1]


def closed_form(specs: list[receptive_field.LayerSpec]) -> tuple[int, int, int]:
    """Distill's closed forms: r = 1 + sum (k'_l - 1) prod_{i<l} s_i, P = sum p_l prod_{i<l} s_i."""
    r, pad, j = 1, 0, 1
    for s in specs:
        r += (receptive_field.effective_kernel(s.kernel, s.dilation) - 1) * j
        pad += s.padding * j
        j *= s.stride
    return r, j, pad


@pytest.mark.parametrize("arch", ARCHS)
def test_layer_table_matches_closed_form_and_shapes(arch):
    model = meta_vgg(arch)
    table = fields.layer_table(model, 224)
    kernels = [k for stage in CONFIGS[arch] for k in stage]
    assert len(table) == len(kernels) + 5
    specs = [receptive_field.LayerSpec(r.name, r.kernel, r.stride, r.padding, r.dilation) for r in table]
    for i, row in enumerate(table):
        r, j, pad = closed_form(specs[:i + 1])
        assert (row.rf, row.jump, row.effective_padding) == (r, j, pad), row.name
    # out_size against the shapes PyTorch computes, layer by layer
    x = torch.empty(1, 3, 224, 224, device="meta")
    sizes = {}
    for i, m in enumerate(model.features):
        x = m(x)
        sizes[model.readable_name(f"features.{i}")] = x.shape[-1]
    assert all(row.out_size == sizes[row.name] for row in table)


def test_layer_table_on_torchvision_vgg16_uses_module_paths():
    with torch.device("meta"):
        tv = torchvision.models.vgg16_bn()
    table = fields.layer_table(tv, 224)
    ours = fields.layer_table(meta_vgg("D"), 224)
    assert table[-1].name == "features.43"
    assert [(r.rf, r.jump, r.start) for r in table] == [(r.rf, r.jump, r.start) for r in ours]


def test_table_display():
    table = fields.layer_table(meta_vgg("A"), 32)
    text, html = str(table), table._repr_html_()
    header = text.splitlines()[0].split()
    assert header[:6] == ["name", "out", "size", "jump", "rf", "start"]  # what is read most, first
    assert "stage5.pool" in text and "eff. padding" in text.splitlines()[0]
    assert len({len(line) for line in text.splitlines()}) == 1  # aligned
    cells = html_cells(html)
    assert len(cells) == len(table) + 1
    assert ("150", "right") in cells[-1] and ("stage5.pool", "left") in cells[-1]
    assert "overflow-x:auto" in html  # scrolls in its own box when the column is narrow
    d = table.to_dicts()[-1]
    assert d["name"] == "stage5.pool" and d["rf"] == 150 and d["out_size"] == 1


# ---- measured -----------------------------------------------------------------------
@pytest.mark.parametrize("arch", ARCHS)
def test_empirical_rf_agrees_with_table_everywhere(arch):
    model = build_vgg(arch, width=0.125, head="cifar")
    for row in fields.layer_table(model, 32):
        measured = fields.empirical_rf(model, row.name, 32)
        at_size = fields.layer_table(model, measured.input_size).row(row.name)
        assert measured.size == row.rf, row.name
        assert measured.centre == at_size.centre(measured.unit), row.name
        assert measured.start == at_size.centre(measured.unit) - (row.rf - 1) / 2


def test_empirical_rf_strides_dilation_and_module_paths():
    torch.manual_seed(0)
    model = nn.Sequential(nn.Conv2d(3, 4, 3, stride=2), nn.ReLU(), nn.Conv2d(4, 4, 3, padding=2, dilation=2),
                          nn.MaxPool2d(3, 2, 1), nn.BatchNorm2d(4), nn.MaxPool2d(2, 1, dilation=2))
    table = fields.layer_table(model, 64)
    assert [r.name for r in table] == ["0", "2", "3", "5"]
    for row in table:
        m = fields.empirical_rf(model, row.name, 64)
        assert m.size == row.rf and m.centre == row.centre(m.unit), row
    assert fields.empirical_rf(model, "4", 64).size == table.row("3").rf  # BN keeps the field


def test_effective_rf_of_linear_stack_is_exact():
    conv = nn.Conv2d(1, 1, 3, padding=1, bias=False)
    nn.init.ones_(conv.weight)
    model = nn.Sequential(conv, nn.Conv2d(1, 1, 3, padding=1, bias=False))
    nn.init.ones_(model[1].weight)
    erf = fields.effective_rf(model, "1", 11, n_inputs=2).map
    tri = torch.tensor([1.0, 2, 3, 2, 1]) / 3
    expected = torch.zeros(11, 11)
    expected[3:8, 3:8] = torch.outer(tri, tri)
    torch.testing.assert_close(erf, expected)
    assert fields.erf_mass_size(erf, 1.0) == 5 and fields.erf_mass_size(erf, 0.3) == 3
    assert fields.erf_std(erf) == pytest.approx(math.sqrt(12 / 9))


def test_effective_rf_on_vgg():
    model = build_vgg("D", width=0.125, head="cifar").train()
    name = "stage3.conv3"
    erf = fields.effective_rf(model, name, 64, n_inputs=4, seed=1).map
    assert erf.shape == (64, 64) and erf.max() == 1 and model.training
    assert all(p.grad is None for p in model.parameters())
    torch.testing.assert_close(erf, fields.effective_rf(model, name, 64, n_inputs=4, seed=1).map)
    row = fields.layer_table(model, 64).row(name)
    c = row.centre((row.out_size - 1) // 2)
    lo, hi = int(c - (row.rf - 1) / 2), int(c + (row.rf - 1) / 2)
    outside = erf.clone()
    outside[lo:hi + 1, lo:hi + 1] = 0
    assert outside.abs().max() == 0  # the gradient never leaves the theoretical field
    assert fields.erf_mass_size(erf, 0.9) < row.rf  # ... and concentrates well inside it
    assert 0 < fields.erf_std(erf) < row.rf / 2
    single = fields.effective_rf(model, name, 64, n_inputs=4, channel=3).map
    assert not torch.allclose(single, erf)


# ---- errors ---------------------------------------------------------------------------
def test_errors_say_what_to_do():
    model = build_vgg("A", width=0.125, head="cifar")
    with pytest.raises(ValueError, match=r"^an input of 16 pixels is too small: layer 'stage5.pool' "
                       r"gets 1 pixels, too few for its 2x2 kernel .*use an input of at least 32 "
                       r"pixels$"):
        fields.layer_table(model, 16)
    with pytest.raises(ValueError, match=r"square input; got \(H, W\) = \(32, 64\)"):
        fields.layer_table(model, (32, 64))
    with pytest.raises(ValueError, match=r"input_size is the image side.*got 'big'"):
        fields.layer_table(model, "big")
    with pytest.raises(ValueError, match=r"layer '1' is a Upsample.*LayerSpec"):
        fields.layer_table(nn.Sequential(nn.Conv2d(1, 1, 3), nn.Upsample(scale_factor=2)), 32)
    with pytest.raises(ValueError, match=r"no feature layer named 'head.fc'.*stage5.pool"):
        fields.empirical_rf(model, "head.fc")
    with pytest.raises(ValueError, match="no feature layer named 'stage9.conv1'"):
        fields.effective_rf(model, "stage9.conv1")
    with pytest.raises(ValueError, match=r"non-square kernel \(3, 1\)"):
        fields.layer_table(nn.Sequential(nn.Conv2d(1, 1, (3, 1))), 32)
    with pytest.raises(ValueError, match="no row named 'conv5_3'.*stage1.conv1"):
        fields.layer_table(model, 32).row("conv5_3")
    with pytest.raises(ValueError, match=r"16x16 pixels is too small for layer 'stage5.pool'.*>= 32"):
        fields.effective_rf(model, "stage5.pool", 16)
    with pytest.raises(ValueError, match=r"has 8 channels; channel must be in 0..7"):
        fields.effective_rf(model, "stage1.conv1", 32, channel=8)
    with pytest.raises(ValueError, match="fraction"):
        fields.erf_mass_size(torch.ones(3, 3), 1.5)


def test_pencil_and_paper_part_needs_no_torch():
    # Chapter 1 starts without PyTorch: the arithmetic module must not import it.
    import subprocess
    import sys

    code = "import sys, vgg_lessons.receptive_field; print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def html_cells(html: str) -> list[list[tuple[str, str]]]:
    """Rows of (text, text-align) of every cell of an HTML table."""
    from html.parser import HTMLParser

    rows: list[list[tuple[str, str]]] = []

    class Cells(HTMLParser):
        align = None

        def handle_starttag(self, tag, attrs):
            if tag == "tr":
                rows.append([])
            if tag in ("td", "th"):
                style = dict(attrs).get("style", "")
                self.align = "right" if "text-align:right" in style else "left"

        def handle_data(self, data):
            if self.align:
                rows[-1].append((data, self.align))
                self.align = None

    Cells().feed(html)
    return rows


def test_input_size_as_height_and_width_and_layer_errors_pass_through():
    model = meta_vgg("A")
    assert fields.layer_table(model, (224, 224)).to_dicts() == fields.layer_table(model, 224).to_dicts()
    # An unsupported layer's message is not rewritten as "too small".
    with pytest.raises(ValueError, match=r"^layer '1' is a Upsample") as err:
        fields.layer_table(nn.Sequential(nn.Conv2d(1, 1, 3), nn.Upsample(scale_factor=2)), 32)
    assert "too small" not in str(err.value)


def test_size_hint_holds_for_layers_given_as_a_generator():
    specs = (receptive_field.LayerSpec(f"pool{i}", 2, 2) for i in range(3))
    with pytest.raises(ValueError, match="use an input of at least 8 pixels$"):
        receptive_field.rf_table(specs, input_size=4)



def test_field_pixels_finds_the_holes_of_dilated_stacks():
    from vgg_lessons.receptive_field import LayerSpec, field_pixels, rf_table

    dilated = [LayerSpec(f"c{i}", kernel=3, padding=2, dilation=2) for i in range(3)]
    pixels = field_pixels(dilated)
    assert pixels == list(range(-6, 7, 2))  # 7 of a 13-pixel span: every second one
    assert pixels[-1] - pixels[0] + 1 == rf_table(dilated)[-1].rf
    mixed = [LayerSpec(f"c{d}", kernel=3, padding=d, dilation=d) for d in (1, 2, 4)]
    assert field_pixels(mixed) == list(range(-7, 8))  # 15 pixels, no hole
    pooled = [LayerSpec("conv", kernel=3, padding=1), LayerSpec("pool", kernel=2, stride=2)]
    assert field_pixels(pooled, unit=0) == [-1, 0, 1, 2]  # reaches one padding pixel


def test_effective_rf_says_which_unit_it_probed(vgg16_erf):
    # By hand: stage4.conv3 of VGG-16 at 160 px has 20 units per axis, jump 8, start 3.5,
    # field 92. The probed unit (20 - 1) // 2 = 9 is centred on 3.5 + 9 * 8 = 75.5, not
    # on the image's middle pixel (80) or its middle (79.5).
    assert (vgg16_erf.unit, vgg16_erf.centre, vgg16_erf.rf) == (9, 75.5, 92)
    assert vgg16_erf.layer == "stage4.conv3" and vgg16_erf.map.shape == (160, 160)
    touched = vgg16_erf.map.nonzero()  # every pixel that can change the unit
    lo, hi = 75.5 - (92 - 1) / 2, 75.5 + (92 - 1) / 2  # 30 .. 121
    assert touched.min() == lo and touched.max() == hi
