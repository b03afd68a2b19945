"""Lazy public names for a package (PEP 562): each is imported from its module on first use.

A package lists its names once per module in ``_EXPORTS`` and writes the same imports under
``if TYPE_CHECKING:`` for type checkers and IDEs (a test keeps the two the same); at run time
``__getattr__`` loads a name when it is first asked for and keeps it in the package.

Deprecated names (:data:`DEPRECATED`) load the same way, from
:mod:`pepperpy_core.behaviours._deprecated`, with a ``DeprecationWarning`` at every lookup; they
are in neither ``__all__`` nor ``dir()``, and type checkers do not see them.
"""

from __future__ import annotations

import importlib
import warnings
from collections.abc import Callable, Iterable, Mapping
from typing import Any

__all__ = ["DEPRECATED", "deprecated_names", "lazy_exports"]

#: Names kept for one release, and what replaces each.
DEPRECATED: dict[str, str] = {
    "CacheMixin": "subclass CachedClient instead (it composes: "
                  "class Api(CachedClient, RateLimitedClient))",
    "MetricsMixin": "subclass MetricsClient instead (it composes: "
                    "class Api(MetricsClient, CachedClient))",
    "RateLimitMixin": "subclass RateLimitedClient instead (it composes: "
                      "class Api(CachedClient, RateLimitedClient)); the class attribute "
                      "rate_limit works there too",
    "RetryMixin": "set the class attribute retry_policy on your HttpClient subclass instead",
}
_DEPRECATED_HOME = "pepperpy_core.behaviours._deprecated"


def deprecated_names(package: str, names: Iterable[str]) -> Callable[..., Any]:
    """A module ``__getattr__`` for ``package`` that hands out the deprecated ``names`` with a
    ``DeprecationWarning`` pointing at what replaces each, and raises ``AttributeError`` for
    anything else."""
    kept = frozenset(names)

    def __getattr__(name: str, _depth: int = 2) -> Any:
        if name not in kept:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        warnings.warn(  # _depth: the frame that looked the name up
            f"{package}.{name} is deprecated and will be removed in the next release; "
            f"{DEPRECATED[name]}", DeprecationWarning, stacklevel=_depth,
        )
        return getattr(importlib.import_module(_DEPRECATED_HOME), name)

    return __getattr__


def lazy_exports(
    package: str, exports: Mapping[str, tuple[str, ...]], namespace: dict[str, Any],
    deprecated: Iterable[str] = (),
) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """The ``__getattr__`` and ``__dir__`` of ``package``, whose ``namespace`` (its
    ``globals()``) receives each name from the module ``exports`` says it lives in; the
    ``deprecated`` names are handed out by :func:`deprecated_names`."""
    origin = {name: module for module, names in exports.items() for name in names}
    old = deprecated_names(package, deprecated)

    def __getattr__(name: str) -> Any:
        module = origin.get(name)
        if module is None:
            return old(name, 3)
        value = getattr(importlib.import_module(module), name)
        namespace[name] = value
        return value

    def __dir__() -> list[str]:
        return sorted({*namespace, *origin})

    return __getattr__, __dir__
