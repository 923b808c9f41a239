"""Test doubles that ship with agentkit: a loopback fake Kimi server and scripted replies.

Tests never touch the internet: point a real client at :class:`FakeKimiServer`
(``base_url``) and script what the "model" answers with :class:`Reply`. The
pytest plugin (:mod:`agentkit.testing.plugin`, registered automatically)
provides the ``fake_kimi`` fixture and blocks non-loopback network access.

This package does not import pytest.
"""

from agentkit.testing._fake_anthropic import FakeAnthropicServer
from agentkit.testing._fake_kimi import FakeKimiServer, RecordedRequest, Responder, Script, echo
from agentkit.testing._kimi_wire import Reply
from agentkit.testing._network_guard import NetworkBlockedError, NetworkGuard
from agentkit.testing._vendor import VENDOR_PROFILES, bad_vendor

__all__ = [
    "VENDOR_PROFILES",
    "FakeAnthropicServer",
    "FakeKimiServer",
    "NetworkBlockedError",
    "NetworkGuard",
    "RecordedRequest",
    "Reply",
    "Responder",
    "Script",
    "bad_vendor",
    "echo",
]
