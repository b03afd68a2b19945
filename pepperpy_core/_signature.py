"""Signatures that show every option a class built by inheritance takes.

A ready-made class forwards its parent's options as ``**options: Unpack[SomeOptions]``: type
checkers see each keyword, but ``inspect.signature``, ``help()`` and IDEs would only see
``**options``. :func:`class_signature` lists them one by one instead.
"""

from __future__ import annotations

import inspect

__all__ = ["class_signature"]


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
