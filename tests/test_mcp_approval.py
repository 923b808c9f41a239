"""Served tools that need approval: asked through MCP elicitation or refused; HTTP bearer tokens."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Literal

import httpx2
import mcp_types
import pytest
from mcp import Client, StdioServerParameters
from mcp.client.session import ClientRequestContext
from mcp.client.streamable_http import streamable_http_client
from mcp.shared.exceptions import MCPError
from typer.testing import CliRunner

from agentkit import Agent, tool
from agentkit.cli import app
from agentkit.exceptions import UserError
from agentkit.mcp import mcp_server
from agentkit.mcp._approval import APPROVAL_INPUT
from agentkit.models.function import ScriptedModel, call
from tests.test_mcp_server import child_env, serve_args, serve_http

pytestmark = pytest.mark.anyio

SERVED = '''
import os
from agentkit import tool


@tool(requires_approval=True)
def send_email(to: str, body: str) -> str:
    """Send an email.

    Args:
        to: The recipient.
        body: The text.
    """
    with open(os.environ["OUTBOX"], "a") as outbox:
        outbox.write(to + "\\n")
    return f"sent to {to}"


tools = [send_email]
'''

EMAIL = {"to": "bob@example.com", "body": "hi"}


@pytest.fixture
def outbox(tmp_path: Path) -> Path:
    """The file the served send_email appends each recipient to."""
    return tmp_path / "outbox.txt"


@pytest.fixture
def served(tmp_path: Path, outbox: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The module above; served processes inherit OUTBOX from the environment."""
    monkeypatch.setenv("OUTBOX", str(outbox))
    path = tmp_path / "mailer.py"
    path.write_text(SERVED)
    return path


def _sent(outbox: Path) -> list[str]:
    return outbox.read_text().splitlines() if outbox.exists() else []


def _text(result: mcp_types.CallToolResult) -> str:
    return "\n".join(b.text for b in result.content if isinstance(b, mcp_types.TextContent))


class Answers:
    """An elicitation callback answering with ``approve`` and keeping the questions asked."""

    def __init__(self, approve: bool, action: Literal["accept", "decline", "cancel"] = "accept") -> None:
        self.approve = approve
        self.action = action
        self.questions: list[str] = []

    async def __call__(
        self, context: ClientRequestContext, params: mcp_types.ElicitRequestParams
    ) -> mcp_types.ElicitResult | mcp_types.ErrorData:
        self.questions.append(params.message)
        content: dict[str, Any] | None = {"approve": self.approve} if self.action == "accept" else None
        return mcp_types.ElicitResult(action=self.action, content=content)


def _stdio(served: Path, *extra: str, target: str = "tools") -> StdioServerParameters:
    env = {**child_env(), "OUTBOX": str(served.parent / "outbox.txt")}
    return StdioServerParameters(
        command=sys.executable, args=serve_args(f"{served}:{target}", *extra), env=env
    )


async def test_stdio_client_that_cannot_ask_is_refused_and_nothing_is_sent(
    served: Path, outbox: Path
) -> None:
    """Over stdio, a client declaring no elicitation gets an error result; the tool never runs."""
    async with Client(_stdio(served)) as client:
        result = await client.call_tool("send_email", EMAIL)
    assert result.is_error
    assert "needs the user's approval" in _text(result)
    assert "--allow-unapproved send_email" in _text(result)
    assert _sent(outbox) == []


async def test_stdio_client_user_is_asked_and_only_a_yes_runs_the_call(served: Path, outbox: Path) -> None:
    """Over stdio, the client's user sees the arguments; a decline does not run, an approval does."""
    no, yes = Answers(approve=False), Answers(approve=True)
    async with Client(_stdio(served), elicitation_callback=no) as client:
        declined = await client.call_tool("send_email", EMAIL)
    async with Client(_stdio(served), elicitation_callback=yes) as client:
        approved = await client.call_tool("send_email", EMAIL)
    assert declined.is_error
    assert _text(declined) == "The user rejected this tool call."
    assert not approved.is_error
    assert _text(approved) == "sent to bob@example.com"
    assert _sent(outbox) == ["bob@example.com"]
    assert "send_email" in yes.questions[0]
    assert "bob@example.com" in yes.questions[0]


async def test_operator_may_allow_one_tool_unapproved(served: Path, outbox: Path) -> None:
    """--allow-unapproved NAME runs that tool without asking a client that cannot ask."""
    async with Client(_stdio(served, "--allow-unapproved", "send_email")) as client:
        result = await client.call_tool("send_email", EMAIL)
    assert not result.is_error
    assert _sent(outbox) == ["bob@example.com"]


