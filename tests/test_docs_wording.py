"""User docs speak to users: no references to the project's internal papers or issues, and
English pages use English in their examples."""

from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

#: Phrases that point at internal planning papers rather than at anything a user has.
INTERNAL = re.compile(
    r"the documents?\b|documents'|document's|network-utilities|specification documents?"
    r"|issue goal|goals? from the issues?|\bissue \d+|\bthe issue\b",
    re.I,
)
#: Portuguese words that slipped into English examples before.
PORTUGUESE = re.compile(r"\b(?:exemplo\w*|mensagem|recebido|erro|usu[aá]rio|dados)\b", re.I)


def _user_pages() -> list[Path]:
    return [*sorted((ROOT / "docs").glob("*.md")), ROOT / "README.md", ROOT / "README.pt-BR.md"]


def test_user_pages_speak_to_users() -> None:
    found = [f"{page.name}: {m.group(0)!r}" for page in _user_pages()
             for m in INTERNAL.finditer(page.read_text(encoding="utf-8"))]
    assert found == []


def test_english_pages_use_english_in_examples() -> None:
    english = [p for p in _user_pages() if p.name != "README.pt-BR.md"]
    found = [f"{page.name}: {m.group(0)!r}" for page in english
             for m in PORTUGUESE.finditer(page.read_text(encoding="utf-8"))]
    assert found == []


def test_docstrings_in_the_package_speak_to_users() -> None:
    """The API reference is rendered from these docstrings (and comments read as them)."""
    found = []
    for path in sorted((ROOT / "pepperpy_core").rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef,
                                 ast.AsyncFunctionDef)):
                doc = ast.get_docstring(node) or ""
                found += [f"{path.relative_to(ROOT)}: {m.group(0)!r}"
                          for m in INTERNAL.finditer(doc)]
    assert found == []
