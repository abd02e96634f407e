"""Issue 10's package corrections: where the effective field is drawn, the labels of
the top-images grid, and activation-maximisation images that are not pixel noise."""

import pytest
import torch
from matplotlib.patches import Rectangle

from vgg_lessons.models import build_vgg
from vgg_lessons.viz import plots
from vgg_lessons.viz import training_plots
from vgg_lessons.probes import fields


@pytest.fixture(scope="module")
def vgg16_erf():
    torch.manual_seed(0)
    model = build_vgg("vgg16", bn=None, width=0.25)
    return fields.effective_rf(model, "stage4.conv3", input_size=160, n_inputs=2, seed=0)


def test_effective_rf_says_which_unit_it_probed(vgg16_erf):
    # By hand: stage4.conv3 of VGG-16 at 160 px has 20 units per axis, jump 8, start 3.5,
    # field 92. The probed unit (20 - 1) // 2 = 9 is centred on 3.5 + 9 * 8 = 75.5, not
    # on the image's middle pixel (80) or its middle (79.5).
    assert (vgg16_erf.unit, vgg16_erf.centre, vgg16_erf.rf) == (9, 75.5, 92)
    assert vgg16_erf.layer == "stage4.conv3" and vgg16_erf.map.shape == (160, 160)
    touched = vgg16_erf.map.nonzero()  # every pixel that can change the unit
    lo, hi = 75.5 - (92 - 1) / 2, 75.5 + (92 - 1) / 2  # 30 .. 121
    assert touched.min() == lo and touched.max() == hi


def test_effective_rf_map_draws_the_field_where_the_gradient_is(vgg16_erf):
    fig = plots.effective_rf_map(vgg16_erf, title="x")
    (square,) = [p for p in fig.axes[0].patches if isinstance(p, Rectangle)]
    x0, y0 = square.get_xy()
    assert square.get_width() == square.get_height() == 92
    assert (x0 + 46, y0 + 46) == (75.5, 75.5)  # the square's centre is the unit's centre
    # Every pixel with gradient lies inside the drawn square (pixel i spans i -+ 0.5).
    touched = vgg16_erf.map.nonzero().float()
    assert touched.min() - 0.5 >= x0 and touched.max() + 0.5 <= x0 + 92
    # The profile's x axis is measured from the same centre: its peak is near 0.
    line = fig.axes[1].lines[0]  # axes: map, profile, colour bar
    xs, ys = line.get_xdata(), line.get_ydata()
    assert abs(xs[ys.argmax()]) <= 4 and xs[0] == -75.5


def test_effective_rf_map_of_a_plain_map_centres_on_its_middle_or_where_told():
    erf = torch.zeros(10, 10)
    erf[3, 3] = 1.0
    for centre, expected in [(None, 4.5), (3.0, 3.0)]:
        fig = plots.effective_rf_map(erf, rf=3, centre=centre)
        (square,) = [p for p in fig.axes[0].patches if isinstance(p, Rectangle)]
        assert square.get_xy()[0] + 1.5 == expected
    with pytest.raises(ValueError, match="pass rf="):
        plots.effective_rf_map(erf)


def test_image_grid_labels_each_row():
    images = torch.zeros(8, 3, 4, 4, dtype=torch.uint8)
    fig = training_plots.plot_image_grid(images, ncols=4, row_labels=["channel 0", "channel 1"])
    labels = {ax.texts[0].get_text(): i for i, ax in enumerate(fig.axes) if ax.texts}
    assert labels == {"channel 0": 0, "channel 1": 4}  # first image of each row
    with pytest.raises(ValueError, match="make 2 rows; pass one row label per row, got 3"):
        training_plots.plot_image_grid(images, ncols=4, row_labels=["a", "b", "c"])


# ---- activation maximisation: smooth images, not saturated pixel noise ----------------
def _saturated_share(x: torch.Tensor) -> float:
    return float(((x < 0.02) | (x > 0.98)).float().mean())


def _pixel_detail(x: torch.Tensor) -> float:
    """Mean absolute difference of horizontally and vertically neighbouring pixels."""
    return float((x[..., 1:, :] - x[..., :-1, :]).abs().mean()
                 + (x[..., :, 1:] - x[..., :, :-1]).abs().mean())


def test_maximize_activation_paints_smooth_images_that_still_excite_the_channel():
    from vgg_lessons.probes import activation_max
    from vgg_lessons.probes import hooks
    from vgg_lessons.train import weights

    model = weights.load_pretrained("vgg11_bn_cifar10")
    layer, channels = "stage4.bn2", [0, 1, 2]
    painted = activation_max.maximize_activation(model, layer, channels, seed=0)
    unblurred = activation_max.maximize_activation(model, layer, channels, seed=0, blur=0)
    # Without the blur the climb ends in saturated stripes (measured: a third of the
    # pixels at 0 or 1); with it almost none are, and neighbouring pixels differ far less.
    assert _saturated_share(unblurred) > 0.15 and _saturated_share(painted) < 0.02
    assert _pixel_detail(painted) < _pixel_detail(unblurred) / 3
    # ... and each painted image still drives its channel harder than a grey image.
    grey = torch.full((1, 3, 32, 32), 0.5)
    with torch.no_grad():
        scores = hooks.channel_scores(model, activation_max.default_preprocess(painted), layer)
        grey_scores = hooks.channel_scores(model, activation_max.default_preprocess(grey), layer)
    for row, c in enumerate(channels):
        assert scores[row, c] > grey_scores[0, c] + 1.0
    with pytest.raises(ValueError, match="blur >= 0"):
        activation_max.maximize_activation(model, layer, 0, blur=-1)


# ---- references: the list's labels are the text's author-year citations ---------------
def test_reference_list_is_labelled_by_author_and_year_with_links():
    from pathlib import Path

    from pybtex.database import parse_file

    from vgg_lessons.publishing.bibstyle import AuthorYearStyle

    bib = parse_file(Path(__file__).parents[1] / "book" / "references.bib")
    formatted = {e.key: e.label for e in AuthorYearStyle().format_bibliography(bib)}
    assert formatted["simonyan2015very"] == "Simonyan and Zisserman, 2015"
    assert formatted["krizhevsky2009learning"] == "Krizhevsky, 2009"
    assert formatted["luo2016understanding"] == "Luo et al., 2016"
    for key in ("krizhevsky2009learning", "krizhevsky2012imagenet"):
        assert bib.entries[key].fields["url"].startswith("https://")
