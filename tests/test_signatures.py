"""Every public option is visible in a signature: ``inspect.signature`` over the public classes,
their methods and the public functions shows each keyword (no ``**kwargs`` swallowing options),
no private sentinel shows as a default, and the typed option lists (``TypedDict``) that the
forwarding classes use are exactly what they forward to."""

from __future__ import annotations

import inspect
import pickle
from collections.abc import Callable, Iterator
from typing import Any, is_typeddict

import pytest

import pepperpy_core
import pepperpy_core.behaviours
from pepperpy_core.behaviours.options import (
    CachedClientForwards,
    CacheOptions,
    MetricsClientForwards,
    MetricsOptions,
    RateLimitedClientForwards,
    RateLimitOptions,
)
from pepperpy_core.config import DEFAULT, ClientOptions
from pepperpy_core.download.handler import DownloadOptions, HandlerOptions
from pepperpy_core.http.client import RequestOptions
from pepperpy_core.testing import LocalServer
from pepperpy_core.websocket.client import BatchOptions, RetryOptions, WebSocketOptions

#: ``**kwargs`` left on purpose, and why.
FORWARDS = {
    "RateLimit.of": "RateLimit's other fields, checked by its constructor",
    "RateLimit.per_window": "RateLimit's other fields, checked by its constructor",
    "RateLimit.with_": "field changes of a frozen value, checked by its constructor",
    "RetryPolicy.with_": "field changes of a frozen value, checked by its constructor",
    "CachePolicy.with_": "field changes of a frozen value, checked by its constructor",
    "Request.copy_with": "field changes, checked by Request's constructor",
}


def _ours(obj: Any) -> bool:
    return str(getattr(obj, "__module__", "")).startswith("pepperpy_core")


def _public() -> Iterator[tuple[str, Callable[..., Any]]]:
    """(name, callable) for each public class, its own public methods, and each function."""
    seen: set[int] = set()
    for package in (pepperpy_core, pepperpy_core.behaviours):
        for name in package.__all__:
            obj = getattr(package, name)
            if id(obj) in seen or not callable(obj) or not _ours(obj):
                continue
            seen.add(id(obj))
            if not inspect.isclass(obj):
                yield name, obj
                continue
            if issubclass(obj, BaseException) or getattr(obj, "_is_protocol", False):
                continue  # errors: tests/test_exceptions.py; protocols describe, not take
            yield name, obj
            for attr, member in vars(obj).items():
                function = member.__func__ if isinstance(member, (classmethod, staticmethod)) \
                    else member
                if attr.startswith("_") or not callable(function) or not _ours(function):
                    continue
                yield f"{name}.{attr}", getattr(obj, attr)


PUBLIC = dict(_public())


def _unpacked(parameter: inspect.Parameter) -> bool:
    """``**options: Unpack[SomeOptions]``: type checkers see every keyword one by one."""
    return str(parameter.annotation).startswith("Unpack[")


@pytest.mark.parametrize("name", sorted(PUBLIC))
def test_no_options_hidden_in_kwargs(name: str) -> None:
    """No public signature ends in a bare ``**kwargs`` (apart from the forwards listed, each
    with its reason); a typed ``Unpack[...]`` is visible to type checkers."""
    signature = inspect.signature(PUBLIC[name])
    hidden = [p.name for p in signature.parameters.values()
              if p.kind is p.VAR_KEYWORD and not _unpacked(p)]
    if name in FORWARDS:
        assert hidden, f"{name} no longer forwards **kwargs: drop it from FORWARDS"
    else:
        assert hidden == [], f"{name}{signature}"


@pytest.mark.parametrize("name", sorted(PUBLIC))
def test_no_private_sentinel_as_a_default(name: str) -> None:
    """A default is a value a user can read and write: no ``<default>`` of a private class."""
    for parameter in inspect.signature(PUBLIC[name]).parameters.values():
        default = parameter.default
        if default is parameter.empty or default is None:
            continue
        kind = type(default)
        assert not (_ours(kind) and kind.__name__.startswith("_")), (name, parameter)
        assert not repr(default).startswith("<default"), (name, parameter)


def _keywords(target: Callable[..., Any], *, skip: tuple[str, ...] = ()) -> set[str]:
    return {p.name for p in inspect.signature(target).parameters.values()
            if p.kind is p.KEYWORD_ONLY and p.name not in skip}


def _keys(options: type) -> set[str]:
    assert is_typeddict(options)
    return set(options.__annotations__)


@pytest.mark.parametrize(
    ("options", "target", "skip"),
    [
        (ClientOptions, pepperpy_core.HttpClient, ()),
        (WebSocketOptions, pepperpy_core.WebSocket, ()),
        (BatchOptions, pepperpy_core.WebSocket, ("clock", "outbox")),
        (RetryOptions, pepperpy_core.WebSocket, ("auto_reconnect",)),
        (HandlerOptions, pepperpy_core.DownloadHandler, ("progress",)),
        (DownloadOptions, pepperpy_core.DownloadHandler.download, ()),
    ],
)
def test_typed_option_lists_match_what_they_forward_to(
    options: type, target: Callable[..., Any], skip: tuple[str, ...]
) -> None:
    """Each ``TypedDict`` used as ``**options: Unpack[...]`` has exactly the keywords of what
    it forwards to (so a new option cannot be forgotten in one of them), with the same types."""
    base = {"base_url"} if options is ClientOptions else set()
    assert _keys(options) == _keywords(target, skip=skip) | base
    params = inspect.signature(target).parameters
    for key in _keys(options) - base:
        annotation = options.__annotations__[key]
        assert params[key].annotation == getattr(annotation, "__forward_arg__", annotation), key


