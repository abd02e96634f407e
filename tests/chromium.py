"""Headless Chromium over the DevTools protocol, and the built book over HTTP.

Shared by tests/test_book_browser.py, tests/test_explorers_browser.py,
benchmarks/explorer_response.py and benchmarks/page_weight.py (the pages' weight and
first render, and their targets). Needs Debian's ``chromium`` and ``websocket-client``.
"""

from __future__ import annotations

import base64
import functools
import http.server
import json
import shutil
import subprocess
import tempfile
import threading
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--remote-allow-origins=*", "--window-size=1280,900"]
LOAD_TIMEOUT_S = 30
ROOT = Path(__file__).resolve().parents[1]


def toc_pages() -> list[str]:
    """Page names of the book in _toc.yml order, e.g. ``["book/intro", "book/01_...", ...]``."""
    import yaml

    toc = yaml.safe_load((ROOT / "_toc.yml").read_text())
    pages = [toc["root"]]
    for part in [toc] + toc.get("parts", []):
        pages += [entry["file"] for entry in part.get("chapters", [])]
    return pages


class DevTools:
    """One page target of a running Chromium: send commands, collect events."""

    def __init__(self, ws_url: str):
        import websocket  # websocket-client

        self.ws = websocket.create_connection(ws_url, timeout=LOAD_TIMEOUT_S, suppress_origin=True)
        self.next_id = 0
        self.events: list[dict] = []

    def send(self, method: str, **params) -> dict:
        self.next_id += 1
        self.ws.send(json.dumps({"id": self.next_id, "method": method, "params": params}))
        while True:
            message = json.loads(self.ws.recv())
            if message.get("id") == self.next_id:
                if "error" in message:
                    raise RuntimeError(f"{method} failed: {message['error']}")
                return message.get("result", {})
            self.events.append(message)

    def wait_for(self, event: str, timeout: float = LOAD_TIMEOUT_S) -> None:
        deadline = time.monotonic() + timeout
        while not any(e.get("method") == event for e in self.events):
            if time.monotonic() > deadline:
                raise TimeoutError(f"no {event} within {timeout} s")
            self.events.append(json.loads(self.ws.recv()))

    def drain(self, seconds: float) -> None:
        """Collect events for ``seconds`` more."""
        self.ws.settimeout(0.1)
        deadline = time.monotonic() + seconds
        try:
            while time.monotonic() < deadline:
                try:
                    self.events.append(json.loads(self.ws.recv()))
                except Exception:  # websocket timeout: nothing arrived in 0.1 s
                    pass
        finally:
            self.ws.settimeout(LOAD_TIMEOUT_S)

    def evaluate(self, expression: str, *, wait: bool = False):
        """The value of a JavaScript expression (``wait``: await the promise it returns)."""
        result = self.send("Runtime.evaluate", expression=expression, returnByValue=True,
                           awaitPromise=wait)
        if "exceptionDetails" in result:
            raise RuntimeError(f"{expression[:80]!r} threw: {result['exceptionDetails']}")
        return result["result"].get("value")

    def open(self, url: str, settle_s: float = 0.5) -> None:
        """Navigate to ``url`` and wait for its load event (events start afresh)."""
        self.events.clear()
        self.send("Page.navigate", url=url)
        self.wait_for("Page.loadEventFired")
        self.drain(settle_s)

    def set_width(self, width: int, height: int = 900) -> None:
        self.send("Emulation.setDeviceMetricsOverride", width=width, height=height,
                  deviceScaleFactor=1, mobile=width < 600)

    def screenshot(self, path: Path, clip: dict | None = None, full_page: bool = False) -> bytes:
        """A PNG of the viewport (or of ``clip``: x, y, width, height in CSS pixels)."""
        params: dict = {"format": "png"}
        if clip:
            params["clip"] = {**clip, "scale": 1}
        if full_page:
            params["captureBeyondViewport"] = True
        png = base64.b64decode(self.send("Page.captureScreenshot", **params)["data"])
        if path is not None:
            path.write_bytes(png)
        return png


#: Bytes a page may load at 1280 px, all resources, uncompressed (issue 23): the intro,
#: then any other page; and milliseconds to its first contentful paint on localhost.
INTRO_LIMIT, PAGE_LIMIT, FIRST_RENDER_LIMIT_MS = 1_200_000, 2_500_000, 500


