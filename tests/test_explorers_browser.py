"""The in-page explorers (vgg_lessons.publishing.site) in headless Chromium, over HTTP and file://.

- feature maps: changing the image, the layer, the channel and the weights changes the
  shown map (a screenshot of the map's canvas) and the state the page reports;
- receptive field: clicking a unit draws its field where ``layer_table`` puts it (centre
  ``start + unit * jump``, side ``rf``), checked on the reported state and on the pixels;
- field arithmetic (chapter 1): the table equals ``rf_table`` for several settings;
- filters: another channel shows another painted image;
- attribution (chapter 7): image, map, target class and weights each change the shown map,
  which is the tile of the sheet that the state names, and the sanity-check line gives
  that map's rank correlation from the data.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from chromium import DevTools, browser, serve  # noqa: F401 (browser: a fixture)

from vgg_lessons.inputs import IMAGE_SIZE
from vgg_lessons.train import weights
from vgg_lessons.probes import fields
from vgg_lessons.receptive_field import LayerSpec, rf_table
from vgg_lessons.publishing.site import explorer_data

CHAPTER6, CHAPTER1 = "book/06_what_vgg_sees.html", "book/01_receptive_fields.html"
CHAPTER7 = "book/08_what_the_model_looks_at.html"  # the attribution explorer
@pytest.fixture(scope="module", params=["http", "file"])
def origin(request: pytest.FixtureRequest, book_html: Path) -> Iterator[str]:
    if request.param == "file":
        yield book_html.as_uri() + "/"
    else:
        with serve(book_html) as url:
            yield url


def explorer(kind: str) -> str:
    return f'.vgg-explorer[data-explorer="{kind}"]'


def open_explorer(browser: DevTools, url: str, kind: str) -> dict:
    browser.open(url, 0.2)
    browser.evaluate(f"document.querySelector('{explorer(kind)}').scrollIntoView()")
    browser.evaluate(f"""new Promise((resolve, reject) => {{
      const t0 = performance.now();
      (function poll() {{
        const root = document.querySelector('{explorer(kind)}');
        if (root && root.dataset.ready === 'true' && root.dataset.drawn) resolve(true);
        else if (root && root.dataset.ready === 'error') reject(new Error('explorer failed'));
        else if (performance.now() - t0 > 15000) reject(new Error('explorer not ready'));
        else setTimeout(poll, 20);
      }})();
    }})""", wait=True)
    browser.evaluate(f"document.querySelector('{explorer(kind)}').scrollIntoView()")
    return state(browser, kind)


def state(browser: DevTools, kind: str) -> dict:
    return browser.evaluate(f"Object.assign({{}}, document.querySelector('{explorer(kind)}').dataset)")


def act(browser: DevTools, kind: str, script: str) -> dict:
    """Run ``script`` (``root`` is the explorer) and wait until the explorer has redrawn."""
    before = state(browser, kind)["drawn"]
    browser.evaluate(f"(() => {{ const root = document.querySelector('{explorer(kind)}'); "
                     f"{script} }})()")
    return redrawn(browser, kind, before)


def redrawn(browser: DevTools, kind: str, before: str, what: str = "") -> dict:
    """Wait until the explorer's ``drawn`` is no longer ``before``; its state then."""
    browser.evaluate(f"""new Promise((resolve, reject) => {{
      const root = document.querySelector('{explorer(kind)}'), t0 = performance.now();
      (function poll() {{
        if (root.dataset.drawn !== {json.dumps(before)}) resolve(true);
        else if (performance.now() - t0 > 10000) reject(new Error('no redraw {what}'));
        else setTimeout(poll, 10);
      }})();
    }})""", wait=True)
    return state(browser, kind)


def canvas_png(browser: DevTools, kind: str, selector: str) -> bytes:
    box = browser.evaluate(f"""(() => {{ const r = document.querySelector('{explorer(kind)} {selector}')
      .getBoundingClientRect(); return {{x: r.x + scrollX, y: r.y + scrollY, width: r.width, height: r.height}}; }})()""")
    browser.evaluate("new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)))",
                     wait=True)  # the redrawn canvas has reached the screen
    return browser.screenshot(None, clip=box)


