"""Conversation memory: the :class:`Memory` protocol and its backends."""

from agentkit.memory.abstract import Memory

__all__ = ["Memory"]
