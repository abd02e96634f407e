"""Chapter 7's package functions: dense evaluation, saliency, Grad-CAM, scale jittering."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from vgg_lessons.probes import attribution
from vgg_lessons.inputs import normalize
from vgg_lessons.train.augmentation import scale_jitter
from vgg_lessons.probes.dense import dense_scores, mosaic, multi_scale_probabilities, rescale, score_map
from vgg_lessons.models import build_vgg, fully_convolutional


# ---- fully_convolutional ------------------------------------------------------------------
def test_fully_convolutional_equals_the_original_at_224():
    torch.manual_seed(0)
    model = build_vgg("vgg16", bn=None, width=1 / 8, num_classes=7).eval()
    x = torch.randn(2, 3, 224, 224)
    dense = fully_convolutional(model)
    out = dense(x)
    assert out.shape == (2, 7, 1, 1)
    torch.testing.assert_close(out.flatten(1), model(x), rtol=1e-4, atol=1e-5)
    assert not any(isinstance(m, (nn.Linear, nn.AdaptiveAvgPool2d)) for m in dense.modules())
    convs = [m for m in dense.head if isinstance(m, nn.Conv2d)]
    assert [c.kernel_size for c in convs] == [(7, 7), (1, 1), (1, 1)]


def test_fully_convolutional_vgg16_gives_a_4x4_map_at_320():
    with torch.device("meta"):  # full size, shapes only
        model = build_vgg("vgg16", bn=None).eval()
        out = fully_convolutional(model)(torch.empty(2, 3, 320, 320))
    assert out.shape == (2, 1000, 4, 4)


def test_dense_score_is_the_mean_of_the_map():
    torch.manual_seed(0)
    model = build_vgg("A", bn="before_relu", width=1 / 16, num_classes=5).eval()
    x = torch.randn(1, 3, 256, 288)
    scores = fully_convolutional(model)(x)
    assert scores.shape == (1, 5, 2, 3)  # (256/32 - 6, 288/32 - 6)
    torch.testing.assert_close(dense_scores(model, x), scores.mean(dim=(2, 3)))


def test_fully_convolutional_keeps_the_mode_and_the_original():
    model = build_vgg("A", width=1 / 16)
    before = {k: v.clone() for k, v in model.state_dict().items()}
    assert fully_convolutional(model).training
    assert not fully_convolutional(model.eval()).training
    for k, v in model.state_dict().items():
        assert torch.equal(v, before[k])


def test_fully_convolutional_rejects_a_cifar_head_with_a_clear_message():
    with pytest.raises(ValueError, match="'cifar' head.*score_map"):
        fully_convolutional(build_vgg("A", head="cifar", width=1 / 16))
    with pytest.raises(ValueError, match="takes a VGG"):
        fully_convolutional(nn.Linear(3, 3))


def test_score_map_of_a_cifar_head_averages_to_its_logits():
    torch.manual_seed(0)
    model = build_vgg("A", head="cifar", width=1 / 16).eval()
    images = torch.randint(0, 256, (2, 3, 96, 64), dtype=torch.uint8)
    maps = score_map(model, images)
    assert maps.shape == (2, 10, 3, 2)
    torch.testing.assert_close(maps.mean(dim=(2, 3)), model(normalize(images)), rtol=1e-4, atol=1e-5)


def test_score_map_rejects_small_images_for_the_imagenet_head():
    with pytest.raises(ValueError, match="224x224"):
        score_map(build_vgg("A", width=1 / 16), torch.zeros(1, 3, 200, 200, dtype=torch.uint8))


def test_multi_scale_averages_the_posteriors_of_each_scale():
    torch.manual_seed(0)
    model = build_vgg("A", head="cifar", width=1 / 16).eval()
    images = torch.randint(0, 256, (2, 3, 32, 32), dtype=torch.uint8)
    probs = multi_scale_probabilities(model, images, (32, 64))
    expected = (dense_scores(model, images).softmax(1)
                + dense_scores(model, rescale(images, 64)).softmax(1)) / 2
    torch.testing.assert_close(probs, expected)
    torch.testing.assert_close(probs.sum(1), torch.ones(2))
    assert rescale(torch.zeros(1, 3, 32, 48, dtype=torch.uint8), 64).shape == (1, 3, 64, 96)


def test_mosaic_places_tiles_row_by_row():
    tiles = torch.arange(6).view(6, 1, 1, 1).expand(6, 1, 2, 2)
    m = mosaic(tiles, 2, 3)
    assert m.shape == (1, 1, 4, 6)
    assert m[0, 0, ::2, ::2].tolist() == [[0, 1, 2], [3, 4, 5]]
    with pytest.raises(ValueError, match="needs 6 images"):
        mosaic(tiles[:5], 2, 3)


# ---- saliency and Grad-CAM against hand-written references ---------------------------------
class Tiny(nn.Module):
    """conv(3->4) -> ReLU -> conv(4->5) -> ReLU -> mean -> linear(5->3): small enough to derive."""

    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 4, 3, padding=1)
        self.relu1 = nn.ReLU(inplace=True)
        self.conv2 = nn.Conv2d(4, 5, 3, padding=1, stride=2)
        self.relu2 = nn.ReLU(inplace=True)
        self.fc = nn.Linear(5, 3)

    def forward(self, x):
        return self.fc(self.relu2(self.conv2(self.relu1(self.conv1(x)))).mean(dim=(2, 3)))


def _tiny_and_images():
    torch.manual_seed(0)
    return Tiny().eval(), torch.randint(0, 256, (2, 3, 8, 8), dtype=torch.uint8)


def test_saliency_is_the_channel_max_of_the_absolute_input_gradient():
    model, images = _tiny_and_images()
    x = normalize(images).requires_grad_(True)
    logits = model(x)
    predicted = logits.argmax(1)
    expected = []
    for i in range(2):  # one image, one logit at a time, by hand
        (g,) = torch.autograd.grad(logits[i, predicted[i]], x, retain_graph=True)
        expected.append(g[i].abs().max(dim=0).values)
    got = attribution.saliency(model, images)
    assert got.shape == (2, 8, 8)
    torch.testing.assert_close(got, torch.stack(expected))
    other = (predicted + 1) % 3  # an explicit target gives that class's map instead
    (g,) = torch.autograd.grad(logits.gather(1, other[:, None]).sum(), x)
    torch.testing.assert_close(attribution.saliency(model, images, target=other), g.abs().amax(1))


def test_grad_cam_matches_the_formula_on_a_tiny_model():
    model, images = _tiny_and_images()
    x = normalize(images)
    a = model.relu2(model.conv2(model.relu1(model.conv1(x))))  # (2, 5, 4, 4)
    # For this model d logit_k / d A = fc.weight[k] / (h*w) at every position, so the
    # channel weights are fc.weight[k] / 16, and the map is ReLU(sum_c w_c A_c) upsampled.
    target = 2
    weights = model.fc.weight[target] / 16
    cam = torch.relu((weights[None, :, None, None] * a).sum(1, keepdim=True))
    expected = nn.functional.interpolate(cam, size=(8, 8), mode="bilinear", align_corners=False)[:, 0]
    got = attribution.grad_cam(model, images, "relu2", target=target)
    assert got.shape == (2, 8, 8)
    torch.testing.assert_close(got, expected.detach())
    # Default target: the predicted class of each image.
    predicted = model(x).argmax(1)
    by_image = torch.stack([attribution.grad_cam(model, images[i:i + 1], "relu2", int(predicted[i]))[0]
                            for i in range(2)])
    torch.testing.assert_close(attribution.grad_cam(model, images, "relu2"), by_image)


def _moved_by_hand(x, dx, dy):
    """Content moved dx right and dy down, the border repeated: by index clamping."""
    h, w = x.shape[-2:]
    rows = (torch.arange(h) - dy).clamp(0, h - 1)
    cols = (torch.arange(w) - dx).clamp(0, w - 1)
    return x[..., rows[:, None], cols[None, :]]


def test_jittered_grad_cam_is_the_mean_over_moved_and_mirrored_copies():
    model, images = _tiny_and_images()
    x = normalize(images)
    predicted = model(x).argmax(1)
    for jitter, target in ((1, None), (2, 1)):
        classes = predicted if target is None else torch.full((2,), target)
        expected = []
        for mirror in (False, True):
            for dx in (-jitter, 0, jitter):
                for dy in (-jitter, 0, jitter):
                    copy = _moved_by_hand(x.flip(-1) if mirror else x, dx, dy)
                    cam = _moved_by_hand(attribution.grad_cam(model, copy, "relu2", classes), -dx, -dy)
                    expected.append(cam.flip(-1) if mirror else cam)
        assert len(expected) == attribution.JITTER_COPIES
        got = attribution.grad_cam(model, images, "relu2", target, jitter=jitter)
        assert got.shape == (2, 8, 8)
        torch.testing.assert_close(got, torch.stack(expected).mean(0))
    plain = attribution.grad_cam(model, images, "relu2", 1)
    torch.testing.assert_close(attribution.grad_cam(model, images, "relu2", 1, jitter=0), plain)


def test_grad_cams_of_several_layers_equal_one_layer_at_a_time():
    torch.manual_seed(0)
    model = build_vgg("A", head="cifar", width=1 / 16).eval()
    images = torch.randint(0, 256, (3, 3, 32, 32), dtype=torch.uint8)
    layers = ("stage2.relu1", "stage4.bn2", "stage5.relu2")  # a BN changed in place too
    for jitter in (0, 2):
        together = attribution.grad_cams(model, images, layers, 4, jitter=jitter)
        assert together.shape == (3, 3, 32, 32)
        for j, layer in enumerate(layers):
            torch.testing.assert_close(together[j], attribution.grad_cam(model, images, layer, 4,
                                                                         jitter=jitter))
    with pytest.raises(ValueError, match="no layer named"):
        attribution.grad_cams(model, images, ("stage2.relu1", "stage9.conv1"))


def test_jittered_grad_cam_rejects_a_bad_jitter_or_target_in_one_line():
    model, images = _tiny_and_images()  # 8 pixels a side: jitter 0 to 2
    for jitter, message in ((-1, "0 to 2 pixels"), (3, "0 to 2 pixels"), (1.5, "whole number"),
                            (True, "whole number")):
        with pytest.raises(ValueError, match=message) as caught:
            attribution.grad_cam(model, images, "relu2", jitter=jitter)
        assert "\n" not in str(caught.value)
    with pytest.raises(ValueError, match=r"one per image \(2\)"):  # the images given, not the copies
        attribution.grad_cam(model, images, "relu2", torch.tensor([0, 1, 2]), jitter=1)
    with pytest.raises(ValueError, match="class index"):
        attribution.grad_cam(model, images, "relu2", 1.5, jitter=1)


def test_grad_cam_on_a_vgg_layer_before_an_inplace_relu():
    torch.manual_seed(0)
    model = build_vgg("A", head="cifar", width=1 / 16).eval()
    images = torch.randint(0, 256, (3, 3, 32, 32), dtype=torch.uint8)
    cam = attribution.grad_cam(model, images, "stage4.bn2")  # BN's output is changed in place by ReLU
    assert cam.shape == (3, 32, 32) and (cam >= 0).all() and cam.sum() > 0
    assert model.training is False


def test_saliency_and_grad_cam_reject_bad_targets_and_images():
    model, images = _tiny_and_images()
    with pytest.raises(ValueError, match=r"class index in 0\.\.2"):
        attribution.saliency(model, images, target=3)
    with pytest.raises(ValueError, match=r"\(B, 3, H, W\)"):
        attribution.grad_cam(model, images[0], "relu2")
    with pytest.raises(ValueError, match="no layer named"):
        attribution.grad_cam(model, images, "stage9.conv1")


def _spearman_by_hand(a: list[float], b: list[float]) -> float:
    """Spearman's rho, written out: average ranks for ties, then Pearson on the ranks."""
    def ranks(v):
        ordered = sorted(v)
        return [sum(i for i, w in enumerate(ordered) if w == x) / ordered.count(x) for x in v]
    ra, rb = ranks(a), ranks(b)
    ma, mb = sum(ra) / len(ra), sum(rb) / len(rb)
    cov = sum((x - ma) * (y - mb) for x, y in zip(ra, rb))
    return cov / (sum((x - ma) ** 2 for x in ra) * sum((y - mb) ** 2 for y in rb)) ** 0.5