def _own(cls: type) -> set[str]:
    """The keywords ``cls.__init__`` names itself (not what it forwards)."""
    return {n for n, p in inspect.signature(cls.__init__).parameters.items()  # type: ignore[misc]
            if n != "self" and p.kind not in (p.VAR_KEYWORD, p.VAR_POSITIONAL)}


def test_ready_made_classes_forward_each_others_options() -> None:
    """Each ready-made class's own keywords are in one list, and each forwards HttpClient's
    options plus the other classes' lists, never its own (which it names)."""
    own = {pepperpy_core.CachedClient: CacheOptions,
           pepperpy_core.RateLimitedClient: RateLimitOptions,
           pepperpy_core.MetricsClient: MetricsOptions}
    forwards = {pepperpy_core.CachedClient: CachedClientForwards,
                pepperpy_core.RateLimitedClient: RateLimitedClientForwards,
                pepperpy_core.MetricsClient: MetricsClientForwards}
    for cls, options in own.items():
        assert _keys(options) == _own(cls) - {"cache_storage"}, cls
        others = set().union(*(_keys(o) for c, o in own.items() if c is not cls))
        assert _keys(forwards[cls]) == _keys(ClientOptions) | others, cls


@pytest.mark.parametrize(
    ("cls", "own"),
    [
        (pepperpy_core.CachedClient, ["cache_ttl"]),
        (pepperpy_core.RateLimitedClient, ["max_requests", "window"]),
        (pepperpy_core.RetryWebSocket, ["url", "max_retries", "retry_delay"]),
        (pepperpy_core.BatchWebSocket, ["url", "batch_size", "flush_interval"]),
    ],
)
def test_classes_built_on_others_show_everything_they_take(cls: type, own: list[str]) -> None:
    """``inspect.signature`` of a ready-made class: the specification's positional arguments,
    then every keyword of the class it is built on."""
    params = inspect.signature(cls).parameters
    assert [n for n, p in params.items() if p.kind is not p.KEYWORD_ONLY] == own
    base = pepperpy_core.HttpClient if issubclass(cls, pepperpy_core.HttpClient) \
        else pepperpy_core.WebSocket
    assert _keywords(base) <= set(params)


def test_a_class_composed_by_the_user_shows_every_option() -> None:
    """``class Api(CachedClient, RateLimitedClient)`` and the full stack list all they take:
    the first class's positional argument, then every keyword of every class."""

    class Api(pepperpy_core.CachedClient, pepperpy_core.RateLimitedClient):
        pass

    class Full(pepperpy_core.MetricsClient, pepperpy_core.CachedClient,
               pepperpy_core.RateLimitedClient):
        pass

    api = inspect.signature(Api).parameters
    assert {"cache_ttl", "raise_on_limit", "max_wait", "base_url", "timeout"} <= set(api)
    assert "kwargs" not in api and next(iter(api)) == "cache_ttl"
    full = inspect.signature(Full).parameters
    assert all(p.kind is p.KEYWORD_ONLY for p in full.values())
    assert {"metrics", "cache_ttl", "max_requests", "rate_limit", "base_url"} <= set(full)


def test_the_verbs_list_their_keywords() -> None:
    """``get``, ``post``... ``stream`` show every :class:`RequestOptions` keyword, with what
    leaving it out means."""
    for verb in ("request", "get", "post", "put", "patch", "delete", "head", "options",
                 "stream"):
        params = inspect.signature(getattr(pepperpy_core.HttpClient, verb)).parameters
        assert _keywords(getattr(pepperpy_core.HttpClient, verb)) == _keys(RequestOptions)
        assert not any(p.kind is p.VAR_KEYWORD for p in params.values())
    get = inspect.signature(pepperpy_core.HttpClient.get).parameters
    assert get["timeout"].default is DEFAULT and get["weight"].default == 1


def test_default_is_public_and_means_left_out() -> None:
    """``DEFAULT`` reads as itself, pickles to itself, and passing it is leaving the argument
    out (``retries=DEFAULT`` is the class's policy; None would disable retries)."""
    assert repr(DEFAULT) == "DEFAULT"
    assert pickle.loads(pickle.dumps(DEFAULT)) is DEFAULT
    assert type(DEFAULT)() is DEFAULT
    assert inspect.signature(pepperpy_core.HttpClient).parameters["retries"].default is DEFAULT
    plain = pepperpy_core.HttpClient(retries=DEFAULT)
    assert plain._retry_policy == pepperpy_core.HttpClient()._retry_policy
    assert pepperpy_core.HttpClient(retries=None)._retry_policy.total == 0


async def test_passing_default_to_a_verb_is_leaving_it_out() -> None:
    """Against a real server: DEFAULT for ``follow_redirects``, ``timeout``, ``retries``,
    ``cache`` and ``json`` behaves as if each were not given."""
    from aiohttp import web

    async def start(request: web.Request) -> web.Response:
        raise web.HTTPFound("/end")

    async def end(request: web.Request) -> web.Response:
        return web.json_response({"body": (await request.read()).decode()})

    app = web.Application()
    app.router.add_get("/start", start)
    app.router.add_get("/end", end)
    async with LocalServer(app) as server, pepperpy_core.HttpClient(server.base_url) as client:
        response = await client.get(
            "/start", follow_redirects=DEFAULT, timeout=DEFAULT, retries=DEFAULT,
            cache=DEFAULT, json=DEFAULT,
        )
        assert response.status == 200 and await response.json() == {"body": ""}
        assert response.request.extensions == {}
