"""httpie-style request items and URL shorthands for ``pepperpy-core get``.

Pure functions (no I/O except reading ``-d @file``), so every rule is easy to test:

- ``name==value``: a query parameter;  ``Header:value``: a request header (``Header:`` sends it
  empty);  ``field=value``: a JSON string field;  ``field:=json``: a raw JSON field.
- The separator that comes first in the item wins; at the same place the longer one does
  (``a:=1`` is raw JSON, ``q==x`` is a query parameter). A backslash escapes a separator
  character (``a\\=b=c`` is the field ``a=b``).
- ``example.com/path`` means ``http://example.com/path``; ``:8080/x`` means
  ``http://localhost:8080/x``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pepperpy_core.cli._common import UsageError

__all__ = ["RequestItems", "guess_url", "parse_items", "read_data"]

#: Longest first, so that at one position ``:=`` beats ``:`` and ``==`` beats ``=``.
_SEPARATORS = (":=", "==", "=", ":")


class ItemError(UsageError):
    """A request item or URL the command line cannot use; the message names it."""


@dataclass
class RequestItems:
    """What the request items add up to."""

    params: list[tuple[str, str]] = field(default_factory=list)
    headers: list[tuple[str, str]] = field(default_factory=list)
    json: dict[str, Any] = field(default_factory=dict)


def _split(item: str) -> tuple[str, str, str]:
    """``(key, separator, value)`` of one item, honouring backslash escapes in the key."""
    key: list[str] = []
    i = 0
    while i < len(item):
        char = item[i]
        if char == "\\" and i + 1 < len(item):
            key.append(item[i + 1])
            i += 2
            continue
        for sep in _SEPARATORS:
            if item.startswith(sep, i):
                return "".join(key), sep, item[i + len(sep):]
        key.append(char)
        i += 1
    raise ItemError(
        f"request item {item!r}: expected name==value, Header:value, field=value or field:=json"
    )


def parse_items(items: list[str]) -> RequestItems:
    """The query parameters, headers and JSON fields that ``items`` describe."""
    found = RequestItems()
    for item in items:
        key, sep, value = _split(item)
        if not key:
            raise ItemError(f"request item {item!r} has no name before {sep!r}")
        if sep == "==":
            found.params.append((key, value))
        elif sep == ":":
            found.headers.append((key, value.strip()))
        elif sep == "=":
            found.json[key] = value
        else:
            try:
                found.json[key] = json.loads(value)
            except ValueError as exc:
                raise ItemError(f"request item {item!r}: {value!r} is not JSON ({exc})") from None
    return found


def guess_url(text: str) -> str:
    """``text`` as an absolute URL, with httpie's shorthands for a missing scheme or host."""
    if "://" in text:
        return text
    if text.startswith(":"):  # :8080/x, :/x
        rest = text[1:]
        port, slash, path = rest.partition("/")
        host = f"localhost:{port}" if port else "localhost"
        return f"http://{host}{slash}{path}"
    return f"http://{text}"


def read_data(value: str) -> bytes:
    """The body of ``-d VALUE``: the text itself, or the bytes of a file for ``@path``."""
    if value.startswith("@"):
        path = Path(value[1:])
        try:
            return path.read_bytes()
        except OSError as exc:
            raise ItemError(f"-d {value}: cannot read {path}: {exc.strerror}") from None
    return value.encode()
