"""The built book in a real browser: headless Chromium opens every page of the table of contents.

It checks what a reader would notice: formulas typeset by MathJax (no raw ``$$`` or
``\\frac``, no red MathJax errors), every image loaded, no error or traceback among the
outputs, no JavaScript error, search that finds "convolution", and exercise solutions
collapsed until clicked. Screenshots of the landing page and one chapter are saved
under ``_build/screenshots/``.

The book is taken from ``$CNNCOURSE_BOOK_HTML`` when set, else from ``_build/html``, which
is built (``jupyter-book build -W``) when missing or older than its sources. Run with
``make site`` or ``pytest -m browser tests``; skipped when Chromium and its driver
(Debian's ``chromium`` and ``chromium-driver``) are not installed.
"""

from __future__ import annotations

import functools
import http.server
import os
import re
import shutil
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from cnncourse.publishing.toc import toc_pages

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parents[1]
TOC_ENTRIES = toc_pages()
HTML = Path(os.environ.get("CNNCOURSE_BOOK_HTML") or ROOT / "_build" / "html")


def _built_pages(html: Path) -> list[str]:
    """Pages of an existing build (e.g. one made with another table of contents)."""
    skip = {"genindex", "search", "index"}
    found = [path.relative_to(html).with_suffix("").as_posix() for path in sorted(html.rglob("*.html"))]
    return [page for page in found if page not in skip and not page.startswith("_")]


PAGES = [re.sub(r"\.(md|ipynb)$", "", entry) for entry in TOC_ENTRIES]
if os.environ.get("CNNCOURSE_BOOK_HTML") and HTML.is_dir():  # a build made elsewhere: open all its pages
    PAGES += [page for page in _built_pages(HTML) if page not in PAGES and not page.startswith("zh/")]
CHAPTER_PAGES = [page for page in PAGES if page.startswith("chapters/")]
# The Chinese edition (scripts/build_book.py) has the same pages under zh/.
ZH_PAGES = [f"zh/{page}" for page in PAGES]
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-quic",
    "--no-first-run",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",  # containers often have a tiny /dev/shm
    "--window-size=1280,1000",
]
# TeX that survives in the page text only when MathJax did not typeset it.
RAW_TEX = re.compile(r"\$\$|\\\(|\\\[|\\(?:frac|sum|times|cdot|alpha|theta|nabla|hat|mathbf|text|partial|sigma)\b")


def _executable(name: str) -> str | None:
    path = Path("/usr/bin") / name
    return str(path) if path.is_file() else shutil.which(name)


# ----------------------------------------------------------------------------- the book


def _sources() -> list[Path]:
    """Files whose change makes the built HTML stale."""
    paths = [ROOT / "_config.yml", ROOT / "_toc.yml"]
    paths += [path for path in (ROOT / "book").rglob("*") if path.is_file() and "__pycache__" not in path.parts]
    paths += [path for path in (ROOT / "i18n").rglob("*") if path.suffix in (".md", ".txt", ".yml")]
    for entry in TOC_ENTRIES:
        paths += [ROOT / f"{entry}{suffix}" for suffix in ("", ".md", ".ipynb") if (ROOT / f"{entry}{suffix}").is_file()]
    return paths


def _newest_html(html: Path) -> float:
    return max((path.stat().st_mtime for path in html.rglob("*.html")), default=0.0)


@pytest.fixture(scope="module")
def html_dir() -> Path:
    """The built book: $CNNCOURSE_BOOK_HTML as it is, or _build/html, (re)built with -W when needed."""
    if os.environ.get("CNNCOURSE_BOOK_HTML"):
        html = HTML.resolve()
        if not (html / "index.html").is_file():
            pytest.fail(f"CNNCOURSE_BOOK_HTML={html} holds no index.html: build the book there first")
        return html
    html = ROOT / "_build" / "html"
    newest_source = max(path.stat().st_mtime for path in _sources())
    if (html / "index.html").is_file() and _newest_html(html) >= newest_source:
        return html
    command = [sys.executable, str(ROOT / "scripts" / "build_book.py"), "-W"]  # both editions
    result = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=1800, check=False)
    if result.returncode != 0:
        pytest.fail(f"{' '.join(command)} failed:\n{(result.stdout + result.stderr)[-4000:]}")
    return html