def test_rank_correlation_is_spearman_with_ties_averaged():
    torch.manual_seed(0)
    a = torch.randint(0, 4, (3, 5, 5)).float()  # many ties
    b = torch.relu(torch.randn(3, 5, 5))  # Grad-CAM-like: about half the pixels exactly 0
    got = attribution.rank_correlation(a, b)
    expected = [_spearman_by_hand(a[i].flatten().tolist(), b[i].flatten().tolist()) for i in range(3)]
    assert got.shape == (3,)
    torch.testing.assert_close(got, torch.tensor(expected, dtype=torch.float64))
    ramp = torch.arange(16.0).reshape(1, 4, 4)
    assert attribution.rank_correlation(ramp, ramp ** 3).item() == pytest.approx(1.0)  # same order
    assert attribution.rank_correlation(ramp, -ramp).item() == pytest.approx(-1.0)
    # the order in which a sort meets tied pixels does not matter
    flipped = attribution.rank_correlation(a.flip(-1), b.flip(-1))
    torch.testing.assert_close(flipped, got)


def test_rank_correlation_of_a_flat_map_is_nan_and_bad_shapes_are_refused():
    assert attribution.rank_correlation(torch.zeros(1, 4, 4), torch.rand(1, 4, 4)).isnan().all()
    with pytest.raises(ValueError, match=r"one shape \(B, H, W\)"):
        attribution.rank_correlation(torch.rand(2, 4, 4), torch.rand(2, 4, 5))


