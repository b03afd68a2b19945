"""Content decoding (gzip, deflate, br) done by us, for both backends, so that it is exact.

The libraries underneath accept a gzip or brotli body that ends early (the part that arrived
is returned as if it were all), and inflate as much as a chunk holds. Here every decoder:

- produces at most :data:`OUTPUT_STEP` bytes per step, so a small bomb is never inflated into
  memory, and counts what it produced against ``max_body_size`` (the decoded size is bounded,
  not only the bytes on the wire);
- at the end of the body checks that the compressed stream was complete, and raises
  :class:`DecodingError` otherwise.
"""

from __future__ import annotations

import zlib
from collections.abc import AsyncIterator, Iterator
from typing import Any

from pepperpy_core.exceptions import DecodingError
from pepperpy_core.http.models import Response, body_too_large

try:  # brotli is optional: without it "br" is not offered in Accept-Encoding
    import brotli as _brotli  # type: ignore[import-untyped, unused-ignore]
except ImportError:  # pragma: no cover - exercised only without the package
    _brotli = None

__all__ = ["ACCEPT_ENCODING", "BodyDecoder", "decoder_for"]

#: Bytes a decoder hands out per step at most.
OUTPUT_STEP = 64 * 1024
ACCEPT_ENCODING = "gzip, deflate, br" if _brotli is not None else "gzip, deflate"


class _Stage:
    """One content coding's decompressor."""

    name: str

    def step(self, data: bytes, limit: int) -> bytes:
        """Decompress from ``data`` (then from what is held back) at most ``limit`` bytes."""
        raise NotImplementedError

    def pending(self) -> bool:
        """True when output is waiting without more input."""
        raise NotImplementedError

    def complete(self) -> bool:
        raise NotImplementedError


class _Zlib(_Stage):
    def __init__(self, name: str) -> None:
        self.name = name
        self._wbits = 16 + zlib.MAX_WBITS if name == "gzip" else zlib.MAX_WBITS
        self._obj: Any = zlib.decompressobj(self._wbits)
        self._tail = b""
        self._started = False

    def step(self, data: bytes, limit: int) -> bytes:
        data = self._tail + data if self._tail else data
        try:
            out = self._obj.decompress(data, limit)
        except zlib.error:
            if self.name == "deflate" and not self._started:
                # "deflate" is meant as zlib-wrapped, but some servers send it raw
                self._obj = zlib.decompressobj(-zlib.MAX_WBITS)
                self._wbits = -zlib.MAX_WBITS
                out = self._obj.decompress(data, limit)
            else:
                raise
        self._started = True
        self._tail = self._obj.unconsumed_tail
        return bytes(out)

    def pending(self) -> bool:
        return bool(self._tail)

    def complete(self) -> bool:
        return bool(self._obj.eof)


class _Brotli(_Stage):
    name = "br"

    def __init__(self) -> None:
        assert _brotli is not None
        self._obj = _brotli.Decompressor()
        self._produced = False

    def step(self, data: bytes, limit: int) -> bytes:
        # The buffer stops growing near ``limit``; more output may then wait for a call with
        # no input, which is worth making while the last call produced something.
        out: bytes = self._obj.process(data, output_buffer_limit=limit)
        self._produced = bool(out)
        return out

    def pending(self) -> bool:
        return self._produced and not self._obj.is_finished()

    def complete(self) -> bool:
        return bool(self._obj.is_finished())


class BodyDecoder:
    """Decodes one body coded with ``codings`` (in the order they were applied)."""

    def __init__(self, codings: list[str], response: Response, limit: int | None) -> None:
        self._stages = [_stage(c) for c in reversed(codings)]
        self._response = response
        self._limit = limit
        self._size = 0

    def feed(self, data: bytes) -> Iterator[bytes]:
        """The decoded bytes of ``data``, in pieces of at most :data:`OUTPUT_STEP`."""
        try:
            yield from self._run(0, data)
        except zlib.error as exc:
            raise self._error(f"is corrupt ({exc})") from None
        except Exception as exc:  # brotli.error
            if type(exc).__module__ in ("brotli", "_brotli") or type(exc).__name__ == "error":
                raise self._error("is corrupt") from None
            raise

    def _run(self, index: int, data: bytes) -> Iterator[bytes]:
        if index == len(self._stages):
            self._size += len(data)
            if self._limit is not None and self._size > self._limit:
                raise body_too_large(self._response, self._limit)
            if data:
                yield data
            return
        stage = self._stages[index]
        out = stage.step(data, OUTPUT_STEP)
        while True:
            if out:
                yield from self._run(index + 1, out)
            if not stage.pending():
                return
            out = stage.step(b"", OUTPUT_STEP)

    def finish(self) -> None:
        """Raise :class:`DecodingError` unless every compressed stream ended properly."""
        for stage in self._stages:
            if not stage.complete():
                raise self._error("ended early: the body was truncated")

    def _error(self, what: str) -> DecodingError:
        from pepperpy_core._redact import redact_url

        names = ", ".join(s.name for s in reversed(self._stages))
        return DecodingError(
            f"{names}-compressed response body from {redact_url(self._response.url)} {what}",
            request=self._response.request,
            response=self._response,
        )

    def decode_all(self, data: bytes) -> bytes:
        body = b"".join(self.feed(data))
        self.finish()
        return body

    async def decode_stream(
        self, chunks: AsyncIterator[bytes], size: int
    ) -> AsyncIterator[bytes]:
        """Decoded pieces of at most ``size`` bytes from raw ``chunks``."""
        async for chunk in chunks:
            for piece in self.feed(chunk):
                for start in range(0, len(piece), size):
                    yield piece[start : start + size]
        self.finish()


def _stage(coding: str) -> _Stage:
    if coding == "br":
        return _Brotli()
    return _Zlib(coding)


def decoder_for(response: Response, limit: int | None) -> BodyDecoder | None:
    """A decoder for the response's ``Content-Encoding``, or None (identity or unknown: the
    body is handed over as it came)."""
    header = response.headers.get("content-encoding")
    if not header:
        return None
    codings = [c.strip().lower() for c in header.split(",") if c.strip()]
    codings = [c for c in codings if c != "identity"]
    known = {"gzip", "x-gzip", "deflate"} | ({"br"} if _brotli is not None else set())
    if not codings or any(c not in known for c in codings):
        return None
    return BodyDecoder(["gzip" if c == "x-gzip" else c for c in codings], response, limit)