@pytest.fixture(scope="module")
def site(html_dir):
    """The book served over HTTP on 127.0.0.1 (search and MathJax need http://, not file://)."""

    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args):
            pass

    handler = functools.partial(Quiet, directory=str(html_dir))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, name="book-server", daemon=True)
    thread.start()
    host, port = server.server_address[:2]
    with socket.create_connection((host, port), timeout=5):
        pass
    yield f"http://{host}:{port}"
    server.shutdown()
    server.server_close()
    thread.join(timeout=5)


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    chromium, driver_path = _executable("chromium"), _executable("chromedriver")
    if not chromium or not driver_path:
        if os.environ.get("CI"):  # CI installs Chromium: a skip there would hide a broken site
            pytest.fail("Chromium and chromedriver must be installed on CI (.ci/run installs them)")
        pytest.skip(
            "Chromium is not installed (needs /usr/bin/chromium and /usr/bin/chromedriver: "
            "`apt-get install chromium chromium-driver` on Debian; .ci/run installs them)"
        )
    webdriver = pytest.importorskip("selenium.webdriver", reason="selenium is not installed (pip install -r requirements.txt)")
    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    for flag in CHROMIUM_FLAGS + [f"--user-data-dir={tmp_path_factory.mktemp('chromium-profile')}"]:
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(options=options, service=webdriver.ChromeService(executable_path=driver_path))
    driver.set_page_load_timeout(120)
    driver.set_script_timeout(120)
    yield driver
    driver.quit()


# ------------------------------------------------------------------------------ helpers

_WAIT_FOR_MATHJAX = """
const done = arguments[arguments.length - 1];
if (!window.MathJax) { done("absent"); return; }
const ready = (window.MathJax.startup && window.MathJax.startup.promise) || Promise.resolve();
ready.then(() => (MathJax.typesetPromise ? MathJax.typesetPromise() : null))
     .then(() => done("typeset"), (error) => done("error: " + error));
"""

_WAIT_FOR_IMAGES = """
const done = arguments[arguments.length - 1];
const images = Array.from(document.images);
images.forEach((image) => { image.loading = "eager"; });
Promise.all(images.map((image) => image.complete ? null : new Promise((resolve) => {
    image.addEventListener("load", resolve); image.addEventListener("error", resolve);
}))).then(() => done(images.filter((image) => !(image.complete && image.naturalWidth > 0))
                          .map((image) => image.getAttribute("src"))));
"""

_PROSE_TEXT = """
const main = document.querySelector("main") || document.body;
const copy = main.cloneNode(true);
copy.querySelectorAll("pre, code, script, style, mjx-container, .highlight, .cell_input").forEach((e) => e.remove());
return copy.textContent;
"""


def _open(browser, url: str) -> int:
    """Load ``url`` and wait until the page and its scripts have finished; returns the HTTP status."""
    browser.get(url)
    deadline = time.monotonic() + 60
    while browser.execute_script("return document.readyState") != "complete":
        if time.monotonic() > deadline:
            raise TimeoutError(f"{url} did not finish loading in 60 s")
        time.sleep(0.1)
    return browser.execute_script(
        "const n = performance.getEntriesByType('navigation')[0]; return n ? n.responseStatus : 0;"
    )


# Console messages that are not faults of the book: the server has no favicon, and the
# pydata theme reports a fresh profile's empty light/dark preference as an "error".
_BENIGN_CONSOLE = re.compile(r"favicon\.ico|Got invalid theme mode")


