"""The secrets this process holds, so every sink can keep them out of what it writes.

A provider given an API key (``KimiModel(api_key=...)``, a key from the environment, a
ready client's key) registers it here; [`agentkit.tracing.Redactor`][] (trace files,
the HTML viewer, OpenTelemetry, logs, CLI output) replaces every registered secret
wherever it appears. Registration is process-wide on purpose: a key must stay secret in
every run and sink of the process, whichever created it first. Nothing here is ever
written anywhere.
"""

from __future__ import annotations

import threading

__all__ = ["register_secret", "registered_count", "registered_secrets"]

_lock = threading.Lock()
_secrets: dict[str, None] = {}


def register_secret(value: str | None) -> None:
    """Treat ``value`` as a secret from now on (``None`` and empty strings are ignored)."""
    if value and value not in _secrets:
        with _lock:
            _secrets[value] = None


def registered_secrets() -> tuple[str, ...]:
    """Every secret registered so far, in registration order (a new tuple once one is added)."""
    return tuple(_secrets)


def registered_count() -> int:
    """How many secrets are registered (they are never removed: a change means new ones)."""
    return len(_secrets)
