"""File names from URLs and ``Content-Disposition`` headers that cannot escape their folder."""

from __future__ import annotations

import re
from email.message import Message
from pathlib import Path
from urllib.parse import unquote, urlsplit

from pepperpy_core.exceptions import DownloadError

__all__ = ["filename_for", "safe_filename", "target_in"]

_UNSAFE = re.compile(r'[\x00-\x1f\x7f<>:"|?*]')
_MAX_NAME_BYTES = 255


def safe_filename(name: str, *, default: str = "download") -> str:
    """``name`` reduced to one harmless path component: no folders, no ``..``, no control
    characters, at most 255 bytes; ``default`` when nothing usable is left."""
    last = unquote(name).replace("\\", "/").rsplit("/", 1)[-1]
    cleaned = _UNSAFE.sub("_", last).strip().strip(".")
    if not cleaned:
        return default
    encoded = cleaned.encode("utf-8")[:_MAX_NAME_BYTES]
    return encoded.decode("utf-8", "ignore") or default


def filename_for(url: str, content_disposition: str | None = None) -> str:
    """The name a server suggests (``Content-Disposition`` filename) or the URL's last path
    segment, made safe with :func:`safe_filename`."""
    if content_disposition:
        message = Message()
        message["content-disposition"] = content_disposition
        suggested = message.get_filename()
        if suggested:
            return safe_filename(suggested)
    return safe_filename(urlsplit(url).path)


def target_in(directory: Path, name: str) -> Path:
    """``directory / name`` after checking that it stays inside ``directory``."""
    root = directory.resolve()
    target = (root / safe_filename(name)).resolve()
    if target.parent != root:
        raise DownloadError(f"refusing file name {name!r}: it would leave {directory}")
    return target
