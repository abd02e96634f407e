"""The rendered book in a real browser: headless Chromium over the DevTools protocol.

Builds the book once (the ``book_html`` fixture of conftest.py), serves it on
127.0.0.1, opens every page of the table of contents in Debian's ``chromium`` and
checks that

- the page loads with no JavaScript exception, no console error and no failed
  request for a file of the book;
- every local ``href``/``src`` (links, images, scripts, style sheets) names a file
  that exists in the built HTML, and a ``#fragment`` names an id on that page;
- every image on the page decoded (``naturalWidth > 0``);
- on a notebook page, the Colab button opens that notebook:
  ``https://colab.research.google.com/github/<owner>/<repo>/blob/<branch>/book/<name>.ipynb``
  with owner, repo and branch from ``_config.yml``.

A screenshot of each page is saved under pytest's temporary folder (the path is
printed; run with ``-s`` to see it). Requests to other hosts (CDNs: MathJax, fonts)
cannot load offline, in CI; they are reported, not failed.

Needs ``chromium`` (``apt-get install chromium``, done by ``.ci/run``) and the
``websocket-client`` package (requirements.txt). It runs in the normal ``pytest`` run:
starting Chromium and visiting the pages takes seconds, the book build is shared with
tests/test_book.py.
"""

from __future__ import annotations

import base64
import functools
import http.server
import json
import re
import shutil
import subprocess
import tempfile
import threading
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import unquote, urljoin, urlsplit

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--remote-allow-origins=*", "--window-size=1280,900"]
LOAD_TIMEOUT_S = 30
#: Errors of the themes' own JavaScript, not of our pages, seen with jupyter-book 1.0.4.
#: Each is printed when it occurs; delete an entry once the book's config avoids it.
KNOWN_THEME_ERRORS = (
    # sphinx-thebe's settings script is included twice in every page's <head>; thebe
    # (live code in the page) is not used by this book, Colab is.
    "Identifier 'THEBE_JS_URL' has already been declared",
    # pydata-sphinx-theme, first page in a fresh profile: no saved light/dark mode yet.
    "Got invalid theme mode: . Resetting to auto.",
)
SETTLE_S = 0.5  # after the load event: late scripts may still log errors


def toc_pages() -> list[str]:
    """Page names of the book in _toc.yml order, e.g. ``["book/intro", "book/01_...", ...]``."""
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text())
    pages = [toc["root"]]
    for part in [toc] + toc.get("parts", []):
        pages += [entry["file"] for entry in part.get("chapters", [])]
    return pages


def colab_url(page: str) -> str:
    """The Colab link a notebook page must carry, from the repository named in _config.yml."""
    config = yaml.safe_load((ROOT / "_config.yml").read_text())
    repo = config["repository"]
    owner_repo = urlsplit(repo["url"]).path.strip("/")
    book = (repo.get("path_to_book") or "").strip("/")
    path = f"{book}/{page}.ipynb" if book else f"{page}.ipynb"
    return (f"{config['launch_buttons']['colab_url'].rstrip('/')}/github/{owner_repo}/blob/"
            f"{repo.get('branch', 'main')}/{path}")


# ---- a minimal DevTools-protocol client ------------------------------------------------
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

    def evaluate(self, expression: str):
        result = self.send("Runtime.evaluate", expression=expression, returnByValue=True)
        return result["result"].get("value")


@pytest.fixture(scope="module")
def served_book(book_html: Path) -> Iterator[str]:
    """The built book over HTTP on 127.0.0.1 (as a reader's server would serve it)."""
    handler = functools.partial(QuietHandler, directory=str(book_html))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/"
    server.shutdown()
    server.server_close()


class QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args) -> None:  # keep pytest's output readable
        pass


