"""The exercise checks: right answers pass, wrong ones fail with a hint, no answer leaks."""

import importlib

from vgg_lessons.exercises._checking import as_number as checked_number
from vgg_lessons.exercises._checking import report, same_number

CHAPTERS = [importlib.import_module(f"vgg_lessons.exercises.chapter{n}") for n in range(1, 8)]


def check_named(name):
    """The check called ``name``, from whichever chapter's module defines it."""
    (check,) = [getattr(m, name) for m in CHAPTERS if hasattr(m, name)]
    return check


def test_report_prints_verdict_and_returns_it(capsys):
    assert report(True, "look at the stride") is True
    assert capsys.readouterr().out == "✓ Correct!\n"
    assert report(False, "look at the stride") is False
    assert "Hint: look at the stride" in capsys.readouterr().out


def test_same_number_accepts_close_numbers_only():
    assert same_number(196, 196.0)
    assert not same_number(195, 196)
    assert not same_number("196", 196)  # text is not a number, as in every check
    assert not same_number("a lot", 196)
    assert not same_number(None, 1)
    assert not same_number(True, 1)


def test_checked_number_explains_a_placeholder(capsys):
    assert checked_number(..., "rf") is None
    assert capsys.readouterr().out == "Not answered yet: replace the ... with your answer.\n"
    assert checked_number("3", "rf") is None
    assert "should be a number" in capsys.readouterr().out
    assert checked_number(3, "rf") == 3.0


# ---- Chapters 1 and 2: each check against an answer worked out by hand -----------------

import pytest  # noqa: E402

from vgg_lessons.exercises import chapter1
from vgg_lessons.exercises import chapter2
from vgg_lessons.exercises import chapter6

# check name -> (the right answer worked out by hand, wrong answers that must fail)
HAND_ANSWERS = {
    # floor((32 + 2*1 - 5) / 2) + 1
    "check_output_size": (15, [14, 16, 16.5]),
    # conv3 conv3 pool2 conv3 pool2 conv3: 3, 5, 6, 10, 12, 20
    "check_small_stack_rf": (20, [12, 18, 16]),
    # (49 - 27) * 256**2
    "check_weights_saved": (1_441_792, [49 * 256**2, 27 * 256**2, -1_441_792]),
    # VGG-19 stage5.conv4: 6, 16, 52, 124, then 4 convs adding 32 each
    "check_vgg19_rf": (252, [212, 196, 268]),
    # 3*3*128*256 + 256
    "check_conv_params": (295_168, [294_912, 295_040]),
    "check_stage4_shape": ((512, 14, 14), [(512, 28, 28), (256, 14, 14), (2, 512, 14, 14),
                                           (14, 14, 512)]),
    # 512*7*7*4096 + 4096
    "check_fc1_params": (102_764_544, [102_760_448, 4096]),
    # VGG-13 = configuration B
    "check_vgg13_counts": ([2, 2, 2, 2, 2], [[1, 1, 2, 2, 2], [2, 2, 3, 3, 3], [1, 1, 2, 3, 3],
                                             [2, 2, 2, 2]]),
}


@pytest.mark.parametrize("check_name", list(HAND_ANSWERS))
def test_check_accepts_the_right_answer(check_name, capsys):
    right, _ = HAND_ANSWERS[check_name]
    assert check_named(check_name)(right) is True
    assert "Correct" in capsys.readouterr().out


@pytest.mark.parametrize("check_name", list(HAND_ANSWERS))
def test_check_rejects_wrong_answers_without_telling_the_answer(check_name, capsys):
    right, wrongs = HAND_ANSWERS[check_name]
    shown = [str(right), f"{right:,}"] if isinstance(right, int) else [str(right)[1:-1]]
    for wrong in wrongs:
        assert check_named(check_name)(wrong) is False, wrong
        out = capsys.readouterr().out
        assert "Not yet" in out or "✗" in out
        for text in shown:
            assert text not in out, f"{check_name}({wrong!r}) printed the answer: {out}"


@pytest.mark.parametrize("check_name", list(HAND_ANSWERS))
def test_check_explains_a_placeholder(check_name, capsys):
    assert check_named(check_name)(...) is False
    assert capsys.readouterr().out == "Not answered yet: replace the ... with your answer.\n"


