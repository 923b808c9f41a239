"""The library's structlog logger.

agentkit never prints: its events go through the standard ``logging`` logger
named ``agentkit`` (silent below WARNING until the application configures
logging or structlog). Bind run id, turn and tool-call id as context.
"""

from __future__ import annotations

import logging

import structlog

__all__ = ["get_logger"]

_PROCESSORS: list[structlog.typing.Processor] = [
    structlog.stdlib.filter_by_level,
    structlog.stdlib.add_log_level,
    structlog.processors.KeyValueRenderer(key_order=["event"], sort_keys=True),
]


def get_logger(name: str = "agentkit") -> structlog.stdlib.BoundLogger:
    """Return a structlog logger writing to the stdlib logger ``name``."""
    logger: structlog.stdlib.BoundLogger = structlog.wrap_logger(
        logging.getLogger(name),
        processors=_PROCESSORS,
        wrapper_class=structlog.stdlib.BoundLogger,
    )
    return logger