def each_change_redraws(browser: DevTools, kind: str, changes: dict[str, str],
                        expected: dict[str, str]) -> dict:
    """Apply each change in turn: the explorer's state follows it and its ``.vgg-map``
    canvas shows something new every time. Returns the last state."""
    shots = [canvas_png(browser, kind, ".vgg-map")]
    for key, script in changes.items():
        now = act(browser, kind, script)
        assert now[key] == expected[key], f"changing the {key} left the explorer at {now}"
        shot = canvas_png(browser, kind, ".vgg-map")
        assert shot != shots[-1], f"changing the {key} did not change the shown map"
        shots.append(shot)
    return now


SET = "{{ const s = root.querySelector('{which}'); s.value = '{value}'; s.dispatchEvent(new Event('{event}')); }}"


def test_feature_maps_follow_every_control(browser: DevTools, origin: str):
    first = open_explorer(browser, origin + CHAPTER6, "feature-maps")
    assert first["image"] == "0" and first["weights"] == "trained"
    changes = {
        "image": "root.querySelectorAll('.vgg-thumbs button')[5].click();",
        "layer": SET.format(which="select[aria-label=layer]", value=7, event="change"),
        "channel": SET.format(which="input[aria-label=channel]", value=9, event="input"),
        "weights": SET.format(which="select[aria-label=weights]", value="random", event="change"),
    }
    expected = {"image": "5", "layer": "7", "channel": "9", "weights": "random"}
    now = each_change_redraws(browser, "feature-maps", changes, expected)
    assert now["sheet"] == "maps/random-05.png" and now["layerName"] == "stage2.conv2"  # VGG-16
    text = browser.evaluate(f"document.querySelector('{explorer('feature-maps')}').innerText")
    assert "top 3:" in text and "random model says" in text


@pytest.fixture(scope="module")
def model_rows():
    model = weights.load_pretrained(weights.INSPECTED)
    layers = explorer_data.map_layers(model)
    table = fields.layer_table(model, IMAGE_SIZE)
    return layers, [table[i] for i in explorer_data.geometry_index(model, layers)]


@pytest.mark.parametrize("layer_name, unit", [("stage2.conv1", (3, 3)), ("stage3.relu2", (0, 7)),
                                              ("stage4.pool", (1, 0)), ("stage1.conv1", (31, 2))])
def test_clicked_unit_shows_the_field_layer_table_gives(browser: DevTools, origin: str,
                                                         model_rows, layer_name, unit):
    layers, rows = model_rows
    index = layers.index(layer_name)
    row = rows[index]
    open_explorer(browser, origin + CHAPTER6, "receptive-field")
    act(browser, "receptive-field",
        SET.format(which="select[aria-label=layer]", value=index, event="change"))
    n = row.out_size
    click = f"""const m = root.querySelector('.vgg-map'), r = m.getBoundingClientRect();
      m.dispatchEvent(new MouseEvent('click', {{clientX: r.left + ({unit[1]} + 0.5) * r.width / {n},
                                               clientY: r.top + ({unit[0]} + 0.5) * r.height / {n}}}));"""
    now = act(browser, "receptive-field", click)
    half = (row.rf - 1) / 2
    y0, x0 = row.centre(unit[0]) - half, row.centre(unit[1]) - half
    expected = [y0, x0, y0 + row.rf, x0 + row.rf]
    assert now["layerName"] == layer_name and now["unit"] == f"{unit[0]},{unit[1]}"
    assert [float(v) for v in now["field"].split(",")] == expected
    assert (int(now["rf"]), int(now["jump"]), float(now["start"])) == (row.rf, row.jump, row.start)
    if origin.startswith("http") and x0 >= 1 and y0 >= 0 and y0 + row.rf <= 32:
        # the field's left edge is drawn in the explorer's red (same-origin canvas: readable)
        pixel = browser.evaluate(f"""Array.from(document.querySelector(
          '{explorer("receptive-field")} canvas.vgg-input').getContext('2d')
          .getImageData({int(x0 * 8)}, {int((y0 + row.rf / 2) * 8)}, 1, 1).data)""")
        assert pixel[:3] == [255, 45, 85], f"no field edge drawn at x={x0 * 8}: {pixel}"


ARITHMETIC = [dict(kernel=3, stride=1, padding=1, dilation=1, depth=3, input=24),
              dict(kernel=5, stride=2, padding=1, dilation=2, depth=3, input=64),
              dict(kernel=2, stride=3, padding=0, dilation=1, depth=2, input=17),
              dict(kernel=7, stride=1, padding=3, dilation=3, depth=6, input=96)]


