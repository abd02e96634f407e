"""Chapter 8, what the trained model looks at: the checks of its exercises.

Right or wrong, with a hint, never the answer. Each number check is a
:class:`~vgg_lessons.exercises._checking.NumberCheck`; the open-ended exercise is an
:class:`~vgg_lessons.exercises._predictions.PredictionCheck` (a prediction checked against a
measurement with a tolerance).
"""

from __future__ import annotations

import torch
from torch import nn

from vgg_lessons.exercises._checking import NumberCheck, Solution
from vgg_lessons.exercises._predictions import PredictionCheck
from vgg_lessons.models import build_vgg


def _solve_cam_side() -> Solution:
    from vgg_lessons.probes.hooks import feature_maps

    model = build_vgg("A", bn=None, head="cifar", width=1 / 16).eval()  # sizes only
    maps = feature_maps(model, torch.zeros(1, 3, 96, 96), "stage5.relu2")
    return maps["stage5.relu2"].shape[-1], [
        (3, "that is after pool5; stage5.relu2 comes before it"),
        (12, "that is stage 4's side; one more pool comes before stage 5"),
    ]


def _measure_mirror_agreement(model: nn.Module, images: torch.Tensor) -> float:
    from vgg_lessons.probes.attribution import rank_correlation, saliency

    with torch.no_grad():
        from vgg_lessons.inputs import normalize

        targets = model(normalize(images)).argmax(1)
    plain = saliency(model, images, targets)
    mirrored = saliency(model, images.flip(-1), targets).flip(-1)  # back in place
    return rank_correlation(plain, mirrored).nanmean().item()


def _solve_gradcam_tile(
    model: nn.Module, scene: torch.Tensor, target: int, layer: str
) -> Solution:
    from vgg_lessons.probes.attribution import grad_cam

    cam = grad_cam(model, scene, layer, target=target)[0]  # (H, W)
    h, w = cam.shape[0] // 2, cam.shape[1] // 2
    mass = [
        float(cam[r * h : (r + 1) * h, c * w : (c + 1) * w].sum())
        for r in (0, 1)
        for c in (0, 1)
    ]
    return max(range(4), key=mass.__getitem__), ()


check_gradcam_tile = NumberCheck(
    "Exercise ex-look-gradcam: which tile (0-3, row by row) of a 2x2 mosaic Grad-CAM points "
    "at; pass the chapter's model, its uint8 mosaic (1, 3, 2h, 2w), the target class and layer.",
    "the tile (0-3, row by row: 0 1 / 2 3)",
    _solve_gradcam_tile,
    whole=True,
    hint="the map is bright where the evidence for the class is; add up the map over each "
    "quarter and take the largest",
).function("check_gradcam_tile")


check_cam_side = NumberCheck(
    "Exercise ex-look-cam-side: side of the Grad-CAM map at ``stage5.relu2`` for a 96x96 "
    "image, before it is upsampled.",
    "the side of the map",
    _solve_cam_side,
    whole=True,
    hint="Grad-CAM has the side of the layer's feature map: count the 2x2 pools before "
    "stage 5, each halves the side",
).function("check_cam_side")

check_mirror_agreement = PredictionCheck(
    "Exercise ex-look-mirror: predict the mean rank correlation between each image's "
    "saliency map and the map of its mirror image, mirrored back.\n\n"
    "Called as ``check_mirror_agreement(answer, model, images)``; right within 0.1.",
    "the rank correlation",
    _measure_mirror_agreement,
    tolerance=0.1,
    unit="",
    hint="the model was trained on mirrored images too, so it treats an image and its "
    "mirror alike; but a gradient is computed pixel by pixel, and neither the network's "
    "kernels nor its pools are mirror-symmetric",
).function("check_mirror_agreement")
