"""The paper's tables as data, the configuration summary and the epoch arithmetic."""

from __future__ import annotations

import pytest
import torch
import torchvision

from vgg_lessons import paper_results


def test_every_row_cites_its_table_and_row_in_order():
    for table, name in ((paper_results.SINGLE_SCALE, "Table 3"), (paper_results.MULTI_SCALE, "Table 4")):
        for i, r in enumerate(table, start=1):
            assert f"arXiv:1409.1556v6 (2015), {name}, row {i} ({r.config}, S={r.train_scale})" in r.source
            assert 0 < r.top5 < r.top1 < 100


def test_the_findings_the_chapter_states_hold_in_the_data():
    def top1(table, config, scale):
        (row,) = paper_results.rows(table, config, scale)
        return row.top1

    t3, t4 = paper_results.SINGLE_SCALE, paper_results.MULTI_SCALE
    assert top1(t3, "A-LRN", "256") >= top1(t3, "A", "256")
    assert top1(t3, "B", "256") > top1(t3, "C", "256") > top1(t3, "D", "256")
    for config in "CDE":  # jittering beats both fixed scales, and three test scales beat one
        assert top1(t3, config, "[256;512]") < min(top1(t3, config, "256"), top1(t3, config, "384"))
        assert top1(t4, config, "[256;512]") < top1(t3, config, "[256;512]")
    assert min(r.top1 for r in t4) == 24.8


def test_rows_rejects_an_unknown_configuration():
    with pytest.raises(ValueError, match="no row for config='F'"):
        paper_results.rows(paper_results.SINGLE_SCALE, "F")


def test_configuration_summary_matches_torchvision_and_hand_computed_fields():
    summary = {r["config"]: r for r in paper_results.configuration_summary()}
    for config, builder in (("A", torchvision.models.vgg11), ("D", torchvision.models.vgg16),
                            ("E", torchvision.models.vgg19)):
        with torch.device("meta"):
            reference = sum(p.numel() for p in builder(weights=None).parameters())
        assert summary[config]["params"] == reference
    # pool5 fields by hand: D 212, E 268 (well known); C's three 1x1 layers add nothing to B's.
    assert summary["D"]["rf"] == 212 and summary["E"]["rf"] == 268
    assert summary["C"]["rf"] == summary["B"]["rf"] and summary["C"]["convs_1x1"] == 3
    assert [summary[c]["weight_layers"] for c in "AB CDE".replace(" ", "")] == [11, 13, 16, 16, 19]


def test_epoch_macs_is_three_forward_passes_per_image():
    # The first conv of D alone: 224*224 positions x 64 kernels x 27 weights per image.
    first_conv = 224 * 224 * 64 * 27
    assert paper_results.epoch_macs("D", images=1) > 3 * first_conv
    assert paper_results.epoch_macs("D", images=10) == 10 * paper_results.epoch_macs("D", images=1)
    assert paper_results.epoch_macs("D", images=1) % 3 == 0