@pytest.mark.parametrize("settings", ARITHMETIC, ids=lambda s: "-".join(map(str, s.values())))
def test_field_arithmetic_equals_rf_table(browser: DevTools, origin: str, settings: dict):
    open_explorer(browser, origin + CHAPTER1, "field-arithmetic")
    script = "".join(SET.format(which=f'input[aria-label="{"input size" if k == "input" else k}"]',
                                value=v, event="input") for k, v in settings.items())
    now = act(browser, "field-arithmetic", script)
    specs = [LayerSpec(f"layer{i}", settings["kernel"], settings["stride"], settings["padding"],
                       settings["dilation"]) for i in range(1, settings["depth"] + 1)]
    keys = ("name", "out_size", "jump", "rf", "start")
    expected = [{k: d[k] for k in keys} for d in rf_table(specs, settings["input"]).to_dicts()]
    shown = [{k: r[k] for k in keys} for r in json.loads(now["rows"])]
    assert shown == expected
    rows_js = f"document.querySelectorAll('{explorer('field-arithmetic')} tbody tr')"
    cells = browser.evaluate(f"[...{rows_js}].map(tr => [...tr.cells].map(td => td.textContent))")
    assert cells == [[r["name"], *(f"{r[k]:g}" for k in keys[1:])]
                     for r in expected]


def test_filter_viewer_changes_with_the_channel(browser: DevTools, origin: str):
    open_explorer(browser, origin + CHAPTER6, "filters")
    before = canvas_png(browser, "filters", ".vgg-map")
    for channel in (1, 37):
        now = act(browser, "filters",
                  SET.format(which="input[aria-label=channel]", value=channel, event="input"))
        assert now["channel"] == str(channel)
        after = canvas_png(browser, "filters", ".vgg-map")
        assert after != before
        before = after


def manifest(book_html: Path) -> dict:
    text = (book_html / "_explorers" / "manifest.js").read_text(encoding="utf-8")
    return json.loads(text.removeprefix(explorer_data.MANIFEST_PREFIX).rstrip().rstrip(";"))


def test_attribution_explorer_follows_every_control(browser: DevTools, origin: str,
                                                    book_html: Path):
    everything = manifest(book_html)
    data, target = everything["attribution"], (everything["maps"]["predicted"]["trained"][3] + 1) % 10
    first = open_explorer(browser, origin + CHAPTER7, "attribution")
    assert (first["image"], first["weights"], first["method"]) == (
        "0", "trained", str(data["default_method"]))
    changes = {
        "image": "root.querySelectorAll('.vgg-thumbs button')[3].click();",
        "method": SET.format(which="select[aria-label=method]", value=0, event="change"),
        "target": f"root.querySelectorAll('.vgg-classes button')[{target}].click();",
        "weights": SET.format(which="select[aria-label=weights]", value="random", event="change"),
    }
    expected = {"image": "3", "method": "0", "target": str(target), "weights": "random"}
    now = each_change_redraws(browser, "attribution", changes, expected)
    assert now["sheet"] == "attribution/random-03.png"
    rho = data["similarity"][3][0][target]
    assert now["similarity"] == ("" if rho is None else str(rho))
    text = browser.evaluate(f"document.querySelector('{explorer('attribution')}').innerText")
    assert "Sanity check" in text and (rho is None or f"{rho / 100:.2f}" in text)
    if origin.startswith("http"):  # same origin: the canvas can be read back
        sheet = np.asarray(Image.open(book_html / "_explorers" / now["sheet"]).convert("RGB"))
        tile = data["tile"]
        canvas = f"document.querySelector('{explorer('attribution')} canvas.vgg-map')"
        k = browser.evaluate(f"{canvas}.width") // tile  # canvas pixels per map pixel
        for y, x in ((5, 7), (20, 30)):  # pixel (y, x) of the 32x32 map, in the middle of its block
            shown = browser.evaluate(f"Array.from({canvas}.getContext('2d')"
                                     f".getImageData({k * x + k // 2}, {k * y + k // 2}, 1, 1).data)")
            assert shown[:3] == sheet[0 * tile + y, target * tile + x].tolist()