def page_limit(page: str) -> int:
    """The most bytes ``page`` (a name from :func:`toc_pages`) may load."""
    return INTRO_LIMIT if page == toc_pages()[0] else PAGE_LIMIT


#: JavaScript: milliseconds from navigation to the first contentful paint.
FIRST_PAINT = """new Promise(resolve => {
  const get = () => performance.getEntriesByName('first-contentful-paint')[0];
  if (get()) { resolve(get().startTime); return; }
  new PerformanceObserver(() => { if (get()) resolve(get().startTime); })
    .observe({type: 'paint', buffered: true});
})"""


def page_weight(browser: DevTools, url: str, quiet_s: float = 0.6) -> dict[str, int]:
    """Every resource ``url`` loads (scrolled to its end, network quiet) -> decoded bytes.

    Needs a browser whose cache is off (``Network.setCacheDisabled``).
    """
    browser.open(url, 0.2)
    height = browser.evaluate("document.documentElement.scrollHeight")
    for y in range(0, height + 900, 600):  # explorers start when they come near the screen
        browser.evaluate(f"window.scrollTo(0, {y})")
        browser.drain(0.05)
    browser.evaluate("window.scrollTo(0, document.documentElement.scrollHeight)")
    seen = -1
    while seen != len(browser.events):  # until no event arrives for quiet_s
        seen = len(browser.events)
        browser.drain(quiet_s)
    urls: dict[str, str] = {}
    sizes: dict[str, int] = {}
    for event in browser.events:
        method, params = event.get("method"), event.get("params", {})
        if method == "Network.responseReceived":
            urls[params["requestId"]] = params["response"]["url"]
        elif method == "Network.dataReceived" and params["requestId"] in urls:
            key = urls[params["requestId"]]
            sizes[key] = sizes.get(key, 0) + params["dataLength"]
    return {url: sizes.get(url, 0) for url in urls.values()}


def first_render_ms(browser: DevTools, url: str) -> float:
    """Milliseconds from navigation to the first contentful paint."""
    browser.open(url, 0.0)
    return float(browser.evaluate(FIRST_PAINT, wait=True))


class QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args) -> None:  # keep pytest's output readable
        pass


@contextmanager
def serve(folder: Path) -> Iterator[str]:
    """``folder`` over HTTP on 127.0.0.1; yields its base URL (ending in ``/``)."""
    handler = functools.partial(QuietHandler, directory=str(folder))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()


@contextmanager
def chromium() -> Iterator[DevTools]:
    """A headless Chromium with a fresh profile, and a DevTools connection to one page.

    Raises:
        RuntimeError: ``chromium`` is not installed or did not start.
    """
    executable = shutil.which("chromium")
    if executable is None:
        raise RuntimeError("`chromium` is missing: install Debian's package with "
                           "`apt-get install -y chromium` (.ci/run does)")
    profile = Path(tempfile.mkdtemp(prefix="chromium-profile-"))
    process = subprocess.Popen([executable, *FLAGS, f"--user-data-dir={profile}",
                                "--remote-debugging-port=0", "about:blank"],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        port_file = profile / "DevToolsActivePort"
        deadline = time.monotonic() + LOAD_TIMEOUT_S
        while not (port_file.is_file() and port_file.read_text().strip()):
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"chromium did not start (exit code {process.poll()})")
            time.sleep(0.1)
        port = int(port_file.read_text().split()[0])
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/json/list") as response:
            pages = [t for t in json.load(response) if t["type"] == "page"]
        tools = DevTools(pages[0]["webSocketDebuggerUrl"])
        for domain in ("Page", "Runtime", "Log", "Network"):
            tools.send(f"{domain}.enable")
        tools.set_width(1280)
        yield tools
        tools.ws.close()
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
        shutil.rmtree(profile, ignore_errors=True)


@pytest.fixture(scope="module")
def browser() -> Iterator[DevTools]:
    """Pytest fixture: :func:`chromium` for one test module (fails if it cannot start)."""
    try:
        with chromium() as tools:
            yield tools
    except RuntimeError as err:
        pytest.fail(str(err), pytrace=False)