# ---- scale jittering ---------------------------------------------------------------------------
def _rescaled_windows(image: torch.Tensor, side: int, crop: int) -> list[torch.Tensor]:
    """Every crop x crop window (and its mirror) of ``image`` rescaled to shorter side ``side``."""
    h, w = image.shape[-2:]
    size = (round(h * side / min(h, w)), round(w * side / min(h, w)))
    big = nn.functional.interpolate(image[None].float(), size=size, mode="bilinear",
                                    align_corners=False)[0]
    out = []
    for i in range(size[0] - crop + 1):
        for j in range(size[1] - crop + 1):
            win = big[:, i:i + crop, j:j + crop]
            out += [win, win.flip(-1)]
    return out


def test_scale_jitter_crops_are_windows_of_the_image_rescaled_within_the_range():
    torch.manual_seed(0)
    images = torch.randint(0, 256, (24, 3, 6, 8), dtype=torch.uint8)
    gen = torch.Generator().manual_seed(1)
    crops = scale_jitter(images, gen, sides=(6, 9), crop=5)
    assert crops.shape == (24, 3, 5, 5) and crops.dtype == torch.float32
    sides_seen = set()
    for image, c in zip(images, crops):
        matches = [s for s in range(6, 10)
                   if any(torch.allclose(c, win, atol=1e-3) for win in _rescaled_windows(image, s, 5))]
        assert matches, "a crop is no window of the image at any allowed scale"
        sides_seen.update(matches)
    assert len(sides_seen) >= 3  # the scale really varies