def test_attribution_explorer_says_when_a_map_is_zero(browser: DevTools, origin: str,
                                                      book_html: Path):
    data = manifest(book_html)["attribution"]
    n = len(manifest(book_html)["classes"])
    found = [(i, j) for i, mask in enumerate(data["zero"]["trained"])
             for j, z in enumerate(mask) if z == "1"]
    assert found, "the trained model's Grad-CAM maps are never all zero: nothing to show here"
    image, index = found[0]
    method, target = divmod(index, n)
    now = open_explorer(browser, origin + CHAPTER7, "attribution")
    steps = [("image", image, f"root.querySelectorAll('.vgg-thumbs button')[{image}].click();"),
             ("method", method, SET.format(which="select[aria-label=method]", value=method,
                                           event="change")),
             ("target", target, f"root.querySelectorAll('.vgg-classes button')[{target}].click();")]
    for key, value, script in steps:
        if now[key] != str(value):  # a control set to what it shows does not redraw
            now = act(browser, "attribution", script)
    assert (now["image"], now["method"], now["target"]) == (str(image), str(method), str(target))
    assert now["zero"] == "true" and now["similarity"] == ""
    text = browser.evaluate(f"document.querySelector('{explorer('attribution')}').innerText")
    assert "zero everywhere" in text and "cannot be ranked" in text


#: What myst-nb's require.js leaves in a page with widget state: an AMD ``define``.
FAKE_REQUIREJS = ("window.define = function () { window.amdCalls = (window.amdCalls || 0) + 1; };"
                  "window.define.amd = {}; window.require = function () {};")


def test_explorers_and_maths_work_beside_requirejs(browser: DevTools, origin: str):
    """A script that finds an AMD loader may register a module instead of running: ours
    must not (and the maths, typeset at build time, is there whatever the scripts do)."""
    added = browser.send("Page.addScriptToEvaluateOnNewDocument", source=FAKE_REQUIREJS)
    try:
        for kind in ("feature-maps", "filters"):
            assert open_explorer(browser, origin + CHAPTER6, kind)["ready"] == "true"
        # the maths is typeset when the book is built (vgg_lessons.publishing.site.maths)
        n_maths = browser.evaluate("document.querySelectorAll('mjx-container svg').length")
        assert n_maths > 0 and browser.evaluate("typeof window.define.amd") == "object"
    finally:
        browser.send("Page.removeScriptToEvaluateOnNewDocument", identifier=added["identifier"])


# ---- accessibility, keyboard, validation, errors (issue 23, section 3) -----------------

def press(browser: DevTools, kind: str, selector: str, key: str) -> dict:
    """Focus ``selector`` in the explorer, press ``key`` (a real key event), wait for the redraw."""
    before = state(browser, kind)["drawn"]
    browser.evaluate(f"document.querySelector('{explorer(kind)} {selector}').focus()")
    codes = {"ArrowRight": 39, "ArrowLeft": 37, "ArrowDown": 40, "ArrowUp": 38, "End": 35, "Home": 36}
    for kind_ in ("keyDown", "keyUp"):
        browser.send("Input.dispatchKeyEvent", type=kind_, key=key, code=key,
                     windowsVirtualKeyCode=codes[key])
    return redrawn(browser, kind, before, f"after {key}")


#: JavaScript: what a screen reader or a keyboard could not use in ``root``.
UNLABELLED = """[...root.querySelectorAll('canvas')].filter(c => !(
    (c.getAttribute('role') === 'img' && c.getAttribute('aria-label')) ||
    (c.getAttribute('aria-hidden') === 'true' && c.closest('button[aria-label]'))))
  .map(c => c.className || 'canvas')
  .concat([...root.querySelectorAll('button, select, input')].filter(e =>
    !(e.getAttribute('aria-label') || e.closest('label')) || e.tabIndex < 0).map(e => e.outerHTML.slice(0, 60)))
  .concat([...root.querySelectorAll('.vgg-info')].filter(p => p.getAttribute('aria-live') !== 'polite')
    .map(p => 'state sentence without aria-live'))"""


@pytest.mark.parametrize("page, kind", [(CHAPTER6, "feature-maps"), (CHAPTER6, "receptive-field"),
                                        (CHAPTER6, "filters"), (CHAPTER7, "attribution"),
                                        (CHAPTER1, "field-arithmetic")])
