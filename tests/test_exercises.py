"""The exercise checks: right answers pass, wrong ones fail with a hint, no answer leaks."""

import importlib

from vgg_lessons.exercises._checking import as_number as checked_number
from vgg_lessons.exercises._checking import report, same_number

CHAPTERS = [importlib.import_module(f"vgg_lessons.exercises.chapter{n}") for n in range(1, 9)]


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
    # conv 7x7 stride 2, conv3, pool2, conv3: 7 (jump 2), 11, 13 (jump 4), 21
    "check_small_stack_rf": (21, [14, 13, 20]),
    # (49 - 27) * 256**2
    "check_weights_saved": (1_441_792, [49 * 256**2, 27 * 256**2, -1_441_792]),
    # VGG-19 stage5.conv4: 6, 16, 52, 124, then 4 convs adding 32 each
    "check_vgg19_rf": (252, [212, 196, 268]),
    # dilations (1, 2, 4): offsets -1..1, then -3..3, then -7..7: 15 pixels, no holes
    "check_dilated_stack": ([1, 2, 4], [[2, 2, 2], [1, 1, 6], [1, 2, 3], [1, 2, 4, 8],
                                        [0, 2, 4]]),
    # B adds stage1.conv2 and stage2.conv2: 9*64*64*224*224 + 9*128*128*112*112
    "check_b_extra_macs": (9 * 64 * 64 * 224 * 224 + 9 * 128 * 128 * 112 * 112,
                           [9 * 64 * 64 * 224 * 224, 0, 15_470_264_320]),
    # 200 x 100 through five floor-halvings: 6 x 3, with stage 5's 512 channels
    "check_stage5_shape": ((512, 6, 3), [(512, 3, 6), (512, 7, 4), (256, 6, 3),
                                         (2, 512, 6, 3), (6, 3, 512)]),
    # four 3x3 convs 512 -> 512: 4 * (9*512*512 + 512)
    "check_vgg19_stage5_params": (4 * (9 * 512 * 512 + 512),
                                  [4 * 9 * 512 * 512, 3 * (9 * 512 * 512 + 512), 512]),
    # an estimate: 4 times VGG-16's 313.2 M MACs at 32x32 (the chapter's number)
    "check_cifar_macs_64": (4 * 313_200_000, [313_200_000, 1_000_000_000, 2_500_000_000]),
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

    assert chapter2.check_stage5_shape((1, 512, 6, 3))
    assert chapter2.check_stage5_shape(torch.Size([512, 6, 3]))


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
    # 46,000 - 1 = 45,999 = 3 * 3 * 19 * 269: divisors up to 256 are 3, 9, 19, 57, 171
    "check_last_batch_of_one": (171, [57, 17, 101, 256, 1], ["171"]),
    # (5 - 3.5) / sqrt(1.5**2 + 1e-5): the biased variance
    "check_bn_pair_output": (1.5 / math.sqrt(2.25 + 1e-5), [1.5 / math.sqrt(4.5), -1, 0, 3.5],
                             ["1.0", "0.99"]),
    # chapter 3: 2 * (2*64 + 2*128 + 3*256 + 3*512 + 3*512)
    "check_bn_param_count": (8448, [4224, 16896, 8448 * 2 + 1], ["8448", "8,448"]),
    # (6 - 3) / sqrt(3.5 + 1e-5), variance (4 + 1 + 0 + 9) / 4
    "check_bn_by_hand": (3 / math.sqrt(3.5 + 1e-5), [3 / math.sqrt(14 / 3), 3, 0.5], ["1.60"]),
    # 0.9 * (0.9 * (0.9 * 0 + 0.1 * 4) + 0.1 * 2) + 0.1 * 1
    "check_running_mean": (0.604, [7 / 3, 0.56, 0.4, 1], ["0.604"]),
    # He fan-in for 256 -> 512 channels, 3x3: sqrt(2 / (9 * 256))
    "check_fan_in_std": (math.sqrt(2 / 2304), [math.sqrt(2 / 4608), 2 / 2304, 0.1, 0.01],
                         ["0.029", "0.0295"]),
    # an estimate by hand: the std grows by sqrt(0.045 * C_in) at each later conv
    "check_paper_init_growth": (math.prod(math.sqrt(0.045 * c)
                                          for c in (64, 128, 256, 256, 512, 512, 512)),
                                [500, 50_000, 1.0, -5000], ["7056", "7,056", "7057"]),
    # chapter 4: 195 full batches of 256 in 50,000 (80 images left over)
    "check_steps_per_epoch": (195, [196, 195.3, 390], ["195"]),
    # 9 x 9 crop positions, each mirrored or not
    "check_augment_variants": (162, [81, 128, 324], ["162"]),
    # 0.1 * (0.1 + 0.9 * 100 / 200)
    "check_warmup_lr": (0.055, [0.05, 0.1, 0.01], ["0.055"]),
    # chapters 7 and 8
    # 640 / 32 = 20 columns of pool5; a 7x7 convolution without padding: 20 - 7 + 1
    "check_dense_map_side": (14, [20, 9, 6], ["14"]),
    # C's stage3.pool: field 36, jump 8; two 3x3 (+16 each), one 1x1 (+0), pool (+8)
    "check_c_field": (76, [100, 84, 156], ["76"]),
    # E: 19,632,062,464 MACs x 2 FLOPs x 3 passes x 1.3 million images
    "check_epoch_flops": (
        2 * 3 * 1.3e6 * 19_632_062_464,
        [1.21e17, 7.66e16, 5.1e16],
        ["1.53"],
    ),
    # E's pool5: field 268, jump 32; fc1 as a 7x7 convolution adds 6 x 32
    "check_dense_cell_field": (460, [268, 224, 492, 404], ["460"]),
    # 96 / 2**4: four pools before stage 5
    "check_cam_side": (6, [3, 12, 96], ["6"]),
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
    assert not chapter5.check_last_batch_of_one(57)
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
    assert len(ALL_CHECKS) >= 3 * len(CHAPTERS)  # three or more exercises a chapter
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
    assert not chapter2.check_stage5_shape(("512", 6, 3))
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
    assert chapter6.check_map_side(np.int64(9))
    # width 1/16: stage 2 has 128 / 16 = 8 channels, so a stage3.conv1 kernel is 3 * 3 * 8
    assert chapter6.check_kernel_numbers(torch.tensor(72), model)
    assert not chapter6.check_kernel_numbers(27, model)
    assert "first-layer" in capsys.readouterr().out.splitlines()[-1]


