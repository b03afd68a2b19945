"""The public surface: a sorted __all__ and every name the specification documents use."""

from __future__ import annotations

import pepperpy_core

# Every name the two specification documents import or use.
DOCUMENTED = {
    "HttpClient",
    "WebSocket",
    "NetworkManager",
    "RateLimitedClient",
    "RetryWebSocket",
    "CachedClient",
    "BatchWebSocket",
    "MetricsClient",
    "RateLimitError",
    "create_client",
    "create_aiohttp_client",
    "create_httpx_client",
    "DownloadHandler",
    "DownloadProgressTracker",
    "download_files_concurrently",
    "make_api_request",
    "VisionDownloadManager",
    "DownloadException",
    "DownloadStalledException",
    "RateLimitException",
}


def test_all_is_sorted_and_unique() -> None:
    """__all__ is sorted and has no duplicates."""
    names = list(pepperpy_core.__all__)
    assert names == sorted(names)
    assert len(names) == len(set(names))


def test_all_names_exist() -> None:
    """Every name in __all__ is importable from pepperpy_core."""
    missing = [n for n in pepperpy_core.__all__ if not hasattr(pepperpy_core, n)]
    assert missing == []


def test_documented_names_are_public() -> None:
    """Every class and function the documents use is in pepperpy_core.__all__."""
    assert sorted(DOCUMENTED - set(pepperpy_core.__all__)) == []


def test_document_aliases_are_the_same_class() -> None:
    """The documents' alternative names are the same classes, not copies."""
    assert pepperpy_core.RateLimitException is pepperpy_core.RateLimitError
    assert pepperpy_core.DownloadException is pepperpy_core.DownloadError
    assert issubclass(pepperpy_core.ConnectionError, ConnectionError)
    assert issubclass(pepperpy_core.TimeoutError, TimeoutError)
    assert issubclass(pepperpy_core.ConfigurationError, ValueError)


def test_package_is_typed() -> None:
    """The py.typed marker ships with the package."""
    from importlib.resources import files

    assert files("pepperpy_core").joinpath("py.typed").is_file()
