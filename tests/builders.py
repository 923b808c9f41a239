"""Shared builders for loop tests: scripted replies and small tools."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from agentkit.messages import AssistantMessage
from agentkit.models.function import call


def calls(*pairs: tuple[str, str | Mapping[str, Any]], content: str | None = None) -> AssistantMessage:
    """An assistant reply asking for the given tool calls (ids assigned by the model double)."""
    return AssistantMessage(content=content, tool_calls=tuple(call(name, args) for name, args in pairs))