@pytest.mark.parametrize("n_images", [1, 2, 3])
def test_top_image_accepts_the_right_answer_among_few_images(tiny_model_and_images, n_images,
                                                             capsys):
    from vgg_lessons.probes.hooks import top_activating_images

    model, images = tiny_model_and_images
    inputs = images[:n_images]
    best = int(top_activating_images(model, inputs, "stage4.bn1", 3, k=1)[0][0])
    assert chapter6.check_top_image(best, model, inputs)


from vgg_lessons.models import build_vgg


# ---- Every check refuses the nearest wrong answer; odd input gets one line ---------------

ALL_CHECKS = {name: getattr(m, name) for m in CHAPTERS for name in dir(m)
              if name.startswith("check_")}
NUMBER_CHECKS = {n: c for n, c in ALL_CHECKS.items() if hasattr(c, "number_check")}


def context_for(row, tiny_model_and_images):
    """The extra arguments a check takes (the chapter's model and images), tiny versions."""
    import inspect

    params = list(inspect.signature(row.solve).parameters)
    if not params:
        return ()
    model, images = tiny_model_and_images
    if params == ["model", "inputs"]:
        return model, images
    if params == ["model"]:
        return (model,)
    if params == ["model", "scene", "target", "layer"]:
        return model, images[:1], 3, "stage4.relu2"
    pytest.fail(f"no test context for a check that takes {params}")


def test_every_check_is_a_number_check_or_listed_here():
    predictions = {n for n, c in ALL_CHECKS.items()
                   if isinstance(getattr(c, "prediction_check", None), PredictionCheck)}
    assert set(ALL_CHECKS) - set(NUMBER_CHECKS) - predictions == {
        "check_stage5_shape", "check_dilated_stack"}


