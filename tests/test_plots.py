"""The book's figures draw the numbers they are given: checked against hand-made data."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle

from vgg_lessons.viz import feature_plots
from vgg_lessons.viz import plots
from vgg_lessons.viz import paper_figures, training_plots

# ---- Batch norm and training (chapters 3 and 4) ---------------------------------------

HISTORY_A = [dict(epoch=1, train_loss=2.0, test_acc=0.30, step_losses=[2.2, 1.8]),
             dict(epoch=2, train_loss=1.5, test_acc=0.45, step_losses=[1.6, 1.4])]
HISTORY_B = [dict(epoch=1, train_loss=2.3, test_acc=None, step_losses=[2.3, 2.3]),
             dict(epoch=2, train_loss=2.2, test_acc=0.12, step_losses=[2.25, 2.15])]


def test_training_curves_draw_each_run_per_metric_accuracy_in_percent():
    fig = training_plots.plot_training_curves({"a": HISTORY_A, "b": HISTORY_B})
    assert isinstance(fig, Figure)
    loss_ax, acc_ax = fig.axes
    assert [line.get_label() for line in loss_ax.lines] == ["a", "b"]
    np.testing.assert_allclose(loss_ax.lines[0].get_xydata(), [[1, 2.0], [2, 1.5]])
    # a missing value (None) is skipped, accuracy is drawn in percent
    np.testing.assert_allclose(acc_ax.lines[1].get_xydata(), [[2, 12.0]])
    assert "%" in acc_ax.get_ylabel()


def test_training_curves_can_draw_every_step():
    fig = training_plots.plot_training_curves({"a": HISTORY_A}, ["train_loss"], step_losses=True)
    np.testing.assert_allclose(fig.axes[0].lines[0].get_xdata(), [0.5, 1.0, 1.5, 2.0])
    np.testing.assert_allclose(fig.axes[0].lines[0].get_ydata(), [2.2, 1.8, 1.6, 1.4])


def test_training_curves_explain_bad_input():
    with pytest.raises(ValueError, match="no runs"):
        training_plots.plot_training_curves({})
    with pytest.raises(ValueError, match="no run recorded 'val_acc'.*test_acc"):
        training_plots.plot_training_curves({"a": HISTORY_A}, ["val_acc"])


def test_activation_stats_are_mean_and_std_of_each_layer():
    gen = torch.Generator().manual_seed(0)
    maps = {name: {"conv1": torch.randn(4, 3, 5, 5, generator=gen) * scale + shift,
                   "conv2": torch.rand(4, 6, 2, 2, generator=gen) * scale}
            for name, scale, shift in [("small", 0.5, 1.0), ("large", 3.0, -2.0)]}
    fig = training_plots.plot_activation_stats(maps)
    mean_ax, std_ax = fig.axes
    for line_mean, line_std, by_layer in zip(mean_ax.lines, std_ax.lines, maps.values()):
        values = [t.numpy().ravel() for t in by_layer.values()]
        np.testing.assert_allclose(line_mean.get_ydata(), [v.mean() for v in values], rtol=1e-5)
        np.testing.assert_allclose(line_std.get_ydata(), [v.std(ddof=1) for v in values], rtol=1e-5)
    assert [t.get_text() for t in std_ax.get_xticklabels()] == ["conv1", "conv2"]  # shared x, below


def test_activation_stats_need_the_same_layers():
    with pytest.raises(ValueError, match="same layers"):
        training_plots.plot_activation_stats({"a": {"x": torch.ones(1)}, "b": {"y": torch.ones(1)}})


def test_confusion_matrix_counts_true_rows_predicted_columns():
    labels = torch.tensor([0, 0, 1, 2, 2, 2])
    predictions = torch.tensor([0, 1, 1, 2, 0, 2])
    expected = np.zeros((3, 3), dtype=np.int64)
    for t, p in zip(labels.tolist(), predictions.tolist()):  # the definition, one by one
        expected[t, p] += 1
    np.testing.assert_array_equal(training_plots.confusion_matrix(labels, predictions, 3).numpy(), expected)


@pytest.mark.parametrize("labels, predictions, message", [
    ([0, 1], [0], "same length"),
    ([0, 3], [0, 1], "labels must be class indices in 0..2"),
    ([0, 1], [-1, 1], "predictions must be class indices"),
])
def test_confusion_matrix_explains_bad_input(labels, predictions, message):
    with pytest.raises(ValueError, match=message):
        training_plots.confusion_matrix(torch.tensor(labels), torch.tensor(predictions), 3)


def test_confusion_figure_shows_row_percentages_and_per_class_accuracy():
    labels = torch.tensor([0, 0, 0, 0, 1, 1, 2])
    predictions = torch.tensor([0, 0, 0, 1, 1, 0, 2])
    fig = training_plots.plot_confusion_matrix(labels, predictions, ["cat", "dog", "frog"])
    heat, bars, colour_bar = fig.axes
    shown = heat.images[0].get_array()
    assert colour_bar.get_ylabel() == "% of the true class (row)"
    assert colour_bar.get_ylim() == (0, 100)
    np.testing.assert_allclose(shown, [[75, 25, 0], [50, 50, 0], [0, 0, 100]])
    np.testing.assert_allclose([p.get_width() for p in bars.patches], [75, 50, 100])
    assert [t.get_text() for t in bars.get_yticklabels()] == ["cat", "dog", "frog"]


def test_image_grid_shows_each_image_with_its_class():
    images = torch.randint(0, 256, (10, 3, 32, 32), dtype=torch.uint8,
                           generator=torch.Generator().manual_seed(0))
    fig = training_plots.plot_image_grid(images, torch.arange(10) % 3, ["cat", "dog", "frog"], ncols=4)
    shown = [ax for ax in fig.axes if ax.images]
    assert len(fig.axes) == 12 and len(shown) == 10
    np.testing.assert_array_equal(shown[3].images[0].get_array(), images[3].permute(1, 2, 0).numpy())
    assert [ax.get_title() for ax in shown[:4]] == ["cat", "dog", "frog", "cat"]
    with pytest.raises(ValueError, match="between 1 and 64"):
        training_plots.plot_image_grid(torch.zeros(65, 3, 8, 8, dtype=torch.uint8))


# ---- Receptive fields and building VGG (chapters 1 and 2) -------------------------------

from vgg_lessons.models import build_vgg
from vgg_lessons.receptive_field import LayerSpec, rf_table
from vgg_lessons.stats import layer_stats


def _label(fig: Figure) -> str:
    return " ".join(t.get_text() for t in fig.axes[0].texts)


@pytest.mark.parametrize("specs, rf, read", [
    # three 3x3 convs: 7 pixels, all read (worked out by hand: 1 + 2 + 2 + 2)
    ([LayerSpec(f"c{i}", 3, padding=1) for i in range(3)], 7, 7),
    # conv conv pool conv: 3, 5, 6, 10
    ([LayerSpec("c1", 3, padding=1), LayerSpec("c2", 3, padding=1),
      LayerSpec("p", 2, stride=2, kind="pool"), LayerSpec("c3", 3, padding=1)], 10, 10),
    # three 3x3 convs with dilation 2: span 1 + 3 * 4 = 13, but only every other pixel is read
    ([LayerSpec(f"c{i}", 3, dilation=2) for i in range(3)], 13, 7),
])
def test_rf_diagram_marks_the_field_worked_out_by_hand(specs, rf, read):
    fig = plots.rf_diagram_1d(specs, input_size=24)
    assert isinstance(fig, Figure)
    assert f"receptive field: {rf} pixels" in _label(fig)
    assert rf_table(specs)[-1].rf == rf
    if read < rf:
        assert f"{read} pixels are read" in _label(fig)
    else:
        assert "read" not in _label(fig)


def test_rf_diagram_rejects_what_it_cannot_draw():
    specs = [LayerSpec("c", 3, padding=1)]
    with pytest.raises(ValueError, match="outside the last layer"):
        plots.rf_diagram_1d(specs, input_size=8, unit=8)
    with pytest.raises(ValueError, match="no layers"):
        plots.rf_diagram_1d([], input_size=8)
    with pytest.raises(ValueError, match="too small"):
        plots.rf_diagram_1d([LayerSpec("c", 5)], input_size=3)


def test_rf_growth_draws_one_bar_per_conv_and_pool():
    specs = [LayerSpec("c1", 3, padding=1), LayerSpec("p", 2, stride=2, kind="pool"),
             LayerSpec("c2", 3, padding=1)]
    fig = plots.rf_growth(rf_table(specs, input_size=16))
    heights = [bar.get_height() for bar in fig.axes[0].patches]
    assert heights == [3, 4, 8]  # by hand: 1 + 2, + 1, + 2 * 2


def test_effective_rf_map_takes_a_2d_map_only():
    erf = torch.zeros(9, 9)
    erf[4, 4] = 1.0
    fig = plots.effective_rf_map(erf, rf=5, title="x")
    assert len(fig.axes) == 3  # map, colour bar, profile
    with pytest.raises(ValueError, match=r"\(H, W\)"):
        plots.effective_rf_map(torch.zeros(9), rf=5)


def test_stage_bars_show_the_stage_totals():
    model = build_vgg("A", bn=None, head="cifar", width=1 / 16)
    stats = layer_stats(model, input_size=32)
    fig = plots.stage_bars(stats)
    params = [bar.get_height() * 1e6 for bar in fig.axes[0].patches]
    expected = [t["params"] for t in stats.stage_totals().values()]
    np.testing.assert_allclose(params, expected)
    assert sum(expected) == sum(p.numel() for p in model.parameters())


# ---- every figure fits the book's column and is readable (issue 13) -------------------
from matplotlib.text import Text  # noqa: E402

from vgg_lessons.viz._figures import COLUMN_INCHES, MIN_POINTS
from vgg_lessons.probes.fields import layer_table


@pytest.fixture(scope="module")
def figures() -> dict[str, Figure]:
    """One figure from each public plot function, on small hand-made data."""
    g = torch.Generator().manual_seed(0)
    specs = [LayerSpec(f"c{i}", 3, padding=1) for i in range(3)]
    table = rf_table(specs + [LayerSpec("p", 2, stride=2, kind="pool")], input_size=32)
    stats = layer_stats(build_vgg("A", bn=None, head="cifar", width=1 / 16), input_size=32)
    image = torch.randint(0, 256, (3, 32, 32), dtype=torch.uint8, generator=g)
    maps = torch.randn(16, 8, 8, generator=g)
    labels = torch.randint(0, 10, (200,), generator=g)
    predictions = torch.where(torch.rand(200, generator=g) < 0.7, labels,
                              torch.randint(0, 10, (200,), generator=g))
    classes = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship",
               "truck"]
    return {
        "rf_diagram_1d": plots.rf_diagram_1d(specs, input_size=24),
        "rf_growth": plots.rf_growth(layer_table(build_vgg("E", head="cifar", width=1 / 16), 224)),
        "effective_rf_map": plots.effective_rf_map(torch.rand(33, 33, generator=g), rf=21),
        "stage_bars": plots.stage_bars(stats),
        "plot_training_curves": training_plots.plot_training_curves(
            {"a": HISTORY_A, "b": HISTORY_B}, ("train_loss", "test_acc", "train_loss")),
        "plot_activation_stats": training_plots.plot_activation_stats(
            {"m": {f"stage{i}.conv1": torch.randn(2, 4, 4, 4, generator=g) for i in range(1, 6)}}),
        "plot_confusion_matrix": training_plots.plot_confusion_matrix(labels, predictions, classes),
        "plot_image_grid": training_plots.plot_image_grid(image[None].repeat(16, 1, 1, 1), titles=["x"] * 16),
        "plot_feature_maps": feature_plots.plot_feature_maps(image, maps),
        "plot_first_layer_filters": feature_plots.plot_first_layer_filters(torch.rand(64, 3, 3, 3, generator=g)),
        "plot_maps_side_by_side": feature_plots.plot_maps_side_by_side(image, {"trained": maps, "random": -maps}),
        "rf_growth_small": plots.rf_growth(table),
    }


def test_every_figure_fits_the_column_with_readable_text(figures):
    public = {
        name
        for module in (plots, training_plots, feature_plots)
        for name in dir(module)
        if name.startswith(("plot_", "rf_", "stage_", "effective_"))
        and getattr(getattr(module, name), "__module__", None) == module.__name__
    }
    assert public <= set(figures)  # a new plot function needs a case above
    for name, fig in figures.items():
        fig.canvas.draw()  # lays out, creates every tick label
        width, height = fig.get_size_inches()
        assert 3 <= width <= COLUMN_INCHES and height <= 10, (name, width, height)
        sizes = [t.get_fontsize() for t in fig.findobj(Text) if t.get_text().strip()]
        assert sizes and min(sizes) >= MIN_POINTS, (name, min(sizes))
        assert max(sizes) <= 12, (name, max(sizes))


def test_colour_that_is_a_value_has_a_colour_bar(figures):
    for name in ("effective_rf_map", "plot_feature_maps", "plot_maps_side_by_side"):
        bars = [ax for ax in figures[name].axes if ax.get_label() == "<colorbar>"]
        assert bars, name
    grids = figures["plot_maps_side_by_side"].axes
    assert len([ax for ax in grids if ax.get_label() == "<colorbar>"]) == 2  # one scale per model


def test_multi_panel_figures_are_rows_not_a_strip(figures):
    for name in ("stage_bars", "plot_activation_stats", "plot_training_curves"):
        panels = [ax for ax in figures[name].axes if ax.get_visible()]
        rows = {round(ax.get_position().y0, 2) for ax in panels}
        assert len(rows) >= 2, name


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


def test_pick_examples_includes_mistakes_and_each_class():
    labels = torch.arange(40) % 10
    predicted = labels.clone()
    predicted[[2, 13, 27]] = 0  # three mistakes
    chosen = paper_figures.pick_examples(predicted, labels, 16, 6)
    assert len(chosen) == 16 == len(set(chosen)) and chosen == sorted(chosen)
    assert {2, 13, 27} <= set(chosen)
    assert set(labels[chosen].tolist()) == set(range(10))


def test_plot_cam_overlays_puts_each_map_over_its_image_eight_to_a_row():
    images = torch.randint(0, 256, (10, 3, 8, 8), dtype=torch.uint8)
    maps = torch.rand(10, 8, 8)
    fig = paper_figures.plot_cam_overlays(images, maps, [f"image {i}" for i in range(10)])
    shown = [ax for ax in fig.axes if ax.axison]
    assert len(fig.axes) == 16 and len(shown) == 10  # two rows of eight, six left blank
    assert [ax.get_title() for ax in shown] == [f"image {i}" for i in range(10)]
    layers = shown[3].get_images()
    assert len(layers) == 2 and layers[1].get_alpha() == 0.55
    np.testing.assert_allclose(layers[1].get_array(), (maps[3] / maps[3].max()).numpy())
    assert fig.get_figwidth() == paper_figures.COLUMN_INCHES
