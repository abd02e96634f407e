"""The input conventions: one validator, one normalisation, one image size."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import torch
from torchvision.transforms import Normalize

from vgg_lessons import inputs
from vgg_lessons.inputs import (
    CLASSES,
    IMAGE_SIZE,
    MEAN,
    STD,
    as_model_input,
    check_images,
    from_unit,
    normalize,
)

PACKAGE = Path(inputs.__file__).resolve().parent


def test_normalize_matches_torchvision() -> None:
    x = torch.randint(
        0,
        256,
        (4, 3, 32, 32),
        dtype=torch.uint8,
        generator=torch.Generator().manual_seed(0),
    )
    expected = Normalize(MEAN, STD)(x.float() / 255)
    got = normalize(x)
    assert got.dtype == torch.float32
    torch.testing.assert_close(got, expected, atol=1e-5, rtol=1e-5)


def test_normalize_uses_the_mean_and_std_it_is_given() -> None:
    x = torch.full((1, 3, 1, 1), 51, dtype=torch.uint8)  # 0.2 on the 0..1 scale
    out = normalize(x, (0.1, 0.2, 0.4), (0.5, 0.5, 0.5))
    torch.testing.assert_close(
        out.flatten(), torch.tensor([0.2, 0.0, -0.4]), atol=1e-6, rtol=0
    )


def test_from_unit_equals_normalize_of_the_uint8_images() -> None:
    u8 = torch.randint(
        0,
        256,
        (2, 3, 4, 4),
        dtype=torch.uint8,
        generator=torch.Generator().manual_seed(1),
    )
    torch.testing.assert_close(from_unit(u8.float() / 255), normalize(u8))


def test_as_model_input_normalises_uint8_and_passes_floats_through() -> None:
    u8 = torch.randint(
        0,
        256,
        (2, 3, 4, 4),
        dtype=torch.uint8,
        generator=torch.Generator().manual_seed(2),
    )
    torch.testing.assert_close(as_model_input(u8), normalize(u8))
    x = torch.randn(2, 3, 4, 4)
    assert as_model_input(x) is x
    assert as_model_input(u8, lambda images: images.float() * 0).abs().sum() == 0


@pytest.mark.parametrize(
    "bad, kwargs, message",
    [
        ([[1, 2]], {}, r"expected a tensor of images \(B, 3, H, W\), got list"),
        (
            torch.zeros(3, 8, 8, dtype=torch.uint8),
            {},
            r"got shape \(3, 8, 8\); add a batch dimension",
        ),
        (
            torch.zeros(2, 8, 8, 3, dtype=torch.uint8),
            {},
            r"channels go second: x.permute\(0, 3, 1, 2\)$",
        ),
        (
            torch.zeros(2, 1, 8, 8, dtype=torch.uint8),
            {},
            r"expected 3-channel images .*pass 3-channel images",
        ),
        (
            torch.zeros(2, 3, 8, 8),
            {},
            r"expected uint8 images in 0..255 .*got torch.float32",
        ),
        (
            torch.zeros(2, 3, 8, 8, dtype=torch.uint8),
            {"dtype": "float"},
            r"expected float model input, got torch.uint8",
        ),
        (torch.zeros(0, 3, 8, 8, dtype=torch.uint8), {}, r"no images \(an empty batch"),
        (
            torch.zeros(2, 1, 8, 8),
            {"dtype": "float", "channels": 2},
            r"expected 2-channel images",
        ),
    ],
)
def test_check_images_refuses_other_conventions_in_one_line(
    bad, kwargs, message
) -> None:
    with pytest.raises(ValueError, match=message) as err:
        check_images(bad, **kwargs)
    assert "\n" not in str(err.value)


def test_check_images_returns_a_good_batch_unchanged() -> None:
    x = torch.zeros(2, 3, 8, 8, dtype=torch.uint8)
    assert check_images(x) is x
    assert check_images(x.float(), dtype="any") is not None
    assert check_images(x.float(), dtype="float") is not None


def test_the_conventions_hold_the_cifar10_values() -> None:
    assert IMAGE_SIZE == 32
    assert len(CLASSES) == len(set(CLASSES)) == 10 and CLASSES[0] == "airplane"
    assert len(MEAN) == len(STD) == 3 and all(0 < s < 1 for s in STD)


def test_the_image_size_and_the_mean_are_defined_once() -> None:
    """No other module defines the CIFAR image size or the mean (they import them)."""
    pattern = re.compile(
        r"^\s*(IMAGE_SIZE|INPUT_SIZE|MEAN|STD|CLASSES)\s*(:[^=]*)?=", re.M
    )
    defined = [
        (path.relative_to(PACKAGE).as_posix(), m.group(1))
        for path in PACKAGE.rglob("*.py")
        for m in pattern.finditer(path.read_text())
    ]
    assert sorted(defined) == sorted(
        (name_, n)
        for name_, n in [
            ("inputs.py", "CLASSES"),
            ("inputs.py", "MEAN"),
            ("inputs.py", "STD"),
            ("inputs.py", "IMAGE_SIZE"),
        ]
    )