def _console_errors(browser) -> list[str]:
    """The JavaScript errors logged since the last call (uncaught exceptions, failed loads)."""
    return [
        entry["message"]
        for entry in browser.get_log("browser")
        if entry["level"] == "SEVERE" and not _BENIGN_CONSOLE.search(entry["message"])
    ]


def _count(browser, selector: str) -> int:
    return browser.execute_script("return document.querySelectorAll(arguments[0]).length", selector)


# -------------------------------------------------------------------------------- tests


@pytest.mark.parametrize("page", PAGES + ZH_PAGES)
def test_page_renders(browser, site, page):
    status = _open(browser, f"{site}/{page}.html")
    assert status == 200, f"{page}.html: HTTP {status}"
    problems = []

    math_sources = _count(browser, "main .math")
    mathjax = browser.execute_async_script(_WAIT_FOR_MATHJAX)
    if math_sources:
        typeset = _count(browser, "main mjx-container")
        if mathjax != "typeset":
            problems.append(f"MathJax did not run ({mathjax})")
        elif typeset < math_sources:
            problems.append(f"only {typeset} of {math_sources} formulas were typeset")
    # A TeX syntax error renders as <mjx-merror>; an undefined macro as red text (MathJax's noundefined).
    tex_errors = browser.execute_script(
        """
        return Array.from(document.querySelectorAll("mjx-merror, mjx-assistive-mml mtext[mathcolor='red']"))
                    .map((e) => e.getAttribute("data-mjx-error") || e.textContent);
        """
    )
    if tex_errors:
        problems.append(f"MathJax could not typeset: {tex_errors[:3]}")
    raw = sorted(set(RAW_TEX.findall(browser.execute_script(_PROSE_TEXT))))
    if raw:
        problems.append(f"raw TeX left in the text: {raw}")

    broken = browser.execute_async_script(_WAIT_FOR_IMAGES)
    if broken:
        problems.append(f"images that did not load: {broken}")

    errors = browser.execute_script(
        """
        const found = [];
        document.querySelectorAll(".output.traceback, .output.error, .system-message, .problematic").forEach(
            (e) => found.push(e.className + ": " + e.textContent.trim().slice(0, 200)));
        document.querySelectorAll(".output.stderr, .cell_output").forEach((e) => {
            if (/Traceback \\(most recent call last\\)|^\\w*Error: /m.test(e.textContent)) {
                found.push(e.className + ": " + e.textContent.trim().slice(0, 200));
            }
        });
        return found;
        """
    )
    if errors:
        problems.append(f"error output: {errors[:3]}")

    console = _console_errors(browser)
    if console:
        problems.append(f"JavaScript console errors: {console[:3]}")

    problems += _solution_problems(browser)
    assert not problems, f"{page}.html:\n  " + "\n  ".join(problems)


def _solution_problems(browser) -> list[str]:
    """Solutions must be collapsed when the page loads, and open when their toggle is clicked."""
    state = browser.execute_script(
        """
        return Array.from(document.querySelectorAll(".solution, .admonition.dropdown")).map((box) => ({
            id: box.id,
            hidden: box.classList.contains("toggle-hidden"),
            visible: Array.from(box.children).filter((c) => !c.classList.contains("admonition-title"))
                          .some((c) => c.offsetParent !== null && c.getBoundingClientRect().height > 0),
        }));
        """
    )
    problems = [f"solution {box['id']} is not collapsed" for box in state if not box["hidden"] or box["visible"]]
    if state and not problems:
        from selenium.webdriver.common.by import By

        box = browser.find_element(By.CSS_SELECTOR, ".solution, .admonition.dropdown")
        button = box.find_element(By.CSS_SELECTOR, ".admonition-title .toggle-button")
        browser.execute_script("arguments[0].scrollIntoView({block: 'center'})", button)
        button.click()  # the chevron; the title's text may be a link to the exercise
        time.sleep(0.5)
        content = [c for c in box.find_elements(By.XPATH, "./*") if "admonition-title" not in c.get_attribute("class")]
        if not any(c.is_displayed() for c in content):
            problems.append(f"solution {box.get_attribute('id')} does not open when its toggle is clicked")
    return problems


