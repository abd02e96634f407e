"""The initialisation schemes of chapter 3 against the formulas and torch's own."""

import math

import pytest
import torch
from torch import nn

from vgg_lessons.initialisation import SCHEMES, conv_std, initialise


def test_stds_follow_the_formulas_worked_by_hand():
    conv = nn.Conv2d(256, 512, 3)  # fan-in 9 * 256 = 2304, fan-out 9 * 512 = 4608
    assert conv_std(conv, "he_fan_in") == pytest.approx(math.sqrt(2 / 2304))
    assert conv_std(conv, "he_fan_out") == pytest.approx(math.sqrt(2 / 4608))
    assert conv_std(conv, "glorot") == pytest.approx(math.sqrt(2 / (2304 + 4608)))
    assert conv_std(conv, "paper") == pytest.approx(0.1)  # variance 1e-2


@pytest.mark.parametrize("mode", ["fan_in", "fan_out"])
def test_he_matches_torch_kaiming_normal(mode):
    torch.manual_seed(0)
    ours = initialise(nn.Sequential(nn.Conv2d(64, 128, 3)), f"he_{mode}")[0].weight
    theirs = torch.empty(128, 64, 3, 3)
    nn.init.kaiming_normal_(theirs, mode=mode, nonlinearity="relu")
    assert ours.std().item() == pytest.approx(theirs.std().item(), rel=0.02)


def test_initialise_touches_only_convolutions_and_zeroes_their_biases():
    torch.manual_seed(0)
    model = nn.Sequential(nn.Conv2d(3, 8, 3), nn.BatchNorm2d(8), nn.Linear(4, 2))
    linear = model[2].weight.clone()
    nn.init.ones_(model[0].bias)
    initialise(model, "paper")
    assert torch.equal(model[0].bias, torch.zeros(8))
    assert torch.equal(model[2].weight, linear)
    assert torch.equal(model[1].weight, torch.ones(8))


def test_unknown_scheme_says_which_exist():
    with pytest.raises(ValueError, match="he_fan_out, he_fan_in, glorot, paper"):
        initialise(nn.Conv2d(3, 8, 3), "xavier")
    assert SCHEMES[0] == "he_fan_out"
