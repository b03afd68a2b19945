"""mkdocs hook: render the Sphinx cross-reference roles of our docstrings as code.

The package's docstrings are written in one style, reStructuredText with Sphinx roles
(``:class:`Response```, ``:meth:`HttpClient.get```), which reads well in an editor and in
``help()``. mkdocstrings passes the roles through as text; this turns each into inline code
(the role's target, with a leading ``~`` meaning "last name only", as in Sphinx).
A paragraph that ends in ``::`` (reStructuredText's "a literal block follows") ends in one
colon, as Sphinx prints it. Optional arguments whose default is "use the client's setting"
show as ``<not given>``.
"""

from __future__ import annotations

import re
from typing import Any

# After Markdown: `:class:`X`` has become ":class:<code>X</code>".
_ROLE_HTML = re.compile(
    r":(?:py:)?(?:class|meth|func|attr|mod|data|exc|obj|const):<code>([^<]+)</code>"
)


def _target(match: re.Match[str]) -> str:
    name = match.group(1)
    if name.startswith("~"):
        name = name[1:].rsplit(".", 1)[-1]
    return f"<code>{name}</code>"


#: The client's "argument not given" sentinel (``_UNSET``) in a rendered signature: a reader
#: needs its meaning, "not given: the client's setting applies", not a private name.
_SENTINEL = re.compile(r"\b_UNSET\b")


#: A paragraph closing on reStructuredText's literal-block marker.
_LITERAL_MARK = re.compile(r"(\S)::</p>")


def on_page_content(html: str, **_: Any) -> str:
    """Replace every rendered role on a page with inline code of its target, the literal-block
    marker with a colon, and the "not given" sentinel in signatures with words."""
    html = _LITERAL_MARK.sub(r"\1:</p>", _ROLE_HTML.sub(_target, html))
    return _SENTINEL.sub("&lt;not given&gt;", html)