@pytest.mark.parametrize("edition", ["", "zh/"])
def test_chapters_have_collapsed_solutions_and_formulas(html_dir, edition):
    """Statically, in both editions: the exercises' solutions are dropdowns, and chapters hold formulas."""
    pages = [edition + page for page in CHAPTER_PAGES]
    missing = [page for page in pages if not (html_dir / f"{page}.html").is_file()]
    assert not missing, f"pages of _toc.yml missing from {html_dir} (a stale build?): {missing}"
    for page in pages:
        text = (html_dir / f"{page}.html").read_text(encoding="utf-8")
        if 'class="exercise' in text:
            assert re.search(r'class="solution dropdown admonition"', text), f"{page}: solutions are not dropdowns"
            assert not re.search(r'class="solution(?! dropdown)[^"]*admonition"', text), f"{page}: a solution is not a dropdown"
    assert any('class="math' in (html_dir / f"{page}.html").read_text(encoding="utf-8") for page in pages)


@pytest.mark.parametrize("edition, word", [("", "convolution"), ("zh/", "卷积")])
def test_search_finds_convolution(browser, site, edition, word):
    """Search works in both editions; the Chinese index is segmented into words (jieba)."""
    assert _open(browser, f"{site}/{edition}search.html?q={word}") == 200
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        summary = browser.execute_script(
            "const s = document.querySelector('#search-results .search-summary, #search-results p');"
            "return s ? s.textContent : '';"
        )
        results = browser.execute_script(
            "return Array.from(document.querySelectorAll('#search-results li a')).map(a => a.getAttribute('href'))"
        )
        if results and "Search finished" in browser.page_source or summary and not summary.startswith("Preparing"):
            break
        time.sleep(0.2)
    assert results, f"searching {word!r} in /{edition} found nothing (summary: {summary!r})"
    assert any(href.startswith("chapters/") for href in results), f"no chapter among the results: {results[:5]}"
    assert not _console_errors(browser)


def _switch_target(browser) -> str:
    from selenium.webdriver.common.by import By

    links = browser.find_elements(By.CSS_SELECTOR, "a.language-switch-link")
    assert len(links) == 1, f"{browser.current_url}: expected one language switch, found {len(links)}"
    browser.execute_script("arguments[0].click()", links[0])
    deadline = time.monotonic() + 30
    while browser.execute_script("return document.readyState") != "complete" and time.monotonic() < deadline:
        time.sleep(0.1)
    return browser.current_url


@pytest.mark.parametrize("page", [PAGES[0], CHAPTER_PAGES[0], CHAPTER_PAGES[-1]])
def test_language_switch_goes_both_ways(browser, site, page):
    """Every page links to the same page in the other edition, and back."""
    assert _open(browser, f"{site}/{page}.html") == 200
    assert browser.execute_script("return document.documentElement.lang").startswith("en")
    chinese = _switch_target(browser)
    assert chinese == f"{site}/zh/{page}.html", chinese
    assert browser.execute_script("return document.documentElement.lang") == "zh-CN"
    english = _switch_target(browser)
    assert english == f"{site}/{page}.html", english


def _launch_links(browser) -> dict[str, list[str]]:
    links = browser.execute_script("return Array.from(document.querySelectorAll('a[href]')).map(a => a.href)")
    return {
        "colab": [link for link in links if link.startswith("https://colab.research.google.com/")],
        "binder": [link for link in links if "/v2/gh/" in link],
        "download": sorted({link for link in links if "/_sources/" in link and link.endswith(".ipynb")}),
    }


