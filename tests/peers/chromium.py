"""Headless Chromium (Debian's ``chromium`` package) driven over the DevTools protocol.

Only loopback is reachable from it: ``--host-resolver-rules`` makes every other host name
unresolvable, and background networking (updates, sync, metrics) is switched off, so a page
that asks for a CDN fails loudly in the test instead of reaching the internet.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import os
import shutil
import signal
import tempfile
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import websockets

from peers.require import missing

FLAGS = [
    "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
    "--no-first-run", "--no-default-browser-check", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--disable-default-apps",
    "--disable-extensions", "--metrics-recording-only", "--mute-audio",
    "--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE 127.0.0.1",
    "--window-size=1280,900", "--remote-debugging-port=0",
]


def chromium_path() -> str:
    """The Chromium binary, or skip (fail in CI) naming the package to install."""
    for name in ("chromium", "chromium-browser"):
        found = shutil.which(name)
        if found:
            return found
    missing("chromium", "apt-get install chromium")


@dataclass
class PageReport:
    """What one page load showed: problems seen and the result of a check script."""

    url: str
    console_errors: list[str] = field(default_factory=list)
    failed_requests: list[str] = field(default_factory=list)
    checks: Any = None


class Browser:
    """One headless Chromium and one tab in it."""

    def __init__(self, conn: Any) -> None:
        self._conn = conn
        self._ids = itertools.count(1)
        self._pending: dict[int, asyncio.Future[Any]] = {}
        self._events: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self._session = ""
        self._reader = asyncio.ensure_future(self._read())

    async def _read(self) -> None:
        async for raw in self._conn:
            message = json.loads(raw)
            waiter = self._pending.pop(message.get("id", -1), None)
            if waiter is not None and not waiter.done():
                if "error" in message:
                    waiter.set_exception(RuntimeError(str(message["error"])))
                else:
                    waiter.set_result(message.get("result", {}))
            elif "method" in message:
                await self._events.put(message)

    async def call(self, method: str, session: bool = True, **params: Any) -> Any:
        """Send one DevTools command (to the tab unless ``session`` is False)."""
        ident = next(self._ids)
        waiter: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self._pending[ident] = waiter
        message: dict[str, Any] = {"id": ident, "method": method, "params": params}
        if session and self._session:
            message["sessionId"] = self._session
        await self._conn.send(json.dumps(message))
        return await asyncio.wait_for(waiter, 30)

    async def open_tab(self) -> None:
        target = await self.call("Target.createTarget", session=False, url="about:blank")
        attached = await self.call("Target.attachToTarget", session=False,
                                   targetId=target["targetId"], flatten=True)
        self._session = attached["sessionId"]
        for domain in ("Page", "Runtime", "Log", "Network"):
            await self.call(f"{domain}.enable")

    async def visit(self, url: str, check_script: str) -> PageReport:
        """Load ``url``, wait for its load event and a quiet moment, run ``check_script``."""
        report = PageReport(url)
        while not self._events.empty():
            self._events.get_nowait()
        await self.call("Page.navigate", url=url)
        loop = asyncio.get_running_loop()
        loaded = False
        deadline = loop.time() + 20
        quiet_until = None
        while True:
            now = loop.time()
            if now > deadline:
                raise AssertionError(f"{url} did not finish loading in 20 s")
            if quiet_until is not None and now >= quiet_until:
                break
            timeout = (quiet_until or deadline) - now
            try:
                event = await asyncio.wait_for(self._events.get(), timeout)
            except asyncio.TimeoutError:
                continue
            self._note(event, report)
            if event["method"] == "Page.loadEventFired" and not loaded:
                loaded = True
                quiet_until = loop.time() + 0.3  # late requests (search index, worker)
        result = await self.call("Runtime.evaluate", expression=check_script, returnByValue=True)
        report.checks = result.get("result", {}).get("value")
        return report

    @staticmethod
    def _note(event: dict[str, Any], report: PageReport) -> None:
        method, params = event["method"], event.get("params", {})
        if method == "Runtime.exceptionThrown":
            report.console_errors.append(str(params.get("exceptionDetails", {}).get("text")))
        elif method == "Runtime.consoleAPICalled" and params.get("type") in ("error", "assert"):
            report.console_errors.append(json.dumps(params.get("args", []))[:300])
        elif method == "Log.entryAdded" and params.get("entry", {}).get("level") == "error":
            entry = params["entry"]
            report.console_errors.append(f"{entry.get('text')} {entry.get('url', '')}")
        elif method == "Network.loadingFailed" and not params.get("canceled"):
            report.failed_requests.append(f"{params.get('errorText')} ({params.get('type')})")
        elif method == "Network.responseReceived":
            response = params.get("response", {})
            if int(response.get("status", 0)) >= 400:
                report.failed_requests.append(f"{response.get('status')} {response.get('url')}")

    async def close(self) -> None:
        self._reader.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._reader


@contextlib.asynccontextmanager
async def headless_chromium() -> AsyncIterator[Browser]:
    """A Chromium process with one open tab, ended on exit."""
    binary = chromium_path()
    with tempfile.TemporaryDirectory(prefix="pp-chromium-", ignore_cleanup_errors=True) as profile:
        proc = await asyncio.create_subprocess_exec(
            binary, *FLAGS, f"--user-data-dir={profile}", "about:blank",
            stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL,
            start_new_session=True,  # its helper processes end with it (killpg below)
        )
        try:
            port_file = Path(profile) / "DevToolsActivePort"
            for _ in range(300):
                if port_file.exists() and len(port_file.read_text().splitlines()) >= 2:
                    break
                if proc.returncode is not None:
                    raise AssertionError(f"chromium exited with {proc.returncode}")
                await asyncio.sleep(0.05)
            port, path = port_file.read_text().splitlines()[:2]
            async with websockets.connect(f"ws://127.0.0.1:{port}{path}",
                                          max_size=None) as conn:
                browser = Browser(conn)
                try:
                    await browser.open_tab()
                    yield browser
                finally:
                    await browser.close()
        finally:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGTERM)
            try:
                await asyncio.wait_for(proc.wait(), 10)
            except asyncio.TimeoutError:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGKILL)
                await proc.wait()
