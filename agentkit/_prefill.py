"""Assistant prefill (Kimi's partial mode) as a hook around the model call.

The request's last message becomes a partial assistant message holding the
prefix; the server continues it without repeating it, so the hook puts the
prefix back in front of the answer before the loop (and output validation)
sees it.
"""

from __future__ import annotations

from dataclasses import replace

from agentkit.hooks import RunHooks, RunInfo
from agentkit.messages import AssistantMessage
from agentkit.models.abstract import ModelRequest, ModelResponse

__all__ = ["PrefillHook"]


class PrefillHook(RunHooks):
    """Prefill the first answer of a run with ``prefix`` (optionally as character ``name``)."""

    def __init__(self, prefix: str, *, name: str | None = None) -> None:
        self.prefix = prefix
        self.name = name

    async def before_model_call(self, request: ModelRequest, info: RunInfo) -> ModelRequest:
        """Append the partial assistant message (every turn until the model answers without tools)."""
        partial = AssistantMessage(content=self.prefix, name=self.name, partial=True)
        return replace(request, messages=(*request.messages, partial))

    async def after_model_call(self, response: ModelResponse, info: RunInfo) -> ModelResponse:
        """Stitch the prefix back onto a text answer (tool-call turns are left as they are)."""
        message = response.message
        if message.tool_calls:
            return response
        stitched = replace(message, content=self.prefix + (message.content or ""), name=self.name)
        return replace(response, message=stitched)
