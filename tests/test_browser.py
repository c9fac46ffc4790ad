"""The documentation site as a reader sees it: headless Chromium, no network, formulas and outputs rendered.

The site built once per session (``built_site``, tests/conftest.py) is served from 127.0.0.1; Chromium
opens the home page, the conventions page and two tutorials with every other host unreachable (all
names resolve to nothing and all other traffic goes to a dead proxy), runs the pages' scripts and
dumps the resulting DOM (``--dump-dom``). The home page is also opened from disk (file://).
Each page must show KaTeX output and no raw TeX (``\\(``, ``$$``, ``\\frac``...) in its visible
text; the tutorials must show their figures and printed results.

Skips, saying why, where no Chromium is installed (Debian: ``apt-get install chromium``; .ci/run
installs it).
"""

from __future__ import annotations

import functools
import http.server
import re
import shutil
import subprocess
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from html.parser import HTMLParser
from pathlib import Path

import pytest
from docs_site import NOTEBOOK_MODULES, Site, missing

CHROMIUM = next(filter(None, map(shutil.which, ("chromium", "chromium-browser", "google-chrome"))), None)
pytestmark = pytest.mark.skipif(
    CHROMIUM is None, reason="no Chromium browser on this machine (Debian: apt-get install chromium)"
)

HOME, CONVENTIONS = "index.html", "conventions.html"
TUTORIALS = ("notebooks/01-from-a-step-to-a-flow.html", "notebooks/04-checking-drift-numerically.html")
RAW_TEX = (r"\(", r"\)", r"\[", r"\]", "$$", r"\frac")
TEX_COMMAND = re.compile(r"\\(?:frac|sum|nabla|theta|tau|sigma|gamma|varphi|dot|tilde|mathrm|displaystyle|left|"
                         r"right|begin|end|lambda|partial|cdot|le|ge)\b")
_VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "param", "source", "track", "wbr"}
_HIDDEN_TAGS = {"script", "style", "pre", "code", "noscript", "textarea", "template", "svg", "head", "title"}
_HIDDEN_CLASSES = {"katex-mathml", "headerlink", "highlight", "highlight-ipynb", "CodeMirror", "md-search"}


class _Page(HTMLParser):
    """Visible text (no code, no MathML source annotations), KaTeX elements, images and output areas."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.stack: list[tuple[str, bool]] = []
        self.text: list[str] = []
        self.katex = 0
        self.images: list[str] = []
        self.outputs = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        classes = set((values.get("class") or "").split())
        self.katex += "katex" in classes
        self.outputs += "jp-OutputArea-output" in classes
        if tag == "img":
            self.images.append(values.get("src") or "")
        if tag in _VOID:
            return
        hidden = tag in _HIDDEN_TAGS or bool(classes & _HIDDEN_CLASSES) or "hidden" in values
        self.stack.append((tag, hidden or (bool(self.stack) and self.stack[-1][1])))

    def handle_endtag(self, tag: str) -> None:
        for i in range(len(self.stack) - 1, -1, -1):  # close implied elements too (<p>, <li>...)
            if self.stack[i][0] == tag:
                del self.stack[i:]
                return

    def handle_data(self, data: str) -> None:
        if not (self.stack and self.stack[-1][1]):
            self.text.append(data)

    @property
    def visible(self) -> str:
        return "".join(self.text)


def _parse(html: str) -> _Page:
    page = _Page()
    page.feed(html)
    page.close()
    return page


class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture(scope="module")
def server(built_site: Site) -> Iterator[str]:
    if built_site.returncode != 0:
        pytest.fail(f"the site did not build:\n{built_site.log[-3000:]}")
    handler = functools.partial(_Quiet, directory=str(built_site.path))
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}/"
    finally:
        httpd.shutdown()
        httpd.server_close()


def _dump_dom(url: str, profile: Path) -> str:
    """The DOM of ``url`` after its scripts ran, in headless Chromium with the network off."""
    assert CHROMIUM is not None
    argv = [
        CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run",
        "--disable-extensions", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", "--metrics-recording-only", "--mute-audio",
        "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",  # no name resolves: network off ...
        "--proxy-server=http://127.0.0.1:9",  # ... and any other traffic goes nowhere (loopback bypasses it)
        f"--user-data-dir={profile}", "--virtual-time-budget=15000", "--dump-dom", url,
    ]
    result = subprocess.run(argv, capture_output=True, text=True, timeout=180)
    assert result.returncode == 0 and "</html>" in result.stdout, result.stderr[-2000:]
    return result.stdout


@pytest.fixture(scope="module")
def pages(server: str, built_site: Site, tmp_path_factory: pytest.TempPathFactory) -> dict[str, _Page]:
    """The four pages over HTTP, and the home page from disk, opened in parallel."""
    urls = {name: server + name for name in (HOME, CONVENTIONS, *TUTORIALS)}
    urls["file:" + HOME] = (built_site.path / HOME).as_uri()
    root = tmp_path_factory.mktemp("chromium")
    with ThreadPoolExecutor(max_workers=len(urls)) as pool:
        doms = dict(zip(urls, pool.map(lambda kv: _dump_dom(kv[1], root / str(hash(kv[0]))), urls.items()),
                        strict=True))
    return {name: _parse(dom) for name, dom in doms.items()}


@pytest.mark.parametrize("name, at_least", [(HOME, 3), ("file:" + HOME, 3), (CONVENTIONS, 20),
                                            (TUTORIALS[0], 20), (TUTORIALS[1], 5)])
def test_formulas_are_typeset(pages: dict[str, _Page], name: str, at_least: int) -> None:
    page = pages[name]
    assert page.katex >= at_least, f"{name}: {page.katex} KaTeX formulas"
    text = page.visible
    raw = [token for token in RAW_TEX if token in text]
    assert not raw, f"{name} shows raw TeX {raw}: ...{text[text.find(raw[0]) - 80:text.find(raw[0]) + 80]}..."
    commands = TEX_COMMAND.findall(text)
    assert not commands, f"{name} shows TeX commands {commands[:5]}"


@pytest.mark.parametrize("name", TUTORIALS)
def test_tutorials_show_their_formulas_in_text_and_outputs(pages: dict[str, _Page], name: str) -> None:
    text = pages[name].visible
    dollars = [m.start() for m in re.finditer(r"\$", text)]
    assert not dollars, f"{name}: unrendered $ at ...{text[dollars[0] - 60:dollars[0] + 60]}..." if dollars else ""


@pytest.mark.parametrize("name", TUTORIALS)
def test_tutorials_show_their_outputs(pages: dict[str, _Page], name: str) -> None:
    if missing(NOTEBOOK_MODULES):
        pytest.skip(f"the tutorials cannot run here (missing: {', '.join(missing(NOTEBOOK_MODULES))})")
    page = pages[name]
    figures = [src for src in page.images if src.startswith("data:image/png;base64,")]
    assert figures, f"{name} shows no figure"
    assert page.outputs >= 5, f"{name} shows {page.outputs} outputs"
