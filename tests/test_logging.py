"""pepperpy_core.logging: redaction, quiet debug by default, and following the app's config."""

from __future__ import annotations

import structlog

from pepperpy_core.logging import (
    REDACTED,
    configure_logging,
    debug_enabled,
    get_logger,
    redact_headers,
    redact_url,
)


def test_redact_url_hides_secret_query_values_and_userinfo() -> None:
    """Secret-looking query values and user info are replaced; the rest stays readable."""
    url = redact_url("https://user:pw@api.x.com/v1?symbol=BTC&apiKey=k1&signature=s2&limit=5")
    assert "k1" not in url and "s2" not in url and "pw" not in url
    assert "symbol=BTC" in url and "limit=5" in url
    assert redact_url("https://api.x.com/plain") == "https://api.x.com/plain"


def test_redact_headers() -> None:
    """Authorization, cookies and API-key headers are replaced; others kept."""
    safe = redact_headers(
        {"Authorization": "Bearer t", "Cookie": "a=b", "X-MBX-APIKEY": "k", "Accept": "x"}
    )
    assert safe == {"Authorization": REDACTED, "Cookie": REDACTED, "X-MBX-APIKEY": REDACTED,
                    "Accept": "x"}


def test_debug_dropped_until_configured() -> None:
    """Unconfigured structlog: debug events are off; configured at DEBUG they are on."""
    assert debug_enabled() is False
    configure_logging("DEBUG")
    assert debug_enabled() is True
    configure_logging("INFO")
    assert debug_enabled() is False


def test_debug_check_follows_every_reconfiguration() -> None:
    """The answer is remembered per wrapper class, yet follows the application switching back
    and forth between levels, and back to unconfigured."""
    import logging

    for level, expected in [(logging.DEBUG, True), (logging.INFO, False), (logging.DEBUG, True),
                            (logging.WARNING, False), (logging.DEBUG, True)]:
        structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(level))
        assert debug_enabled() is expected, level
        assert debug_enabled() is expected, level
    structlog.reset_defaults()
    assert debug_enabled() is False


def test_logger_follows_a_later_configuration() -> None:
    """After one configuration (with logger caching), a later one still gets our events."""
    log = get_logger("pepperpy_core.test")
    configure_logging("ERROR")
    log.info("hidden.event")
    structlog.reset_defaults()
    with structlog.testing.capture_logs() as events:
        log.info("visible.event", n=1)
    assert [e["event"] for e in events] == ["visible.event"]