def test_scale_jitter_at_a_fixed_scale_without_room_is_a_plain_resize():
    images = torch.randint(0, 256, (2, 3, 8, 8), dtype=torch.uint8)
    out = scale_jitter(images, torch.Generator().manual_seed(0), sides=(12, 12), crop=12, flip=False)
    expected = nn.functional.interpolate(images.float(), size=(12, 12), mode="bilinear",
                                         align_corners=False)
    torch.testing.assert_close(out, expected, atol=1e-3, rtol=0)


def test_scale_jitter_is_reproducible_and_checks_its_arguments():
    images = torch.randint(0, 256, (4, 3, 32, 32), dtype=torch.uint8)
    a = scale_jitter(images, torch.Generator().manual_seed(3))
    b = scale_jitter(images, torch.Generator().manual_seed(3))
    assert torch.equal(a, b) and a.shape == (4, 3, 32, 32)
    with pytest.raises(ValueError, match="crop <= sides"):
        scale_jitter(images, sides=(24, 64), crop=32)
    with pytest.raises(ValueError, match="shorter side"):
        scale_jitter(images, sides=(16, 64), crop=16)


# ---- Chapters 7 and 8 --------------------------------------------------------------------
def test_chapter7_and_8_checks_accept_the_answer_and_explain_wrong_ones(capsys):
    import torch

    from vgg_lessons.exercises import chapter7 as exercises
    from vgg_lessons.exercises import chapter8
    from vgg_lessons.models import build_vgg
    from vgg_lessons.probes.attribution import grad_cam
    from vgg_lessons.probes.dense import mosaic

    assert exercises.check_dense_map_side(14)
    assert not exercises.check_dense_map_side(20)
    assert "pool5" in capsys.readouterr().out
    assert exercises.check_c_field(76)
    assert not exercises.check_c_field(100)
    assert "D's field" in capsys.readouterr().out
    assert exercises.check_epoch_flops(1.5e17)
    assert not exercises.check_epoch_flops(7.7e16)
    assert "multiply-accumulates" in capsys.readouterr().out
    assert not exercises.check_epoch_flops(...)
    torch.manual_seed(0)
    model = build_vgg("A", head="cifar", width=1 / 16).eval()
    scene = mosaic(torch.randint(0, 256, (4, 3, 32, 32), dtype=torch.uint8), 2, 2)
    cam = grad_cam(model, scene, "stage3.relu2", target=1)[0]
    tile = int(cam.reshape(2, 32, 2, 32).sum((1, 3)).flatten().argmax())
    assert chapter8.check_gradcam_tile(tile, model, scene, 1, "stage3.relu2")
    assert not chapter8.check_gradcam_tile(
        (tile + 1) % 4, model, scene, 1, "stage3.relu2"
    )
    assert not chapter8.check_gradcam_tile(4, model, scene, 1, "stage3.relu2")
    # the open-ended tile count: a mosaic of 16 tiles, its count measured by hand
    tiles = torch.randint(0, 256, (16, 3, 32, 32), dtype=torch.uint8)
    labels = torch.arange(16) % 10
    scenes = mosaic(tiles, 4, 4)
    right = exercises._measure_tiles_right(model, scenes, labels, 256)
    assert 0 <= right <= 16 and right == int(right)
    assert exercises.check_tiles_at_384(right + 10, model, scenes, labels, 256)
    assert not exercises.check_tiles_at_384(right + 40, model, scenes, labels, 256)
