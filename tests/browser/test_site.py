"""The course website (``make book``) in Chromium: every page loads with no console error and every image,
every link inside the site leads somewhere, every page can be downloaded, every lesson can be launched.

The site is built from the lessons nbval executed (``tools/book.py --executed``) and served on loopback with
nothing else reachable, so a page that needs the internet (a script from a CDN) fails here as it would
offline. A full-page screenshot of every page goes to ``artifacts/browser/site/``.
"""
from __future__ import annotations

import json
import re
import urllib.parse

import pytest

from browser_support import load_tool, shots_dir

PAGES = load_tool("book").site_pages()


def internal_links(page) -> list[str]:
    hrefs = page.eval_on_selector_all("a[href]", "links => links.map(a => a.href)")
    base = urllib.parse.urlsplit(page.url)
    return sorted({h for h in hrefs if urllib.parse.urlsplit(h).netloc == base.netloc})


@pytest.mark.parametrize("path", PAGES)
def test_every_page_loads_whole_and_links_within_the_site(page, site, path, console):
    base, html = site
    failed_requests = []
    page.on("requestfailed", lambda request: failed_requests.append(request.url)
            if not request.url.startswith("about:") else None)
    page.on("response", lambda answer: failed_requests.append(f"{answer.url} (HTTP {answer.status})")
            if answer.status >= 400 else None)
    response = page.goto(base + path, wait_until="networkidle")
    assert response is not None and response.status == 200, f"{path}: {response and response.status}"
    page.wait_for_timeout(500)
    assert not failed_requests, f"{path}: requests that failed (offline, a CDN?): {failed_requests}"
    assert not console, f"{path}: console errors: {console}"
    broken = page.eval_on_selector_all("img", "images => images.filter(i => !(i.complete && i.naturalWidth > 0))"
                                               ".map(i => i.src.slice(0, 80))")
    assert not broken, f"{path}: images that did not load: {broken}"
    problems = []
    checked: dict[str, str] = {}
    for link in internal_links(page):
        target, _, fragment = link.partition("#")
        if target not in checked:
            answer = page.request.get(target)
            checked[target] = answer.text() if answer.ok else ""
            if not answer.ok:
                problems.append(f"{link}: HTTP {answer.status}")
                continue
        if fragment and checked[target] and not re.search(
                rf"""id=["']{re.escape(urllib.parse.unquote(fragment))}["']""", checked[target]):
            problems.append(f"{link}: no element with id {fragment!r} on that page")
    assert not problems, f"{path}: links inside the site that lead nowhere:\n" + "\n".join(problems)
    page.screenshot(path=shots_dir("site") / (path.replace("/", "_").removesuffix(".html") + ".png"),
                    full_page=True)


LESSON_PAGES = [p for p in PAGES if p.startswith("notebooks/")]


@pytest.mark.parametrize("path", LESSON_PAGES)
def test_a_lesson_page_shows_every_figure_the_lesson_drew_and_its_maths_typeset(page, site, path, executed_lessons):
    base, _ = site
    page.goto(base + path, wait_until="networkidle")
    lesson = json.loads((executed_lessons / path.replace("notebooks/", "").replace(".html", ".ipynb")).read_text())
    drawn = sum(1 for cell in lesson["cells"] if cell["cell_type"] == "code" for output in cell["outputs"]
                if "image/png" in output.get("data", {}))
    shown = page.locator("div.cell_output img").count()
    assert shown == drawn, f"{path}: {shown} figures on the page, the lesson drew {drawn} (a widget's figure lost?)"
    if page.evaluate("!!document.querySelector('.math, .MathJax, script[type^=\"math/tex\"]')") or "\\(" in \
            page.content():
        page.wait_for_function("window.MathJax && MathJax.startup && MathJax.startup.promise", timeout=30_000)
        page.evaluate("MathJax.startup.promise")
        assert "\\(" not in page.inner_text("main"), f"{path}: maths left as raw TeX"


@pytest.mark.parametrize("path", PAGES)
def test_every_page_has_a_download_button_and_every_lesson_a_launch_button(page, site, path):
    base, _ = site
    page.goto(base + path)
    downloads = page.locator(".dropdown-download-buttons a, .dropdown-download-buttons button")
    assert downloads.count() >= 1, f"{path}: no download button"
    if path.startswith("notebooks/"):
        launch = page.eval_on_selector_all(".dropdown-launch-buttons a", "links => links.map(a => a.href)")
        lesson = path.removeprefix("notebooks/").removesuffix(".html")
        hub = [h for h in launch if "/hub/" in h]
        binder = [h for h in launch if "/v2/gh/" in h]
        assert hub and hub[0].endswith(f"/hub/user-redirect/lab/tree/advlab/{lesson}.ipynb"), \
            f"{path}: the JupyterHub button should open the student's copy, got {launch}"
        assert binder and f"notebooks/{lesson}.ipynb" in urllib.parse.unquote(binder[0]), \
            f"{path}: no Binder button for the lesson in {launch}"
