"""The live-model explorer (explorers-model.js) in headless Chromium, over HTTP and file://.

Most tests use a small page with only this explorer (tests/live_model_page.py: the book's
own scripts and a ``model.js`` written by ``model_data``), which takes seconds where the
book takes minutes; the last one opens chapter 6 of the built book.

- the page's logits and two layers' outputs equal PyTorch's (the shipped model) for the 16
  explorer test images and a generated image, within 1e-3 of each image's logit range;
- an uploaded image (``DOM.setFileInputFiles``) and a dropped one change the prediction
  shown; a 32x32 upload reaches the model pixel for pixel; a larger, non-square one is
  centre-cropped and downscaled;
- the forward pass takes at most 100 ms (median of 25); the weights load only when a
  prediction is first asked for (Run, from the keyboard);
- every canvas and control is labelled and in the tab order; the channel grid works from
  the keyboard; nothing is logged to the console as an error;
- in the built chapter 6, the page's prediction and top 3 for each test image are the
  ones PyTorch computed when the book was built (the feature-map explorer's data).
"""

from __future__ import annotations

import base64
import io
import json
import statistics
from collections.abc import Iterator
from pathlib import Path

import chromium
import numpy as np
import pytest
import torch
from chromium import DevTools, serve
from live_model_page import PAGE, write_page
from PIL import Image

from vgg_lessons.inputs import normalize
from vgg_lessons.train import weights
from vgg_lessons.probes import hooks
from vgg_lessons.publishing.site import explorer_data
from vgg_lessons.viz import paper_figures
from vgg_lessons.train import checkpoints, data

browser = chromium.browser  # the fixture: a headless Chromium for this module
ROOT_JS = "document.querySelector('.vgg-explorer[data-explorer=\"live-model\"]')"
LAYERS = ("stage3.relu2", "stage5.conv2")  # the layers compared with PyTorch
TOLERANCE = 1e-3  # of the logit range (max - min) of each image
FORWARD_LIMIT_MS = 100
CHAPTER6 = "book/06_what_vgg_sees.html"


@pytest.fixture(scope="module")
def model():
    """The model the page runs: the small one (the other explorers show weights.INSPECTED)."""
    return weights.load_pretrained(weights.DEFAULT).eval()


@pytest.fixture(scope="module")
def shown(cifar10_test):
    """The 16 explorer test images (uint8 (16, 3, 32, 32)) and labels, chosen as the book
    does: by the predictions of the model the other explorers show."""
    images, labels = cifar10_test
    searched = images[: explorer_data.SEARCHED]
    with torch.no_grad():
        predicted = weights.load_pretrained(weights.INSPECTED)(normalize(searched)).argmax(1)
    index = paper_figures.pick_examples(predicted, labels[: explorer_data.SEARCHED], explorer_data.N_IMAGES,
                                       explorer_data.N_WRONG)
    return searched[index], labels[index].tolist()