@pytest.mark.parametrize("check_name", sorted(NUMBER_CHECKS))
def test_every_number_check_refuses_its_solution_plus_or_minus_the_nearest_step(
        check_name, tiny_model_and_images, capsys):
    """Whole numbers are exact (±1 is wrong); other numbers just outside the tolerance are."""
    check = NUMBER_CHECKS[check_name]
    row = check.number_check
    context = context_for(row, tiny_model_and_images)
    expected, _ = row.solve(*context)
    assert check(expected, *context) is True
    factor = getattr(row, "factor", None)
    if factor is not None:  # an estimate: anything within the factor counts
        wrongs = (expected / (1.1 * factor), expected * 1.1 * factor)
    else:
        step = 1 if row.whole else 2 * row.rel_tol * abs(expected)
        assert step > 0
        wrongs = (expected - step, expected + step)
    for wrong in wrongs:
        assert check(wrong, *context) is False, f"{check_name} accepted {wrong!r} for {expected!r}"
        assert capsys.readouterr().out.splitlines()[-1].startswith("✗")


def test_whole_number_checks_have_no_tolerance(capsys):
    assert not chapter1.check_weights_saved(1_441_791) and chapter1.check_weights_saved(1_441_792)
    assert not chapter2.check_vgg19_stage5_params(chapter2.check_vgg19_stage5_params.solution() - 1)


@pytest.mark.parametrize("check_name", ["check_stage5_shape"])
def test_sequence_checks_refuse_each_entry_plus_or_minus_one(check_name, capsys):
    right = list(HAND_ANSWERS[check_name][0])
    check = ALL_CHECKS[check_name]
    assert check(right)
    for i in range(len(right)):
        for delta in (-1, 1):
            wrong = [v + delta * (j == i) for j, v in enumerate(right)]
            assert check(wrong) is False, wrong


@pytest.mark.parametrize("answer, says", [
    (float("nan"), "is not a finite number, got nan."),
    (float("inf"), "is not a finite number, got inf."),
    (-math.inf, "is not a finite number, got -inf."),
    (10**400, "is far too large to be right (a number of 401 digits)."),
])
def test_nan_inf_and_huge_answers_get_one_line(answer, says, capsys):
    for check in (chapter1.check_output_size, chapter3.check_bn_by_hand):
        assert check(answer) is False
        out = capsys.readouterr().out
        assert out.count("\n") == 1 and out.startswith("✗") and out.rstrip().endswith(says), out
    assert chapter2.check_stage5_shape((10**400, 6, 3)) is False
    assert capsys.readouterr().out.count("\n") == 1


def test_a_meta_tensor_answer_gets_one_line(capsys):
    import torch

    with torch.device("meta"):
        answer = torch.tensor(15.0)
    assert chapter1.check_output_size(answer) is False
    out = capsys.readouterr().out
    assert out.count("\n") == 1 and "meta device" in out


def test_a_missing_or_wrong_model_gets_one_line(tiny_model_and_images, capsys):
    model, images = tiny_model_and_images
    assert chapter6.check_zero_fraction(0.5) is False
    out = capsys.readouterr().out
    assert out == "✗ Call it as check_zero_fraction(answer, model, inputs): it got 0 " \
                  "argument(s) after the answer.\n"
    assert chapter6.check_top_image(1, model) is False
    assert "check_top_image(answer, model, inputs)" in capsys.readouterr().out
    assert chapter6.check_zero_fraction(0.5, None, images) is False
    out = capsys.readouterr().out
    assert out.count("\n") == 1 and "Could not compute the right answer" in out
    assert chapter6.check_zero_fraction(0.5, model, "images.png") is False
    assert capsys.readouterr().out.count("\n") == 1



# ---- Chapters 7 and 8: hand-worked answers; the open-ended (estimate) checks ------------

from vgg_lessons.exercises import chapter7, chapter8  # noqa: E402
from vgg_lessons.exercises._predictions import PredictionCheck  # noqa: E402



