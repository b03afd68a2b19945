"""The documentation site, built as users get it and opened page by page in headless Chromium:
no console errors, no failed requests (nothing from a CDN), code highlighted, nothing wider
than the text column, and no raw reStructuredText roles or sentinels in the API reference."""

from __future__ import annotations

import re
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from aiohttp import web
from peers.chromium import chromium_path, headless_chromium

from pepperpy_core.testing import LocalServer

ROOT = Path(__file__).resolve().parent.parent

CHECKS = r"""(() => {
  const column = document.querySelector('.md-content__inner');
  const edge = column ? column.getBoundingClientRect().right + 1 : innerWidth;
  const wide = [...document.querySelectorAll('.md-content table, .md-content pre')]
    .filter(e => e.getBoundingClientRect().right > edge).map(e => e.tagName);
  const blocks = [...document.querySelectorAll(
    '.highlight[class*="language-"]:not(.language-text) pre code')];
  const plain = blocks.filter(c => !c.querySelector('span[class]'))
    .map(c => c.textContent.slice(0, 60));
  const token = document.querySelector('.language-python .highlight .kn, .language-python .kn');
  const code = token ? getComputedStyle(token).color : null;
  return {title: document.title, pageWide: document.documentElement.scrollWidth > innerWidth,
          wide, blocks: blocks.length, plain, tokenColor: code,
          bodyColor: getComputedStyle(document.body).color,
          text: (document.querySelector('.md-content') || document.body).innerText};
})()"""


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The site as ``./dev.sh docs`` builds it (strict: a warning fails the build)."""
    chromium_path()  # skip (or fail in CI) before spending a build on nothing
    out = tmp_path_factory.mktemp("site")
    mkdocs = Path(sys.executable).parent / "mkdocs"
    done = subprocess.run(
        [str(mkdocs), "build", "--strict", "--quiet", "-d", str(out)], cwd=ROOT,
        capture_output=True, text=True, timeout=300, env={"NO_MKDOCS_2_WARNING": "1",
                                                          "PATH": str(mkdocs.parent)},
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return out


@pytest.fixture
async def served(site: Path) -> AsyncIterator[LocalServer]:
    async def page(request: web.Request) -> web.StreamResponse:
        target = (site / request.match_info["path"]).resolve()
        if site not in target.parents and target != site:
            raise web.HTTPNotFound()
        if target.is_dir():
            target = target / "index.html"
        if not target.is_file():
            raise web.HTTPNotFound()
        return web.FileResponse(target)

    app = web.Application()
    app.router.add_get("/{path:.*}", page)
    async with LocalServer(app) as server:
        yield server


def _pages(site: Path) -> list[str]:
    found = []
    for index in site.rglob("index.html"):
        rel = index.parent.relative_to(site).as_posix()
        found.append("/" if rel == "." else f"/{rel}/")
    return sorted(found)


async def test_every_page_renders_cleanly(site: Path, served: LocalServer) -> None:
    """Each page loads with no console error and no failed request, its code blocks are
    highlighted (coloured tokens), and no table or code block is wider than the column."""
    pages = _pages(site)
    assert len(pages) >= 10 and "/reference/" in pages
    problems: list[str] = []
    async with headless_chromium() as browser:
        for path in pages:
            report = await browser.visit(served.url(path), CHECKS)
            checks = report.checks
            if report.console_errors:
                problems.append(f"{path}: console errors {report.console_errors}")
            if report.failed_requests:
                problems.append(f"{path}: failed requests {report.failed_requests}")
            if checks["plain"]:
                problems.append(f"{path}: code blocks not highlighted {checks['plain']}")
            if checks["tokenColor"] is not None and checks["tokenColor"] == checks["bodyColor"]:
                problems.append(f"{path}: code tokens have no colour of their own")
            if checks["wide"] or checks["pageWide"]:
                problems.append(f"{path}: wider than the column: {checks['wide']}")
            leftovers = re.findall(r":(?:class|meth|func|attr|mod|exc|data|obj):`?\w",
                                   checks["text"])
            leftovers += re.findall(r"\w+::$|``\w+``", checks["text"], re.M)  # rST marks
            if leftovers or "_UNSET" in checks["text"]:
                problems.append(f"{path}: raw roles or sentinels {leftovers[:5]}")
    assert not problems, "\n".join(problems)


async def test_pages_with_code_have_highlighted_code(site: Path, served: LocalServer) -> None:
    """The guides' examples are highlighted as Python (keywords get token classes)."""
    async with headless_chromium() as browser:
        report = await browser.visit(
            served.url("/http/"),
            "document.querySelectorAll('.language-python .highlight .kn, "
            ".highlight .kn').length",
        )
    assert report.checks and report.checks > 0


def test_site_uses_no_cdn(site: Path) -> None:
    """No page refers to a script, style or font on another host."""
    offenders = []
    pattern = re.compile(
        r"""(?:src|href)=["'](?:https?:)?//(?!127\.0\.0\.1)[^"']+\.(?:js|css|woff2?)"""
    )
    for html in site.rglob("*.html"):
        offenders += [f"{html.relative_to(site)}: {m.group(0)}"
                      for m in pattern.finditer(html.read_text(encoding="utf-8"))]
    assert not offenders, offenders[:10]