@pytest.fixture
def http_url(served: Path) -> Iterator[str]:
    """The module served over HTTP with a bearer token."""
    yield from serve_http(f"{served}:tools", "--token", "s3cret-token")


def _with_token(url: str, token: str | None) -> Any:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return streamable_http_client(url, http_client=httpx2.AsyncClient(headers=headers))


async def test_http_with_a_token_refuses_requests_without_it(http_url: str, outbox: Path) -> None:
    """With --token, a request without the bearer token (or with another) is answered 401."""
    for token in (None, "wrong"):
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        async with httpx2.AsyncClient() as http:
            response = await http.post(
                http_url, json={"jsonrpc": "2.0", "id": 1, "method": "ping"}, headers=headers
            )
        assert response.status_code == 401
    with pytest.raises(Exception):  # noqa: B017, PT011 - the SDK surfaces the 401 as its own error types
        async with Client(_with_token(http_url, "wrong")) as client:
            await client.call_tool("send_email", EMAIL)
    assert _sent(outbox) == []


async def test_http_with_the_token_asks_the_user_through_input_required(http_url: str, outbox: Path) -> None:
    """Over streamable HTTP an approved round trip runs the call; an answer never asked for runs nothing."""
    answers = Answers(approve=True)
    unasked: mcp_types.InputResponses = {
        APPROVAL_INPUT: mcp_types.ElicitResult(action="accept", content={"approve": True})
    }
    async with Client(_with_token(http_url, "s3cret-token"), elicitation_callback=answers) as client:
        result = await client.call_tool("send_email", EMAIL)
        forged = await client.session.call_tool(
            "send_email",
            {"to": "eve@example.com", "body": "hi"},
            input_responses=unasked,
            allow_input_required=True,
        )
    assert not result.is_error
    assert len(answers.questions) == 1
    assert isinstance(forged, mcp_types.InputRequiredResult)  # asked again, not run
    assert _sent(outbox) == ["bob@example.com"]


