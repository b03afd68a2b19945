"""Redaction of secrets: what may be logged, put in an error message or a ``repr()``.

Secrets are the values of credential headers (``Authorization``, ``Proxy-Authorization``,
``Cookie``, ``Set-Cookie`` and API-key headers), URL user info (proxy passwords included) and
query parameters whose names look secret (``api_key``, ``key``, ``token``, ``signature``,
``secret``, ``password``...). :func:`redact_url` and :func:`redact_headers` are re-exported by
:mod:`pepperpy_core.logging`; :func:`redact_text` scrubs free text (another library's error
message) that may quote a URL or a header.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable, Mapping
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

__all__ = [
    "REDACTED",
    "install_library_log_filters",
    "is_secret_name",
    "redact_headers",
    "redact_text",
    "redact_url",
]

REDACTED = "[REDACTED]"

_SECRET_HEADERS = frozenset(
    {"authorization", "proxy-authorization", "cookie", "set-cookie", "x-api-key", "x-mbx-apikey"}
)
_SECRET_WORDS = re.compile(
    r"(api[-_]?key|(^|[-_.])key$|token|secret|signature|^sig$|passw|pwd|auth|session"
    r"|credential|private)",
    re.I,
)
#: ``scheme://user:password@`` anywhere in a text.
_USERINFO = re.compile(r"(?P<scheme>[a-zA-Z][a-zA-Z0-9+.-]*://)[^/\s@'\"<>]*@")
#: ``name=value`` in a query string or a header-ish dump, for secret-looking names.
_PAIR = re.compile(
    r"(?P<name>[A-Za-z0-9_.\-]+)(?P<sep>=|%3[Dd])"
    r"(?P<value>(?:[^&\s'\"<>#;,)\]%]|%(?!3[DdFf]|26)[0-9A-Fa-f]{2})*)"
)
#: ``Authorization: Bearer ...`` / ``'Cookie': '...'`` / ``(b'cookie', b'...')`` forms.
_HEADER_VALUE = re.compile(
    r"(?P<name>(?:proxy-)?authorization|set-cookie|cookie|x-api-key|x-mbx-apikey)"
    r"(?P<sep>['\"]?\s*[:,=]\s*b?['\"]?)(?P<value>[^'\"\r\n]*)",
    re.I,
)


def is_secret_name(name: str) -> bool:
    """Whether a header or query parameter name looks like it carries a credential."""
    lowered = name.lower()
    return lowered in _SECRET_HEADERS or _SECRET_WORDS.search(lowered) is not None


def redact_headers(headers: Mapping[str, str] | Iterable[tuple[str, str]]) -> dict[str, str]:
    """A copy of ``headers`` safe to log: credential-bearing values replaced."""
    items = headers.items() if isinstance(headers, Mapping) else headers
    return {k: (REDACTED if is_secret_name(k) else v) for k, v in items}


def redact_url(url: str) -> str:
    """``url`` with user info and secret-looking query values replaced (safe to log).

    A URL too malformed to parse is scrubbed as text rather than raising."""
    if "?" not in url and "@" not in url:
        return url
    try:
        parts = urlsplit(url)
    except ValueError:
        return redact_text(url)
    netloc = parts.netloc
    if "@" in netloc:
        netloc = f"{REDACTED}@{netloc.rsplit('@', 1)[1]}"
    query = parts.query
    if query:
        pairs = parse_qsl(query, keep_blank_values=True)
        query = urlencode(
            [(k, REDACTED if is_secret_name(k) else redact_text(v)) for k, v in pairs], safe="[]"
        )
    return urlunsplit((parts.scheme, netloc, parts.path, query, parts.fragment))


def redact_text(text: str, secrets: Iterable[str] = ()) -> str:
    """Free text (another library's message) with secrets replaced: URL user info,
    secret-looking ``name=value`` pairs, credential header values, and every exact string of
    ``secrets`` (values the caller knows are secret)."""
    for secret in secrets:
        if secret and len(secret) >= 3:
            text = text.replace(secret, REDACTED)
    text = _USERINFO.sub(lambda m: f"{m.group('scheme')}{REDACTED}@", text)
    text = _HEADER_VALUE.sub(lambda m: f"{m.group('name')}{m.group('sep')}{REDACTED}", text)
    return _PAIR.sub(_redact_pair, text)


def _redact_pair(match: re.Match[str]) -> str:
    """A secret-named ``name=value`` with its value replaced (left alone if already done)."""
    if not is_secret_name(match.group("name")) or match.string.startswith(
        REDACTED, match.start("value")
    ):
        return match.group(0)
    return f"{match.group('name')}{match.group('sep')}{REDACTED}"


class _RedactingFilter(logging.Filter):
    """Rewrites a library's log record with its secrets redacted (the record is kept)."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a record whose arguments do not format: keep only its template
            message = str(record.msg)
        record.msg = redact_text(message)
        record.args = None
        return True


#: Loggers of the libraries underneath that may print URLs or headers at DEBUG/INFO level.
#: (The websockets handshake logger is handled by the WebSocket side.)
_LIBRARY_LOGGERS = (
    "aiohttp.client", "aiohttp.internal", "httpx", "httpcore.connection", "httpcore.http11",
    "httpcore.http2", "httpcore.proxy", "hpack.hpack", "hpack.table", "h2.connection",
)
_FILTER = _RedactingFilter()


def install_library_log_filters() -> None:
    """Attach the redacting filter to the underlying libraries' loggers (idempotent)."""
    for name in _LIBRARY_LOGGERS:
        logger = logging.getLogger(name)
        if _FILTER not in logger.filters:
            logger.addFilter(_FILTER)


def scrub(value: Any) -> Any:
    """``value`` for a message: a string redacted as text, anything else unchanged."""
    return redact_text(value) if isinstance(value, str) else value
