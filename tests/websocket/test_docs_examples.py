"""Every python block in docs/websocket.md runs against a local server (URL swapped)."""

from __future__ import annotations

import ast
import json
import re
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
from websockets.asyncio.server import ServerConnection

import pepperpy_core
import pepperpy_core.exceptions
import pepperpy_core.websocket

DOC = Path(__file__).resolve().parents[2] / "docs" / "websocket.md"
BLOCKS = re.findall(r"```python\n(.*?)```", DOC.read_text(encoding="utf-8"), re.S)
DOC_URL = "wss://ws.example.com"


async def doc_server(ws: ServerConnection) -> None:
    """Echo, except a subscribe request, answered with two updates and a normal close."""
    async for message in ws:
        data = json.loads(message) if isinstance(message, str) else None
        if isinstance(data, dict) and data.get("type") == "subscribe":
            for n in range(2):
                await ws.send(json.dumps({"channel": data["channel"], "n": n}))
            await ws.close()
            return
        await ws.send(message)


@pytest.fixture(autouse=True)
def public_names(monkeypatch: pytest.MonkeyPatch) -> None:
    """Make ``from pepperpy_core import WebSocket`` work before the package root exports it
    (no effect once it does)."""
    for module in (pepperpy_core.websocket, pepperpy_core.exceptions):
        for name in module.__all__:
            if not hasattr(pepperpy_core, name):
                monkeypatch.setattr(pepperpy_core, name, getattr(module, name), raising=False)


def test_the_page_has_examples() -> None:
    """The page documents the module with several runnable examples."""
    assert len(BLOCKS) >= 8


@pytest.mark.parametrize("index", range(len(BLOCKS)))
async def test_doc_example_runs(
    index: int, ws_server: Callable[..., Awaitable[Any]], capsys: pytest.CaptureFixture[str]
) -> None:
    """The example runs to the end against a real local server."""
    server = await ws_server(doc_server)
    source = BLOCKS[index].replace(DOC_URL, server.url)
    code = compile(source, f"{DOC.name}[{index}]", "exec", flags=ast.PyCF_ALLOW_TOP_LEVEL_AWAIT)
    namespace: dict[str, Any] = {"__name__": f"doc_example_{index}"}
    result = eval(code, namespace)  # our own documentation, compiled above
    if result is not None:
        await result
    for value in namespace.values():  # close what an example left open, so no task leaks
        if isinstance(value, pepperpy_core.websocket.WebSocket):
            await value.close()
