"""Agents used as tools inside durable runs: their approvals, and their calls' idempotency keys.

A durable run cannot pause (no one is there to decide inside a worker): a call waiting
for approval is decided by the run's approver, or the run ends as a record naming the
waiting call. A call inside an agent used as a tool is handled the same way.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from agentkit_tools.email import EmailSettings, Mailer, email_tools
from agentkit_tools.workspace import Workspace

from agentkit import Agent, RunContext, tool
from agentkit.approval import Approver, approve_all
from agentkit.durable import DurableRequest, DurableRunner, register_agent
from agentkit.messages import AssistantMessage, ToolMessage
from agentkit.models.function import ScriptedModel, call
from tests._durable_agents import SYSTEM_DATABASES, system_database
from tests._smtp import Inbox, smtp_server

pytestmark = pytest.mark.anyio


@pytest.fixture(params=SYSTEM_DATABASES)
async def runner(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[DurableRunner]:
    """A launched runner on a fresh system database: SQLite, then PostgreSQL."""
    with system_database(request.param, tmp_path) as url:
        async with DurableRunner(url, executor_id="nested") as durable:
            yield durable


@pytest.fixture
def inbox() -> Iterator[Inbox]:
    """A real SMTP server on loopback; yields what it receives."""
    with smtp_server() as received:
        yield received


def _email(subject: str) -> AssistantMessage:
    return AssistantMessage(
        content=None,
        tool_calls=(call("send_email", {"to": ["ana@example.org"], "subject": subject, "body": "hi"}),),
    )


def _mailer(inbox: Inbox, workspace: Path, *replies: AssistantMessage | str) -> Agent[str]:
    settings = EmailSettings(host="127.0.0.1", port=inbox.port, sender="agent@example.com", security="none")
    tools = email_tools(Mailer(Workspace(workspace), settings))
    return Agent(ScriptedModel(list(replies)), name="mailer", tools=tools)


def _boss(mailer: Agent[str], approve: Approver | None = None) -> Agent[str]:
    model = ScriptedModel([call("mailer", {"task": "email Ana twice"}), "Done"])
    return Agent(model, name="boss", tools=[mailer.as_tool()], approve=approve)


async def test_sub_run_emails_each_get_their_own_key(
    runner: DurableRunner, inbox: Inbox, tmp_path: Path
) -> None:
    """Two emails sent by an agent used as a tool in a durable run both arrive, with distinct Message-IDs."""
    mailer = _mailer(inbox, tmp_path / "ws", _email("first"), _email("second"), "both sent")
    register_agent("boss-two", _boss(mailer, approve=approve_all))
    record = await runner.run(DurableRequest(agent="boss-two", prompt="go"), run_id="two-mails")
    assert record.ok, record.error
    assert sorted(str(m["Subject"]) for _, _, m in inbox.received) == ["first", "second"]
    assert len({str(m["Message-ID"]) for _, _, m in inbox.received}) == 2


async def test_sub_run_calls_keys_nest_under_the_agent_call(runner: DurableRunner) -> None:
    """A sub-run's tool calls see "<run>:<agent call key>/<their own key>" as their idempotency key."""
    seen: list[tuple[str, str | None, str | None]] = []

    @tool
    def note(text: str, ctx: RunContext[None]) -> str:
        """Write a note.

        Args:
            text: The note.
            ctx: The run context.
        """
        seen.append((text, ctx.idempotency_key, RunContext.current_idempotency_key()))
        return "noted"

    two = AssistantMessage(
        content=None, tool_calls=(call("note", {"text": "a"}), call("note", {"text": "b"}))
    )
    noter = Agent(ScriptedModel([two, "noted both"]), name="noter", tools=[note])
    boss = Agent(ScriptedModel([call("noter", {"task": "note a and b"}), "Done"]), tools=[noter.as_tool()])
    register_agent("boss-notes", boss)
    record = await runner.run(DurableRequest(agent="boss-notes", prompt="go"), run_id="notes")
    assert record.ok, record.error
    assert sorted(seen) == [("a", "notes:1.0/1.0", "notes:1.0/1.0"), ("b", "notes:1.0/1.1", "notes:1.0/1.1")]


async def test_nested_approval_is_decided_by_the_callers_approver(
    runner: DurableRunner, inbox: Inbox, tmp_path: Path
) -> None:
    """The calling agent's approver decides the sub-run's call in the worker; the email is sent once."""
    mailer = _mailer(inbox, tmp_path / "ws", _email("lunch"), "sent")
    register_agent("boss-approves", _boss(mailer, approve=approve_all))
    record = await runner.run(DurableRequest(agent="boss-approves", prompt="go"), run_id="approved")
    assert record.ok, record.error
    assert record.output == "Done"
    assert [str(m["Subject"]) for _, _, m in inbox.received] == ["lunch"]
    results = [m for m in record.messages if isinstance(m, ToolMessage)]
    assert [(m.name, m.content, m.is_error) for m in results] == [("mailer", "sent", False)]


async def test_nested_approval_without_approver_ends_the_run_like_a_top_level_one(
    runner: DurableRunner, inbox: Inbox, tmp_path: Path
) -> None:
    """Without an approver a sub-run's waiting call ends the durable run as at top level (RunPaused)."""
    register_agent("boss-waits", _boss(_mailer(inbox, tmp_path / "ws", _email("lunch"), "sent")))
    nested = await runner.run(DurableRequest(agent="boss-waits", prompt="go"), run_id="nested-wait")
    register_agent("mailer-waits", _mailer(inbox, tmp_path / "ws", _email("lunch"), "sent"))
    top = await runner.run(DurableRequest(agent="mailer-waits", prompt="go"), run_id="top-wait")
    assert nested.error == (
        "RunPaused: tool calls wait for approval (mailer: send_email); give the agent an approver"
    )
    assert top.error == "RunPaused: tool calls wait for approval (send_email); give the agent an approver"
    assert inbox.received == []
    last = nested.messages[-1]
    assert isinstance(last, AssistantMessage)
    assert [c.name for c in last.tool_calls] == ["mailer"]
