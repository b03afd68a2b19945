"""A rate-limit store on Redis: every process sharing a key shares its quota.

One Lua script per acquire (every rate and the weight in one round trip, atomic), with the time
taken from the Redis server (``TIME``), so the workers' clocks never matter. A granted request
counts from its grant until a window after its answer (``settle``, carried by the next
acquire on the key, or sent alone a few milliseconds later), so however long it takes to
reach the server, no server window sees more than the quota. Per
limiter key ``K``, the hash ``{prefix}rl:{K}`` holds the end of a pause (``p``) and, per rate,
a field named like the rate's log: when the keys' TTL ends, and while any member weighs more
than 1, the weight counted and how many such members. Per rate ``N/W``, the log
``{prefix}rl:{K}:N/W`` is a sorted set: one member per request, scored by when its window
starts. ``{K}`` is a hash tag, so all of one key's names live in one slot of a Redis Cluster.
A log's TTL lasts until its newest member leaves the window, plus half a second to a second;
the hash's lasts as long as its longest log or its pause, so nothing is left behind. An
acquire renews them only when they run short, not on every call: its common path is ``TIME``,
one ``HMGET`` and the log's ``ZREMRANGEBYSCORE``, ``ZCARD`` and ``ZADD``.

When Redis cannot be reached, ``on_unavailable`` decides (a warning is logged when it starts
and a note when Redis is back; Redis is tried again every ``retry_every`` seconds):

- ``"local"`` (default): count in this process's memory with ``local_share`` of each rate;
- ``"raise"``: fail closed, raise :class:`~pepperpy_core.RateLimitError`;
- ``"allow"``: fail open, let every request through.

Needs the ``redis`` extra: ``pip install "pepperpy-core[redis]"``.
"""

from __future__ import annotations

import asyncio
import itertools
import math
import secrets
import time
from collections.abc import Sequence
from typing import TYPE_CHECKING, Literal

from pepperpy_core.behaviours.rate_limit.rules import Rate
from pepperpy_core.behaviours.rate_limit.store import MemoryRateLimitStore
from pepperpy_core.exceptions import ConfigurationError, OptionalDependencyError, RateLimitError
from pepperpy_core.logging import get_logger

if TYPE_CHECKING:
    from redis.asyncio import Redis

__all__ = ["RedisRateLimitStore"]

_log = get_logger("pepperpy_core.rate_limit")

# Shared by the scripts. A rate's field in the key's hash holds when its keys' TTL ends (µs,
# server time), and while a member weighs more than 1, also the weight counted and how many
# such members ("e:u:h"); with members of weight 1 only, the count is the log's size.
_COMMON = """
local function clock()
  local t = redis.call('TIME')
  return t[1] * 1000000 + t[2]
end
local function read(f)  -- a rate's field: TTL end, weight counted, members heavier than 1
  local e = tonumber(f)
  if e or not f then return e or 0, 0, 0 end
  local a, b, c = string.match(f, '^(%d+):(%d+):(%d+)$')
  return tonumber(a), tonumber(b), tonumber(c)
end
local function field(e, u, h)
  if h > 0 then return string.format('%d:%d:%d', e, u, h) end
  return string.format('%d', e)
end
local function expire(log, edge, u, h)  -- members scored up to edge leave the count
  local gone = redis.call('ZRANGEBYSCORE', log, '-inf', edge)
  if #gone > 0 then
    for _, m in ipairs(gone) do
      local w = tonumber(string.match(m, ':(%d+)$'))
      u = u - w
      if w > 1 then h = h - 1 end
    end
    redis.call('ZREMRANGEBYSCORE', log, '-inf', edge)
  end
  return math.max(u, 0), math.max(h, 0)
end
local function renew(hash, log, ttl)  -- the log's TTL; the hash's never shorter than any
  redis.call('PEXPIRE', log, ttl)
  if redis.call('PTTL', hash) < ttl then redis.call('PEXPIRE', hash, ttl) end
end
"""

