"""pepperpy-core: object-oriented async networking for Python services.

Everything public is importable from here; see ``docs/`` for guides. Names are loaded on first
use (PEP 562): ``import pepperpy_core`` itself loads nothing heavy, ``from pepperpy_core import
HttpClient`` loads the HTTP client and what it needs, and the WebSocket, Vision or cache code is
loaded only when one of its names is used.

``ConnectionError`` and ``TimeoutError`` (our subclasses of the built-ins) are importable from
here but not in ``__all__``, so ``from pepperpy_core import *`` leaves a module's
``except ConnectionError`` meaning the built-in.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from pepperpy_core._lazy import DEPRECATED, lazy_exports
from pepperpy_core._version import __version__

if TYPE_CHECKING:
    from pepperpy_core.behaviours import (
        Announced,
        CachedClient,
        CacheEntry,
        CacheMiddleware,
        CachePolicy,
        CacheStorage,
        EventCounters,
        HttpMetrics,
        MemoryCacheStorage,
        MemoryRateLimitStore,
        MetricsClient,
        MetricsMiddleware,
        OpenTelemetry,
        Rate,
        RateLimit,
        RateLimitedClient,
        RateLimitMiddleware,
        RateLimitStore,
        RedisCacheStorage,
        RedisRateLimitStore,
        RetryMiddleware,
        RetryPolicy,
        SQLiteCacheStorage,
    )
    from pepperpy_core.download import (
        AggregateProgress,
        DownloadHandler,
        DownloadProgress,
        DownloadProgressTracker,
        DownloadResult,
        FileOutcome,
        download_files_concurrently,
    )
    from pepperpy_core.exceptions import (
        ArgumentTypeError,
        BodyNotReplayableError,
        ChecksumMismatchError,
        ClientClosedError,
        ConfigurationError,
        DecodingError,
        DownloadError,
        DownloadException,
        DownloadStalledException,
        HTTPError,
        HTTPStatusError,
        InvalidURLError,
        MessageTooLargeError,
        OptionalDependencyError,
        PepperPyError,
        ProbeError,
        RateLimitError,
        RateLimitException,
        ResponseNotReadError,
        ResponseTooLargeError,
        TooManyRedirectsError,
        TransportError,
        UnsafeArchiveError,
        VisionDataNotFoundError,
        VisionError,
        WebSocketClosedError,
        WebSocketConnectionError,
        WebSocketDecodeError,
        WebSocketDisconnectedError,
        WebSocketError,
        WebSocketHandshakeError,
        WebSocketOutboxFullError,
    )
    from pepperpy_core.exceptions import ConnectionError as ConnectionError
    from pepperpy_core.exceptions import TimeoutError as TimeoutError
    from pepperpy_core.http import (
        FilePart,
        HttpClient,
        Middleware,
        Request,
        Response,
        Timeout,
    )
    from pepperpy_core.http.api import (
        make_api_request,
    )
    from pepperpy_core.http.factory import (
        AiohttpSession,
        as_http_client,
        create_aiohttp_client,
        create_client,
        create_httpx_client,
    )
    from pepperpy_core.logging import (
        configure_logging,
    )
    from pepperpy_core.network import (
        ConnectionState,
        DnsProbe,
        HttpProbe,
        NetworkManager,
        TcpProbe,
    )
    from pepperpy_core.vision import (
        AggTrade,
        Kline,
        RangePlan,
        Trade,
        VisionFile,
        VisionFrame,
        parse_csv,
        plan_range,
        read_archive,
    )
    from pepperpy_core.vision.manager import (
        VisionDownloadManager,
        VisionFileResult,
        VisionRangeResult,
    )
    from pepperpy_core.websocket import (
        BatchWebSocket,
        ReconnectPolicy,
        RetryWebSocket,
        WebSocket,
    )

#: Each public name and the module it is loaded from on first use.
_EXPORTS: dict[str, tuple[str, ...]] = {
    "pepperpy_core.behaviours": (
        "Announced", "CachedClient", "CacheEntry", "CacheMiddleware", "CachePolicy",
        "CacheStorage", "EventCounters", "HttpMetrics", "MemoryCacheStorage",
        "MemoryRateLimitStore", "MetricsClient", "MetricsMiddleware",
        "OpenTelemetry", "Rate", "RateLimit",
        "RateLimitedClient", "RateLimitMiddleware", "RateLimitStore",
        "RedisCacheStorage", "RedisRateLimitStore", "RetryMiddleware", "RetryPolicy",
        "SQLiteCacheStorage",
    ),
    "pepperpy_core.download": (
        "AggregateProgress", "DownloadHandler", "DownloadProgress", "DownloadProgressTracker",
        "DownloadResult", "FileOutcome", "download_files_concurrently",
    ),
    "pepperpy_core.exceptions": (
        "ArgumentTypeError", "BodyNotReplayableError", "ChecksumMismatchError",
        "ClientClosedError", "ConfigurationError", "ConnectionError", "DecodingError",
        "DownloadError", "DownloadException", "DownloadStalledException", "HTTPError",
        "HTTPStatusError", "InvalidURLError", "MessageTooLargeError", "OptionalDependencyError",
        "PepperPyError", "ProbeError", "RateLimitError", "RateLimitException",
        "ResponseNotReadError", "ResponseTooLargeError", "TimeoutError", "TooManyRedirectsError",
        "TransportError",
        "UnsafeArchiveError", "VisionDataNotFoundError", "VisionError", "WebSocketClosedError",
        "WebSocketConnectionError", "WebSocketDecodeError", "WebSocketDisconnectedError",
        "WebSocketError", "WebSocketHandshakeError", "WebSocketOutboxFullError",
    ),
    "pepperpy_core.http": (
        "FilePart", "HttpClient", "Middleware", "Request", "Response", "Timeout",
    ),
    "pepperpy_core.http.api": (
        "make_api_request",
    ),
    "pepperpy_core.http.factory": (
        "AiohttpSession", "as_http_client", "create_aiohttp_client", "create_client",
        "create_httpx_client",
    ),
    "pepperpy_core.logging": (
        "configure_logging",
    ),
    "pepperpy_core.network": (
        "ConnectionState", "DnsProbe", "HttpProbe", "NetworkManager", "TcpProbe",
    ),
    "pepperpy_core.vision": (
        "AggTrade", "Kline", "RangePlan", "Trade", "VisionFile", "VisionFrame", "parse_csv",
        "plan_range", "read_archive",
    ),
    "pepperpy_core.vision.manager": (
        "VisionDownloadManager", "VisionFileResult", "VisionRangeResult",
    ),
    "pepperpy_core.websocket": (
        "BatchWebSocket", "ReconnectPolicy", "RetryWebSocket", "WebSocket",
    ),
}

__all__ = [
    "AggTrade",
    "AggregateProgress",
    "AiohttpSession",
    "Announced",
    "ArgumentTypeError",
    "BatchWebSocket",
    "BodyNotReplayableError",
    "CacheEntry",
    "CacheMiddleware",
    "CachePolicy",
    "CacheStorage",
    "CachedClient",
    "ChecksumMismatchError",
    "ClientClosedError",
    "ConfigurationError",
    "ConnectionState",
    "DecodingError",
    "DnsProbe",
    "DownloadError",
    "DownloadException",
    "DownloadHandler",
    "DownloadProgress",
    "DownloadProgressTracker",
    "DownloadResult",
    "DownloadStalledException",
    "EventCounters",
    "FileOutcome",
    "FilePart",
    "HTTPError",
    "HTTPStatusError",
    "HttpClient",
    "HttpMetrics",
    "HttpProbe",
    "InvalidURLError",
    "Kline",
    "MemoryCacheStorage",
    "MemoryRateLimitStore",
    "MessageTooLargeError",
    "MetricsClient",
    "MetricsMiddleware",
    "Middleware",
    "NetworkManager",
    "OpenTelemetry",
    "OptionalDependencyError",
    "PepperPyError",
    "ProbeError",
    "RangePlan",
    "Rate",
    "RateLimit",
    "RateLimitError",
    "RateLimitException",
    "RateLimitMiddleware",
    "RateLimitStore",
    "RateLimitedClient",
    "ReconnectPolicy",
    "RedisCacheStorage",
    "RedisRateLimitStore",
    "Request",
    "Response",
    "ResponseNotReadError",
    "ResponseTooLargeError",
    "RetryMiddleware",
    "RetryPolicy",
    "RetryWebSocket",
    "SQLiteCacheStorage",
    "TcpProbe",
    "Timeout",
    "TooManyRedirectsError",
    "Trade",
    "TransportError",
    "UnsafeArchiveError",
    "VisionDataNotFoundError",
    "VisionDownloadManager",
    "VisionError",
    "VisionFile",
    "VisionFileResult",
    "VisionFrame",
    "VisionRangeResult",
    "WebSocket",
    "WebSocketClosedError",
    "WebSocketConnectionError",
    "WebSocketDecodeError",
    "WebSocketDisconnectedError",
    "WebSocketError",
    "WebSocketHandshakeError",
    "WebSocketOutboxFullError",
    "__version__",
    "as_http_client",
    "configure_logging",
    "create_aiohttp_client",
    "create_client",
    "create_httpx_client",
    "download_files_concurrently",
    "make_api_request",
    "parse_csv",
    "plan_range",
    "read_archive",
]


if not TYPE_CHECKING:  # type checkers read the imports above instead
    __getattr__, __dir__ = lazy_exports(__name__, _EXPORTS, globals(), DEPRECATED)
