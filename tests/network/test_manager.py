"""NetworkManager on local servers and a fake clock: checks, monitoring, callbacks, owned
clients, and a clean shutdown."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from pepperpy_core.exceptions import ClientClosedError, ConfigurationError
from pepperpy_core.http import HttpClient
from pepperpy_core.network import DEFAULT_TARGETS, NetworkManager, ProbeContext
from pepperpy_core.testing import FakeClock, LocalServer, capture_events

FAST = {"interval": 0.02, "timeout": 1.0, "offline_after": 2, "online_after": 1}


def fake_clocked(probe: Any, **options: Any) -> tuple[NetworkManager, FakeClock]:
    clock = FakeClock()
    options = {"interval": 10.0, "offline_after": 3, "online_after": 2, **options}
    manager = NetworkManager(targets=[probe], clock=clock.time, sleep=clock.sleep, **options)
    return manager, clock


class Hanging:
    """A probe that never answers (until cancelled)."""

    async def check(self, context: ProbeContext) -> None:
        await asyncio.sleep(3600)

    def __str__(self) -> str:
        return "hanging"


# --------------------------------------------------------------------- construction


async def test_defaults_do_no_io(network_calls: Any) -> None:
    """NetworkManager() with the public defaults connects to and resolves nothing until a check."""
    manager = NetworkManager()
    await manager.initialize()
    assert manager.targets == DEFAULT_TARGETS
    assert manager.state.online is None and not manager.is_online
    await manager.close()
    assert network_calls.hosts == []


@pytest.mark.parametrize(
    ("options", "field"),
    [
        ({"interval": 0}, "interval"),
        ({"timeout": -1}, "timeout"),
        ({"offline_after": 0}, "offline_after"),
        ({"require": "most"}, "require"),
        ({"targets": []}, "targets"),
        ({"targets": "127.0.0.1:80"}, "targets"),
        ({"targets": ["127.0.0.1:80", "nope"]}, r"targets\[1\]"),
    ],
)
def test_bad_configuration_names_the_field(options: dict[str, Any], field: str) -> None:
    """Invalid options raise ConfigurationError naming the field (and the target's index)."""
    with pytest.raises(ConfigurationError, match=field):
        NetworkManager(**options)


# --------------------------------------------------------------------- checks on real servers


async def test_check_follows_a_tcp_target_down_and_back(tcp_target: Any) -> None:
    """check_connection is True while the server is up, False once stopped, True after restart."""
    async with NetworkManager(targets=[tcp_target.target], timeout=1.0) as manager:
        assert await manager.check_connection() is True
        assert manager.is_online and manager.state.latency is not None
        await tcp_target.stop()
        assert await manager.check_connection() is False
        assert str(tcp_target.port) in (manager.state.last_error or "")
        await tcp_target.start()
        assert await manager.check_connection() is True


async def test_check_follows_an_http_target_down_and_back(http_target: LocalServer) -> None:
    """An HTTP 204 target is up, down after the server stops, up after it restarts."""
    url = http_target.url("/generate_204")
    async with NetworkManager(targets=[url], timeout=1.0) as manager:
        assert await manager.check_connection() is True
        port = http_target.port
        await http_target.stop()
        assert await manager.check_connection() is False
        async with LocalServer(http_target.app, port=port):
            assert await manager.check_connection() is True


async def test_captive_portal_reads_as_offline(http_target: LocalServer) -> None:
    """A target redirected to a login page counts as offline, with the status in last_error."""
    async with NetworkManager(targets=[http_target.url("/portal")]) as manager:
        assert await manager.check_connection() is False
        assert "status 302" in (manager.state.last_error or "")


async def test_dns_target_resolves_localhost() -> None:
    """A dns:// target is up when the name resolves (localhost only)."""
    async with NetworkManager(targets=["dns://localhost"]) as manager:
        assert await manager.check_connection() is True


async def test_require_all_needs_every_target(tcp_target: Any) -> None:
    """With require='all' one down target makes the check fail; with 'any' it passes."""
    closed = await _closed_port()
    targets = [tcp_target.target, f"127.0.0.1:{closed}"]
    async with NetworkManager(targets=targets, require="all") as manager:
        assert await manager.check_connection() is False
    async with NetworkManager(targets=targets, require="any") as manager:
        assert await manager.check_connection() is True


async def test_slow_probe_does_not_delay_the_others(
    tcp_target: Any, http_target: LocalServer
) -> None:
    """A probe that hangs does not hold back a check another target already answered."""
    targets = [http_target.url("/slow"), Hanging(), tcp_target.target]
    async with NetworkManager(targets=targets, timeout=5.0) as manager:
        started = asyncio.get_running_loop().time()
        assert await manager.check_connection() is True
        assert asyncio.get_running_loop().time() - started < 1.0


async def test_each_probe_is_bounded_by_its_timeout() -> None:
    """Probes run concurrently: five hanging probes with a 0.3 s timeout fail in ~0.3 s."""
    async with NetworkManager(targets=[Hanging()] * 5, timeout=0.3) as manager:
        started = asyncio.get_running_loop().time()
        assert await manager.check_connection() is False
        assert asyncio.get_running_loop().time() - started < 1.2  # one after another: 1.5 s
        assert "no answer within 0.3 s" in (manager.state.last_error or "")


async def test_require_all_fails_fast_on_the_first_failure() -> None:
    """With require='all', a refused target settles the check without waiting for a slow one."""
    closed = await _closed_port()
    targets = [Hanging(), f"127.0.0.1:{closed}"]
    async with NetworkManager(targets=targets, require="all", timeout=5.0) as manager:
        started = asyncio.get_running_loop().time()
        assert await manager.check_connection() is False
        assert asyncio.get_running_loop().time() - started < 1.0


# --------------------------------------------------------------------- hysteresis, fake clock


async def test_single_failed_probe_changes_nothing(scripted: Any) -> None:
    """On a fake clock: one failure keeps the state online; three in a row flip it."""
    probe = scripted([True, False, True, False, False, False, True, True])
    manager, clock = fake_clocked(probe)
    async with manager:
        seen = []
        for _ in range(8):
            clock.advance(1.0)
            await manager.check_connection()
            seen.append(manager.is_online)
        assert seen == [True, True, True, True, True, False, False, True]
        assert manager.state.changed_at == clock.time()


async def test_monitor_fires_each_callback_once_on_fake_clock(scripted: Any) -> None:
    """The monitor loop, sleeping on a fake clock, reports one outage as exactly two callbacks."""
    probe = scripted([True, False, True, False, False, False, True, True, True])
    manager, clock = fake_clocked(probe)
    events: list[str] = []
    async with manager:
        await manager.monitor_connection(
            on_disconnect=lambda: events.append("down"), on_reconnect=lambda: events.append("up")
        )
        while probe.calls < 12:
            await asyncio.sleep(0)
        assert events == ["down", "up"]
        assert clock.sleeps[:3] == [10.0, 10.0, 10.0]


async def test_wait_until_online_times_out_on_fake_clock(scripted: Any) -> None:
    """Without a monitor it checks every interval itself and gives up after the timeout."""
    probe = scripted([False])
    manager, clock = fake_clocked(probe, interval=1.0)
    async with manager:
        assert await manager.wait_until_online(timeout=5.0) is False
        assert 5.0 <= clock.total_slept <= 5.5 and probe.calls >= 5


async def test_wait_until_online_returns_when_back(scripted: Any) -> None:
    """It returns True once enough checks succeed (online_after of them after an outage)."""
    probe = scripted([False, False, True, True])
    manager, _ = fake_clocked(probe, interval=1.0)
    async with manager:
        assert await manager.wait_until_online(timeout=60.0) is True
        assert probe.calls == 4


# --------------------------------------------------------------------- monitoring, real servers


async def test_monitor_reports_one_outage_once_each(tcp_target: Any, wait_for: Any) -> None:
    """Stopping and restarting the server calls on_disconnect then on_reconnect, once each."""
    events: list[str] = []
    async with NetworkManager(targets=[tcp_target.target], **FAST) as manager:
        assert await manager.check_connection()
        await manager.monitor_connection(
            on_disconnect=lambda: events.append("down"), on_reconnect=lambda: events.append("up")
        )
        await tcp_target.stop()
        await wait_for(lambda: events == ["down"])
        await tcp_target.start()
        await wait_for(lambda: events == ["down", "up"])
        assert await manager.wait_until_online(timeout=1.0)
        await asyncio.sleep(0.1)  # a few more checks: nothing new to report
        assert events == ["down", "up"]


async def test_async_callbacks_are_awaited_one_at_a_time(scripted: Any) -> None:
    """async def callbacks are awaited; however fast transitions come, they never overlap."""
    probe = scripted([True, False] * 6 + [True])
    manager, _ = fake_clocked(probe, offline_after=1, online_after=1)
    running, peak, done = 0, 0, []

    async def slow_callback(name: str) -> None:
        nonlocal running, peak
        running += 1
        peak = max(peak, running)
        await asyncio.sleep(0.005)
        running -= 1
        done.append(name)

    async with manager:
        await manager.monitor_connection(
            on_disconnect=lambda: slow_callback("down"), on_reconnect=lambda: slow_callback("up")
        )
        while len(done) < 12:
            await asyncio.sleep(0.005)
    assert peak == 1
    assert done == ["down", "up"] * 6


async def test_failing_callback_is_logged_not_fatal(scripted: Any) -> None:
    """A callback that raises is logged as network.callback_failed; the next one still runs."""
    probe = scripted([True, False, True])
    manager, _ = fake_clocked(probe, offline_after=1, online_after=1)
    events: list[str] = []

    def broken() -> None:
        raise RuntimeError("callback bug")

    with capture_events() as logs:
        async with manager:
            await manager.monitor_connection(
                on_disconnect=broken, on_reconnect=lambda: events.append("up")
            )
            while not events:
                await asyncio.sleep(0)
            assert manager.monitoring
    failed = [e for e in logs if e["event"] == "network.callback_failed"]
    assert failed and failed[0]["error"] == "callback bug"
    names = [e["event"] for e in logs]
    assert "network.offline" in names and "network.online" in names


# --------------------------------------------------------------------- shutdown


async def test_close_leaves_no_task_running(scripted: Any) -> None:
    """After close() no task of the manager is left, and it refuses further use."""
    before = asyncio.all_tasks()
    manager, _ = fake_clocked(scripted([True, False]), offline_after=1)
    await manager.monitor_connection(on_disconnect=lambda: None)
    await asyncio.sleep(0.01)
    assert asyncio.all_tasks() - before
    await manager.close()
    assert asyncio.all_tasks() - before == set()
    assert not manager.monitoring
    with pytest.raises(ClientClosedError):
        await manager.check_connection()
    await manager.close()  # idempotent


async def test_close_from_a_callback_ends_cleanly(scripted: Any) -> None:
    """A callback may close the manager (e.g. to shut the service down): no task survives."""
    before = asyncio.all_tasks()
    manager, _ = fake_clocked(scripted([False]))
    closed = asyncio.Event()

    async def shut_down() -> None:
        await manager.close()
        closed.set()

    await manager.monitor_connection(on_disconnect=shut_down)
    await asyncio.wait_for(closed.wait(), 2.0)
    await asyncio.sleep(0.01)
    assert asyncio.all_tasks() - before == set()


# --------------------------------------------------------------------- owned clients


class FakeSocket:
    """Shaped like a WebSocket: close(), is_connected, reconnect_now()."""

    def __init__(self, connected: bool) -> None:
        self.is_connected = connected
        self.closed = False
        self.wakes = 0

    def reconnect_now(self) -> None:
        self.wakes += 1

    async def close(self) -> None:
        self.closed = True


class BrokenClose:
    async def aclose(self) -> None:
        raise OSError("close failed")


async def test_close_closes_every_registered_client() -> None:
    """http_client() and register() clients are all closed by close(), even if one fails."""
    manager = NetworkManager(targets=["127.0.0.1:9"])
    http = manager.http_client(base_url="http://127.0.0.1:9", retries=0)
    socket = manager.register(FakeSocket(connected=True))
    manager.register(BrokenClose())
    assert isinstance(http, HttpClient) and manager.clients[0] is http
    with capture_events() as logs:
        await manager.close()
    assert http.closed and socket.closed
    assert any(e["event"] == "network.client_close_failed" for e in logs)
    with pytest.raises(ClientClosedError):
        manager.register(FakeSocket(connected=False))


async def test_register_refuses_objects_without_close() -> None:
    """Only objects that can be closed can be owned; unregister() gives one back open."""
    async with NetworkManager(targets=["127.0.0.1:9"]) as manager:
        with pytest.raises(ConfigurationError, match="close"):
            manager.register(object())
        socket = manager.register(FakeSocket(connected=True))
        manager.unregister(socket)
    assert not socket.closed


async def test_reconnect_wakes_disconnected_websockets(scripted: Any) -> None:
    """Coming back online calls reconnect_now() on disconnected sockets, not connected ones."""
    probe = scripted([True, False, True])
    manager, _ = fake_clocked(probe, offline_after=1, online_after=1)
    async with manager:
        waiting = manager.register(FakeSocket(connected=False))
        fine = manager.register(FakeSocket(connected=True))
        for _ in range(2):
            await manager.check_connection()
        assert waiting.wakes == 0  # going offline wakes nobody
        await manager.check_connection()
        assert (waiting.wakes, fine.wakes) == (1, 0)


async def _closed_port() -> int:
    """A loopback port with nothing listening (bound, then released)."""
    server = await asyncio.start_server(lambda r, w: None, "127.0.0.1", 0)
    port = int(server.sockets[0].getsockname()[1])
    server.close()
    await server.wait_closed()
    return port

