"""Messages to and from the JSON text the storage backends keep."""

from __future__ import annotations

import orjson

from agentkit.messages import Message, message_from_dict, message_to_dict

__all__ = ["decode", "decode_turn", "encode", "encode_turn"]


def encode(message: Message) -> str:
    """Return ``message`` as JSON text (exact round trip through `decode`)."""
    return orjson.dumps(message_to_dict(message)).decode()


def decode(data: str | bytes) -> Message:
    """Rebuild a message stored by `encode`."""
    return message_from_dict(orjson.loads(data))


def encode_turn(messages: list[Message]) -> str:
    """Return a whole turn as one JSON array (the inverse of `decode_turn`)."""
    return "[" + ",".join(encode(m) for m in messages) + "]"


def decode_turn(data: str | bytes) -> list[Message]:
    """Rebuild the messages of a turn stored by `encode_turn`."""
    return [message_from_dict(d) for d in orjson.loads(data)]
