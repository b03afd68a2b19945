"""The public surface: a sorted __all__ and every name the specification documents use."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

import pepperpy_core
import pepperpy_core.behaviours

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


# ------------------------------------------------------------------ lazy names (PEP 562)


#: What no user of the HTTP client should pay for when importing the package.
HEAVY = ("numpy", "pandas", "polars", "pyarrow", "structlog", "pydantic", "websockets", "rich",
         "httpx", "redis", "sqlite3", "prometheus_client", "opentelemetry")


def _loaded_after(code: str) -> set[str]:
    """Top-level module names loaded by ``code`` in a fresh interpreter."""
    probe = f"{code}\nimport sys\nprint(' '.join(sorted({{m.split('.')[0] for m in sys.modules}})))"
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                         check=True, timeout=60)
    return set(out.stdout.split())


def test_import_loads_nothing_heavy() -> None:
    """``import pepperpy_core`` loads neither aiohttp nor any optional or data library."""
    loaded = _loaded_after("import pepperpy_core")
    assert sorted(loaded & {*HEAVY, "aiohttp"}) == []


def test_the_http_client_loads_only_what_it_needs() -> None:
    """``from pepperpy_core import HttpClient`` (and sending through it) loads none of numpy,
    pandas, polars, pyarrow, websockets, pydantic, structlog, redis or the cache's SQLite."""
    loaded = _loaded_after(
        "import asyncio\nfrom pepperpy_core import HttpClient\n"
        "async def main():\n    async with HttpClient('http://127.0.0.1:9') as c:\n"
        "        c.build_request('GET', '/x')\n"
        "asyncio.run(main())"
    )
    assert sorted(loaded & set(HEAVY)) == []


def test_every_public_name_resolves_and_is_listed() -> None:
    """Every name in ``__all__`` (and the two kept out of it) loads on first use, is the object
    its module defines, and shows in ``dir()``."""
    names = [*pepperpy_core.__all__, "ConnectionError", "TimeoutError"]
    listed = dir(pepperpy_core)
    for name in names:
        assert getattr(pepperpy_core, name) is not None
        assert name in listed
    assert pepperpy_core.HttpClient is __import__("pepperpy_core.http", fromlist=["x"]).HttpClient
    with pytest.raises(AttributeError, match="HttpClinet"):
        _ = pepperpy_core.HttpClinet  # type: ignore[attr-defined]


def test_behaviours_names_resolve() -> None:
    """The behaviours package is lazy too, and lists all its names."""
    for name in pepperpy_core.behaviours.__all__:
        assert getattr(pepperpy_core.behaviours, name) is not None
        assert name in dir(pepperpy_core.behaviours)


@pytest.mark.parametrize("package", [pepperpy_core, pepperpy_core.behaviours])
def test_type_checking_imports_match_the_lazy_table(package: object) -> None:
    """What type checkers and IDEs read (the ``if TYPE_CHECKING:`` imports) is exactly what is
    loaded at run time (``_EXPORTS``), and ``__all__`` is that minus the builtin-shadowing names."""
    path = Path(package.__file__)  # type: ignore[attr-defined]
    tree = ast.parse(path.read_text())
    seen: dict[str, set[str]] = {}
    for node in tree.body:
        if isinstance(node, ast.If) and getattr(node.test, "id", "") == "TYPE_CHECKING":
            for stmt in node.body:
                assert isinstance(stmt, ast.ImportFrom) and stmt.module
                seen.setdefault(stmt.module, set()).update(a.name for a in stmt.names)
    exports = package._EXPORTS  # type: ignore[attr-defined]
    table = {module: set(names) for module, names in exports.items()}
    assert seen == table
    exported = {name for names in table.values() for name in names}
    public = set(package.__all__) - {"__version__"}  # type: ignore[attr-defined]
    assert public == exported - {"ConnectionError", "TimeoutError"}


def test_star_import_keeps_the_builtin_errors() -> None:
    """``from pepperpy_core import *`` does not rebind ``ConnectionError`` or ``TimeoutError``;
    both stay importable by name, as subclasses of the built-ins."""
    namespace: dict[str, object] = {}
    exec("from pepperpy_core import *", namespace)
    assert namespace.get("ConnectionError", ConnectionError) is ConnectionError
    assert "ConnectionError" not in namespace and "TimeoutError" not in namespace
    assert "HttpClient" in namespace
    from pepperpy_core import ConnectionError as OurConnectionError
    from pepperpy_core import TimeoutError as OurTimeoutError

    assert issubclass(OurConnectionError, ConnectionError)
    assert OurConnectionError is not ConnectionError
    assert issubclass(OurTimeoutError, TimeoutError)
    assert OurTimeoutError is not TimeoutError