# KEYS: the key's hash, then one log per rate. ARGV: weight, µs a grant stays in flight at most
# (0: the request is over at once), the grant's member (``name:weight``, unique), (max,
# window in µs) per rate, then the members of earlier grants whose answers are in. A log member
# is scored by when its weight leaves the count minus the window: the grant's time if it is
# over, ``time + lease`` while it is in flight; the holder moves it to the server's time once
# the answer is in (here, with its next acquire, or by SETTLE). The hash's ``p`` is the end of
# a pause. Answer: µs to wait, or 0 when recorded.
_ACQUIRE = _COMMON + """
local now = clock()
local hash, weight, lease, member = KEYS[1], tonumber(ARGV[1]), tonumber(ARGV[2]), ARGV[3]
local n = #KEYS - 1
if #ARGV > 3 + 2 * n then  -- settled: each leaves the count a window from now
  local moves = {'XX'}
  for j = 4 + 2 * n, #ARGV do moves[#moves + 1] = now moves[#moves + 1] = ARGV[j] end
  for i = 2, n + 1 do redis.call('ZADD', KEYS[i], unpack(moves)) end
end
local st = redis.call('HMGET', hash, 'p', unpack(KEYS, 2))
if st[1] then
  local paused = tonumber(st[1])
  if paused > now then return paused - now end
  redis.call('HDEL', hash, 'p')
end
local state, wait = {}, 0  -- per rate: {TTL end, weight, heavy members, window, heavy stored}
for i = 1, n do
  local log, max, win = KEYS[i + 1], tonumber(ARGV[2 + 2 * i]), tonumber(ARGV[3 + 2 * i])
  local e, u, h = read(st[i + 1])
  local stored = h > 0
  if h == 0 then  -- every member weighs 1: the count is the log's size
    redis.call('ZREMRANGEBYSCORE', log, '-inf', now - win)
    u = redis.call('ZCARD', log)
  else
    u, h = expire(log, now - win, u, h)
  end
  state[i] = {e, u, h, win, stored}
  local excess = u + weight - max
  if excess > 0 then
    -- oldest first, each member frees its weight; every member weighs 1 or more
    local w = win
    local entries = redis.call('ZRANGE', log, 0, excess - 1, 'WITHSCORES')
    for j = 1, #entries, 2 do
      excess = excess - tonumber(string.match(entries[j], ':(%d+)$'))
      if excess <= 0 then
        local score = tonumber(entries[j + 1])
        if score <= now then w = score + win - now end  -- in flight: a window at least
        break
      end
    end
    if w > wait then wait = w end
  end
end
if wait > 0 then
  for i = 1, n do
    local s = state[i]
    if s[5] then redis.call('HSET', hash, KEYS[i + 1], field(s[1], s[2], s[3])) end
  end
  return wait
end
local score = now + lease
for i = 1, n do
  local log, s = KEYS[i + 1], state[i]
  local e, u, h = s[1], s[2], s[3]
  local need = score + s[4]  -- when this member leaves the count
  redis.call('ZADD', log, score, member)
  if weight > 1 then h = h + 1 end
  if u == 0 or e < need + 500000 then  -- a new log, or its TTL runs short
    local ttl = math.ceil((need - now) / 1000) + 1000
    redis.call('HSET', hash, log, field(now + (ttl - 1) * 1000, u + weight, h))
    renew(hash, log, ttl)
  elseif h > 0 or s[5] then  -- the counted weight is kept while a member is heavy
    redis.call('HSET', hash, log, field(e, u + weight, h))
  end
end
return 0
"""

# KEYS: the key's hash, then one log per rate. ARGV: the window in µs per rate, then members.
# Their requests are over: their weight leaves the count a window from now.
_SETTLE = _COMMON + """
local now = clock()
local hash, n = KEYS[1], #KEYS - 1
local moves = {'XX', 'CH'}
for j = n + 1, #ARGV do moves[#moves + 1] = now moves[#moves + 1] = ARGV[j] end
local st = redis.call('HMGET', hash, unpack(KEYS, 2))
for i = 1, n do
  local log = KEYS[i + 1]
  local moved = redis.call('ZADD', log, unpack(moves))
  local newest = redis.call('ZRANGE', log, -1, -1, 'WITHSCORES')[2]
  if moved > 0 and newest then
    local ttl = math.ceil((tonumber(newest) + ARGV[i] - now) / 1000) + 1000
    local _, u, h = read(st[i])
    redis.call('HSET', hash, log, field(now + (ttl - 1) * 1000, u, h))
    renew(hash, log, ttl)
  end
end
return now
"""