@pytest.fixture(scope="module")
def page_folder(model, shown, tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("live-model")
    write_page(folder, model, *shown)
    return folder


@pytest.fixture(scope="module", params=["http", "file"])
def page_url(request: pytest.FixtureRequest, page_folder: Path) -> Iterator[str]:
    if request.param == "file":
        yield (page_folder / PAGE).as_uri()
    else:
        with serve(page_folder) as url:
            yield url + PAGE


def errors(browser: DevTools) -> list:
    """Console errors and uncaught exceptions among the events since the page was opened."""
    return [
        e
        for e in browser.events
        if e.get("method") == "Runtime.exceptionThrown"
        or (
            e.get("method") == "Runtime.consoleAPICalled"
            and e["params"]["type"] == "error"
        )
        or (
            e.get("method") == "Log.entryAdded"
            and e["params"]["entry"]["level"] == "error"
        )
    ]


def open_live(browser: DevTools, url: str, run: bool = True) -> dict:
    """Open ``url``, wait for the explorer; with ``run``, press Run (the weights load) and
    wait for the first prediction."""
    browser.open(url, 0.2)
    browser.evaluate(f"{ROOT_JS}.scrollIntoView()")
    browser.evaluate(
        f"""new Promise((resolve, reject) => {{
      const t0 = performance.now();
      (function poll() {{
        const root = {ROOT_JS};
        if (root && root.dataset.ready === 'true' && root.dataset.drawn) resolve(true);
        else if (root && root.dataset.ready === 'error') reject(new Error('explorer failed'));
        else if (performance.now() - t0 > 20000) reject(new Error('explorer not ready'));
        else setTimeout(poll, 20);
      }})();
    }})""",
        wait=True,
    )
    if not run:
        return state(browser)
    browser.evaluate(f"{ROOT_JS}.querySelector('button.vgg-run').click()")
    return wait_redraw(browser, "0|waiting")


def weights_requested(browser: DevTools) -> bool:
    """Whether model-weights.js has run (resource timing does not list file:// loads)."""
    return browser.evaluate(
        "Boolean(window.VGGLessons && window.VGGLessons.modelWeights)"
    )


def state(browser: DevTools) -> dict:
    return browser.evaluate(f"Object.assign({{}}, {ROOT_JS}.dataset)")


def wait_redraw(browser: DevTools, before: str) -> dict:
    browser.evaluate(
        f"""new Promise((resolve, reject) => {{
      const root = {ROOT_JS}, t0 = performance.now();
      (function poll() {{
        if (root.dataset.drawn !== {json.dumps(before)}) resolve(true);
        else if (root.dataset.error) reject(new Error(root.dataset.error));
        else if (performance.now() - t0 > 10000) reject(new Error('no redraw'));
        else setTimeout(poll, 10);
      }})();
    }})""",
        wait=True,
    )
    return state(browser)


def page_forward(browser: DevTools, pixels: np.ndarray) -> dict:
    return browser.evaluate(
        f"{ROOT_JS}.liveModel.forward({json.dumps(pixels.ravel().tolist())}, "
        f"{json.dumps(list(LAYERS))})"
    )


def pytorch(model, pixels: np.ndarray) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    inputs = normalize(torch.from_numpy(pixels.reshape(1, 3, 32, 32).copy()))
    maps = hooks.feature_maps(model, inputs, list(LAYERS))
    with torch.no_grad():
        logits = model(inputs)[0].numpy()
    return logits, {name: maps[name][0].numpy() for name in LAYERS}


def assert_equal_to_pytorch(
    model, browser: DevTools, pixels: np.ndarray, what: str
) -> float:
    """The page's logits and LAYERS' outputs for ``pixels`` equal PyTorch's; the worst
    difference, as a fraction of the logit range."""
    shown = page_forward(browser, pixels)
    logits, maps = pytorch(model, pixels)
    scale = float(logits.max() - logits.min())
    worst = float(np.abs(np.array(shown["logits"]) - logits).max()) / scale
    for name in LAYERS:
        diff = (
            np.abs(np.array(shown["outputs"][name]) - maps[name].ravel()).max() / scale
        )
        assert diff <= TOLERANCE, (
            f"{what}: {name} differs by {diff:.2e} of the logit range"
        )
        worst = max(worst, float(diff))
    assert worst <= TOLERANCE, (
        f"{what}: the logits differ by {worst:.2e} of their range"
    )
    return worst


def generated_image(seed: int = 0) -> np.ndarray:
    """A smooth random colour pattern with some noise, uint8 (3, 32, 32)."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:32, 0:32] / 31
    base = [
        np.sin(
            2
            * np.pi
            * (rng.uniform(0.5, 2) * x + rng.uniform(0.5, 2) * y + rng.uniform())
        )
        for _ in range(3)
    ]
    image = 127.5 + 100 * np.stack(base) + rng.normal(0, 12, (3, 32, 32))
    return image.clip(0, 255).round().astype(np.uint8)


def png(pixels_hwc: np.ndarray, path: Path) -> Path:
    Image.fromarray(pixels_hwc).save(path)
    return path


def upload(browser: DevTools, path: Path) -> dict:
    """Set the explorer's file input to ``path`` (as a reader picking a file would)."""
    before = state(browser)["drawn"]
    node = browser.send(
        "Runtime.evaluate", expression=f"{ROOT_JS}.querySelector('input[type=file]')"
    )["result"]
    browser.send("DOM.setFileInputFiles", files=[str(path)], objectId=node["objectId"])
    return wait_redraw(browser, before)


def test_page_equals_pytorch_on_the_test_images_and_a_generated_one(
    browser: DevTools, page_url: str, model, shown
):
    open_live(browser, page_url)
    images, labels = shown
    worst = 0.0
    for i in range(len(images)):
        before = state(browser)["drawn"]
        browser.evaluate(
            f"{ROOT_JS}.querySelectorAll('.vgg-thumbs button')[{i}].click()"
        )
        now = (
            state(browser)
            if i == 0 and before.split("|")[1] == "test:0"
            else wait_redraw(browser, before)
        )
        held = np.array(browser.evaluate(f"{ROOT_JS}.liveModel.pixels()"), np.uint8)
        assert np.array_equal(held, images[i].numpy().ravel()), (
            f"test image {i} is not the book's"
        )
        worst = max(
            worst, assert_equal_to_pytorch(model, browser, held, f"test image {i}")
        )
        logits, _ = pytorch(model, held)
        assert now["predicted"] == data.CLASSES[int(logits.argmax())]
        assert now["top3"] == ",".join(data.CLASSES[k] for k in np.argsort(-logits)[:3])
    worst = max(
        worst, assert_equal_to_pytorch(model, browser, generated_image(), "generated")
    )
    print(f"largest difference from PyTorch: {worst:.2e} of the logit range")
    assert not errors(browser)


def test_uploaded_images_change_the_prediction(
    browser: DevTools, page_url: str, model, shown, cifar10_test, tmp_path
):
    first = open_live(browser, page_url)
    # a generated 32x32 image: it reaches the model pixel for pixel
    pixels = generated_image(1)
    now = upload(browser, png(pixels.transpose(1, 2, 0), tmp_path / "pattern.png"))
    assert now["source"] == "upload:pattern.png"
    held = np.array(browser.evaluate(f"{ROOT_JS}.liveModel.pixels()"), np.uint8)
    assert np.array_equal(held, pixels.ravel())
    assert_equal_to_pytorch(model, browser, held, "uploaded pattern")
    # a photograph the model gets right, of another class than the first test image's
    # prediction: 4x larger, between grey bands (the crop must drop them)
    images, labels = cifar10_test
    with torch.no_grad():
        probs = torch.softmax(model(normalize(images[1000:1200])), 1)
    confident = [
        1000 + i
        for i, p in enumerate(probs)
        if p.max() > 0.9
        and data.CLASSES[int(p.argmax())] not in (first["predicted"], now["predicted"])
        and int(p.argmax()) == int(labels[1000 + i])
    ]
    photo = images[confident[0]].permute(1, 2, 0).numpy()
    big = np.full((128, 192, 3), 128, np.uint8)
    big[:, 32:160] = photo.repeat(4, axis=0).repeat(4, axis=1)
    now = upload(browser, png(big, tmp_path / "photo.png"))
    assert now["source"] == "upload:photo.png"
    expected = data.CLASSES[int(labels[confident[0]])]
    assert now["predicted"] == expected != first["predicted"]
    text = browser.evaluate(f"{ROOT_JS}.querySelector('.vgg-prediction').textContent")
    assert f"The model says {expected}" in text
    held = np.array(browser.evaluate(f"{ROOT_JS}.liveModel.pixels()"), np.int16)
    off = np.abs(held - photo.transpose(2, 0, 1).ravel().astype(np.int16)).mean()
    assert off < 4, (
        f"the cropped, downscaled upload is {off:.1f} levels off the photograph"
    )
    # a dropped file (a synthetic drop event carrying the first test image as a PNG)
    buffer = io.BytesIO()
    Image.fromarray(shown[0][0].permute(1, 2, 0).numpy()).save(buffer, format="PNG")
    before = state(browser)["drawn"]
    browser.evaluate(f"""(() => {{
      const bytes = Uint8Array.from(atob('{base64.b64encode(buffer.getvalue()).decode()}'),
                                    c => c.charCodeAt(0));
      const transfer = new DataTransfer();
      transfer.items.add(new File([bytes], 'dropped.png', {{type: 'image/png'}}));
      {ROOT_JS}.dispatchEvent(new DragEvent('drop', {{dataTransfer: transfer, bubbles: true,
                                                      cancelable: true}}));
    }})()""")
    now = wait_redraw(browser, before)
    assert (
        now["source"] == "upload:dropped.png" and now["predicted"] == first["predicted"]
    )
    # a file that is no image says so, and breaks nothing
    (tmp_path / "notes.png").write_text("not an image")
    node = browser.send(
        "Runtime.evaluate", expression=f"{ROOT_JS}.querySelector('input[type=file]')"
    )["result"]
    browser.send(
        "DOM.setFileInputFiles",
        files=[str(tmp_path / "notes.png")],
        objectId=node["objectId"],
    )
    browser.evaluate(
        f"""new Promise(r => (function poll() {{
      if ({ROOT_JS}.dataset.error) r(); else setTimeout(poll, 10); }})())""",
        wait=True,
    )
    assert "Could not read notes.png" in browser.evaluate(f"{ROOT_JS}.innerText")
    assert not errors(browser)


def test_forward_pass_is_fast_and_the_grid_works_from_the_keyboard(
    browser: DevTools, page_url: str
):
    # the weights (1.5 MB) load only when a prediction is asked for
    waiting = open_live(browser, page_url, run=False)
    assert waiting["drawn"] == "0|waiting" and not weights_requested(browser)
    unlabelled = browser.evaluate(f"""(() => {{
      const root = {ROOT_JS};
      return [...root.querySelectorAll('canvas')].filter(c => !(
          (c.getAttribute('role') === 'img' && c.getAttribute('aria-label')) ||
          (c.getAttribute('aria-hidden') === 'true' && c.closest('button[aria-label]'))))
        .map(c => c.className || 'canvas')
        .concat([...root.querySelectorAll('button, select, input')].filter(e =>
          !(e.getAttribute('aria-label') || e.closest('label')) || e.tabIndex < 0)
          .map(e => e.outerHTML.slice(0, 60)));
    }})()""")
    assert not unlabelled, f"unlabelled or out of the tab order: {unlabelled}"
    browser.evaluate(f"{ROOT_JS}.querySelector('button.vgg-run').focus()")
    for kind in (
        "keyDown",
        "keyUp",
    ):  # Enter on the focused button, as from the keyboard
        browser.send(
            "Input.dispatchKeyEvent",
            type=kind,
            key="Enter",
            code="Enter",
            windowsVirtualKeyCode=13,
            text="\r" if kind == "keyDown" else "",
        )
    first = wait_redraw(browser, "0|waiting")
    assert (
        weights_requested(browser)
        and first["source"] == "test:0"
        and first["predicted"]
    )
    times = browser.evaluate(f"{ROOT_JS}.liveModel.time(25)")
    median = statistics.median(times)
    print(f"forward pass: median {median:.1f} ms of {len(times)}")
    assert median <= FORWARD_LIMIT_MS
    before = state(browser)
    select = f"{ROOT_JS}.querySelector('select[aria-label=layer]')"
    index = browser.evaluate(
        f"[...{select}.options].findIndex(o => o.text.startsWith('stage4.relu2'))"
    )
    browser.evaluate(
        f"(() => {{ const s = {select}; s.selectedIndex = {index}; "
        "s.dispatchEvent(new Event('change')); })()"
    )
    now = wait_redraw(browser, before["drawn"])
    assert now["layerName"] == "stage4.relu2"
    browser.evaluate(f"{ROOT_JS}.querySelector('canvas.vgg-grid').focus()")
    for key, channel in (("ArrowRight", "1"), ("ArrowDown", "17"), ("ArrowLeft", "16")):
        before = now["drawn"]
        for kind in ("keyDown", "keyUp"):
            browser.send("Input.dispatchKeyEvent", type=kind, key=key, code=key)
        now = wait_redraw(browser, before)
        assert now["channel"] == channel, f"{key} left the channel at {now['channel']}"
    assert not errors(browser)


@pytest.mark.parametrize("how", ["http", "file"])
def test_chapter6_runs_the_model_as_pytorch_did(
    browser: DevTools, book_html: Path, how: str, model, shown
):
    """The page's top 3 for each of the 16 test images is the small model's in PyTorch
    (the maps' top 3 in the manifest are the other model's, weights.INSPECTED)."""
    text = (book_html / "_explorers" / "manifest.js").read_text(encoding="utf-8")
    manifest = json.loads(
        text.removeprefix(explorer_data.MANIFEST_PREFIX).rstrip().rstrip(";")
    )
    images, _ = shown
    assert manifest["live_model"]["n_weights"] == sum(p.numel() for p in model.state_dict().values()
                                                      if p.is_floating_point())
    with torch.no_grad():
        top3 = model(normalize(images)).topk(3, dim=1).indices.tolist()
    classes = manifest["classes"]

    def check(url: str) -> None:
        now = open_live(browser, url)
        for i in range(len(top3)):
            if now["source"] != f"test:{i}":
                before = now["drawn"]
                browser.evaluate(
                    f"{ROOT_JS}.querySelectorAll('.vgg-thumbs button')[{i}].click()"
                )
                now = wait_redraw(browser, before)
            assert now["top3"] == ",".join(classes[c] for c in top3[i]), (
                f"test image {i}"
            )
        assert float(now["forwardMs"]) > 0
        assert not errors(browser)

    if how == "file":
        check((book_html / CHAPTER6).as_uri())
    else:
        with serve(book_html) as url:
            check(url + CHAPTER6)
