"""The library's structlog logger.

agentkit never prints: its events go through the standard ``logging``
logger named ``agentkit`` (and children such as ``agentkit.models``), which
carries a `logging.NullHandler` (the library convention), so nothing
reaches stderr, at any level, until the application configures logging
(``logging.basicConfig(level=logging.INFO)``, or a handler on ``agentkit``).
Each record's message is the event rendered as ``key=value`` pairs, and the
event dict itself is attached as ``record.event_dict`` for structured
handlers (e.g. structlog's ``ProcessorFormatter``) and for tests. String values are
redacted first (API keys, credentials; see [`agentkit._redact`][]).
"""

from __future__ import annotations

import functools
import logging
from collections.abc import MutableMapping
from typing import TYPE_CHECKING, Any, cast

if TYPE_CHECKING:
    import structlog

__all__ = ["get_logger"]

# Without a handler anywhere, Python's "last resort" would print WARNING records to stderr.
logging.getLogger("agentkit").addHandler(logging.NullHandler())


@functools.cache
def _renderer() -> Any:
    import structlog  # noqa: PLC0415 - structlog loads with the first log call, not with ``import agentkit``

    return structlog.processors.KeyValueRenderer(key_order=["event"], sort_keys=True)


def _to_stdlib(logger: Any, method_name: str, event_dict: MutableMapping[str, Any]) -> dict[str, Any]:
    """Hand the event to stdlib logging: rendered text as the message, the dict as ``event_dict``."""
    structured = dict(event_dict)
    exc_info = event_dict.pop("exc_info", None)
    return {
        "msg": _renderer()(logger, method_name, event_dict),
        "extra": {"event_dict": structured},
        "exc_info": exc_info,
    }


def _redacted(logger: Any, method_name: str, event_dict: MutableMapping[str, Any]) -> Any:
    """Secrets out of every string value (the trace files' policy); only events that pass the level."""
    from agentkit._redact import redact_text  # noqa: PLC0415 - loaded when something is logged

    for key, value in event_dict.items():
        if isinstance(value, str):
            event_dict[key] = redact_text(value)
    return event_dict


def _build(name: str) -> structlog.stdlib.BoundLogger:
    import structlog  # noqa: PLC0415 - see _renderer

    logger: structlog.stdlib.BoundLogger = structlog.wrap_logger(
        logging.getLogger(name),
        processors=[structlog.stdlib.filter_by_level, _redacted, _to_stdlib],
        wrapper_class=structlog.stdlib.BoundLogger,
    )
    return logger


class _LazyLogger:
    """Stands for the structlog logger of ``name``: builds it on first use, then keeps its methods.

    ``debug``/``info``/``warning``/``error`` ask the stdlib logger first: an event below its level
    returns at once (no event dict, no processors; structlog is not even loaded for it).
    """

    def __init__(self, name: str) -> None:
        self._name = name
        self._stdlib = logging.getLogger(name)
        self._real: structlog.stdlib.BoundLogger | None = None

    def _at(self, level: int, method: str, event: str, kw: dict[str, Any]) -> Any:
        if not self._stdlib.isEnabledFor(level):
            return None
        return getattr(self._structlog(), method)(event, **kw)

    def _structlog(self) -> structlog.stdlib.BoundLogger:
        real = self._real
        if real is None:
            real = self._real = _build(self._name)
        return real

    def debug(self, event: str, **kw: Any) -> Any:
        """Log ``event`` at DEBUG."""
        return self._at(logging.DEBUG, "debug", event, kw)

    def info(self, event: str, **kw: Any) -> Any:
        """Log ``event`` at INFO."""
        return self._at(logging.INFO, "info", event, kw)

    def warning(self, event: str, **kw: Any) -> Any:
        """Log ``event`` at WARNING."""
        return self._at(logging.WARNING, "warning", event, kw)

    def error(self, event: str, **kw: Any) -> Any:
        """Log ``event`` at ERROR."""
        return self._at(logging.ERROR, "error", event, kw)

    def __getattr__(self, attribute: str) -> Any:
        # Only called for names not found on the proxy: the first use of each method.
        value = getattr(self._structlog(), attribute)
        if callable(value) and not attribute.startswith("_"):
            setattr(self, attribute, value)
        return value


def get_logger(name: str = "agentkit") -> structlog.stdlib.BoundLogger:
    """Return a structlog logger writing to the stdlib logger ``name`` (structlog loads on first use)."""
    return cast("structlog.stdlib.BoundLogger", _LazyLogger(name))