# KEYS: the key's hash. ARGV: µs to pause. A later end wins.
_PAUSE = _COMMON + """
local now = clock()
local untl = now + ARGV[1]
local old = tonumber(redis.call('HGET', KEYS[1], 'p') or '0')
if untl > old then
  redis.call('HSET', KEYS[1], 'p', string.format('%d', untl))
  local ttl = math.ceil(ARGV[1] / 1000) + 1
  if redis.call('PTTL', KEYS[1]) < ttl then redis.call('PEXPIRE', KEYS[1], ttl) end
end
return untl
"""

# KEYS: the key's hash, the rate's log. ARGV: max, window µs, units spent, reset µs (-1:
# unknown). Answer: the weight now counted.
_CORRECT = _COMMON + """
local now = clock()
local hash, log = KEYS[1], KEYS[2]
local max, win = tonumber(ARGV[1]), tonumber(ARGV[2])
local spent, reset = math.min(tonumber(ARGV[3]), max), tonumber(ARGV[4])
local _, u, h = read(redis.call('HGET', hash, log))
if h == 0 then
  redis.call('ZREMRANGEBYSCORE', log, '-inf', now - win)
  u = redis.call('ZCARD', log)
else
  u, h = expire(log, now - win, u, h)
end
local missing = spent - u
if missing > 0 then
  local stamp = now
  if reset >= 0 then
    stamp = math.min(now, math.max(now - win + win / 1000, now + reset - win))
  end
  stamp = math.floor(stamp)
  local seq = redis.call('HINCRBY', hash, 's', 1)
  redis.call('ZADD', log, stamp, string.format('%d:%d:%d', stamp, seq, missing))
  u = u + missing
  if missing > 1 then h = h + 1 end
end
local newest = redis.call('ZRANGE', log, -1, -1, 'WITHSCORES')[2]
if newest then
  local ttl = math.ceil((tonumber(newest) + win - now) / 1000) + 1000
  redis.call('HSET', hash, log, field(now + (ttl - 1) * 1000, u, h))
  renew(hash, log, ttl)
else
  redis.call('HDEL', hash, log)
end
return u
"""

Unavailable = Literal["local", "raise", "allow"]

#: Seconds a settle waits for an acquire on the same key to carry it before it is sent alone.
_SETTLE_DELAY = 0.002


class _Names:
    """The script arguments of one (key, rates), computed once per limiter key, as bytes
    (nothing for the client to encode per call): acquire's command up to its ARGV
    (``EVALSHA``, the script, its keys), its keys, the rates' numbers, and the windows."""

    __slots__ = ("head", "keys", "rates", "windows")

    def __init__(self, head: tuple[object, ...], keys: list[bytes], rates: tuple[bytes, ...],
                 windows: tuple[bytes, ...]) -> None:
        self.head, self.keys, self.rates, self.windows = head, keys, rates, windows


class _Hold:
    """A granted weight still in flight: its log member under each rate."""

    __slots__ = ("member", "names")

    def __init__(self, names: _Names, member: bytes) -> None:
        self.names, self.member = names, member


def redis_client(url: str, timeout: float) -> Redis:
    """An asyncio Redis client for ``url`` that gives up quickly (``timeout`` seconds to
    connect or answer, one immediate retry on a dropped connection)."""
    try:
        from redis.asyncio import Redis
        from redis.asyncio.retry import Retry
        from redis.backoff import NoBackoff
    except ImportError as exc:  # pragma: no cover - the extra is installed in the test setup
        raise OptionalDependencyError(
            'the Redis stores need the redis extra: pip install "pepperpy-core[redis]"'
        ) from exc
    client: Redis = Redis.from_url(
        url, socket_timeout=timeout, socket_connect_timeout=timeout,
        retry=Retry(NoBackoff(), 1),
    )
    return client