@pytest.mark.parametrize("edition", ["", "zh/"])
def test_launch_buttons_open_the_notebook_of_their_edition(browser, site, html_dir, edition):
    """Colab and Binder open the page's own edition (zh/chapters/NN.ipynb, committed, for a Chinese page);
    the download button gives that edition's notebook, with Chinese comments on a Chinese page."""
    config = (ROOT / "_config.yml").read_text(encoding="utf-8")
    owner, repo = re.search(r"^\s+url:\s*https://github\.com/([^/\s]+)/([^/\s]+?)/?\s*$", config, re.MULTILINE).groups()
    branch = re.search(r"^\s+branch:\s*(\S+)", config, re.MULTILINE).group(1)
    page = next(page for page in CHAPTER_PAGES if page.endswith("08_end_to_end"))
    notebook = f"{edition}{page}.ipynb"  # the repository path a launch button must open
    assert _open(browser, f"{site}/{edition}{page}.html") == 200
    links = _launch_links(browser)
    assert links["colab"] == [f"https://colab.research.google.com/github/{owner}/{repo}/blob/{branch}/{notebook}"], links
    assert links["binder"] and all(link.endswith(f"urlpath=lab/tree/{notebook}") for link in links["binder"]), links
    assert (ROOT / notebook).is_file(), f"the launch buttons open {notebook}, which is not in the repository"
    assert links["download"] == [f"{site}/{edition}_sources/{page}.ipynb"], links
    served = (html_dir / f"{edition}_sources/{page}.ipynb").read_text(encoding="utf-8")
    assert served == (ROOT / notebook).read_text(encoding="utf-8"), "the download differs from the notebook Colab opens"
    fixes = re.findall(r"#\s*(\w+)：", served) if edition else re.findall(r"#\s*(fix):", served)
    assert fixes.count("改正" if edition else "fix") == 4, f"{notebook}: the listing's four fix comments: {fixes}"


_GLYPHS_DIFFER = r"""
const font = getComputedStyle(document.querySelector("main p") || document.body).font;
const draw = (text) => {
    const canvas = document.createElement("canvas");
    canvas.width = 64; canvas.height = 64;
    const context = canvas.getContext("2d");
    context.font = font.replace(/\d+(\.\d+)?px/, "40px");
    context.fillText(text, 4, 48);
    return Array.from(context.getImageData(0, 0, 64, 64).data).join(",");
};
const blank = draw("");
return [draw("卷") !== draw("积"), draw("卷") !== blank, font];
"""


def test_chinese_pages_render_in_a_cjk_font(browser, site, html_dir):
    """Chinese text is drawn with real glyphs: without a CJK font, every character is the same empty box."""
    page = "zh/" + next(page for page in CHAPTER_PAGES if page.endswith("05_dense"))
    assert _open(browser, f"{site}/{page}.html") == 200
    browser.execute_async_script(_WAIT_FOR_MATHJAX)
    browser.execute_async_script(_WAIT_FOR_IMAGES)
    differ, inked, font = browser.execute_script(_GLYPHS_DIFFER)
    assert differ and inked, f"Chinese characters render as identical boxes in {font!r}: install a CJK font (fonts-wqy-microhei)"
    text = browser.execute_script(_PROSE_TEXT)
    assert len(re.findall(r"[\u4e00-\u9fff]", text)) > 500, "the Chinese chapter holds little Chinese text"
    folder = html_dir.parent / "screenshots"
    folder.mkdir(parents=True, exist_ok=True)
    browser.execute_script("const m = document.querySelector('main .math'); if (m) { m.scrollIntoView({block: 'start'}); }")
    time.sleep(0.3)
    path = folder / "zh_chapter.png"
    assert browser.save_screenshot(str(path)) and path.stat().st_size > 10_000, path


