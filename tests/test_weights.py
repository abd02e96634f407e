"""The weights registry: meta from the shipped record, and the one image transform."""

from __future__ import annotations

import json

import pytest
import torch

from vgg_lessons.models import build_vgg
from vgg_lessons.inputs import CLASSES
from vgg_lessons.train.weights import ASSETS, DEFAULT, WEIGHTS, Weights, get_weights


def test_every_entry_has_its_three_files():
    for name, entry in WEIGHTS.items():
        assert entry.name == name
        for path in (entry.path, entry.record_path, entry.card_path):
            assert path.is_file() and path.parent == ASSETS


def test_meta_is_read_from_the_record():
    w = get_weights(DEFAULT)
    record = json.loads(w.record_path.read_text())
    assert w.meta["test_acc"] == record["test_acc"]
    assert w.meta["model"] == record["config"]["model"]
    assert w.meta["recipe"]["epochs"] == record["epochs"] == w.meta["epochs"]
    assert "model" not in w.meta["recipe"]
    assert list(w.meta["categories"]) == list(CLASSES)
    assert list(w.meta["test_acc_per_class"]) == list(CLASSES)
    assert 0.5 < w.meta["test_acc"] < 1.0
    model = build_vgg(**w.meta["model"])
    assert w.meta["num_params"] == sum(p.numel() for p in model.parameters())


def test_transform_matches_the_normalisation_worked_out_by_hand():
    images = torch.tensor([[[[0, 255]], [[128, 64]], [[255, 0]]]], dtype=torch.uint8)  # (1, 3, 1, 2)
    out = get_weights().transforms()(images)
    assert out.dtype == torch.float32 and out.shape == (1, 3, 1, 2)
    # red channel: (0/255 - 0.4914) / 0.2470 and (1 - 0.4914) / 0.2470
    assert out[0, 0, 0, 0].item() == pytest.approx(-0.4914 / 0.2470, rel=1e-5)
    assert out[0, 0, 0, 1].item() == pytest.approx((1 - 0.4914) / 0.2470, rel=1e-5)
    assert out[0, 1, 0, 0].item() == pytest.approx((128 / 255 - 0.4822) / 0.2435, rel=1e-5)
    assert get_weights().transforms() == get_weights("transfer_source_cifar5").transforms()


@pytest.mark.parametrize("bad, message", [
    (torch.zeros(2, 3, 8, 8), "uint8 images"),
    (torch.zeros(3, 8, 8, dtype=torch.uint8), "unsqueeze"),
    (torch.zeros(2, 8, 8, 3, dtype=torch.uint8), "permute"),
    ([[1, 2]], "tensor of images .*got list"),
])
def test_transform_rejects_other_conventions_in_one_line(bad, message):
    with pytest.raises(ValueError, match=message) as err:
        get_weights().transforms()(bad)
    assert "\n" not in str(err.value)


def test_unknown_name_lists_the_shipped_models():
    with pytest.raises(ValueError, match="available: vgg11_bn_cifar10"):
        get_weights("vgg16_imagenet")
    entry = WEIGHTS[DEFAULT]
    assert get_weights(entry) is entry
    assert isinstance(entry, Weights)


def test_from_unit_is_the_same_transform_for_images_in_0_to_1():
    u8 = torch.randint(0, 256, (2, 3, 4, 4), dtype=torch.uint8, generator=torch.Generator().manual_seed(0))
    t = get_weights().transforms()
    torch.testing.assert_close(t.from_unit(u8.float() / 255), t(u8))
    x = (u8.float() / 255).requires_grad_(True)
    t.from_unit(x).sum().backward()  # differentiable: activation maximisation climbs through it
    assert x.grad is not None and x.grad.abs().min() > 0


def test_get_model_loads_each_registered_model_as_its_meta_describes():
    from vgg_lessons.train.weights import load_pretrained

    for name, entry in WEIGHTS.items():
        model = entry.get_model()
        assert not model.training and entry.path.is_file()
        assert {k: model.config[k] for k in entry.meta["model"]} == entry.meta["model"]
        assert model.config["num_classes"] == len(entry.meta["categories"])
        assert sum(p.numel() for p in model.parameters()) == entry.meta["num_params"]
    assert list(WEIGHTS["transfer_source_cifar5"].meta["categories"]) == list(CLASSES[:5])
    a, b = load_pretrained(), get_weights().get_model()
    for (key, x), y in zip(a.state_dict().items(), b.state_dict().values()):
        torch.testing.assert_close(x, y, msg=key)


def test_every_shipped_weights_file_is_registered():
    shipped = {p.stem for p in ASSETS.glob("*.pt")}
    assert shipped == {w.path.stem for w in WEIGHTS.values()}
