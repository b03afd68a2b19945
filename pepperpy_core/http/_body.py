"""Request bodies that are streams: sent again exactly from where they started, or refused.

Bytes, str, JSON and forms are encoded once and can be sent any number of times. A seekable
file object is rewound to the position it had when the request was built before every send. A
non-seekable file or an async iterator can be sent once: a retry or redirect that needs it again
gets :class:`BodyNotReplayableError` instead of an empty or partial body.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from typing import Any

from pepperpy_core.exceptions import BodyNotReplayableError

__all__ = ["OneShotBody", "SeekableBody", "file_chunks", "stream_body", "wire_body"]

_UPLOAD_CHUNK = 64 * 1024


class SeekableBody:
    """A seekable file object and the offset its content starts at."""

    __slots__ = ("handle", "start")

    def __init__(self, handle: Any) -> None:
        self.handle = handle
        self.start = handle.tell()

    def take(self) -> Any:
        self.handle.seek(self.start)
        return self.handle

    replayable = True


class OneShotBody:
    """A body that can be read only once (a non-seekable file, an async iterator)."""

    __slots__ = ("source", "taken")

    def __init__(self, source: Any) -> None:
        self.source = source
        self.taken = False

    def take(self) -> Any:
        if self.taken:
            raise BodyNotReplayableError(
                f"the request body ({type(self.source).__name__}) is a one-shot stream that was "
                "already sent; pass bytes, a path or a seekable file so that it can be sent again"
            )
        self.taken = True
        return self.source

    @property
    def replayable(self) -> bool:
        return not self.taken


def stream_body(data: Any) -> SeekableBody | OneShotBody:
    """The wrapper for a streamed ``data=``."""
    seekable = getattr(data, "seekable", None)
    if hasattr(data, "read") and callable(seekable):
        try:
            if seekable():
                return SeekableBody(data)
        except (OSError, ValueError):
            pass
    return OneShotBody(data)


def wire_body(body: Any) -> Any:
    """What a transport sends for ``request.body`` (a stream wrapper is unwrapped, once for a
    one-shot body)."""
    if isinstance(body, (SeekableBody, OneShotBody)):
        return body.take()
    return body


def can_resend(body: Any, files: Mapping[str, Any] | None = None) -> bool:
    """Whether ``body`` and the multipart ``files`` (FileParts) can be sent (again)."""
    if isinstance(body, OneShotBody) and body.taken:
        return False
    return not files or all(part.replayable for part in files.values())


async def file_chunks(handle: Any) -> AsyncIterator[bytes]:
    """A file object as an async byte stream, read in 64 KiB pieces: for libraries that take
    only their own stream types (httpx's async client refuses sync streams; aiohttp has no
    payload for a file-like object that is not an ``io.IOBase``)."""
    while chunk := handle.read(_UPLOAD_CHUNK):
        yield chunk
