"""The dashboard and the HTML report in a real browser: headless Chromium (Debian's), driven by Playwright.

Locally these skip, saying why, when Chromium, Playwright or the viz extra is
missing; under CI (CI=true) they must run, and .ci/run installs what they need.
Chromium is started with the flags this closed network needs (no background
networking, no component updates), and nothing it loads may come from outside.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from urllib.parse import unquote, urlparse

import pytest

from tests.conftest import BASELINE, ROOT, SCENARIOS

pytestmark = pytest.mark.slow
CHROMIUM = os.environ.get("DYADSIM_CHROMIUM", "/usr/bin/chromium")
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]


def _need(condition: bool, why: str) -> None:
    if condition:
        return
    if os.environ.get("CI") == "true":
        pytest.fail(f"{why} (CI must install it: see .ci/run)")
    pytest.skip(why)


@pytest.fixture(scope="module")
def browser():
    _need(Path(CHROMIUM).exists(), f"no Chromium at {CHROMIUM} (apt-get install chromium)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _need(False, "Playwright is not installed (pip install -e '.[test,viz]')")
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield b
        b.close()


class Watch:
    """Console errors, page errors, failed responses and requests that leave this machine."""

    def __init__(self, page, local: tuple[str, ...]):
        self.errors, self.external = [], []
        page.on("console", lambda m: self.errors.append(f"console: {m.text}") if m.type == "error" else None)
        page.on("pageerror", lambda e: self.errors.append(f"page error: {e}"))
        page.on("response", lambda r: self.errors.append(f"HTTP {r.status} {r.url}") if r.status >= 400 else None)
        page.on("request", lambda r: None if r.url.startswith(local) else self.external.append(r.url))


# ----------------------------------------------------------------------------- the report page

def test_report_page_links_resolve_images_load_nothing_external(browser, tmp_path):
    out = tmp_path / "report"
    proc = subprocess.run([sys.executable, "run.py", "report", str(BASELINE), "--vs",
                           str(SCENARIOS / "no_2014_sanctions.yaml"), "--replicates", "6", "--quiet",
                           "--out", str(out)], cwd=ROOT, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    page = browser.new_page()
    watch = Watch(page, ("file://", "data:"))
    page.goto((out / "index.html").as_uri(), wait_until="load")
    figures = page.locator("img")
    for k in range(figures.count()):                                    # the figures load lazily, as a reader
        figures.nth(k).scroll_into_view_if_needed()                     # scrolls down to them
    page.wait_for_function("() => [...document.images].every(i => i.complete)", timeout=30_000)
    images = page.evaluate("() => [...document.images].map(i => [i.getAttribute('src'), i.naturalWidth])")
    assert len(images) >= 15 and all(src.endswith(".svg") for src, _ in images)
    assert [src for src, w in images if w == 0] == []                    # every figure rendered
    hrefs = page.evaluate("() => [...document.querySelectorAll('a[href]')].map(a => [a.getAttribute('href'), a.href])")
    ids = set(page.evaluate("() => [...document.querySelectorAll('[id]')].map(e => e.id)"))
    toc = [h for h, _ in hrefs if h.startswith("#")]
    assert len(toc) >= 9 and {h[1:] for h in toc} <= ids                # the contents point at sections
    broken = [h for h, full in hrefs if not h.startswith("#") and not Path(unquote(urlparse(full).path)).exists()]
    assert broken == []
    assert any(h.endswith("scorecard.json") for h, _ in hrefs) and page.locator("table").count() >= 5
    assert watch.errors == [] and watch.external == []
    page.close()


# ----------------------------------------------------------------------------- the dashboard

def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def dashboard():
    try:
        import solara  # noqa: F401
    except ImportError:
        _need(False, "the viz extra is not installed (pip install -e '.[viz]')")
    port = _free_port()
    proc = subprocess.Popen([sys.executable, "run.py", "viz", str(BASELINE), "--vs",
                             str(SCENARIOS / "no_2014_sanctions.yaml"), "--replicates", "10", "--host",
                             "127.0.0.1", "--port", str(port)], cwd=ROOT, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True, start_new_session=True)
    url = f"http://127.0.0.1:{port}/"
    deadline = time.time() + 120
    try:
        while True:
            try:
                urllib.request.urlopen(url, timeout=2).read()
                break
            except OSError:
                if proc.poll() is not None or time.time() > deadline:
                    raise AssertionError("the dashboard did not start:\n" + (proc.stdout.read() or "")) from None
                time.sleep(0.5)
        yield url
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=20)


_DIGEST = """async () => {
    const img = document.images[0];
    if (!img || !img.complete) return "";
    const data = await (await fetch(img.src)).arrayBuffer();
    const hash = await crypto.subtle.digest("SHA-256", data);
    return [...new Uint8Array(hash)].map(b => b.toString(16).padStart(2, "0")).join("");
}"""


def _fan_src(page) -> str:
    """What the first fan chart shows: a digest of its image bytes (each redraw gets a new blob: URL)."""
    for _ in range(20):
        try:
            digest = page.evaluate(_DIGEST)
        except Exception:           # the image was replaced (its blob revoked) while being read
            digest = ""
        if digest:
            return digest
        page.wait_for_timeout(250)
    raise AssertionError("the fan chart could not be read")


def _wait_change(page, before: str, what: str, timeout_s: float = 60) -> str:
    deadline = time.time() + timeout_s
    while time.time() < deadline:
        now = _fan_src(page)
        if now != before:
            return now
        page.wait_for_timeout(250)
    raise AssertionError(f"the fan chart did not change after {what}")


def _status(page) -> str:
    return page.get_by_text("replicates; counterfactual:", exact=False).first.inner_text()


def test_dashboard_steps_resets_and_reruns_on_a_slider(browser, dashboard):
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    watch = Watch(page, ("http://127.0.0.1", "ws://127.0.0.1", "data:", "blob:"))
    page.goto(dashboard, wait_until="domcontentloaded")
    page.wait_for_function("() => document.images.length >= 3", timeout=90_000)
    page.get_by_text("step 0", exact=False).first.wait_for(timeout=30_000)
    initial = _fan_src(page)
    assert page.locator("img").count() >= 3                             # two fan charts and the event timeline

    page.get_by_role("button", name="Step").click()                     # the stepped run appears on the fan
    page.get_by_text("step 1,", exact=False).first.wait_for(timeout=30_000)
    stepped = _wait_change(page, initial, "Step")

    page.get_by_role("button", name="Reset").click()                    # same parameters: same fans, no run yet
    page.get_by_text("step 0", exact=False).first.wait_for(timeout=30_000)
    deadline = time.time() + 30
    while _fan_src(page) != initial and time.time() < deadline:
        page.wait_for_timeout(250)
    assert _fan_src(page) == initial and stepped != initial

    slider = page.locator(".v-slider").nth(3)                           # the first coefficient's slider
    slider.click()
    for _ in range(15):
        page.keyboard.press("ArrowRight")
    page.get_by_role("button", name="Reset").click()                    # Mesa re-creates the model with it
    _wait_change(page, initial, "a slider change and Reset")

    page.get_by_text("counterfactual: no_2014_sanctions", exact=False).first.click()
    before = _fan_src(page)
    page.get_by_role("button", name="Reset").click()
    page.get_by_text("replicates; counterfactual: no_2014_sanctions", exact=False).first.wait_for(timeout=60_000)
    _wait_change(page, before, "the counterfactual toggle")
    assert "counterfactual: no_2014_sanctions" in _status(page)

    page.get_by_role("button", name="▶").click()                        # Run: steps on its own until paused
    page.get_by_text("step 3", exact=False).first.wait_for(timeout=60_000)
    page.get_by_role("button", name="❚❚").click()
    assert watch.errors == [] and watch.external == []
    page.close()


def test_chromium_is_debians_not_a_download():
    _need(Path(CHROMIUM).exists(), f"no Chromium at {CHROMIUM}")
    assert shutil.which("chromium") or Path(CHROMIUM).exists()
    version = subprocess.run([CHROMIUM, "--version"], capture_output=True, text=True).stdout
    assert version.startswith("Chromium ")
