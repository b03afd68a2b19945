"""mkdocs hook: render the Sphinx cross-reference roles of our docstrings as code.

The package's docstrings are written in one style, reStructuredText with Sphinx roles
(``:class:`Response```, ``:meth:`HttpClient.get```), which reads well in an editor and in
``help()``. mkdocstrings passes the roles through as text; this turns each into inline code
(the role's target, with a leading ``~`` meaning "last name only", as in Sphinx).
"""

from __future__ import annotations

import re
from typing import Any

# After Markdown: `:class:`X`` has become ":class:<code>X</code>".
_ROLE_HTML = re.compile(r":(?:py:)?(?:class|meth|func|attr|mod|data|exc|obj|const):<code>([^<]+)</code>")


def _target(match: re.Match[str]) -> str:
    name = match.group(1)
    if name.startswith("~"):
        name = name[1:].rsplit(".", 1)[-1]
    return f"<code>{name}</code>"


def on_page_content(html: str, **_: Any) -> str:
    """Replace every rendered role on a page with inline code of its target."""
    return _ROLE_HTML.sub(_target, html)
