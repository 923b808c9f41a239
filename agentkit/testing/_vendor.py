"""Bad-vendor profiles: make any responder of the fake Kimi server misbehave like a broken endpoint.

Each profile distorts the replies the way some self-hosted engines and gateways have been seen
to (KIMI.md, "Responses and tool calls"), so clients and ``agentkit verify`` can be tested
against them on loopback:

- ``markup_in_content``: tool calls arrive as raw Kimi markup in ``content``, no ``tool_calls``,
  finish reason ``stop`` (the engine's tool parser did not run);
- ``double_encoded_args``: each call's arguments are JSON encoded twice (a string holding JSON);
- ``missing_usage``: no ``usage`` anywhere, streamed or not;
- ``null_content_refusal``: every answer is ``content: null`` with no tool calls, finish ``stop``.

>>> from agentkit.testing import Reply
>>> bad = bad_vendor(lambda body: Reply.tool_calls(("f", {"a": 1})), "double_encoded_args")
>>> name, arguments = bad({}).calls[0]
>>> orjson.loads(arguments)
'{"a":1}'

"""

from __future__ import annotations

import dataclasses
from typing import Any, Final

import orjson

from agentkit.testing._fake_kimi import Responder
from agentkit.testing._kimi_wire import Reply, tool_call_ids

__all__ = ["VENDOR_PROFILES", "bad_vendor"]

#: The profiles `bad_vendor` knows.
VENDOR_PROFILES: Final = ("markup_in_content", "double_encoded_args", "missing_usage", "null_content_refusal")


def _markup(reply: Reply, body: dict[str, Any]) -> Reply:
    if not reply.calls:
        return reply
    ids = tool_call_ids(reply, body)
    calls = "".join(
        f"<|tool_call_begin|>{call_id}<|tool_call_argument_begin|>{args}<|tool_call_end|>"
        for call_id, (_, args) in zip(ids, reply.calls, strict=True)
    )
    text = f"{reply.content or ''}<|tool_calls_section_begin|>{calls}<|tool_calls_section_end|>"
    return dataclasses.replace(reply, content=text, calls=(), finish_reason="stop")


def _double(reply: Reply) -> Reply:
    calls = tuple((name, orjson.dumps(args).decode()) for name, args in reply.calls)
    return dataclasses.replace(reply, calls=calls)


def _distort(reply: Reply, body: dict[str, Any], profile: str) -> Reply:
    if reply.kind != "completion":
        return reply
    if profile == "markup_in_content":
        return _markup(reply, body)
    if profile == "double_encoded_args":
        return _double(reply)
    if profile == "missing_usage":
        return dataclasses.replace(reply, omit_usage=True)
    return dataclasses.replace(reply, content=None, reasoning=None, calls=(), finish_reason="stop")


def bad_vendor(responder: Responder, *profiles: str) -> Responder:
    """Wrap ``responder`` so its replies misbehave as ``profiles`` say (see the module docs).

    Raises:
        ValueError: an unknown profile.
    """
    unknown = [p for p in profiles if p not in VENDOR_PROFILES]
    if unknown:
        raise ValueError(f"unknown vendor profile(s) {unknown}; known: {', '.join(VENDOR_PROFILES)}")

    def answer(body: dict[str, Any]) -> Reply:
        reply = responder(body)
        for profile in profiles:
            reply = _distort(reply, body, profile)
        return reply

    return answer
