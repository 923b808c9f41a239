"""The library's structlog logger.

agentkit never prints: its events go through the standard ``logging``
logger named ``agentkit`` (and children such as ``agentkit.models``), which
carries a `logging.NullHandler` (the library convention), so nothing
reaches stderr, at any level, until the application configures logging
(``logging.basicConfig(level=logging.INFO)``, or a handler on ``agentkit``).
Each record's message is the event rendered as ``key=value`` pairs, and the
event dict itself is attached as ``record.event_dict`` for structured
handlers (e.g. structlog's ``ProcessorFormatter``) and for tests. String values are
redacted first (API keys, credentials; see [`agentkit.tracing._redact`][]).
"""

from __future__ import annotations

import logging
from collections.abc import MutableMapping
from typing import Any

import structlog

__all__ = ["get_logger"]

# Without a handler anywhere, Python's "last resort" would print WARNING records to stderr.
logging.getLogger("agentkit").addHandler(logging.NullHandler())

_RENDER = structlog.processors.KeyValueRenderer(key_order=["event"], sort_keys=True)


def _to_stdlib(logger: Any, method_name: str, event_dict: MutableMapping[str, Any]) -> dict[str, Any]:
    """Hand the event to stdlib logging: rendered text as the message, the dict as ``event_dict``."""
    structured = dict(event_dict)
    exc_info = event_dict.pop("exc_info", None)
    return {
        "msg": _RENDER(logger, method_name, event_dict),
        "extra": {"event_dict": structured},
        "exc_info": exc_info,
    }


def _redacted(logger: Any, method_name: str, event_dict: MutableMapping[str, Any]) -> Any:
    """Secrets out of every string value (the trace files' policy); only events that pass the level."""
    from agentkit.tracing._redact import redact_text  # noqa: PLC0415 - loaded when something is logged

    for key, value in event_dict.items():
        if isinstance(value, str):
            event_dict[key] = redact_text(value)
    return event_dict


_PROCESSORS: list[structlog.typing.Processor] = [
    structlog.stdlib.filter_by_level,
    _redacted,
    _to_stdlib,
]


def get_logger(name: str = "agentkit") -> structlog.stdlib.BoundLogger:
    """Return a structlog logger writing to the stdlib logger ``name``."""
    logger: structlog.stdlib.BoundLogger = structlog.wrap_logger(
        logging.getLogger(name),
        processors=_PROCESSORS,
        wrapper_class=structlog.stdlib.BoundLogger,
    )
    return logger
