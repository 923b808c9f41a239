"""Served tools that ``requires_approval`` run only once the MCP client's user said yes.

An MCP client calls tools on its model's word, and that model can be steered by what
it read, so a served tool declared ``@tool(requires_approval=True)`` is gated exactly as
in an agent run. Before such a call runs, the client's user is asked through MCP
*elicitation*, when the client declares it can ask:

- on a connection with a back-channel (the ``initialize`` handshake era), the server
  sends ``elicitation/create`` and waits for the answer;
- on a 2026-07-28 connection (no back-channel), the call answers ``input_required``
  with the question and a sealed ``requestState`` naming this call (tool, arguments,
  a single-use nonce); the client asks its user and retries with the answer.

A client that cannot ask gets an error result saying so, and the tool does not run,
unless the server's operator allowed that tool to run unapproved
(``mcp_server(allow_unapproved=[...])``, ``--allow-unapproved NAME``). Only an explicit
``accept`` with ``approve: true`` runs the call; a decline, a cancel, a missing or
replayed answer, or an answer for other arguments does not.
"""

from __future__ import annotations

import contextlib
import hashlib
import secrets
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Iterator
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any

import mcp_types
import orjson
from mcp.server import ServerRequestContext

from agentkit.approval import Approve, Decision, PendingCall, Reject
from agentkit.exceptions import ToolArgumentsError
from agentkit.tool import Tool

__all__ = ["APPROVAL_INPUT", "ServedApproval", "client_decider", "serving"]

#: The key of the approval question in ``input_required`` results and their answers.
APPROVAL_INPUT = "agentkit_approval"

_STATE_PREFIX = "agentkit-approval:"
_REMEMBERED_NONCES = 10_000

Verdict = mcp_types.CallToolResult | mcp_types.InputRequiredResult | None


@dataclass(kw_only=True, slots=True)
class ServedApproval:
    """The approval gate of one MCP server: which tools may run unapproved, nonces already used."""

    allowed: frozenset[str] = frozenset()
    _used: OrderedDict[str, None] = field(default_factory=OrderedDict)

    async def check(
        self, ctx: ServerRequestContext[Any], tool: Tool, params: mcp_types.CallToolRequestParams
    ) -> Verdict:
        """``None`` when the call may run; otherwise the result to answer with instead."""
        if not tool.requires_approval or tool.name in self.allowed:
            return None
        arguments = orjson.dumps(params.arguments or {}).decode()
        try:
            validated = tool.validate_arguments(arguments)
        except ToolArgumentsError:
            return None  # not gated: the runner answers with the validation error, nothing runs
        if not _can_elicit(ctx):
            return _refused(
                f"Not run: tool {tool.name!r} needs the user's approval and this MCP client cannot ask "
                "its user (it declares no form elicitation). The server's operator can allow it with "
                f"--allow-unapproved {tool.name}."
            )
        question = _question(tool.name, validated)
        if ctx.session.can_send_request:
            answer = await ctx.session.elicit_form(question, _SCHEMA, ctx.request_id)
            return None if _approved(answer) else _refused("The user rejected this tool call.")
        return self._round_trip(tool.name, arguments, question, params)

    def _round_trip(
        self, name: str, arguments: str, question: str, params: mcp_types.CallToolRequestParams
    ) -> Verdict:
        """Ask through ``input_required`` (2026-07-28), or read the answer of the retried call."""
        state = params.request_state
        answer = (params.input_responses or {}).get(APPROVAL_INPUT)
        if state is not None and answer is not None:
            nonce = _nonce_of(state, name, arguments)
            if nonce is None or nonce in self._used:
                return _refused("Not run: the approval answer does not match this call, or was used already.")
            self._remember(nonce)
            return None if _approved(answer) else _refused("The user rejected this tool call.")
        nonce = secrets.token_hex(16)
        ask = mcp_types.ElicitRequest(
            params=mcp_types.ElicitRequestFormParams(message=question, requested_schema=_SCHEMA)
        )
        return mcp_types.InputRequiredResult(
            input_requests={APPROVAL_INPUT: ask}, request_state=_state(nonce, name, arguments)
        )

    def _remember(self, nonce: str) -> None:
        self._used[nonce] = None
        while len(self._used) > _REMEMBERED_NONCES:
            self._used.popitem(last=False)


_REQUEST: ContextVar[ServerRequestContext[Any] | None] = ContextVar("agentkit_mcp_request", default=None)


@contextlib.contextmanager
def serving(ctx: ServerRequestContext[Any]) -> Iterator[None]:
    """Make ``ctx`` the MCP call that code in the block (a served agent's run) works for."""
    token = _REQUEST.set(ctx)
    try:
        yield
    finally:
        _REQUEST.reset(token)


def client_decider() -> Callable[[PendingCall], Awaitable[Decision]] | None:
    """Who decides a served agent's waiting calls: the current MCP call's user, if they can be asked now.

    Only a connection with a back-channel can ask in the middle of a call; ``None`` otherwise
    (no MCP call, a client that declares no elicitation, or a 2026-07-28 connection, whose
    ``input_required`` round trip cannot hold a run that is half done).
    """
    ctx = _REQUEST.get()
    if ctx is None or not _can_elicit(ctx) or not ctx.session.can_send_request:
        return None

    async def decide(pending: PendingCall) -> Decision:
        name = f"{pending.agent}: {pending.call.name}" if pending.agent else pending.call.name
        answer = await ctx.session.elicit_form(
            _question(name, dict(pending.arguments)), _SCHEMA, ctx.request_id
        )
        return Approve() if _approved(answer) else Reject(message="The user rejected this tool call.")

    return decide


_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "approve": {"type": "boolean", "title": "Run this tool call?", "description": "Yes runs it."}
    },
    "required": ["approve"],
}


def _can_elicit(ctx: ServerRequestContext[Any]) -> bool:
    capabilities = ctx.session.client_capabilities
    elicitation = capabilities.elicitation if capabilities is not None else None
    # An empty ``elicitation: {}`` declares form mode (the spec's backward-compatible reading).
    return elicitation is not None and (elicitation.form is not None or elicitation.url is None)


def _question(name: str, arguments: dict[str, Any]) -> str:
    shown = orjson.dumps(arguments, option=orjson.OPT_INDENT_2, default=str).decode()
    return f"The model asks to run the tool {name!r} with these arguments:\n{shown}\nRun it?"


def _approved(answer: object) -> bool:
    if not isinstance(answer, mcp_types.ElicitResult) or answer.action != "accept":
        return False
    return (answer.content or {}).get("approve") is True


def _digest(name: str, arguments: str) -> str:
    canonical = orjson.dumps([name, orjson.loads(arguments)], option=orjson.OPT_SORT_KEYS)
    return hashlib.sha256(canonical).hexdigest()


def _state(nonce: str, name: str, arguments: str) -> str:
    """The request state naming one call; the SDK's RequestStateBoundary seals it on the wire."""
    return f"{_STATE_PREFIX}{nonce}:{_digest(name, arguments)}"


def _nonce_of(state: str, name: str, arguments: str) -> str | None:
    if not state.startswith(_STATE_PREFIX):
        return None
    nonce, _, digest = state.removeprefix(_STATE_PREFIX).partition(":")
    return nonce if nonce and secrets.compare_digest(digest, _digest(name, arguments)) else None


def _refused(text: str) -> mcp_types.CallToolResult:
    return mcp_types.CallToolResult(content=[mcp_types.TextContent(type="text", text=text)], is_error=True)