@pytest.fixture(scope="module")
def browser() -> Iterator[DevTools]:
    """A headless Chromium with a fresh profile, and a DevTools connection to one page."""
    executable = shutil.which("chromium")
    if executable is None:
        pytest.fail("`chromium` is missing: install Debian's package with "
                    "`apt-get install -y chromium` (.ci/run does)", pytrace=False)
    profile = Path(tempfile.mkdtemp(prefix="chromium-profile-"))
    process = subprocess.Popen([executable, *FLAGS, f"--user-data-dir={profile}",
                                "--remote-debugging-port=0", "about:blank"],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        port_file = profile / "DevToolsActivePort"
        deadline = time.monotonic() + LOAD_TIMEOUT_S
        while not (port_file.is_file() and port_file.read_text().strip()):
            if process.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"chromium did not start (exit code {process.poll()})", pytrace=False)
            time.sleep(0.1)
        port = int(port_file.read_text().split()[0])
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/json/list") as response:
            pages = [t for t in json.load(response) if t["type"] == "page"]
        tools = DevTools(pages[0]["webSocketDebuggerUrl"])
        for domain in ("Page", "Runtime", "Log", "Network"):
            tools.send(f"{domain}.enable")
        tools.send("Emulation.setDeviceMetricsOverride", width=1280, height=900,
                   deviceScaleFactor=1, mobile=False)
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
def screenshots(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("browser-screenshots")
    print(f"\nbook screenshots: {folder}")
    return folder


COLLECT_URLS = """[...document.querySelectorAll('a[href]')].map(e => e.getAttribute('href'))
  .concat([...document.querySelectorAll('img[src], script[src]')].map(e => e.getAttribute('src')))
  .concat([...document.querySelectorAll('link[href]')].map(e => e.getAttribute('href')))"""
BROKEN_IMAGES = """[...document.images].filter(i => !(i.complete && i.naturalWidth > 0))
  .map(i => i.getAttribute('src'))"""
COLAB_LINKS = """[...document.querySelectorAll('a[href*="colab.research.google.com"]')]
  .map(a => a.href)"""


def page_errors(events: list[dict], origin: str) -> tuple[list[str], list[str]]:
    """(errors, offline) from collected DevTools events: JS exceptions, console errors,
    failed local requests; and failed requests to other hosts (not errors offline)."""
    errors, offline, urls = [], [], {}
    favicon = origin + "favicon.ico"  # asked for by the browser itself, not by the page
    for event in events:
        method, params = event.get("method"), event.get("params", {})
        if favicon in json.dumps(params):
            continue
        if method == "Network.requestWillBeSent":
            urls[params["requestId"]] = params["request"]["url"]
        elif method == "Network.loadingFailed":
            url = urls.get(params["requestId"], "?")
            if url.startswith(origin):
                errors.append(f"request failed: {url} ({params.get('errorText')})")
            else:
                offline.append(url)
        elif method == "Network.responseReceived":
            response = params["response"]
            if response["url"].startswith(origin) and response["status"] >= 400:
                errors.append(f"HTTP {response['status']}: {response['url']}")
        elif method == "Runtime.exceptionThrown":
            details = params["exceptionDetails"]
            text = details.get("exception", {}).get("description") or details.get("text")
            errors.append(f"JavaScript exception: {text}")
        elif method == "Runtime.consoleAPICalled" and params.get("type") == "error":
            errors.append("console.error: " + " ".join(
                str(a.get("value", a.get("description", ""))) for a in params.get("args", [])))
        elif method == "Log.entryAdded" and params["entry"]["level"] == "error":
            entry = params["entry"]
            url = entry.get("url", "")
            if entry.get("source") == "network" and url and not url.startswith(origin):
                offline.append(url)  # the same failed request, as a log line
            else:
                errors.append(f"console: {entry.get('text')} {url}".strip())
    return errors, sorted(set(offline))


def unresolved_links(urls: list[str], page_url: str, origin: str, html_root: Path) -> list[str]:
    """The local URLs among ``urls`` that name no file (or no id) in the built book."""
    bad = []
    for raw in urls:
        if not raw or raw.startswith(("mailto:", "javascript:", "data:")):
            continue
        url = urljoin(page_url, raw)
        if not url.startswith(origin):
            continue  # another host: GitHub, Colab, a CDN
        parts = urlsplit(url)
        path = unquote(parts.path)
        target = html_root / path.lstrip("/")
        if path.endswith("/"):
            target = target / "index.html"
        if not target.is_file():
            bad.append(f"{raw} (no file {target.relative_to(html_root)})")
        elif parts.fragment and target.suffix == ".html":
            ids = re.findall(r'\sid="([^"]+)"', target.read_text(encoding="utf-8"))
            if unquote(parts.fragment) not in ids:
                bad.append(f"{raw} (no id {parts.fragment!r} in {target.relative_to(html_root)})")
    return sorted(set(bad))


@pytest.mark.slow
@pytest.mark.parametrize("page", toc_pages())
def test_page_in_chromium(page: str, browser: DevTools, served_book: str, book_html: Path,
                          screenshots: Path):
    html_file = book_html / f"{page}.html"
    assert html_file.is_file(), f"{page} is in _toc.yml but the build made no {html_file.name}"
    url = served_book + f"{page}.html"
    browser.events.clear()
    browser.send("Page.navigate", url=url)
    browser.wait_for("Page.loadEventFired")
    browser.drain(SETTLE_S)
    shot = browser.send("Page.captureScreenshot", format="png")
    (screenshots / f"{page.replace('/', '_')}.png").write_bytes(base64.b64decode(shot["data"]))

    assert browser.evaluate("location.href") == url
    errors, offline = page_errors(browser.events, served_book)
    known = [e for e in errors if any(k in e for k in KNOWN_THEME_ERRORS)]
    if known:
        print(f"{page}: known theme errors (not failed): {known}")
    errors = [e for e in errors if e not in known]
    if offline:
        print(f"{page}: {len(offline)} request(s) to other hosts failed (offline): {offline[:3]}")
    assert not errors, f"{page} logged errors in Chromium:\n" + "\n".join(errors)

    urls = browser.evaluate(COLLECT_URLS)
    assert urls, f"{page}: no links or scripts at all: did the page render?"
    bad = unresolved_links(urls, url, served_book, book_html)
    assert not bad, f"{page}: local links that do not resolve:\n" + "\n".join(bad)
    broken = [src for src in browser.evaluate(BROKEN_IMAGES)
              if urljoin(url, src or "").startswith(served_book)]
    assert not broken, f"{page}: images that did not load: {broken}"

    source = ROOT / f"{page}.ipynb"
    colab = browser.evaluate(COLAB_LINKS)
    if source.is_file():
        assert colab == [colab_url(page)], (
            f"{page}: the Colab button should open {colab_url(page)}, it links {colab}")
    else:
        assert colab == [], f"{page} is not a notebook but has a Colab link: {colab}"
    if page.endswith("06_what_vgg_sees"):
        text = browser.evaluate("document.body.innerText")
        assert "need a running Python kernel" in text and "Colab" in text