def test_chapter7_checks_point_at_the_likely_slip(capsys):
    assert not chapter7.check_dense_cell_field(268)
    assert "pool5" in capsys.readouterr().out
    assert not chapter7.check_c_field(100)
    assert "D's field" in capsys.readouterr().out
    assert not chapter7.check_epoch_flops(3 * 1.3e6 * 19_632_062_464)  # MACs, not FLOPs
    assert "multiply-accumulates" in capsys.readouterr().out
    assert not chapter8.check_cam_side(3)
    assert "pool5" in capsys.readouterr().out


def test_prediction_check_accepts_within_tolerance_and_says_how_far_off(capsys):
    check = PredictionCheck(
        "Exercise ex-x: a prediction.",
        "the accuracy",
        lambda: 83.7,
        tolerance=1.0,
        unit=" points",
        hint="think again",
    )
    assert check(83.0) and check(84.7)
    assert "Within 1 point of" in capsys.readouterr().out
    assert not check(80.0)
    out = capsys.readouterr().out
    assert "about 4 points too low" in out and "83.7" not in out
    assert not check(85.0)
    assert (
        "about 1 point too high" in capsys.readouterr().out
    )  # 1.3 off: rounded, >= 1
    assert not check(...)
    assert "Not answered yet" in capsys.readouterr().out


def test_prediction_checks_measure_on_the_given_model(tiny_model_and_images, capsys):
    from vgg_lessons.probes.hooks import feature_maps
    from vgg_lessons.inputs import normalize

    model, images = tiny_model_and_images
    inputs = normalize(images)
    zeros = (
        (feature_maps(model, inputs, "stage2.relu1")["stage2.relu1"] == 0)
        .float()
        .mean()
    )
    assert chapter6.check_random_zero_fraction(float(zeros) + 0.09, model, inputs)  # within 0.1
    assert not chapter6.check_random_zero_fraction(float(zeros) + 0.12, model, inputs)
    assert "too high" in capsys.readouterr().out
    labels = torch.arange(12) % 10
    logits = model(
        inputs
    )  # eval mode; train-mode batches of 100 hold all 12 images here
    copy_ = __import__("copy").deepcopy(model).train()
    with torch.no_grad():
        train_acc = 100 * (copy_(inputs).argmax(1) == labels).float().mean().item()
    assert logits.shape == (12, 10)
    assert chapter5.check_train_mode_accuracy(train_acc + 1.5, model, images, labels)
    assert not chapter5.check_train_mode_accuracy(train_acc + 10, model, images, labels)
    assert not model.training  # the check worked on a copy

# ---- Issue 21: open exercises (designs, estimates) -------------------------------------


def test_dilated_design_check_describes_the_students_own_stack(capsys):
    assert not chapter1.check_dilated_stack([2, 2, 2])
    out = capsys.readouterr().out
    assert "spans 13 pixels but never reads 6" in out  # the student's stack, not an answer
    assert chapter1.check_dilated_stack((1, 3, 3))  # another right design
    assert chapter1.check_dilated_stack(np.array([4, 2, 1]))
    capsys.readouterr()


def test_estimate_checks_say_how_far_off_never_the_value(capsys):
    from vgg_lessons.exercises._checking import how_far_off

    assert how_far_off(1.3, 1.0) == "between 20% and 50% too high"
    assert how_far_off(0.2, 1.0) == "between 2 and 10 times too low"
    assert how_far_off(1 / 7000, 1.0) == "more than 10 times too low"
    assert how_far_off(-1.0, 1.0) == "of the wrong sign or zero"
    assert not chapter2.check_cifar_macs_64(313_200_000)  # forgot to scale with pixels
    assert "between 2 and 10 times too low" in capsys.readouterr().out
    assert not chapter3.check_paper_init_growth(500)
    assert "times too low" in capsys.readouterr().out
    assert chapter3.check_paper_init_growth(10_000)  # within a factor of 3
    assert "within a factor of 3" in capsys.readouterr().out


def test_fan_in_check_points_at_fan_out_and_variance(capsys):
    assert not chapter3.check_fan_in_std(math.sqrt(2 / 4608))
    assert "fan-out" in capsys.readouterr().out
    assert not chapter3.check_fan_in_std(2 / 2304)
    assert "variance" in capsys.readouterr().out