def test_explorers_are_labelled_for_screen_readers(browser: DevTools, origin: str, page, kind):
    open_explorer(browser, origin + page, kind)
    bad = browser.evaluate(f"(() => {{ const root = document.querySelector('{explorer(kind)}'); "
                           f"return {UNLABELLED}; }})()")
    assert not bad, f"{kind}: unlabelled or unreachable: {bad}"
    pressed = browser.evaluate(f"[...document.querySelectorAll('{explorer(kind)} .vgg-thumbs button')]"
                               ".map(b => b.getAttribute('aria-pressed'))")
    assert not pressed or pressed == ["true"] + ["false"] * (len(pressed) - 1)


def test_units_and_channels_are_chosen_by_keyboard(browser: DevTools, origin: str):
    first = open_explorer(browser, origin + CHAPTER6, "receptive-field")
    row, col = map(int, first["unit"].split(","))
    now = press(browser, "receptive-field", "canvas.vgg-map", "ArrowRight")
    assert now["unit"] == f"{row},{col + 1}"
    now = press(browser, "receptive-field", "canvas.vgg-map", "ArrowUp")
    assert now["unit"] == f"{row - 1},{col + 1}"
    open_explorer(browser, origin + CHAPTER6, "feature-maps")
    assert press(browser, "feature-maps", "canvas.vgg-grid", "ArrowRight")["channel"] == "1"
    assert press(browser, "feature-maps", "canvas.vgg-grid", "ArrowDown")["channel"] == "9"
    # the last of stage1.conv1's 32 channels (VGG-16 at half the paper's width)
    assert press(browser, "feature-maps", "canvas.vgg-grid", "End")["channel"] == "31"


def test_deep_layers_show_readable_pages_of_channels(browser: DevTools, origin: str, book_html: Path):
    layers = manifest(book_html)["maps"]["layers"]
    deep = max(range(len(layers)), key=lambda i: (layers[i]["channels"], -layers[i]["size"]))
    open_explorer(browser, origin + CHAPTER6, "feature-maps")
    act(browser, "feature-maps", SET.format(which="select[aria-label=layer]", value=deep, event="change"))
    assert layers[deep]["channels"] == 256  # stages 4 and 5 of VGG-16 at half width
    now = act(browser, "feature-maps", SET.format(which="input[aria-label=channel]", value=250,
                                                  event="input"))
    assert now["channel"] == "250" and now["page"] == "224-255"
    tile = browser.evaluate(f"document.querySelector('{explorer('feature-maps')} canvas.vgg-grid')"
                            ".getBoundingClientRect().width / 8")
    assert tile >= 24, f"a {layers[deep]['size']}x{layers[deep]['size']} map is drawn {tile} px wide"
    assert browser.evaluate(f"document.querySelector('{explorer('feature-maps')} .vgg-pager "
                            "button:last-child').disabled")  # the last page
    back = act(browser, "feature-maps", "root.querySelector('.vgg-pager button').click();")
    assert back["channel"] == "192" and back["page"] == "192-223"


def test_channel_box_refuses_a_channel_the_layer_lacks(browser: DevTools, origin: str):
    open_explorer(browser, origin + CHAPTER6, "feature-maps")
    act(browser, "feature-maps", SET.format(which="input[aria-label=channel]", value=5, event="input"))
    box = f"document.querySelector('{explorer('feature-maps')} input[aria-label=channel]')"
    browser.evaluate(f"(() => {{ const s = {box}; s.value = '999'; s.dispatchEvent(new Event('input')); }})()")
    assert browser.evaluate(f"{box}.getAttribute('aria-invalid')") == "true"
    assert state(browser, "feature-maps")["channel"] == "5"
    browser.evaluate(f"{box}.dispatchEvent(new Event('change'))")  # leaving the field
    assert browser.evaluate(f"{box}.value") == "5"


@pytest.mark.parametrize("field, value, says", [("stride", "0", "stride: a whole number from 1 to 3"),
                                                 ("kernel", "", "kernel: a whole number from 1 to 7"),
                                                 ("padding", "-2", "padding: a whole number from 0 to 3"),
                                                 ("dilation", "1.5", "dilation: a whole number")])
def test_field_arithmetic_refuses_bad_settings(browser: DevTools, origin: str, field, value, says):
    open_explorer(browser, origin + CHAPTER1, "field-arithmetic")
    rows = state(browser, "field-arithmetic")["rows"]
    now = act(browser, "field-arithmetic",
              SET.format(which=f'input[aria-label="{field}"]', value=value, event="input"))
    text = browser.evaluate(f"document.querySelector('{explorer('field-arithmetic')}').innerText")
    assert now["invalid"] == field and says in text
    assert now["rows"] == rows, "a refused setting changed the table"
    assert not any(bad in text for bad in ("NaN", "Infinity", "undefined"))


