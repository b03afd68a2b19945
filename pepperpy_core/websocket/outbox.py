"""The outbox: every frame sent since the last acknowledged keepalive, replayed after a loss.

A pong proves that the server received everything sent before its ping (the stream is
ordered), so frames written before an acknowledged ping are forgotten and the rest are kept.
After a reconnect the client sends the kept frames again, before new ones: delivery is at
least once across any loss (duplicates possible; :attr:`OutboxPolicy.id_field` lets a
receiver drop them). Pure bookkeeping: the client does the waiting and the I/O.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from typing import Literal

from pepperpy_core.exceptions import ConfigurationError

__all__ = ["Outbox", "OutboxPolicy"]

WhenFull = Literal["wait", "raise", "drop_oldest"]


@dataclass(frozen=True)
class OutboxPolicy:
    """How many unacknowledged frames a client keeps for replay, and what a full outbox does.

    - ``max_messages``: frames kept at most (>= 1).
    - ``max_bytes``: bytes kept at most, counting each frame's payload (>= 1). One frame bigger
      than this is still accepted when the outbox is empty.
    - ``when_full``: ``"wait"`` (default) makes ``send()`` wait, up to the client's
      ``send_wait`` seconds, for a pong to free room, then raise
      :class:`~pepperpy_core.WebSocketOutboxFullError`; ``"raise"`` raises at once;
      ``"drop_oldest"`` forgets the oldest frames and counts them in ``ws.outbox.dropped``
      (the only policy that may lose a message, and it says how many).
    - ``id_field``: when set, every dict message gets this key with an increasing integer
      (unless it already has one), so a receiver can drop the duplicates a replay may cause.
    """

    max_messages: int = 10_000
    max_bytes: int = 16 * 2**20
    when_full: WhenFull = "wait"
    id_field: str | None = None

    def __post_init__(self) -> None:
        if isinstance(self.max_messages, bool) or self.max_messages < 1:
            raise ConfigurationError(
                f"OutboxPolicy.max_messages must be >= 1, got {self.max_messages}"
            )
        if isinstance(self.max_bytes, bool) or self.max_bytes < 1:
            raise ConfigurationError(f"OutboxPolicy.max_bytes must be >= 1, got {self.max_bytes}")
        if self.when_full not in ("wait", "raise", "drop_oldest"):
            raise ConfigurationError(
                "OutboxPolicy.when_full must be 'wait', 'raise' or 'drop_oldest', got "
                f"{self.when_full!r}"
            )


class _Entry:
    __slots__ = ("payload", "seq", "size", "written")

    def __init__(self, seq: int, payload: str | bytes) -> None:
        self.seq = seq
        self.payload = payload
        self.size = len(payload)
        self.written = False  # a send of it returned (so it is ahead of any later ping)


class Outbox:
    """The unacknowledged frames of one client, oldest first.

    ``pending`` counts the frames kept, ``pending_bytes`` their size, ``dropped`` the frames
    forgotten by ``drop_oldest``, ``replayed`` the frames sent again after reconnects.
    """

    def __init__(self, policy: OutboxPolicy) -> None:
        self.policy = policy
        self._entries: deque[_Entry] = deque()
        self._next_seq = 0
        self._next_id = 0
        self.pending_bytes = 0
        self.dropped = 0
        self.replayed = 0

    @property
    def pending(self) -> int:
        return len(self._entries)

    def next_id(self) -> int:
        """A fresh message id (for :attr:`OutboxPolicy.id_field`)."""
        self._next_id += 1
        return self._next_id

    def has_room(self, size: int) -> bool:
        if not self._entries:
            return True
        policy = self.policy
        return (
            len(self._entries) < policy.max_messages
            and self.pending_bytes + size <= policy.max_bytes
        )

    def make_room(self, size: int) -> None:
        """Forget the oldest frames until ``size`` more bytes fit (``drop_oldest``)."""
        while not self.has_room(size):
            entry = self._entries.popleft()
            self.pending_bytes -= entry.size
            self.dropped += 1

    def add(self, payload: str | bytes) -> _Entry:
        self._next_seq += 1
        entry = _Entry(self._next_seq, payload)
        self._entries.append(entry)
        self.pending_bytes += entry.size
        return entry

    def mark(self) -> int:
        """Call just before sending a ping: the frames a pong to it will acknowledge are the
        ones whose send already returned; the result is the first sequence not covered."""
        for entry in self._entries:
            if not entry.written:
                return entry.seq
        return self._next_seq + 1

    def acknowledge(self, mark: int) -> None:
        """A pong arrived for a ping taken at ``mark``: forget every frame before it."""
        entries = self._entries
        while entries and entries[0].seq < mark:
            self.pending_bytes -= entries.popleft().size

    @property
    def newest_seq(self) -> int:
        """The sequence number of the last frame added (0 before any)."""
        return self._next_seq

    def contains(self, seq: int) -> bool:
        return any(entry.seq == seq for entry in reversed(self._entries))

    def discard(self, entry: _Entry) -> None:
        """Take back a frame that was never written to any connection."""
        try:
            self._entries.remove(entry)
        except ValueError:
            return
        self.pending_bytes -= entry.size

    def clear(self) -> None:
        """Everything was acknowledged (a clean closing handshake)."""
        self._entries.clear()
        self.pending_bytes = 0

    def after(self, seq: int) -> list[_Entry]:
        """The kept frames newer than ``seq``, oldest first (for a replay)."""
        return [entry for entry in self._entries if entry.seq > seq]
