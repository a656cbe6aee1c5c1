"""Whether Redis still holds a keyspace's state, and who is rebuilding it.

Redis on this kind of deployment often keeps nothing on disk: a restart
brings it back empty, and owner-sync and crm-sync, resuming from their
committed offsets, would never write the old records again. Each keyspace
therefore has a marker in its own hash tag, so it lives (and is lost) in the
same slot as the data it vouches for, on Redis Cluster too::

    <prefix>:{owners}:gen   the owner directory
    <prefix>:{crm}:gen:3    the CRM mirror (its index layout's version last)
    <prefix>:{assign}:gen   the assignment ledger's remembered decisions

A keyspace whose layout can change names its version in the marker: after an
upgrade the new marker is missing, so the keyspace is rebuilt, as after a wipe.

Values: ``ready:<token>`` once the keyspace was rebuilt from its topics (or
written from the start by the process that created it), and
``rebuilding:<token>`` with a short TTL while one process replays; a missing
marker means a new or wiped Redis. Only a process holding the rebuilding
token may mark the keyspace ready, so a second wipe during a rebuild is
noticed and the rebuild starts over.
"""

from __future__ import annotations

import enum
import uuid
from collections.abc import Callable
from typing import Any

import redis

from streams.adapters import lua
from streams.outages import redis_outage

#: The keyspaces with a marker, by the hash tag their keys carry.
KEYSPACES = ("owners", "crm", "assign")

_EXTEND = lua.script("state_extend_claim")
_FINISH = lua.script("state_finish_rebuild")


class StateStatus(enum.Enum):
    READY = "ready"
    REBUILDING = "rebuilding"
    MISSING = "missing"


class StateMarker:
    """The marker of one keyspace (``owners``, ``crm`` or ``assign``) under one prefix."""

    def __init__(self, client: redis.Redis, *, prefix: str, keyspace: str, layout: int | None = None) -> None:
        if keyspace not in KEYSPACES:
            raise ValueError(f"unknown keyspace {keyspace!r}; expected one of {', '.join(KEYSPACES)}")
        self.keyspace = keyspace
        self.key = f"{prefix}:{{{keyspace}}}:gen" + (f":{layout}" if layout is not None else "")
        self._client = client
        self._extend = client.register_script(_EXTEND)
        self._finish = client.register_script(_FINISH)

    def status(self) -> StateStatus:
        value = self._call(self._client.get, self.key)
        if value is None:
            return StateStatus.MISSING
        return StateStatus.READY if value.startswith(b"ready:") else StateStatus.REBUILDING

    def claim(self, ttl_s: int) -> str | None:
        """Starts a rebuild if nobody else is: the token to extend and finish it with, or None."""
        token = "rebuilding:" + uuid.uuid4().hex
        taken = self._call(self._client.set, self.key, token, nx=True, ex=ttl_s)
        return token if taken else None

    def extend(self, token: str, ttl_s: int) -> bool:
        """Keeps a long rebuild's claim alive; False if the claim was lost (Redis wiped again)."""
        return bool(self._call(self._extend, keys=[self.key], args=[token, ttl_s]))

    def finish(self, token: str) -> bool:
        """Marks the keyspace ready, only if this rebuild still holds the claim."""
        ready = "ready:" + token.removeprefix("rebuilding:")
        return bool(self._call(self._finish, keys=[self.key], args=[token, ready]))

    def mark_ready(self) -> None:
        """For a process that writes the whole state itself (a bulk load, a test's own Redis)."""
        self._call(self._client.set, self.key, "ready:" + uuid.uuid4().hex)

    @staticmethod
    def _call(command: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        with redis_outage("the state marker in Redis"):
            return command(*args, **kwargs)
