"""pepperpy_core.logging: events through stdlib logging under ``pepperpy_core.*``, levels that
mean the same everywhere, redaction on every route, quiet until configured, and the structlog
one-liner."""

from __future__ import annotations

import io
import json
import logging
import subprocess
import sys
from pathlib import Path

import pytest
import structlog

from pepperpy_core import HttpClient, RetryPolicy
from pepperpy_core.download import DownloadHandler
from pepperpy_core.logging import (
    REDACTED,
    configure_logging,
    debug_enabled,
    get_logger,
    redact_headers,
    redact_url,
)
from pepperpy_core.testing import FakeClock, LocalServer, capture_events
from pepperpy_core.websocket import WebSocket


def test_redact_url_hides_secret_query_values_and_userinfo() -> None:
    """Secret-looking query values and user info are replaced; the rest stays readable."""
    url = redact_url("https://user:pw@api.x.com/v1?symbol=BTC&apiKey=k1&signature=s2&limit=5")
    assert "k1" not in url and "s2" not in url and "pw" not in url
    assert "symbol=BTC" in url and "limit=5" in url
    assert redact_url("https://api.x.com/plain") == "https://api.x.com/plain"


def test_redacting_twice_changes_nothing() -> None:
    """An already redacted URL passes through the text scrubber unchanged (events scrub their
    string fields, which are often URLs redacted by the caller)."""
    from pepperpy_core._redact import redact_text

    once = redact_url("https://u:p@h/x?apiKey=abc&a=1")
    assert redact_text(once) == once == "https://[REDACTED]@h/x?apiKey=[REDACTED]&a=1"


def test_redact_headers() -> None:
    """Authorization, cookies and API-key headers are replaced; others kept."""
    safe = redact_headers(
        {"Authorization": "Bearer t", "Cookie": "a=b", "X-MBX-APIKEY": "k", "Accept": "x"}
    )
    assert safe == {"Authorization": REDACTED, "Cookie": REDACTED, "X-MBX-APIKEY": REDACTED,
                    "Accept": "x"}