def test_screenshots(browser, site, html_dir):
    folder = html_dir.parent / "screenshots"
    folder.mkdir(parents=True, exist_ok=True)
    chapter = CHAPTER_PAGES[0]
    for name, page in (("landing", PAGES[0]), ("chapter", chapter)):
        _open(browser, f"{site}/{page}.html")
        browser.execute_async_script(_WAIT_FOR_MATHJAX)
        browser.execute_async_script(_WAIT_FOR_IMAGES)
        shots = [name]
        if name == "chapter":
            shots.append("chapter_figure")
        for shot in shots:
            if shot == "chapter_figure":  # the first figure, to show that images render
                browser.execute_script(
                    "const f = document.querySelector('main .cell_output img'); if (f) { f.scrollIntoView({block: 'center'}); }"
                )
                time.sleep(0.3)
            path = folder / f"{shot}.png"
            assert browser.save_screenshot(str(path)), f"could not save {path}"
            assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and path.stat().st_size > 10_000, path


# ------------------------------------------------------------------ the Chinese edition's search and interface

# Issue 27: the course's terms as a Chinese reader types them (the glossary's own forms), and the
# chapters that use each one (besides the glossary, which lists them all).
ZH_SEARCH_TERMS = {
    "卷积神经网络": "chapters/01_background",
    "卷积核": "chapters/03_convolution",
    "过拟合": "chapters/11b_overfitting",
    "批量归一化": "chapters/07b_training_deeper",
    "特异度": "chapters/02_core_concepts",
    "反向传播": "chapters/05_dense",
    "学习率": "chapters/07_optimizers",
    "损失函数": "chapters/06_loss",
    "感受野": "chapters/03_convolution",
    "全连接层": "chapters/05_dense",
}


def _typed_search(browser, site, term: str) -> list[str]:
    """Type ``term`` into the search box of a Chinese chapter page, press Enter, and return the pages found."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys

    assert _open(browser, f"{site}/zh/{CHAPTER_PAGES[0]}.html") == 200
    button = next(b for b in browser.find_elements(By.CSS_SELECTOR, ".search-button__button") if b.is_displayed())
    button.click()
    deadline = time.monotonic() + 10
    boxes = []
    while not boxes and time.monotonic() < deadline:
        boxes = [box for box in browser.find_elements(By.CSS_SELECTOR, "input[name='q']") if box.is_displayed()]
        time.sleep(0.1)
    assert boxes, "the search box did not open"
    boxes[0].send_keys(term)
    boxes[0].send_keys(Keys.ENTER)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if "search.html" in browser.current_url and browser.execute_script("return document.readyState") == "complete":
            done = browser.execute_script(
                "return (typeof Search !== 'undefined' && Search.status && Search._pulse_status < 0)"
                " ? Search.status.innerText : '';")
            if done:
                break
        time.sleep(0.2)
    results = browser.execute_script(
        "return Array.from(document.querySelectorAll('#search-results li a')).map(a => a.getAttribute('href'))")
    return sorted({re.sub(r"\.html.*$", "", href).removeprefix("./") for href in results})


@pytest.mark.parametrize("term", list(ZH_SEARCH_TERMS))
def test_chinese_search_finds_the_course_terms(browser, site, term):
    """Each term, typed into the Chinese site's search box, finds the glossary and a chapter that teaches it."""
    found = _typed_search(browser, site, term)
    print(f"{term}: {found}")
    assert "book/glossary" in found, f"{term!r}: the glossary is not among the results {found}"
    assert ZH_SEARCH_TERMS[term] in found, f"{term!r}: {ZH_SEARCH_TERMS[term]} is not among the results {found}"
    assert not _console_errors(browser)


# Interface strings the themes write in English (or in Taiwanese wording) unless the Chinese build replaces them.
ENGLISH_INTERFACE = [
    "Click to show", "Click to hide", "Search this book...", "Repository", "Open issue", "列印成 PDF", "Print to PDF",
    "Toggle primary sidebar", "Toggle secondary sidebar", "Color mode", "System Settings", "Launch interactive content",
    "Launch on Binder", "Launch on Colab", "Source repositories", "Link to this heading", "Download this page",
    "Download source file", "Download notebook file", "Fullscreen mode", "Skip to main content", "Back to top",
    "previous", "next", "Contents", "Main", "Page",
]

