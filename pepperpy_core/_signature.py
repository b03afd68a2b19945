"""Signatures that show every option, and unknown keywords refused in the caller's words.

A ready-made class forwards its parent's options as ``**options: Unpack[SomeOptions]``: type
checkers see each keyword, but ``inspect.signature``, ``help()`` and IDEs would only see
``**options``. :func:`class_signature` lists them one by one instead.

:func:`unknown_keyword` is the one ``TypeError`` for a keyword nobody takes, with the closest
one that exists (``'parms'; did you mean params=?``); :func:`keywords_checked` gives it to a
function whose keywords are all named, or to a base class's ``__init__`` that its subclasses
reach with ``**options`` (checked against the signature of the class being built).
"""

from __future__ import annotations

import functools
import inspect
import weakref
from collections.abc import Callable, Iterable, Mapping
from difflib import get_close_matches
from typing import Any, TypeVar, cast

__all__ = ["class_signature", "given_beyond_defaults", "keywords_checked", "unknown_keyword"]

_F = TypeVar("_F", bound=Callable[..., Any])


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


@functools.cache
def _defaults(function: Callable[..., Any]) -> Mapping[str, Any]:
    return {p.name: p.default for p in inspect.signature(function).parameters.values()
            if p.default is not p.empty}


def given_beyond_defaults(function: Callable[..., Any], values: Mapping[str, Any]) -> bool:
    """Whether any of ``values`` (parameter name -> what the caller passed) differs from
    ``function``'s own default for it, read from its signature rather than copied."""
    defaults = _defaults(function)
    return any(value != defaults[name] for name, value in values.items())


def unknown_keyword(
    call: str, name: str, known: Iterable[str], meant: Mapping[str, str] | None = None,
    otherwise: str = "",
) -> TypeError:
    """The error for ``call`` (``"create_client()"``) given the keyword ``name``: it names the
    keyword and what was meant, from ``meant`` (other libraries' names for an option) or the
    closest of ``known``; ``otherwise`` is the hint when nothing is close."""
    guess = (meant or {}).get(name) or next(iter(get_close_matches(name, list(known), 1)), None)
    hint = f"; did you mean {guess}=?" if guess else (f"; {otherwise}" if otherwise else "")
    return TypeError(f"{call} got an unexpected keyword argument {name!r}{hint}")


_CLASS_KEYWORDS: weakref.WeakKeyDictionary[type, frozenset[str]] = weakref.WeakKeyDictionary()


def _class_keywords(cls: type) -> frozenset[str]:
    """The names ``cls(...)`` takes, by its signature (remembered per class)."""
    known = _CLASS_KEYWORDS.get(cls)
    if known is None:
        known = _CLASS_KEYWORDS[cls] = frozenset(inspect.signature(cls).parameters)
    return known


def keywords_checked(
    meant: Mapping[str, str] | None = None, otherwise: str = ""
) -> Callable[[_F], _F]:
    """Decorate a function so that a keyword it does not take is :func:`unknown_keyword`'s
    ``TypeError`` (with a suggestion) rather than Python's bare one. On an ``__init__`` the
    keywords are those of the class being built, subclasses' included, and the error names
    that class: ``RetryWebSocket(url, max_retry=3)`` says ``did you mean max_retries=?``.
    Type checkers see the function unchanged."""

    def decorate(function: _F) -> _F:
        params = list(inspect.signature(function).parameters.values())
        own = frozenset(p.name for p in params if p.kind in (p.POSITIONAL_OR_KEYWORD,
                                                            p.KEYWORD_ONLY))
        is_init = function.__name__ == "__init__"
        if not is_init and any(p.kind is p.VAR_KEYWORD for p in params):
            raise TypeError(f"keywords_checked: {function.__name__}() takes **kwargs")

        @functools.wraps(function)
        def checked(*args: Any, **kwargs: Any) -> Any:
            if kwargs:
                cls = type(args[0]) if is_init else None
                known = own if cls is None else _class_keywords(cls)
                for name in kwargs:
                    if name not in known:
                        call = f"{function.__name__ if cls is None else cls.__name__}()"
                        raise unknown_keyword(call, name, known, meant, otherwise)
            return function(*args, **kwargs)

        return cast(_F, checked)

    return decorate
