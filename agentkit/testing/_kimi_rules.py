"""The request rules of today's Moonshot API, for `FakeKimiServer`'s ``mode="k2.6"``.

Pure functions: a request body in, an error `Reply` (or ``None``) out. What they enforce
comes from Moonshot's docs (``docs/kimi.md`` lists the sources and when they were checked):

- a retired id answers 404 ``resource_not_found_error``;
- ``kimi-k2.6``/``kimi-k2.5`` fix temperature (1.0 thinking, 0.6 not), top_p (0.95), n (1) and
  both penalties (0): another value is a 400 ``invalid_request_error``;
- ``thinking`` must be ``{"type": "enabled" | "disabled"}``; thinking is on when it is absent;
- with thinking on, every assistant message with tool calls must carry ``reasoning_content``
  ("thinking is enabled but reasoning_content is missing ...", as third parties report it) and
  ``tool_choice`` may only be ``"auto"``/``"none"`` (third-party reports, too);
- image parts go only to a vision model, and a ``data:`` URL must be a base64 image.

The error texts are the fake's own wording where the docs quote none.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Mapping
from dataclasses import replace
from typing import Any, Final

from agentkit.testing._kimi_wire import Reply

__all__ = ["CURRENT_MODELS", "RETIRED_MODELS", "check_request", "shape_reply"]

#: What ``mode="k2.6"`` serves (and ``GET /models`` lists).
CURRENT_MODELS: Final = ("kimi-k2.6", "kimi-k2.5", "moonshot-v1-8k", "moonshot-v1-32k", "moonshot-v1-128k")
#: Ids that answer 404 in ``mode="k2.6"``.
RETIRED_MODELS: Final = frozenset(
    {
        "kimi-k2-0711-preview",
        "kimi-k2-0905-preview",
        "kimi-k2-turbo-preview",
        "kimi-k2-thinking",
        "kimi-k2-thinking-turbo",
        "kimi-latest",
    }
)
_K26: Final = frozenset({"kimi-k2.6", "kimi-k2.5"})
_FIXED: Final = {"top_p": 0.95, "n": 1, "presence_penalty": 0, "frequency_penalty": 0}
_IMAGE_TYPES: Final = ("image/png", "image/jpeg", "image/webp", "image/gif")


def _bad(message: str) -> Reply:
    return Reply.error(400, "invalid_request_error", message)


def thinking_enabled(body: Mapping[str, Any]) -> bool:
    """Whether a K2.5/K2.6 request thinks (on unless ``{"type": "disabled"}``)."""
    thinking = body.get("thinking")
    return not (isinstance(thinking, Mapping) and thinking.get("type") == "disabled")


def check_request(body: Mapping[str, Any]) -> Reply | None:
    """Return the error today's API answers ``body`` with, or ``None`` when it is valid."""
    model = str(body.get("model") or "")
    if model in RETIRED_MODELS:
        message = f"Not found the model {model} or Permission denied"
        return Reply.error(404, "resource_not_found_error", message)
    images = _check_images(body, vision=model in _K26)
    if images is not None or model not in _K26:
        return images
    return _check_sampling(body) or _check_thinking(body)


def _check_sampling(body: Mapping[str, Any]) -> Reply | None:
    fixed = {**_FIXED, "temperature": 1.0 if thinking_enabled(body) else 0.6}
    for name, value in fixed.items():
        if name in body and body[name] != value:
            return _bad(f"invalid {name}: only {value} is allowed for this model")
    return None


def _check_thinking(body: Mapping[str, Any]) -> Reply | None:
    thinking = body.get("thinking")
    if thinking is not None and (
        not isinstance(thinking, Mapping) or thinking.get("type") not in ("enabled", "disabled")
    ):
        return _bad('thinking must be {"type": "enabled"} or {"type": "disabled"}')
    if not thinking_enabled(body):
        return None
    choice = body.get("tool_choice")
    if choice is not None and choice not in ("auto", "none"):
        return _bad(f"tool_choice {choice!r} is incompatible with thinking enabled")
    messages = body.get("messages")
    for index, message in enumerate(messages if isinstance(messages, list) else []):
        if not isinstance(message, Mapping) or message.get("role") != "assistant":
            continue
        if message.get("tool_calls") and message.get("reasoning_content") is None:
            return _bad(
                f"thinking is enabled but reasoning_content is missing in assistant tool call message "
                f"at index {index}"
            )
    return None


def _check_images(body: Mapping[str, Any], *, vision: bool) -> Reply | None:
    messages = body.get("messages")
    for message in messages if isinstance(messages, list) else []:
        content = message.get("content") if isinstance(message, Mapping) else None
        for part in content if isinstance(content, list) else []:
            if not isinstance(part, Mapping) or part.get("type") != "image_url":
                continue
            if not vision:
                return _bad(f"model {body.get('model')} does not accept image input")
            image = part.get("image_url")
            url = image.get("url") if isinstance(image, Mapping) else None
            if not isinstance(url, str) or not _valid_image_url(url):
                return _bad(
                    "image_url.url must be a base64 data URL of a png/jpeg/webp/gif image or ms://<file_id>"
                )
    return None


def _valid_image_url(url: str) -> bool:
    if url.startswith(("ms://", "https://", "http://")):
        return True
    head, sep, data = url.partition(",")
    if not sep or not head.startswith("data:") or not head.endswith(";base64"):
        return False
    if head.removeprefix("data:").removesuffix(";base64") not in _IMAGE_TYPES:
        return False
    try:
        base64.b64decode(data, validate=True)
    except binascii.Error:
        return False
    return True


def shape_reply(reply: Reply, body: Mapping[str, Any]) -> Reply:
    """Give a scripted completion the reasoning a K2.5/K2.6 request implies.

    With thinking on, a reply without scripted reasoning gets a short one (the real model always
    reasons first); with thinking off, scripted reasoning is dropped.
    """
    if reply.kind != "completion" or str(body.get("model") or "") not in _K26:
        return reply
    if not thinking_enabled(body):
        return replace(reply, reasoning=None) if reply.reasoning is not None else reply
    if reply.reasoning is None:
        return replace(reply, reasoning="Thinking about the request.")
    return reply