_INTERFACE_TEXT = """
const article = document.querySelector("article.bd-article");
const found = [];
document.querySelectorAll("*").forEach((e) => {
    for (const name of ["title", "aria-label", "placeholder", "alt", "data-bs-title", "data-bs-original-title", "data-toggle-hint"]) {
        const value = e.getAttribute(name);
        if (value && (!article || !article.contains(e) || name === "data-toggle-hint" || e.classList.contains("headerlink"))) {
            found.push(value.trim());
        }
    }
});
const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
while (walker.nextNode()) {
    const node = walker.currentNode;
    if ((article && article.contains(node)) || node.parentElement.closest("script, style")) continue;
    if (node.textContent.trim()) found.push(node.textContent.trim().replace(/\\s+/g, " "));
}
return found;
"""


def _interface(browser, url: str) -> list[str]:
    assert _open(browser, url) == 200
    time.sleep(0.5)  # sphinx-togglebutton sets the hints once the page has loaded
    return browser.execute_script(_INTERFACE_TEXT)


def test_chinese_pages_have_a_chinese_interface(browser, site, html_dir):
    """No English interface string on a Chinese chapter page; the English page keeps its own."""
    page = next(page for page in CHAPTER_PAGES if page.endswith("04_pooling"))
    chinese = _interface(browser, f"{site}/zh/{page}.html")
    left = sorted({text for text in chinese if text in ENGLISH_INTERFACE})
    assert not left, f"English interface strings on zh/{page}.html: {left}"
    text = " ".join(chinese)
    assert "The cnncourse authors" not in text and "cnncourse 作者团队" in browser.page_source
    for expected in ("点击显示", "搜索本书……", "代码仓库", "提交问题", "打印为 PDF"):
        assert expected in text, f"{expected!r} missing from the interface of zh/{page}.html"
    english = set(_interface(browser, f"{site}/{page}.html"))
    for expected in ("Click to show", "Search this book...", "Repository", "Open issue", "Print to PDF"):
        assert expected in english, f"{expected!r} missing from the English page {page}.html"
    assert "The cnncourse authors" in browser.page_source


def test_chinese_screenshots(browser, site, html_dir):
    """Screenshots of the Chinese edition: a chapter's interface, an opened solution, a search result."""
    from selenium.webdriver.common.by import By

    folder = html_dir.parent / "screenshots"
    folder.mkdir(parents=True, exist_ok=True)
    page = next(page for page in CHAPTER_PAGES if page.endswith("04_pooling"))
    assert _open(browser, f"{site}/zh/{page}.html") == 200
    browser.execute_async_script(_WAIT_FOR_MATHJAX)
    path = folder / "zh_interface.png"
    assert browser.save_screenshot(str(path)) and path.stat().st_size > 10_000
    box = browser.find_element(By.CSS_SELECTOR, ".solution, .admonition.dropdown")
    browser.execute_script("arguments[0].scrollIntoView({block: 'center'})", box)
    time.sleep(0.3)
    path = folder / "zh_solution_closed.png"
    assert browser.save_screenshot(str(path))
    box.find_element(By.CSS_SELECTOR, ".admonition-title .toggle-button").click()
    time.sleep(0.5)
    browser.execute_script("arguments[0].scrollIntoView({block: 'start'})", box)
    path = folder / "zh_solution_open.png"
    assert browser.save_screenshot(str(path))
    found = _typed_search(browser, site, "感受野")
    assert found
    path = folder / "zh_search.png"
    assert browser.save_screenshot(str(path)) and path.stat().st_size > 10_000
