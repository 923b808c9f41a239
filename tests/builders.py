"""Shared builders for loop tests: scripted replies and small tools."""

from __future__ import annotations

import hashlib
import struct
import zlib
from collections.abc import Mapping
from typing import Any

import anyio

from agentkit import Agent
from agentkit.messages import AssistantMessage
from agentkit.models.function import call
from agentkit.result import RunResult


def calls(*pairs: tuple[str, str | Mapping[str, Any]], content: str | None = None) -> AssistantMessage:
    """An assistant reply asking for the given tool calls (ids assigned by the model double)."""
    return AssistantMessage(content=content, tool_calls=tuple(call(name, args) for name, args in pairs))


class Rendezvous:
    """A meeting point for ``parties`` concurrent async calls: each waits until all have arrived.

    A call that gets through proves that all ``parties`` calls were in flight at the same time, without
    measuring any duration. A runner that ran them one by one would never let the second arrive while the
    first waits, so ``guard_s`` (a deadlock breaker, not a speed limit) turns that into an
    :class:`AssertionError` naming how many had arrived.
    """

    def __init__(self, parties: int, *, guard_s: float = 10.0) -> None:
        self.parties = parties
        self.arrived = 0
        self._guard_s = guard_s
        self._all_here = anyio.Event()

    async def arrive(self) -> None:
        """Count this call in and wait for the others (raise if they never come)."""
        self.arrived += 1
        if self.arrived >= self.parties:
            self._all_here.set()
        with anyio.move_on_after(self._guard_s):
            await self._all_here.wait()
        if not self._all_here.is_set():
            raise AssertionError(f"only {self.arrived} of {self.parties} calls were in flight at once")


async def run_agent(agent: Agent[Any], prompt: str, *, stream: bool, **options: Any) -> RunResult[Any]:
    """Run ``agent`` on ``prompt`` with ``run()`` or, with ``stream``, to the end of ``stream()``."""
    if not stream:
        return await agent.run(prompt, **options)
    async with agent.stream(prompt, **options) as run:
        async for _ in run:
            pass
    return run.result


def png(width: int = 2, height: int = 2, noise: int = 0) -> bytes:
    """A real PNG (RGB, 8 bit) of ``width`` x ``height`` with incompressible pixels ``noise`` varies."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    seed = f"{width}x{height}:{noise}".encode()
    rows = [hashlib.shake_256(seed + bytes([y % 256])).digest(width * 3) for y in range(height)]
    pixels = zlib.compress(b"".join(b"\x00" + row for row in rows))
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    signature = b"\x89PNG\r\n\x1a\n"
    return signature + chunk(b"IHDR", header) + chunk(b"IDAT", pixels) + chunk(b"IEND", b"")
