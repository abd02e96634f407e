"""How fast the in-page explorers answer, and how much a first view loads (headless Chromium).

    python benchmarks/explorer_response.py [--html _build/html] [--before OTHER_HTML]

Opens the built book over http://127.0.0.1 with the browser cache off and

- for each explorer, makes 20 changes (image, layer, channel, weights; clicks on units;
  arithmetic settings) and times each in the page, from the change to the frame after
  the redraw (sheets not seen before are loaded from the server inside that time);
  prints the median and the slowest (target: median < 50 ms);
- adds up the bytes of data and code that each explorer's first view loads (page
  opened, scrolled to the explorer, nothing changed yet) (target: <= 300 KB for the first view);
- prints each page's weight, HTML plus the images it shows, and with ``--before`` the
  same for another build (e.g. of ``main``) beside it.

Needs Debian's ``chromium`` and ``websocket-client`` (tests/chromium.py).
"""

from __future__ import annotations

import argparse
import re
import statistics
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

from chromium import DevTools, chromium, serve  # noqa: E402

SEL = '.vgg-explorer[data-explorer="{}"]'
#: JavaScript: apply change number ``i`` to ``root`` (the explorer), per explorer.
CHANGES = {
    "feature-maps": """const k = i % 4, q = (a, v, e) => { const s = root.querySelector(a);
        s.value = v; s.dispatchEvent(new Event(e)); };
      if (k === 0) root.querySelectorAll('.vgg-thumbs button')[(i * 5) % 16].click();
      else if (k === 1) q('select[aria-label=layer]', (i * 7) % 21, 'change');
      else if (k === 2) q('input[aria-label=channel]', i % 16, 'input');
      else q('select[aria-label=weights]', i % 8 === 3 ? 'random' : 'trained', 'change');""",
    "receptive-field": """const m = root.querySelector('.vgg-map'), r = m.getBoundingClientRect();
      m.dispatchEvent(new MouseEvent('click', {clientX: r.left + ((i * 37) % 97 + 1) / 100 * r.width,
                                              clientY: r.top + ((i * 53) % 97 + 1) / 100 * r.height}));""",
    "attribution": """const k = i % 4, q = (a, v, e) => { const s = root.querySelector(a);
        s.value = v; s.dispatchEvent(new Event(e)); };
      if (k === 0) root.querySelectorAll('.vgg-thumbs button')[(i * 5) % 16].click();
      else if (k === 1) q('select[aria-label=method]', i % 5, 'change');
      else if (k === 2) root.querySelectorAll('.vgg-classes button')[(i * 3 + 1) % 10].click();
      else q('select[aria-label=weights]', i % 8 === 3 ? 'random' : 'trained', 'change');""",
    "filters": """const s = root.querySelector('input[aria-label=channel]');
      s.value = (i * 11) % 128; s.dispatchEvent(new Event('input'));""",
    "field-arithmetic": """const s = root.querySelector('input[aria-label=kernel]');
      s.value = 1 + (i % 7); s.dispatchEvent(new Event('input'));""",
}
TIME_ONE = """(async () => {{
  const root = document.querySelector('{sel}'), i = {i}, before = root.dataset.drawn;
  const t0 = performance.now();
  {change}
  while (root.dataset.drawn === before) await new Promise(r => setTimeout(r, 0));
  await new Promise(r => requestAnimationFrame(() => setTimeout(r, 0)));
  return performance.now() - t0;
}})()"""
WAIT_READY = """new Promise(resolve => {{
  const root = document.querySelector('{sel}');
  root.scrollIntoView();
  (function poll() {{
    if (root.dataset.ready && root.dataset.drawn) resolve(true); else setTimeout(poll, 20);
  }})();
}})"""


def first_view_bytes(browser: DevTools, url: str, kind: str) -> dict[str, int]:
    """Bytes of explorer data and code that a fresh load of ``url``, scrolled to the
    explorer ``kind``, transfers until it is drawn (neighbours that start too included)."""
    browser.send("Network.setCacheDisabled", cacheDisabled=True)
    browser.open(url, 0.2)
    browser.evaluate(WAIT_READY.format(sel=SEL.format(kind)), wait=True)
    browser.drain(0.5)
    urls, sizes = {}, {}
    for event in browser.events:
        params = event.get("params", {})
        if event.get("method") == "Network.responseReceived":
            urls[params["requestId"]] = params["response"]["url"]
        elif event.get("method") == "Network.loadingFinished":
            url = urls.get(params["requestId"], "")
            if "/_explorers/" in url or "/vgg-lessons/explorers" in url:
                sizes[url.split("/", 3)[-1]] = int(params["encodedDataLength"])
    return sizes


def response_times(browser: DevTools, url: str, kind: str, n: int = 20) -> list[float]:
    browser.open(url, 0.2)
    browser.evaluate(WAIT_READY.format(sel=SEL.format(kind)), wait=True)
    return [browser.evaluate(TIME_ONE.format(sel=SEL.format(kind), i=i, change=CHANGES[kind]),
                             wait=True) for i in range(1, n + 1)]


def page_weights(html: Path) -> dict[str, int]:
    """Bytes of each chapter page: its HTML plus the local images it shows."""
    weights = {}
    for page in sorted((html / "book").glob("*.html")):
        text = page.read_text(encoding="utf-8")
        images = {(page.parent / src).resolve() for src in re.findall(r'<img [^>]*src="([^"]+)"', text)
                  if "://" not in src and not src.startswith("data:")}
        weights[page.stem] = page.stat().st_size + sum(p.stat().st_size for p in images if p.is_file())
    return weights


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--html", type=Path, default=ROOT / "_build" / "html",
                        help="the built book (jupyter-book build .)")
    parser.add_argument("--before", type=Path, help="another build, to compare page weights")
    args = parser.parse_args(argv)
    if not (args.html / "book").is_dir():
        parser.error(f"no built book in {args.html}: run `jupyter-book build .` first")
    pages = {"feature-maps": "06_what_vgg_sees", "receptive-field": "06_what_vgg_sees",
             "filters": "06_what_vgg_sees", "attribution": "08_what_the_model_looks_at",
             "field-arithmetic": "01_receptive_fields"}
    failed = False
    with serve(args.html) as origin, chromium() as browser:
        for kind, page in pages.items():
            sizes = first_view_bytes(browser, f"{origin}book/{page}.html", kind)
            total = sum(sizes.values())
            failed |= total > 300_000
            print(f"first view of {kind:17s}: {total / 1000:6.1f} KB of explorer data and code "
                  f"in {len(sizes)} files (target <= 300 KB)")
        browser.send("Network.setCacheDisabled", cacheDisabled=False)
        for kind, page in pages.items():
            times = response_times(browser, f"{origin}book/{page}.html", kind)
            median = statistics.median(times)
            failed |= median >= 50
            print(f"{kind:17s} response to 20 changes: median {median:.1f} ms, "
                  f"slowest {max(times):.1f} ms (target: median < 50 ms)")
    after = page_weights(args.html)
    before = page_weights(args.before) if args.before else {}
    print("page weight (HTML + images), KB:" + ("  before -> after" if before else ""))
    for page, size in after.items():
        was = f"{before[page] / 1000:8.1f} -> " if page in before else ""
        print(f"  {page:24s} {was}{size / 1000:8.1f}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
