"""data.balanced_subset: class-balanced subsets, whatever the order of the labels."""

from __future__ import annotations

import pytest
import torch

from vgg_lessons.train.data import balanced_subset


def _labels(order: str) -> torch.Tensor:
    """30 images per class of 10, sorted by class (ImageFolder) or shuffled (torchvision)."""
    labels = torch.arange(10).repeat_interleave(30)
    if order == "shuffled":
        labels = labels[torch.randperm(len(labels), generator=torch.Generator().manual_seed(5))]
    return labels


@pytest.mark.parametrize("order", ["sorted", "shuffled"])
def test_every_class_gets_the_same_number(order):
    labels = _labels(order)
    picked = balanced_subset(labels, 7, seed=3)
    assert picked.dtype == torch.int64 and picked.shape == (70,)
    assert torch.bincount(labels[picked], minlength=10).tolist() == [7] * 10
    assert len(set(picked.tolist())) == 70  # no image twice
    assert torch.equal(picked, picked.sort().values)


def test_seed_decides_the_draw():
    labels = _labels("shuffled")
    assert torch.equal(balanced_subset(labels, 5, seed=1), balanced_subset(labels, 5, seed=1))
    assert not torch.equal(balanced_subset(labels, 5, seed=1), balanced_subset(labels, 5, seed=2))
    # a draw, not the first images of each class
    first = torch.cat([torch.nonzero(labels == c).flatten()[:5] for c in range(10)]).sort().values
    assert not torch.equal(balanced_subset(labels, 5, seed=1), first)


def test_whole_classes_and_too_many():
    labels = _labels("sorted")
    assert torch.equal(balanced_subset(labels, 30), torch.arange(300))
    with pytest.raises(ValueError, match="cannot draw 31 images from each of 10 classes.*at most 30"):
        balanced_subset(labels, 31)
    with pytest.raises(ValueError, match="at most 0"):
        balanced_subset(labels[labels != 4], 1)