def test_shape_check_accepts_a_batch_of_one_and_torch_size(capsys):
    import torch

    assert chapter2.check_stage4_shape((1, 512, 14, 14))
    assert chapter2.check_stage4_shape(torch.Size([512, 14, 14]))


def test_weights_check_points_out_a_wrong_sign(capsys):
    assert not chapter1.check_weights_saved(-1_441_792)
    assert "sign" in capsys.readouterr().out


# ---- Chapters 3, 4 and 5: each check against an answer worked out by hand ---------------

import math  # noqa: E402

import pytest  # noqa: E402

from vgg_lessons.exercises import chapter3
from vgg_lessons.exercises import chapter4
from vgg_lessons.exercises import chapter5

# check name -> (the right answer worked out by hand, wrong answers that must fail,
#                text that would give the answer away)
CH345_ANSWERS = {
    # best output one-hot, read as logits: -log(e / (e + 99))
    "check_softmax_floor": (math.log(math.e + 99) - 1, [0, math.log(100), 1.461], ["3.62"]),
    # the two missing 3x3 convs: 64->64 in stage 1, 128->128 in stage 2
    "check_missing_conv_weights": (9 * 64 * 64 + 9 * 128 * 128,
                                   [9 * 64 * 64 + 9 * 128 * 128 + 64 + 128, -184_320, 147_456],
                                   ["184320", "184,320"]),
    # 9,999 = 3 * 3 * 11 * 101: divisors up to 256 are 3, 9, 11, 33, 99, 101
    "check_last_batch_of_one": (101, [99, 100, 256, 1], ["101"]),
    # (5 - 3.5) / sqrt(1.5**2 + 1e-5): the biased variance
    "check_bn_pair_output": (1.5 / math.sqrt(2.25 + 1e-5), [1.5 / math.sqrt(4.5), -1, 0, 3.5],
                             ["1.0", "0.99"]),
    # chapter 3: 2 * (2*64 + 2*128 + 3*256 + 3*512 + 3*512)
    "check_bn_param_count": (8448, [4224, 16896, 8448 * 2 + 1], ["8448", "8,448"]),
    # (6 - 3) / sqrt(3.5 + 1e-5), variance (4 + 1 + 0 + 9) / 4
    "check_bn_by_hand": (3 / math.sqrt(3.5 + 1e-5), [3 / math.sqrt(14 / 3), 3, 0.5], ["1.60"]),
    # 0.9 * (0.9 * 0 + 0.1 * 4) + 0.1 * 2
    "check_running_mean": (0.56, [3, 0.6, 0.4, 2.2], ["0.56"]),
    # one bias per output channel of VGG-16's 13 convolutions
    "check_bias_saved": (4224, [13, 8448, 4096], ["4224", "4,224"]),
    # chapter 4: 195 full batches of 256 in 50,000 (80 images left over)
    "check_steps_per_epoch": (195, [196, 195.3, 390], ["195"]),
    # 9 x 9 crop positions, each mirrored or not
    "check_augment_variants": (162, [81, 128, 324], ["162"]),
    # 0.1 * (0.1 + 0.9 * 100 / 200)
    "check_warmup_lr": (0.055, [0.05, 0.1, 0.01], ["0.055"]),
}


@pytest.mark.parametrize("check_name", list(CH345_ANSWERS))
def test_check_accepts_right_rejects_wrong_never_tells(check_name, capsys):
    check = check_named(check_name)
    right, wrongs, giveaways = CH345_ANSWERS[check_name]
    assert check(right) is True
    assert "Correct" in capsys.readouterr().out
    for wrong in [*wrongs, ..., "a lot"]:
        assert check(wrong) is False, wrong
        out = capsys.readouterr().out
        assert out.startswith(("✗", "Not answered yet")) and out.count("\n") == 1
        for text in giveaways:
            assert text not in out, f"{check_name}({wrong!r}) gave the answer away: {out}"


