"""Downloads: resumable, verified, concurrent, with progress and stall detection."""

from pepperpy_core.download.concurrent import (
    AggregateProgress,
    FileOutcome,
    download_files_concurrently,
)
from pepperpy_core.download.handler import DownloadHandler, DownloadResult
from pepperpy_core.download.naming import safe_filename
from pepperpy_core.download.progress import DownloadProgress, DownloadProgressTracker

__all__ = [
    "AggregateProgress",
    "DownloadHandler",
    "DownloadProgress",
    "DownloadProgressTracker",
    "DownloadResult",
    "FileOutcome",
    "download_files_concurrently",
    "safe_filename",
]
