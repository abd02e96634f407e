"""Features reused: class subsets, balanced few-label draws, pooled features, the linear probe."""

from __future__ import annotations

import pytest
import torch

from vgg_lessons.train import transfer
from vgg_lessons.models import build_vgg


def test_class_subset_keeps_the_classes_and_relabels_them_in_order():
    labels = torch.tensor([0, 5, 9, 5, 3, 7])
    images = torch.arange(6).view(6, 1, 1, 1)
    sub_images, sub_labels = transfer.class_subset(images, labels, (5, 7, 9))
    assert sub_images.flatten().tolist() == [1, 2, 3, 5]
    assert sub_labels.tolist() == [0, 2, 0, 1]
    with pytest.raises(ValueError, match="distinct"):
        transfer.class_subset(images, labels, (5, 5))


def test_pooled_features_are_the_mean_of_the_last_stage():
    torch.manual_seed(0)
    model = build_vgg(**transfer.MODEL_ARGS, num_classes=5)
    images = torch.randint(0, 256, (3, 3, 32, 32), dtype=torch.uint8)
    feats = transfer.pooled_features(model, images, batch_size=2)
    assert feats.shape == (3, model.feature_info[-1]["num_chs"]) and feats.dtype == torch.float64
    from vgg_lessons.inputs import normalize
    with torch.no_grad():
        expected = model.eval().forward_features(normalize(images)).mean(dim=(2, 3))
    torch.testing.assert_close(feats.float(), expected)


def test_linear_probe_separates_separable_classes_and_needs_no_seed():
    gen = torch.Generator().manual_seed(0)
    centres = torch.randn(3, 8, generator=gen) * 4
    labels = torch.arange(3).repeat(30)
    feats = centres[labels] + torch.randn(90, 8, generator=gen)
    probe = transfer.linear_probe(feats, labels, 3)
    assert (probe(feats).argmax(1) == labels).double().mean() > 0.95
    again = transfer.linear_probe(feats, labels, 3)
    torch.testing.assert_close(probe(feats), again(feats))
    with pytest.raises(ValueError, match=r"features \(N, D\)"):
        transfer.linear_probe(feats[:, 0], labels, 3)


def test_the_recorded_experiment_has_three_seeds_and_the_source_model_loads():
    if not transfer.RECORD.is_file():
        pytest.fail(f"{transfer.RECORD} is missing: run scripts/train_chapter7_assets.sh")
    import json
    record = json.loads(transfer.RECORD.read_text())
    assert len(record["settings"]["seeds"]) >= 3
    for result in record["results"].values():
        for kind in ("probe", "finetune", "scratch"):
            assert len(result[kind]["values"]) == len(record["settings"]["seeds"])
    source = transfer.load_source()
    assert source.config["num_classes"] == len(transfer.SOURCE_CLASSES)
