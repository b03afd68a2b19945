"""A TCP relay on 127.0.0.1 that can make its connections half-open (for tests of keepalive
and delivery: `from pepperpy_core.testing.relay import HalfOpenRelay`).

``go_half_open()`` silences every connection relayed so far: bytes are read and dropped in
both directions and nothing is closed, as after a NAT timeout or a dead Wi-Fi link. Neither
end gets a FIN or an RST; only a keepalive can notice. Connections accepted afterwards relay
normally, so a client that notices the loss reconnects through the same relay.
"""

from __future__ import annotations

import asyncio
import contextlib


class _Link:
    """One relayed connection: both directions stop together when it goes silent."""

    __slots__ = ("dropped", "silent", "writers")

    def __init__(self) -> None:
        self.silent = False
        self.dropped = 0  # bytes swallowed while silent
        self.writers: list[asyncio.StreamWriter] = []


class HalfOpenRelay:
    """``async with HalfOpenRelay(upstream_port) as relay``: clients connect to ``relay.port``."""

    def __init__(self, upstream_port: int) -> None:
        self.upstream_port = upstream_port
        self.port = 0
        self.links: list[_Link] = []
        self._server: asyncio.Server | None = None
        self._tasks: set[asyncio.Task[None]] = set()

    @property
    def url(self) -> str:
        return f"ws://127.0.0.1:{self.port}"

    @property
    def frozen(self) -> bool:
        """Whether the newest connection is silent (setting True silences all current ones)."""
        return bool(self.links) and self.links[-1].silent

    @frozen.setter
    def frozen(self, value: bool) -> None:
        if value:
            self.go_half_open()

    def go_half_open(self) -> int:
        """Silence every connection relayed so far; returns how many went silent."""
        count = 0
        for link in self.links:
            if not link.silent:
                link.silent = True
                count += 1
        return count

    @property
    def dropped_bytes(self) -> int:
        return sum(link.dropped for link in self.links)

    async def __aenter__(self) -> HalfOpenRelay:
        self._server = await asyncio.start_server(self._accept, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        if self._server is not None:
            self._server.close()
        for link in self.links:
            for writer in link.writers:
                writer.close()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        if self._server is not None:
            await self._server.wait_closed()
            self._server = None

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        link = _Link()
        link.writers.append(writer)
        try:
            up_reader, up_writer = await asyncio.open_connection("127.0.0.1", self.upstream_port)
        except OSError:  # the server is down: refuse like it would
            writer.close()
            return
        link.writers.append(up_writer)
        self.links.append(link)
        for source, sink in ((reader, up_writer), (up_reader, writer)):
            task = asyncio.get_running_loop().create_task(self._pipe(link, source, sink))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    @staticmethod
    async def _pipe(link: _Link, source: asyncio.StreamReader, sink: asyncio.StreamWriter) -> None:
        with contextlib.suppress(ConnectionError, OSError):
            while data := await source.read(65536):
                if link.silent:
                    link.dropped += len(data)
                    continue
                sink.write(data)
                await sink.drain()
            if not link.silent:  # a real close passes through while the link is alive
                sink.close()