def test_field_arithmetic_says_when_the_input_is_too_small(browser: DevTools, origin: str):
    open_explorer(browser, origin + CHAPTER1, "field-arithmetic")
    script = "".join(SET.format(which=f'input[aria-label="{k}"]', value=v, event="input")
                     for k, v in (("kernel", 7), ("padding", 0), ("dilation", 3), ("depth", 3),
                                  ("input size", 8)))
    now = act(browser, "field-arithmetic", script)
    assert all(r["out_size"] >= 1 for r in json.loads(now["rows"]))
    text = browser.evaluate(f"document.querySelector('{explorer('field-arithmetic')}').innerText")
    assert "too small" in text and "-" not in "".join(
        browser.evaluate(f"[...document.querySelectorAll('{explorer('field-arithmetic')} td')]"
                         ".map(td => td.textContent)"))


def test_field_arithmetic_draws_the_holes_of_a_dilated_field(browser: DevTools, origin: str):
    open_explorer(browser, origin + CHAPTER1, "field-arithmetic")
    script = "".join(SET.format(which=f'input[aria-label="{k}"]', value=v, event="input")
                     for k, v in (("kernel", 3), ("stride", 1), ("padding", 2), ("dilation", 2),
                                  ("depth", 1), ("input size", 24)))
    now = act(browser, "field-arithmetic", script)
    assert now["holes"] == "2"  # a 3-tap kernel with dilation 2 spans 5 pixels, reads 3
    if origin.startswith("http"):  # middle unit 11 reads 9, 11, 13; 10 and 12 are holes
        px = browser.evaluate(f"document.querySelector('{explorer('field-arithmetic')} canvas')"
                              ".width") // 24
        colours = [browser.evaluate(f"""Array.from(document.querySelector(
          '{explorer("field-arithmetic")} canvas').getContext('2d')
          .getImageData({p * px + px // 2}, 30, 1, 1).data).slice(0, 3)""") for p in (9, 10, 11)]
        assert colours[0] == colours[2] != colours[1]


def test_an_error_after_the_first_draw_is_shown(browser: DevTools, origin: str):
    open_explorer(browser, origin + CHAPTER6, "feature-maps")
    browser.evaluate("window.VGGLessons.data.maps.ranges.trained = null")  # update() now throws
    maps = explorer("feature-maps")
    browser.evaluate(f"""(() => {{ const s = document.querySelector('{maps} select[aria-label=layer]');
      s.value = '3'; s.dispatchEvent(new Event('change')); }})()""")
    browser.evaluate("new Promise(r => setTimeout(r, 100))", wait=True)
    shown = browser.evaluate(f"document.querySelector('{explorer('feature-maps')} .vgg-error')"
                             ".textContent")
    assert "could not draw" in shown and state(browser, "feature-maps")["error"] == shown
    browser.open(origin + CHAPTER6, 0.1)  # a fresh page for the next test


def test_explorers_fit_a_phone(browser: DevTools, origin: str):
    """At 390 px: the Layer drop-down inside the explorer, first-layer kernels at least
    30 px, attribution panels at least 130 px."""
    browser.set_width(390)
    try:
        open_explorer(browser, origin + CHAPTER6, "feature-maps")
        maps = explorer("feature-maps")
        sel, box = browser.evaluate(f"""[
          document.querySelector('{maps} select[aria-label=layer]').getBoundingClientRect().right,
          document.querySelector('{maps}').getBoundingClientRect().right]""")
        assert sel <= box
        open_explorer(browser, origin + CHAPTER6, "filters")
        kernel = browser.evaluate(f"document.querySelector('{explorer('filters')} canvas.vgg-kernels')"
                                  ".getBoundingClientRect().width / 8")
        assert kernel >= 30
        open_explorer(browser, origin + CHAPTER7, "attribution")
        panels = browser.evaluate(f"[...document.querySelectorAll('{explorer('attribution')} "
                                  ".vgg-attr-panels canvas')].map(c => c.getBoundingClientRect().width)")
        assert min(panels) >= 130, panels
    finally:
        browser.set_width(1280)