async def test_a_forged_or_reused_request_state_runs_nothing(
    outbox: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An unsealed state, or a sealed one for other arguments, is refused; one approval runs once."""
    monkeypatch.setenv("OUTBOX", str(outbox))
    sent: list[str] = []

    @tool(requires_approval=True)
    def pay(to: str) -> str:
        """Pay someone.

        Args:
            to: Who.
        """
        sent.append(to)
        return "paid"

    yes: mcp_types.InputResponses = {
        APPROVAL_INPUT: mcp_types.ElicitResult(action="accept", content={"approve": True})
    }
    async with Client(mcp_server(tools=[pay]), elicitation_callback=Answers(approve=True)) as client:
        asked = await client.session.call_tool("pay", {"to": "bob"}, allow_input_required=True)
        assert isinstance(asked, mcp_types.InputRequiredResult)
        assert asked.request_state is not None
        forged = "agentkit-approval:" + "0" * 32 + ":" + "0" * 64
        with pytest.raises(MCPError):
            await client.session.call_tool("pay", {"to": "bob"}, input_responses=yes, request_state=forged)
        with pytest.raises(MCPError):  # the SDK binds the sealed state to the request it answered
            await client.session.call_tool(
                "pay", {"to": "eve"}, input_responses=yes, request_state=asked.request_state
            )
        first = await client.session.call_tool(
            "pay", {"to": "bob"}, input_responses=yes, request_state=asked.request_state
        )
        again = await client.session.call_tool(
            "pay", {"to": "bob"}, input_responses=yes, request_state=asked.request_state
        )
    assert not first.is_error
    assert again.is_error
    assert sent == ["bob"]


async def test_a_client_with_a_back_channel_is_asked_with_elicitation_create() -> None:
    """On a handshake-era connection the server asks with elicitation/create and waits for the answer."""
    sent: list[str] = []

    @tool(requires_approval=True)
    def pay(to: str) -> str:
        """Pay someone.

        Args:
            to: Who.
        """
        sent.append(to)
        return "paid"

    no = Answers(approve=True, action="decline")
    async with Client(mcp_server(tools=[pay]), mode="legacy", elicitation_callback=no) as client:
        declined = await client.call_tool("pay", {"to": "eve"})
    yes = Answers(approve=True)
    async with Client(mcp_server(tools=[pay]), mode="legacy", elicitation_callback=yes) as client:
        approved = await client.call_tool("pay", {"to": "bob"})
    assert declined.is_error
    assert not approved.is_error
    assert sent == ["bob"]
    assert "eve" in no.questions[0]


def test_allowing_a_tool_that_is_not_served_or_needs_no_approval_is_refused() -> None:
    """allow_unapproved must name a served tool that needs approval."""

    @tool
    def free() -> str:
        """Needs nothing."""
        return "ok"

    with pytest.raises(UserError, match="no served tool"):
        mcp_server(tools=[free], allow_unapproved=["nope"])
    with pytest.raises(UserError, match="needs no approval"):
        mcp_server(tools=[free], allow_unapproved=["free"])


def test_a_non_loopback_host_without_a_token_is_refused_in_one_line(served: Path) -> None:
    """`--http --host 0.0.0.0` without a token exits 2 (a usage problem) with a one-line reason, unheard."""
    result = CliRunner().invoke(app, ["mcp", "serve", f"{served}:tools", "--http", "--host", "0.0.0.0"])  # noqa: S104
    assert result.exit_code == 2
    lines = result.output.strip().splitlines()
    assert len(lines) == 1
    assert lines[0].startswith("error: refusing to serve MCP on 0.0.0.0 without a token")


SERVED_AGENT = (
    SERVED
    + """

from agentkit import Agent
from agentkit.models.function import ScriptedModel, call

_EMAIL = {"to": "bob@example.com", "body": "hi"}
mailer = Agent(ScriptedModel([call("send_email", _EMAIL), "mailer: done"]), name="mailer", tools=[send_email])
boss_model = ScriptedModel([call("mailer", {"task": "email Bob"}), "boss: done"])
boss = Agent(boss_model, name="boss", tools=[mailer.as_tool()])
"""
)


def _served_boss(sent: list[str]) -> Agent[str]:
    """An agent whose agent tool (mailer) calls pay, which needs approval; ``sent`` keeps who was paid."""

    @tool(requires_approval=True)
    def pay(to: str) -> str:
        """Pay someone.

        Args:
            to: Who.
        """
        sent.append(to)
        return "paid"

    mailer = Agent(ScriptedModel([call("pay", {"to": "bob"}), "mailer: done"]), name="mailer", tools=[pay])
    model = ScriptedModel([call("mailer", {"task": "pay Bob"}), "boss: done"])
    return Agent(model, name="boss", tools=[mailer.as_tool()])


async def test_served_agent_asks_the_client_user_about_its_agent_tools_calls() -> None:
    """ask_boss pauses at mailer's pay, asks the client's user (back-channel) and resumes: a yes pays once."""
    sent: list[str] = []
    yes = Answers(approve=True)
    async with Client(
        mcp_server(agent=_served_boss(sent)), mode="legacy", elicitation_callback=yes
    ) as client:
        result = await client.call_tool("ask_boss", {"prompt": "pay Bob"})
    assert not result.is_error, _text(result)
    assert _text(result) == "boss: done"
    assert sent == ["bob"]
    [question] = yes.questions
    assert "'mailer: pay'" in question
    assert '"bob"' in question


async def test_served_agent_call_the_client_user_declines_does_not_run() -> None:
    """A no from the client's user rejects the sub-run's call: the run finishes and nobody is paid."""
    sent: list[str] = []
    no = Answers(approve=False)
    async with Client(mcp_server(agent=_served_boss(sent)), mode="legacy", elicitation_callback=no) as client:
        result = await client.call_tool("ask_boss", {"prompt": "pay Bob"})
    assert not result.is_error
    assert _text(result) == "boss: done"
    assert sent == []
    assert len(no.questions) == 1


@pytest.fixture
def served_agent(tmp_path: Path, outbox: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A served agent whose agent tool (mailer) calls send_email, which needs approval."""
    monkeypatch.setenv("OUTBOX", str(outbox))
    path = tmp_path / "boss.py"
    path.write_text(SERVED_AGENT)
    return path


async def test_served_agent_without_a_back_channel_answers_an_error(served_agent: Path, outbox: Path) -> None:
    """On a 2026-07-28 stdio connection (no back-channel) an error names the waiting call; nothing is sent."""
    answers = Answers(approve=True)
    async with Client(_stdio(served_agent, target="boss"), elicitation_callback=answers) as client:
        result = await client.call_tool("ask_boss", {"prompt": "email Bob"})
    assert result.is_error
    assert "(mailer: send_email) need approval" in _text(result)
    assert _sent(outbox) == []
    assert answers.questions == []
