"""Request bodies that are streams: sent again exactly from where they started, or refused.

Bytes, str, JSON and forms are encoded once and can be sent any number of times. A seekable
file object is rewound to the position it had when the request was built before every send. A
non-seekable file or an async iterator can be sent once: a retry or redirect that needs it again
gets :class:`BodyNotReplayableError` instead of an empty or partial body. The file parts of a
multipart ``files=`` follow the same rules, part by part.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Any

from pepperpy_core.exceptions import BodyNotReplayableError

if TYPE_CHECKING:
    from pepperpy_core.http.models import Request

__all__ = [
    "FileWindow", "OneShotBody", "SeekableBody", "can_resend", "file_chunks", "request_resendable",
    "stream_body", "wire_body",
]

UPLOAD_CHUNK = 64 * 1024


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


def can_resend(body: Any) -> bool:
    """Whether ``body`` can be sent (again)."""
    return not isinstance(body, OneShotBody) or not body.taken


def request_resendable(request: Request) -> bool:
    """Whether the body and every file part of ``request`` can be sent (again)."""
    if not can_resend(request.body):
        return False
    return not request.files or all(can_resend(p.source) for p in request.files.values())


class FileWindow:
    """A seekable file seen from ``start`` on: position 0 is ``start``, the end is the file's.

    For libraries that rewind a file part to 0 and measure it to its end (httpx does both):
    through a window they send exactly the bytes from where the file stood when the request was
    built."""

    __slots__ = ("_handle", "_start")

    def __init__(self, handle: Any, start: int) -> None:
        self._handle = handle
        self._start = start

    def read(self, size: int = -1) -> bytes:
        data: bytes = self._handle.read(size)
        return data

    def tell(self) -> int:
        return int(self._handle.tell()) - self._start

    def seek(self, offset: int, whence: int = os.SEEK_SET) -> int:
        if whence == os.SEEK_SET:
            offset += self._start
        return int(self._handle.seek(offset, whence)) - self._start


async def file_chunks(handle: Any) -> AsyncIterator[bytes]:
    """A file object as an async byte stream, read in 64 KiB pieces."""
    while chunk := handle.read(UPLOAD_CHUNK):
        yield chunk
