"""Every test double that ships with agentkit, in one import.

- `FakeKimiServer` / `FakeAnthropicServer`: real HTTP servers on loopback that
  speak the providers' wire formats (point a real model at ``base_url``).
- `ScriptedModel` / `FunctionModel`: in-process models (no HTTP at all).
- `ReplayModel`: plays back a recorded trace.
- `Reply`: one scripted answer, understood by all of them::

      script = [Reply.tool_calls(("a", {}), ("b", {})), Reply.text("done")]
      FakeKimiServer(script)   # over HTTP
      ScriptedModel(script)    # in process

The pytest plugin ([`agentkit.testing.plugin`][], registered automatically) provides the
``fake_kimi`` and ``agentkit_replay`` fixtures and, when you opt in, blocks non-loopback network
access. This package does not import pytest, and loads the model doubles only when used.
"""

from typing import TYPE_CHECKING, Any

from agentkit.testing._fake_anthropic import FakeAnthropicServer
from agentkit.testing._fake_kimi import FakeKimiServer, RecordedRequest, Responder, Script, echo
from agentkit.testing._kimi_wire import Reply
from agentkit.testing._network_guard import NetworkBlockedError, NetworkGuard
from agentkit.testing._vendor import VENDOR_PROFILES, bad_vendor

if TYPE_CHECKING:
    from agentkit.models.function import FunctionModel, ScriptedModel, call
    from agentkit.models.replay import ReplayModel

__all__ = [
    "VENDOR_PROFILES",
    "FakeAnthropicServer",
    "FakeKimiServer",
    "FunctionModel",
    "NetworkBlockedError",
    "NetworkGuard",
    "RecordedRequest",
    "ReplayModel",
    "Reply",
    "Responder",
    "Script",
    "ScriptedModel",
    "bad_vendor",
    "call",
    "echo",
]

_LAZY = {
    "FunctionModel": "agentkit.models.function",
    "ScriptedModel": "agentkit.models.function",
    "call": "agentkit.models.function",
    "ReplayModel": "agentkit.models.replay",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:  # the model doubles pull in the model layer: load them on first use
        import importlib  # noqa: PLC0415

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