def unreachable_errors() -> tuple[type[BaseException], ...]:
    """What the redis client raises when the server cannot be reached or does not answer."""
    from redis.exceptions import ConnectionError, TimeoutError

    return (ConnectionError, TimeoutError, OSError)


class RedisRateLimitStore:
    """Counts on a Redis server, shared by every process that uses the same ``prefix`` and key.

    - ``url``: the server (``redis://host:port/db``; ``rediss://`` for TLS); or pass ``client=``
      (a ``redis.asyncio.Redis`` or ``RedisCluster`` you own; it is then not closed here);
    - ``prefix``: put before every key name (one per application or environment);
    - ``timeout``: seconds to wait for Redis before it counts as unreachable;
    - ``on_unavailable``, ``local_share``, ``retry_every``: what happens while Redis cannot be
      reached (see the module text);
    - ``in_flight_lease``: seconds at most a granted request counts as in flight before its
      answer (a process that dies mid-request frees its share after this plus the window).

    Use it as ``rate_limit_store=``; close it with ``await store.aclose()`` (or ``async with``).
    """

    def __init__(
        self,
        url: str = "redis://127.0.0.1:6379/0",
        *,
        prefix: str = "pepperpy:",
        client: Redis | None = None,
        timeout: float = 0.5,
        on_unavailable: Unavailable = "local",
        local_share: float = 0.25,
        retry_every: float = 1.0,
        in_flight_lease: float = 60.0,
    ) -> None:
        if on_unavailable not in ("local", "raise", "allow"):
            raise ConfigurationError(
                f"RedisRateLimitStore(on_unavailable=...) must be 'local', 'raise' or 'allow', "
                f"got {on_unavailable!r}"
            )
        if not 0 < local_share <= 1:
            raise ConfigurationError(
                f"RedisRateLimitStore(local_share=...) must be in (0, 1], got {local_share}"
            )
        if timeout <= 0 or retry_every < 0:
            raise ConfigurationError(
                "RedisRateLimitStore: timeout must be > 0 and retry_every >= 0 seconds"
            )
        if not in_flight_lease > 0:
            raise ConfigurationError(
                f"RedisRateLimitStore(in_flight_lease=...) must be > 0 seconds, got "
                f"{in_flight_lease}"
            )
        self.prefix = prefix
        self.on_unavailable = on_unavailable
        self.local_share = local_share
        self.retry_every = retry_every
        self.in_flight_lease = in_flight_lease
        self._lease = b"%d" % round(in_flight_lease * 1e6)
        self._owned = client is None
        self._redis: Redis = client if client is not None else redis_client(url, timeout)
        self._acquire = self._redis.register_script(_ACQUIRE)
        self._pause = self._redis.register_script(_PAUSE)
        self._correct = self._redis.register_script(_CORRECT)
        self._settle = self._redis.register_script(_SETTLE)
        self._errors = unreachable_errors()
        from redis.exceptions import NoScriptError

        self._no_script = NoScriptError
        self._names: dict[tuple[str, tuple[Rate, ...]], _Names] = {}
        self._last: tuple[str, Sequence[Rate], _Names] | None = None
        self._id = secrets.token_hex(6).encode()  # grants are named id + a count + weight
        self._grants = itertools.count()
        # holds answered but not yet settled on the server, by limiter key
        self._pending: dict[_Names, list[bytes]] = {}
        self._flush_at: asyncio.TimerHandle | None = None
        self._flushes: set[asyncio.Task[None]] = set()
        self._closed = False
        self._down_until: float | None = None  # monotonic time to try Redis again
        #: How many times Redis became unreachable (each starts a fallback period).
        self.outages = 0
        self._local = MemoryRateLimitStore()
        self._shares: dict[tuple[Rate, ...], tuple[Rate, ...]] = {}

    def __repr__(self) -> str:
        return (f"RedisRateLimitStore(prefix={self.prefix!r}, "
                f"on_unavailable={self.on_unavailable!r})")

    # -- key names

    def _base(self, key: str) -> str:
        return f"{self.prefix}rl:{{{key}}}"

    def _log(self, key: str, rate: Rate) -> str:
        return f"{self._base(key)}:{rate.max_requests}/{rate.window:g}"

    def key_names(self, key: str, rates: Sequence[Rate]) -> list[str]:
        """Every Redis key this store may write for ``key`` and ``rates`` (for tools and tests):
        the key's hash (its pause and each rate's state), then each rate's log."""
        return [self._base(key), *(self._log(key, rate) for rate in rates)]

    def _script_args(self, key: str, rates: Sequence[Rate]) -> _Names:
        last = self._last
        if last is not None and last[0] == key and last[1] is rates:  # the usual call
            return last[2]
        cache_key = (key, tuple(rates))
        found = self._names.get(cache_key)
        if found is None:
            if len(self._names) > 4096:
                self._names.clear()
            windows = tuple(b"%d" % round(rate.window * 1e6) for rate in rates)
            numbers: list[bytes] = []
            for rate, window in zip(rates, windows, strict=True):
                numbers.extend((b"%d" % rate.max_requests, window))
            names = [name.encode() for name in self.key_names(key, rates)]
            head = ("EVALSHA", self._acquire.sha.encode(), b"%d" % len(names), *names)
            found = self._names[cache_key] = _Names(head, names, tuple(numbers), windows)
        self._last = (key, rates, found)  # rates held here: its identity cannot be recycled
        return found

    # -- the protocol

    async def acquire(
        self, key: str, rates: Sequence[Rate], weight: int, now: float | None = None
    ) -> float:
        """Try to record ``weight`` on the server (``now`` is ignored: Redis's clock counts).
        The weight counts from now until a window from now; the layer uses
        :meth:`acquire_held` instead, which counts it until a window after the answer."""
        wait, _ = await self._acquire_with(key, rates, weight, b"0")
        return wait

    async def acquire_held(
        self, key: str, rates: Sequence[Rate], weight: int, now: float | None = None
    ) -> tuple[float, object | None]:
        """Like :meth:`acquire`, but a granted weight stays counted while its request is in
        flight (at most ``in_flight_lease`` seconds) and then for a window from
        :meth:`settle`: ``(0, hold)`` when granted, ``(seconds to wait, None)`` otherwise."""
        return await self._acquire_with(key, rates, weight, self._lease)

    async def settle(self, hold: object, now: float | None = None) -> None:
        """The request of ``hold`` has its answer: its weight leaves the count a window from
        the server's now. No round trip of its own under load: the next acquire on the same
        key carries it, or a flush a few milliseconds later (on ``aclose`` at the latest)."""
        if not isinstance(hold, _Hold) or self._closed:
            return
        pending = self._pending.get(hold.names)
        if pending is None:
            pending = self._pending[hold.names] = []
        pending.append(hold.member)
        if self._flush_at is None:
            self._flush_at = asyncio.get_running_loop().call_later(
                _SETTLE_DELAY, self._flush_soon)

    def _flush_soon(self) -> None:
        self._flush_at = None
        if self._pending:
            task = asyncio.get_running_loop().create_task(self._flush())
            self._flushes.add(task)
            task.add_done_callback(self._flushes.discard)

    async def _flush(self) -> None:
        """Settle every request still waiting to be (one script per limiter key)."""
        pending, self._pending = self._pending, {}
        for names, members in pending.items():
            if not self._use_redis():
                return  # their weight counts until the lease ends
            try:
                await self._settle(keys=names.keys, args=[*names.windows, *members])
            except self._errors as exc:
                self._went_down(exc)
            else:
                self._came_back()

    async def _acquire_with(
        self, key: str, rates: Sequence[Rate], weight: int, lease: bytes
    ) -> tuple[float, object | None]:
        if self._use_redis():
            names = self._script_args(key, rates)
            member = b"%s%d:%d" % (self._id, next(self._grants), weight)
            settled = self._pending.pop(names, ())
            try:
                try:  # the command itself, its arguments bytes already: the client's
                    # Script.__call__ would re-pack the same tuple and encode each one
                    wait_us = await self._redis.execute_command(  # type: ignore[no-untyped-call]
                        *names.head, b"%d" % weight, lease, member, *names.rates, *settled)
                except self._no_script:  # a restarted or other server: load it, run it
                    wait_us = await self._acquire(
                        keys=names.keys,
                        args=[weight, lease, member, *names.rates, *settled])
            except self._errors as exc:
                self._went_down(exc)
            else:
                if self._down_until is not None:
                    self._came_back()
                if wait_us:
                    return wait_us / 1e6, None
                return 0.0, _Hold(names, member) if lease != b"0" else None
        return await self._fallback_acquire(key, rates, weight), None

    async def pause(self, key: str, seconds: float, now: float | None = None) -> None:
        """Pause ``key`` for every process for ``seconds`` from the server's now."""
        if seconds <= 0:
            return
        await self._local.pause(key, seconds)
        if self._use_redis():
            try:
                await self._pause(keys=[self._base(key)], args=[round(seconds * 1e6)])
            except self._errors as exc:
                self._went_down(exc)
            else:
                self._came_back()

    async def correct(
        self, key: str, rate: Rate, used: int, reset: float | None, now: float | None = None
    ) -> None:
        """Raise the shared count of ``rate`` under ``key`` to ``used`` (never lower it)."""
        if self._use_redis():
            window_us = round(rate.window * 1e6)
            reset_us = -1 if reset is None else round(reset * 1e6)
            try:
                await self._correct(keys=[self._base(key), self._log(key, rate)],
                                    args=[rate.max_requests, window_us, used, reset_us])
            except self._errors as exc:
                self._went_down(exc)
            else:
                self._came_back()
                return
        if self.on_unavailable == "local":
            share = self._share((rate,))[0]
            await self._local.correct(key, share, math.ceil(used * self.local_share), reset)

    async def clear(self, key: str, rates: Sequence[Rate]) -> None:
        """Forget every count and pause of ``key`` (on the server and the local fallback)."""
        await self._redis.delete(*self.key_names(key, rates))
        self._local = MemoryRateLimitStore()

    async def aclose(self) -> None:
        """Settle what is still pending, then close the connection pool if this store made
        it."""
        self._closed = True
        if self._flush_at is not None:
            self._flush_at.cancel()
            self._flush_at = None
        if self._flushes:
            await asyncio.gather(*self._flushes)
        if self._pending:
            await self._flush()
        if self._owned:
            await self._redis.aclose()

    async def __aenter__(self) -> RedisRateLimitStore:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    # -- when Redis cannot be reached

    def _use_redis(self) -> bool:
        down = self._down_until
        return down is None or time.monotonic() >= down

    def _went_down(self, exc: BaseException) -> None:
        if self._down_until is None:
            self.outages += 1
            _log.warning(
                "rate_limit.redis.unreachable", error=type(exc).__name__,
                fallback=self.on_unavailable, local_share=self.local_share,
                retry_every_s=self.retry_every,
            )
        self._down_until = time.monotonic() + self.retry_every

    def _came_back(self) -> None:
        if self._down_until is not None:
            self._down_until = None
            _log.info("rate_limit.redis.reachable", prefix=self.prefix)

    def _share(self, rates: Sequence[Rate]) -> tuple[Rate, ...]:
        whole = tuple(rates)
        found = self._shares.get(whole)
        if found is None:
            found = self._shares[whole] = tuple(
                Rate(max(1, math.floor(r.max_requests * self.local_share)), r.window)
                for r in whole
            )
        return found

    async def _fallback_acquire(self, key: str, rates: Sequence[Rate], weight: int) -> float:
        mode = self.on_unavailable
        if mode == "allow":
            return 0.0
        if mode == "raise":
            raise RateLimitError(
                f"rate limit for {key!r}: the Redis store is unreachable (on_unavailable="
                f"'raise'); retry after {self.retry_every:.3f}s",
                retry_after=self.retry_every,
            )
        share = self._share(rates)
        heaviest = min(r.max_requests for r in share)
        return await self._local.acquire(key, share, min(weight, heaviest))