def test_checks_point_at_the_likely_slip(capsys):
    assert not chapter5.check_missing_conv_weights(184_320 + 64 + 128)
    assert "biases" in capsys.readouterr().out
    assert not chapter5.check_last_batch_of_one(99)
    assert "larger one" in capsys.readouterr().out
    assert not chapter5.check_bn_pair_output(1.5 / math.sqrt(4.5))  # unbiased variance
    assert "biased" in capsys.readouterr().out
    assert not chapter5.check_softmax_floor(0)
    assert "infinitely" in capsys.readouterr().out
    assert not chapter3.check_bn_param_count(16896)  # buffers counted too
    assert "buffers" in capsys.readouterr().out
    assert not chapter4.check_steps_per_epoch(196)
    assert "drops the last" in capsys.readouterr().out
    assert not chapter4.check_augment_variants(81)
    assert "mirror" in capsys.readouterr().out
    assert not chapter4.check_warmup_lr(0.05)
    assert "tenth of the peak" in capsys.readouterr().out


# ---- Answers as numpy / torch values, placeholders, and the chapter 6 checks -----------

import numpy as np  # noqa: E402
import torch  # noqa: E402

ALL_CHECKS = sorted({n for m in CHAPTERS for n in dir(m) if n.startswith("check_")})


def test_every_check_has_its_name_and_docstring():
    assert len(ALL_CHECKS) == 27  # 23 for chapters 1-6, 4 for chapter 7
    for name in ALL_CHECKS:
        check = check_named(name)
        assert check.__name__ == name and check.__doc__.startswith("Exercise ex-")


@pytest.mark.parametrize("check_name", list(HAND_ANSWERS) + list(CH345_ANSWERS))
def test_right_answer_as_numpy_or_torch_value_passes(check_name, capsys):
    right = {**HAND_ANSWERS, **{k: v[:2] for k, v in CH345_ANSWERS.items()}}[check_name][0]
    for answer in (np.array(right), torch.tensor(right)):
        assert check_named(check_name)(answer) is True, type(answer)
    if not isinstance(right, (list, tuple)):
        for answer in (np.float64(right), np.array([right]), torch.tensor([right])):
            assert check_named(check_name)(answer) is True, type(answer)
    capsys.readouterr()


def test_text_and_fractions_do_not_pass_whole_number_checks(capsys):
    assert not chapter2.check_stage4_shape(("512", 14, 14))
    assert not chapter1.check_output_size(torch.tensor(15.4))
    assert "whole number" in capsys.readouterr().out
    assert not chapter1.check_output_size(np.array([15, 15]))
    assert "one number" in capsys.readouterr().out


@pytest.fixture(scope="module")
def tiny_model_and_images():
    torch.manual_seed(0)
    model = build_vgg("A", head="cifar", width=1 / 16).eval()
    return model, torch.randint(0, 256, (12, 3, 32, 32), dtype=torch.uint8)


def test_chapter6_checks_take_numpy_and_torch_answers(tiny_model_and_images, capsys):
    from vgg_lessons.probes.hooks import feature_maps, top_activating_images
    from vgg_lessons.train.weights import get_weights

    model, images = tiny_model_and_images
    inputs = get_weights().transforms()(images)
    maps = feature_maps(model, inputs, "stage2.relu1")["stage2.relu1"]
    fraction = (maps == 0).float().mean()  # a 0-d tensor
    assert chapter6.check_zero_fraction(fraction, model, inputs)
    assert chapter6.check_zero_fraction(fraction.numpy(), model, images)  # uint8 images too
    assert not chapter6.check_zero_fraction(100 * fraction, model, inputs)
    assert "percentage" in capsys.readouterr().out.splitlines()[-1]
    best = int(top_activating_images(model, inputs, "stage4.bn1", 3, k=1)[0][0])
    assert chapter6.check_top_image(torch.tensor(best), model, inputs)
    assert not chapter6.check_top_image(torch.tensor(best + 0.7), model, inputs)
    assert "whole number" in capsys.readouterr().out.splitlines()[-1]
    assert chapter6.check_map_side(np.int64(4)) and chapter6.check_kernel_numbers(torch.tensor(27))


@pytest.mark.parametrize("n_images", [1, 2, 3])
def test_top_image_accepts_the_right_answer_among_few_images(tiny_model_and_images, n_images,
                                                             capsys):
    from vgg_lessons.probes.hooks import top_activating_images

    model, images = tiny_model_and_images
    inputs = images[:n_images]
    best = int(top_activating_images(model, inputs, "stage4.bn1", 3, k=1)[0][0])
    assert chapter6.check_top_image(best, model, inputs)


from vgg_lessons.models import build_vgg