def test_events_are_stdlib_records_under_the_component_name(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """An event is a LogRecord on ``pepperpy_core.<component>`` whose message reads
    ``event key=value`` and which carries the event name and fields as attributes."""
    caplog.set_level(logging.INFO, logger="pepperpy_core")
    get_logger("pepperpy_core.websocket").info("websocket.connected", url="ws://h/x", n=2,
                                                  note="two words")
    [record] = caplog.records
    assert record.name == "pepperpy_core.websocket" and record.levelno == logging.INFO
    assert record.getMessage() == "websocket.connected url=ws://h/x n=2 note='two words'"
    assert record.event == "websocket.connected"  # type: ignore[attr-defined]
    assert record.event_fields == {"url": "ws://h/x", "n": 2, "note": "two words"}  # type: ignore[attr-defined]
    assert record.funcName == "test_events_are_stdlib_records_under_the_component_name"


def test_the_application_level_decides(caplog: pytest.LogCaptureFixture) -> None:
    """With the library's loggers at WARNING, info and debug events are neither emitted nor
    built; at DEBUG for one component only, that component's debug events appear."""
    caplog.set_level(logging.WARNING, logger="pepperpy_core")
    http, ws = get_logger("pepperpy_core.http"), get_logger("pepperpy_core.websocket")
    ws.info("websocket.connected")
    http.debug("http.attempt")
    ws.warning("websocket.disconnected", error="reset")
    assert [r.getMessage() for r in caplog.records] == ["websocket.disconnected error=reset"]
    assert not debug_enabled() and not http.debug_enabled()
    caplog.set_level(logging.DEBUG, logger="pepperpy_core.http")
    assert http.debug_enabled() and not ws.debug_enabled()
    http.debug("http.attempt", attempt=1)
    ws.debug("websocket.frame")
    assert caplog.records[-1].getMessage() == "http.attempt attempt=1"


def test_secrets_are_redacted_in_fields_and_message(caplog: pytest.LogCaptureFixture) -> None:
    """A string field carrying a secret (a raw URL, an error text quoting a header) is
    redacted before any handler sees it, in the message and in ``event_fields``."""
    caplog.set_level(logging.DEBUG, logger="pepperpy_core")
    get_logger("pepperpy_core.x").warning(
        "x.failed", url="https://u:pw1@h/p?api_key=k2&a=1", error="Authorization: Bearer tok3",
        targets=["https://u:pw4@h/"],
    )
    [record] = caplog.records
    text = record.getMessage() + repr(record.event_fields)  # type: ignore[attr-defined]
    for secret in ("pw1", "k2", "tok3", "pw4"):
        assert secret not in text
    assert "a=1" in text


def test_debug_check_follows_reconfiguration() -> None:
    """The cheap check before building a debug event follows every change of level."""
    logger = logging.getLogger("pepperpy_core")
    for level, expected in [(logging.DEBUG, True), (logging.INFO, False), (logging.DEBUG, True),
                            (logging.NOTSET, False)]:
        logger.setLevel(level)
        assert debug_enabled() is expected, level
        assert get_logger("pepperpy_core.http").debug_enabled() is expected, level


# ------------------------------------------------------------------ levels in real scenarios


async def test_levels_mean_the_same_everywhere(observed: LocalServer, tmp_path: Path) -> None:
    """DEBUG per attempt, INFO for lifecycle (connected, downloaded), WARNING for degraded
    (retrying), ERROR for given up (a download that failed)."""
    clock = FakeClock()
    with capture_events() as events:
        async with HttpClient(base_url=observed.base_url, sleep=clock.sleep, clock=clock,
                              retries=RetryPolicy(total=2, backoff_base=0.01)) as http:
            assert (await http.get("/flaky?api_key=k-secret")).status == 200
            handler = DownloadHandler(http, max_retries=0, sleep=clock.sleep)
            assert await handler.download_file(observed.url("/file.bin"), tmp_path / "f.bin")
            assert not await handler.download_file(observed.url("/missing"), tmp_path / "m.bin")
        ws = WebSocket(observed.url("/ws/echo").replace("http", "ws"), ping_interval=None)
        await ws.connect()
        await ws.close()
    level = {}
    for event in events:
        level.setdefault(event["event"], event["log_level"])
    assert level["http.attempt"] == "debug"
    assert level["http.retry"] == "warning"
    assert level["download.done"] == "info"
    assert level["download.failed"] == "error"
    assert level["websocket.connected"] == "info"
    assert "k-secret" not in repr(events)
    assert {e["logger"] for e in events} == {
        "pepperpy_core.http", "pepperpy_core.retry", "pepperpy_core.download",
        "pepperpy_core.websocket", "pepperpy_core.websocket.wire",  # the frames, at DEBUG
    }


QUIET_PROGRAM = """
import asyncio, sys, tempfile, pathlib
sys.path.insert(0, {tests!r})
from observed_site import make_site
from pepperpy_core import HttpClient, RetryPolicy
from pepperpy_core.download import DownloadHandler
from pepperpy_core.testing import LocalServer
from pepperpy_core.websocket import WebSocket

async def main():
    async with LocalServer(make_site()) as observed:
        async with HttpClient(base_url=observed.base_url,
                              retries=RetryPolicy(total=2, backoff_base=0.001)) as http:
            await http.get("/flaky?token=t-secret")
            handler = DownloadHandler(http, max_retries=0)
            folder = pathlib.Path(tempfile.mkdtemp())
            await handler.download_file(observed.url("/file.bin"), folder / "f.bin")
            await handler.download_file(observed.url("/missing"), folder / "m.bin")
        ws = WebSocket(observed.url("/ws/echo").replace("http", "ws"), ping_interval=None)
        await ws.connect()
        await ws.close()

asyncio.run(main())
"""


def test_a_program_without_logging_config_prints_nothing_on_stdout() -> None:
    """No logging set-up: nothing on stdout, and on stderr only Python's last-resort handler's
    WARNING-and-above lines (the retry, the failed download), no info or debug event."""
    program = QUIET_PROGRAM.format(tests=str(Path(__file__).parent))
    out = subprocess.run([sys.executable, "-c", program], capture_output=True, text=True,
                         timeout=60, check=True)
    assert out.stdout == ""
    lines = out.stderr.splitlines()
    assert [line.split()[0] for line in lines] == ["http.retry", "download.failed"], out.stderr
    assert "t-secret" not in out.stderr


# ------------------------------------------------------------------ configure_logging


def test_configure_logging_json_lines() -> None:
    """One JSON object per line: event name, its fields, level, logger, UTC timestamp; below
    the level nothing."""
    stream = io.StringIO()
    configure_logging("INFO", json=True, stream=stream)
    log = get_logger("pepperpy_core.websocket")
    log.debug("websocket.frame")
    log.info("websocket.connected", url="wss://h/?token=s3", connections=1)
    [line] = stream.getvalue().splitlines()
    event = json.loads(line)
    assert event["event"] == "websocket.connected" and event["connections"] == 1
    assert event["level"] == "info" and event["logger"] == "pepperpy_core.websocket"
    assert event["timestamp"].endswith("Z") and "s3" not in line


def test_configure_logging_console_and_the_applications_structlog() -> None:
    """The console renderer shows our event and its fields; the application's own structlog
    events and plain stdlib records come out the same way; a second call replaces the
    first's handler rather than doubling every line."""
    configure_logging("DEBUG", stream=io.StringIO())
    stream = io.StringIO()
    configure_logging("INFO", stream=stream)
    get_logger("pepperpy_core.download").info("download.done", bytes=100)
    structlog.get_logger("app").info("app.started", port=80)
    logging.getLogger("other").warning("plain %s", "record")
    lines = stream.getvalue().splitlines()
    assert len(lines) == 3, lines
    assert "download.done" in lines[0] and "bytes=100" in lines[0] and "[info" in lines[0]
    assert "app.started" in lines[1] and "port=80" in lines[1]
    assert "plain record" in lines[2] and "warning" in lines[2]


def test_configure_logging_rejects_an_unknown_level() -> None:
    with pytest.raises(ValueError, match="LOUD"):
        configure_logging("LOUD")
