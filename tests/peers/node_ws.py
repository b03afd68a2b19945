"""The ``ws`` package on Node.js (a WebSocket server nobody here wrote) on 127.0.0.1.

The ``ws`` package is installed once with npm into ``~/.cache/pepperpy-peers/node-ws`` (or
``$PEPPERPY_PEERS_CACHE/node-ws``) by the session fixture :func:`node_ws_install`; without
node or npm the tests skip locally and fail in CI (``peers/require.py``). ``.ci/run`` makes
sure node and npm exist.

:class:`NodeWs` runs ``server.js`` (written next to the package) on an ephemeral port; it can
be stopped and started again on the same port. The server echoes every message (text as text,
binary as binary) except JSON commands with an ``op``:

- ``{"op": "subscribe", "channel": c}``: answered ``{"subscribed": c, "server": n}``, where
  ``n`` counts the server processes started by this fixture (1, then 2 after a restart);
- ``{"op": "publish", "channel": c, "data": d}``: ``{"channel": c, "data": d}`` to every
  connection subscribed to ``c``;
- ``{"op": "close", "code": k, "reason": r}``: the server closes with that code;
- ``{"op": "drop"}``: the server terminates the socket (no close frame: 1006);
- ``{"op": "info"}``: ``{"extensions": ..., "protocol": ...}`` as negotiated;
- ``{"op": "text", "size": n}``: a text message of ``n`` bytes of ``x``.

``NodeWs(max_payload=..., compression=...)`` sets the server's ``maxPayload`` and
``perMessageDeflate``.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from peers import require

__all__ = ["NodeWs", "node_ws", "node_ws_install"]

WS_VERSION = "8"

SERVER_JS = r"""
const { WebSocketServer } = require('ws');
const [port, options] = [Number(process.argv[2]), JSON.parse(process.argv[3])];
const wss = new WebSocketServer({
  host: '127.0.0.1', port,
  maxPayload: options.maxPayload || 100 * 1024 * 1024,
  perMessageDeflate: options.compression ? { threshold: 0 } : false,
});
const channels = new Map();
wss.on('listening', () => {
  process.stdout.write(JSON.stringify({ port: wss.address().port }) + '\n');
});
wss.on('connection', (ws) => {
  ws.on('error', () => {});
  ws.on('close', () => { for (const set of channels.values()) set.delete(ws); });
  ws.on('message', (data, isBinary) => {
    let cmd = null;
    if (!isBinary) {
      try { cmd = JSON.parse(data.toString()); } catch (e) { cmd = null; }
    }
    if (cmd === null || typeof cmd !== 'object' || Array.isArray(cmd) || !cmd.op) {
      ws.send(data, { binary: isBinary });
      return;
    }
    switch (cmd.op) {
      case 'subscribe':
        if (!channels.has(cmd.channel)) channels.set(cmd.channel, new Set());
        channels.get(cmd.channel).add(ws);
        ws.send(JSON.stringify({ subscribed: cmd.channel, server: options.generation }));
        break;
      case 'publish':
        for (const peer of channels.get(cmd.channel) || []) {
          peer.send(JSON.stringify({ channel: cmd.channel, data: cmd.data }));
        }
        break;
      case 'close': ws.close(cmd.code, cmd.reason || ''); break;
      case 'drop': ws.terminate(); break;
      case 'info':
        ws.send(JSON.stringify({ extensions: ws.extensions, protocol: ws.protocol }));
        break;
      case 'text': ws.send('x'.repeat(cmd.size)); break;
      case 'ping': {
        // after cmd.delay ms, ping cmd.count times, one pong at a time; then close with
        // 4000 + the pongs seen (also after 2 s without all of them)
        let pongs = 0;
        const done = () => ws.close(4000 + pongs, 'pongs');
        const timer = setTimeout(done, cmd.delay + 2000);
        ws.on('pong', () => {
          pongs += 1;
          if (pongs < cmd.count) { ws.ping(); } else { clearTimeout(timer); done(); }
        });
        setTimeout(() => ws.ping(), cmd.delay);
        break;
      }
      default: ws.send(data);
    }
  });
});
const stop = () => {
  for (const ws of wss.clients) ws.close(1001, 'going away');
  wss.close(() => process.exit(0));
  setTimeout(() => process.exit(0), 1000).unref();
};
process.on('SIGTERM', stop);
process.stdin.on('end', stop);
process.stdin.resume();
"""


def cache_dir() -> Path:
    base = os.environ.get("PEPPERPY_PEERS_CACHE")
    root = Path(base) if base else Path.home() / ".cache" / "pepperpy-peers"
    return root / "node-ws"


def install() -> Path:
    """The folder holding ``node_modules/ws`` and ``server.js``; installs ``ws`` on first use
    (skips locally, fails in CI, without node or npm or when npm fails)."""
    node, npm = shutil.which("node"), shutil.which("npm")
    if node is None or npm is None:
        require.missing("node/npm", "apt-get install nodejs npm (Debian packages)")
    folder = cache_dir()
    if not (folder / "node_modules" / "ws" / "package.json").exists():
        folder.mkdir(parents=True, exist_ok=True)
        result = subprocess.run(
            [
                npm,
                "install",
                "--no-audit",
                "--no-fund",
                "--silent",
                "--prefix",
                str(folder),
                f"ws@{WS_VERSION}",
            ],
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
        if result.returncode != 0:
            require.missing("the ws package", f"npm install ws failed: {result.stderr[-500:]}")
    script = folder / "server.js"
    if not script.exists() or script.read_text() != SERVER_JS:
        script.write_text(SERVER_JS)
    return folder


class NodeWs:
    """One ``ws`` server process on 127.0.0.1; ``stop()``/``start()`` keep the port."""

    def __init__(
        self, folder: Path, *, max_payload: int | None = None, compression: bool = True
    ) -> None:
        self.folder = folder
        self.max_payload = max_payload
        self.compression = compression
        self.port = 0
        self.generation = 0
        self._proc: subprocess.Popen[str] | None = None

    @property
    def url(self) -> str:
        return f"ws://127.0.0.1:{self.port}"

    def start(self) -> NodeWs:
        self.generation += 1
        options = {
            "maxPayload": self.max_payload,
            "compression": self.compression,
            "generation": self.generation,
        }
        node = shutil.which("node") or "node"
        deadline = time.monotonic() + 10
        while True:  # after a restart the old socket may linger a moment in the kernel
            proc = subprocess.Popen(
                [node, str(self.folder / "server.js"), str(self.port), json.dumps(options)],
                cwd=self.folder,
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
            assert proc.stdout is not None
            line = proc.stdout.readline()
            if line:
                break
            _, stderr = proc.communicate(timeout=5)
            if "EADDRINUSE" not in stderr or time.monotonic() > deadline:
                raise RuntimeError(f"node ws server did not start: {stderr[-500:]}")
            time.sleep(0.05)
        self.port = int(json.loads(line)["port"])
        self._proc = proc
        return self

    def stop(self) -> None:
        """Close every connection with 1001 and end the process."""
        proc, self._proc = self._proc, None
        if proc is None:
            return
        assert proc.stdin is not None
        proc.stdin.close()  # the script closes its clients with 1001, then exits
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        for stream in (proc.stdout, proc.stderr):
            if stream is not None:
                stream.close()

    def restart(self) -> None:
        self.stop()
        self.start()


@pytest.fixture(scope="session")
def node_ws_install() -> Path:
    """The folder with the ``ws`` package and the server script (installed once)."""
    return install()


@pytest.fixture
def node_ws(node_ws_install: Path) -> Iterator[Callable[..., NodeWs]]:
    """A factory: ``node_ws(max_payload=..., compression=...)`` starts a server; all stop at
    the end of the test."""
    started: list[NodeWs] = []

    def start(*, max_payload: int | None = None, compression: bool = True) -> NodeWs:
        server = NodeWs(node_ws_install, max_payload=max_payload, compression=compression)
        started.append(server)
        return server.start()

    yield start
    for server in started:
        server.stop()
