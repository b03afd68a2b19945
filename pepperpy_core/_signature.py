"""Signatures that show every option a class built by inheritance takes.

A ready-made class forwards its parent's options as ``**options: Unpack[SomeOptions]``: type
checkers see each keyword, but ``inspect.signature``, ``help()`` and IDEs would only see
``**options``. :func:`class_signature` lists them one by one instead, and
:func:`checked_keywords` turns a keyword none of them takes into a ``TypeError`` that names it
and what was probably meant (:func:`unexpected_keyword`, which the HTTP verbs use too).
"""

from __future__ import annotations

import functools
import inspect
import weakref
from collections.abc import Callable, Collection, Mapping
from difflib import get_close_matches
from typing import ParamSpec

__all__ = ["checked_keywords", "class_signature", "unexpected_keyword"]

P = ParamSpec("P")


def class_signature(cls: type) -> inspect.Signature:
    """``cls``'s own positional parameters, then every keyword-only parameter of the classes
    it is built from (its own first, the base's last), without ``**options``."""
    first = inspect.signature(cls.__init__)  # type: ignore[misc]
    positional = [p for p in list(first.parameters.values())[1:]
                  if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    seen = {p.name for p in positional}
    keywords: list[inspect.Parameter] = []
    for klass in cls.__mro__:
        init = klass.__dict__.get("__init__")
        if init is None or klass is object:
            continue
        params = list(inspect.signature(init).parameters.values())[1:]
        for p in params:
            if p.kind in (p.VAR_KEYWORD, p.VAR_POSITIONAL) or p.name in seen:
                continue
            seen.add(p.name)
            keywords.append(p.replace(kind=p.KEYWORD_ONLY))
    return inspect.Signature([*positional, *keywords], return_annotation=None)


def unexpected_keyword(
    owner: str, name: str, known: Collection[str], aliases: Mapping[str, str] | None = None
) -> TypeError:
    """The ``TypeError`` for keyword ``name`` that ``owner`` (``"HttpClient.get()"``) does not
    take, suggesting another library's spelling from ``aliases`` or the closest of ``known``."""
    meant = (aliases or {}).get(name) or next(iter(get_close_matches(name, known, 1)), None)
    hint = f"; did you mean {meant}=?" if meant else ""
    return TypeError(f"{owner} got an unexpected keyword argument {name!r}{hint}")


_KEYWORDS: weakref.WeakKeyDictionary[type, frozenset[str]] = weakref.WeakKeyDictionary()


def _keywords(cls: type) -> frozenset[str]:
    """The names ``cls(...)`` takes, by its signature (remembered per class)."""
    known = _KEYWORDS.get(cls)
    if known is None:
        known = _KEYWORDS[cls] = frozenset(inspect.signature(cls).parameters)
    return known


def checked_keywords(init: Callable[P, None]) -> Callable[P, None]:
    """Wrap a base class's ``__init__`` (which its subclasses reach with ``**options``) so
    that a keyword the class being built does not take, by its signature, is a ``TypeError``
    naming that class, the keyword and the close match: ``RetryWebSocket(url, max_retry=3)``
    says ``did you mean max_retries=?``."""

    @functools.wraps(init)
    def checked(*args: P.args, **kwargs: P.kwargs) -> None:
        cls = type(args[0])
        known = _keywords(cls)
        for name in kwargs:
            if name not in known:
                raise unexpected_keyword(f"{cls.__name__}()", name, known)
        init(*args, **kwargs)

    return checked
