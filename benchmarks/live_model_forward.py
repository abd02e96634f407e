"""How fast the live-model explorer runs the shipped VGG in the page (headless Chromium).

    python benchmarks/live_model_forward.py [--html _build/html] [--repeat 25] [--file]

Opens chapter 6 of a built book (``--html``), or else a page with only the live-model
explorer written for the occasion (tests/live_model_page.py: the book's scripts and a
``model.js`` from ``model_data``, with the first 16 CIFAR-10 test images), over
http://127.0.0.1 (or ``file://`` with ``--file``), and prints

- the forward pass alone (``liveModel.time``): median, fastest and slowest of
  ``--repeat`` runs on each of the 16 test images (target: median <= 100 ms);
- the response to a click on a test image: from the click to the frame after the
  redraw (forward pass, prediction, the layer's maps), median of 16;
- the sizes of ``model.js`` (layer list, test images) and ``model-weights.js``, the time
  from scrolling to the explorer to its first drawing, and from Run to the first prediction
  (the weights loaded, decoded, and the model run).

Needs Debian's ``chromium`` and ``websocket-client`` (tests/chromium.py).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT))

from chromium import chromium, serve  # noqa: E402

SEL = "document.querySelector('.vgg-explorer[data-explorer=\"live-model\"]')"
READY = f"""new Promise((resolve, reject) => {{
  const t0 = performance.now();
  (function poll() {{
    const root = {SEL};
    if (root && root.dataset.ready === 'true') resolve(performance.now());
    else if (root && root.dataset.ready === 'error') reject(new Error('explorer failed'));
    else if (performance.now() - t0 > 30000) reject(new Error('explorer not ready'));
    else setTimeout(poll, 10);
  }})();
}})"""
#: Press Run: the weights load, the first prediction is drawn; milliseconds it took.
RUN = f"""(async () => {{
  const root = {SEL}, t0 = performance.now();
  root.querySelector('button.vgg-run').click();
  while (root.dataset.drawn === '0|waiting') await new Promise(r => setTimeout(r, 0));
  return performance.now() - t0;
}})()"""
CLICK = """(async () => {{
  const root = {sel}, before = root.dataset.drawn, t0 = performance.now();
  root.querySelectorAll('.vgg-thumbs button')[{i}].click();
  while (root.dataset.drawn === before) await new Promise(r => setTimeout(r, 0));
  await new Promise(r => requestAnimationFrame(() => setTimeout(r, 0)));
  return performance.now() - t0;
}})()"""


def standalone(folder: Path) -> Path:
    """Write the one-explorer page into ``folder``; return the folder to serve."""
    from live_model_page import write_page

    from vgg_lessons.train import data, weights

    images, labels = data.load_cifar10("test")
    write_page(
        folder, weights.load_pretrained().eval(), images[:16], labels[:16].tolist()
    )
    return folder


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--html", type=Path, help="a built book's html folder (chapter 6)"
    )
    parser.add_argument(
        "--repeat", type=int, default=25, help="forward passes per image"
    )
    parser.add_argument(
        "--file", action="store_true", help="open it from file:// instead"
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        if args.html:
            folder, page = args.html, "book/06_what_vgg_sees.html"
        else:
            from live_model_page import PAGE

            folder, page = standalone(Path(tmp)), PAGE
        size = (folder / "_explorers" / "model.js").stat().st_size
        weights = (folder / "_explorers" / "model-weights.js").stat().st_size
        with chromium() as browser, serve(folder) as url:
            browser.send("Network.setCacheDisabled", cacheDisabled=True)
            browser.open((folder / page).as_uri() if args.file else url + page, 0.2)
            browser.evaluate(f"{SEL}.scrollIntoView()")
            start = browser.evaluate("performance.now()")
            drawn_at = browser.evaluate(READY, wait=True)
            loaded = browser.evaluate(RUN, wait=True)
            forward, clicks = [], []
            for i in range(16):
                clicks.append(browser.evaluate(CLICK.format(sel=SEL, i=i), wait=True))
                forward += browser.evaluate(f"{SEL}.liveModel.time({args.repeat})")
    where = "file://" if args.file else "http"
    print(
        f"live model ({where}, {'built book' if args.html else 'one-explorer page'}): "
        f"model.js {size / 1e6:.2f} MB, ready {drawn_at - start:.0f} ms after scrolling to "
        f"it; Run: model-weights.js {weights / 1e6:.2f} MB loaded and the first prediction "
        f"drawn in {loaded:.0f} ms"
    )
    print(
        f"forward pass: median {statistics.median(forward):.1f} ms, fastest {min(forward):.1f}, "
        f"slowest {max(forward):.1f} ({len(forward)} runs, 16 images; target median <= 100 ms)"
    )
    print(
        f"click on a test image to redrawn: median {statistics.median(clicks):.1f} ms, "
        f"slowest {max(clicks):.1f} (16 clicks)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
