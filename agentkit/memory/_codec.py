"""Messages to and from the JSON text the storage backends keep."""

from __future__ import annotations

import orjson

from agentkit.messages import Message, message_from_dict, message_to_dict

__all__ = ["decode", "encode"]


def encode(message: Message) -> str:
    """Return ``message`` as JSON text (exact round trip through :func:`decode`)."""
    return orjson.dumps(message_to_dict(message)).decode()


def decode(data: str | bytes) -> Message:
    """Rebuild a message stored by :func:`encode`."""
    return message_from_dict(orjson.loads(data))
