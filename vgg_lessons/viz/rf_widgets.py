"""The receptive-field explorer of chapter 1 (ipywidgets): sliders that redraw a 1-D field.

Re-exported by :mod:`vgg_lessons.viz.widgets`. Needs a live Jupyter kernel (Colab works).
"""

from __future__ import annotations


def receptive_field_explorer(input_size: int = 24, max_input_size: int = 96):
    """Sliders for kernel, stride, padding, dilation and depth that redraw a 1-D field.

    Stacks ``depth`` identical layers (``LayerSpec`` with the chosen kernel, stride,
    padding and dilation) and redraws ``plots.rf_diagram_1d`` for the middle unit of
    the last layer at every change. Needs a live Jupyter kernel (Colab works).
    The defaults (kernel 3, stride 1, padding 1, dilation 1, depth 3) draw the same
    figure as ``plots.rf_diagram_1d`` of three such layers on ``input_size`` pixels.

    Args:
        input_size: length of the 1-D input in pixels; grown (up to
            ``max_input_size``) when a stack with strides needs more to leave an output.
        max_input_size: the largest input drawn; beyond it a message asks for a
            smaller stack instead of an unreadable figure.

    Returns:
        An ``ipywidgets.VBox``: the sliders above the figure. Display it in a notebook.
    """
    import ipywidgets as widgets
    from IPython.display import display

    from vgg_lessons.receptive_field import LayerSpec, min_input_size
    from vgg_lessons.viz import plots

    sliders = dict(
        kernel=widgets.IntSlider(value=3, min=1, max=7, description="kernel"),
        stride=widgets.IntSlider(value=1, min=1, max=3, description="stride"),
        padding=widgets.IntSlider(value=1, min=0, max=3, description="padding"),
        dilation=widgets.IntSlider(value=1, min=1, max=3, description="dilation"),
        depth=widgets.IntSlider(value=3, min=1, max=6, description="depth"),
    )

    def redraw(
        kernel: int, stride: int, padding: int, dilation: int, depth: int
    ) -> None:
        specs = [
            LayerSpec(
                f"layer{i}",
                kernel=kernel,
                stride=stride,
                padding=padding,
                dilation=dilation,
            )
            for i in range(1, depth + 1)
        ]
        needed = min_input_size(specs)  # pixels for the last layer to have one output
        if needed > max_input_size:
            print(
                f"These {depth} layers need an input of at least {needed} pixels to leave "
                f"one output, too many to draw; lower the depth, stride or kernel."
            )
            return
        display(plots.rf_diagram_1d(specs, input_size=max(input_size, needed)))

    out = widgets.interactive_output(redraw, sliders)  # redraws at every slider change
    return widgets.VBox(
        [
            widgets.HBox(list(sliders.values())[:3]),
            widgets.HBox(list(sliders.values())[3:]),
            out,
        ]
    )
