"""What each page of the built book weighs with everything it loads, and how fast it renders.

    python benchmarks/page_weight.py [--html _build/html] [--runs 5] [--width 1280]

Opens every page of ``_toc.yml`` over http://127.0.0.1 in headless Chromium at 1280 px
with the browser cache off, scrolls to the bottom (the explorers load their data when
they come near the screen; late images load) and waits until the network is quiet, then
adds up the decoded (uncompressed) bytes of every response: HTML, scripts, style sheets,
fonts, images, the explorers' data. It prints per page the total, the median first
contentful paint over ``--runs`` loads, and the five largest resources.

Targets (issue 23): the intro <= 1.2 MB, every chapter <= 2.5 MB, first render <= 500 ms.
tests/test_book_browser.py checks the same targets with the same functions (tests/chromium.py).

Needs Debian's ``chromium`` and ``websocket-client`` (tests/chromium.py).
"""

from __future__ import annotations

import argparse
import statistics
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

from chromium import (  # noqa: E402
    FIRST_RENDER_LIMIT_MS,
    chromium,
    first_render_ms,
    page_limit,
    page_weight,
    serve,
    toc_pages,
)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--html", type=Path, default=ROOT / "_build" / "html")
    parser.add_argument(
        "--runs", type=int, default=5, help="loads per page for the paint time"
    )
    parser.add_argument("--width", type=int, default=1280)
    args = parser.parse_args()
    with serve(args.html) as origin, chromium() as browser:
        browser.send("Network.setCacheDisabled", cacheDisabled=True)
        browser.set_width(args.width)
        for page in toc_pages():
            url = origin + page + ".html"
            weights = page_weight(browser, url)
            paints = [first_render_ms(browser, url) for _ in range(args.runs)]
            total = sum(weights.values())
            limit, paint = page_limit(page), statistics.median(paints)
            slow = "" if paint <= FIRST_RENDER_LIMIT_MS else ", OVER"
            print(
                f"{page}: {total / 1e6:.2f} MB in {len(weights)} files "
                f"(limit {limit / 1e6:.1f} MB{'' if total <= limit else ', OVER'}); "
                f"first render median {paint:.0f} ms over {args.runs} "
                f"(limit {FIRST_RENDER_LIMIT_MS} ms{slow})"
            )
            for name, size in sorted(weights.items(), key=lambda kv: -kv[1])[:5]:
                print(f"    {size / 1e3:8.1f} KB  {name.removeprefix(origin)}")


if __name__ == "__main__":
    main()
