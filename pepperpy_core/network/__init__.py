"""Connectivity: probes, a monitor with hysteresis and callbacks, and one owner for a
service's network clients. See ``docs/network.md``."""

from pepperpy_core.network.manager import NetworkManager, NetworkManagerConfig
from pepperpy_core.network.probes import (
    DEFAULT_TARGETS,
    DnsProbe,
    HttpProbe,
    Probe,
    ProbeContext,
    ProbeResult,
    TcpProbe,
    parse_target,
)
from pepperpy_core.network.state import ConnectionState, Hysteresis

__all__ = [
    "DEFAULT_TARGETS",
    "ConnectionState",
    "DnsProbe",
    "HttpProbe",
    "Hysteresis",
    "NetworkManager",
    "NetworkManagerConfig",
    "Probe",
    "ProbeContext",
    "ProbeResult",
    "TcpProbe",
    "parse_target",
]
