"""Email tools: the outbox by default, real SMTP delivery to an aiosmtpd server on loopback."""

from __future__ import annotations

import email
import email.policy
import json
import tracemalloc
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from agentkit_tools import EmailSettings, Mailer, Workspace, WorkspaceError, email_tools

from agentkit import Agent
from agentkit.approval import Decision, Reject
from agentkit.exceptions import ToolArgumentsError
from agentkit.messages import ToolCall
from agentkit.models.function import ScriptedModel, call
from tests._smtp import LOGIN, PASSWORD, Inbox, smtp_server

pytestmark = pytest.mark.anyio


@pytest.fixture
def smtp() -> Iterator[tuple[Inbox, int]]:
    """A real SMTP server (aiosmtpd) on 127.0.0.1 accepting a login; yields its inbox and port."""
    with smtp_server() as inbox:
        yield inbox, inbox.port


def _settings(port: int, **overrides: Any) -> EmailSettings:
    base: dict[str, Any] = {"host": "127.0.0.1", "port": port, "sender": "planner@example.org"}
    return EmailSettings(**{**base, "security": "none", **overrides})


async def test_default_delivery_is_a_local_outbox(tmp_path: Path) -> None:
    """Without SMTP settings the message becomes an .eml file in the outbox, with its attachment."""
    workspace = Workspace(tmp_path)
    (tmp_path / "plan.ics").write_text("BEGIN:VCALENDAR\r\nEND:VCALENDAR\r\n")
    (send_email,) = email_tools(Mailer(workspace))
    args = {
        "to": ["ana@example.org"],
        "subject": "Your trip",
        "body": "See attached.",
        "attachments": ["plan.ics"],
    }
    out = json.loads(await send_email.call(json.dumps(args)))
    assert out["delivered_via"] == "outbox"
    assert out["path"] == "outbox/001-your-trip.eml"
    saved = email.message_from_bytes((tmp_path / out["path"]).read_bytes(), policy=email.policy.default)
    assert saved["To"] == "ana@example.org"
    assert [p.get_filename() for p in saved.iter_attachments()] == ["plan.ics"]


async def test_smtp_delivery_with_login_arrives(tmp_path: Path, smtp: tuple[Inbox, int]) -> None:
    """With settings, the tool logs in and the server receives sender, recipients, body and attachment."""
    inbox, port = smtp
    workspace = Workspace(tmp_path)
    (tmp_path / "notes.md").write_text("# Notes")
    mailer = Mailer(workspace, _settings(port, username=LOGIN, password=PASSWORD))
    (send_email,) = email_tools(mailer)
    args = {"to": ["ana@example.org", "bo@example.org"], "subject": "Itinerary", "body": "Hello!"}
    out = json.loads(await send_email.call(json.dumps({**args, "attachments": ["notes.md"]})))
    assert out["delivered_via"] == "smtp"
    [(sender, recipients, message)] = inbox.received
    assert (sender, recipients) == ("planner@example.org", ["ana@example.org", "bo@example.org"])
    assert message["Subject"] == "Itinerary"
    body = message.get_body(("plain",))
    assert body is not None
    assert body.get_content().strip() == "Hello!"
    assert [p.get_filename() for p in message.iter_attachments()] == ["notes.md"]


async def test_wrong_password_is_a_tool_error_without_the_password(
    tmp_path: Path, smtp: tuple[Inbox, int]
) -> None:
    """A refused login reaches the model as an error that does not contain the password."""
    inbox, port = smtp
    (send_email,) = email_tools(
        Mailer(Workspace(tmp_path), _settings(port, username=LOGIN, password="wrong-pw"))
    )
    with pytest.raises(WorkspaceError, match="could not be sent") as caught:
        await send_email.call('{"to": ["a@example.org"], "subject": "x", "body": "y"}')
    assert "wrong-pw" not in str(caught.value)
    assert inbox.received == []


async def test_bad_addresses_and_outside_attachments_are_refused(tmp_path: Path) -> None:
    """An invalid address fails validation and an attachment outside the workspace is refused."""
    (send_email,) = email_tools(Mailer(Workspace(tmp_path / "ws")))
    with pytest.raises(Exception, match="to"):
        await send_email.call('{"to": ["not an address"], "subject": "x", "body": "y"}')
    with pytest.raises(WorkspaceError, match="outside"):
        await send_email.call(
            '{"to": ["a@example.org"], "subject": "x", "body": "y", "attachments": ["../x"]}'
        )
    assert not (tmp_path / "ws/outbox").exists()


def test_settings_from_env_and_password_not_in_repr() -> None:
    """Settings come from AGENTKIT_SMTP_* variables; no host means the outbox; repr hides the password."""
    assert EmailSettings.from_env({}) is None
    env = {
        "AGENTKIT_SMTP_HOST": "smtp.example.org",
        "AGENTKIT_SMTP_PASSWORD": "hunter2",
        "AGENTKIT_SMTP_SECURITY": "ssl",
    }
    settings = EmailSettings.from_env(env)
    assert settings is not None
    assert (settings.port, settings.security, settings.password) == (465, "ssl", "hunter2")
    assert "hunter2" not in repr(settings)


async def test_sending_waits_for_approval_and_a_rejection_sends_nothing(tmp_path: Path) -> None:
    """send_email requires approval: with no approver the run pauses, and a rejection writes no message."""
    tools = email_tools(Mailer(Workspace(tmp_path)))
    assert tools[0].requires_approval
    args = {"to": ["ana@example.org"], "subject": "Hi", "body": "x"}
    paused = await Agent(ScriptedModel([call("send_email", args), "ok"]), tools=tools).run("mail Ana")
    assert paused.paused
    assert [p.arguments["to"] for p in paused.pending] == [["ana@example.org"]]

    def reject(tool_call: ToolCall, arguments: dict[str, Any]) -> Decision:
        return Reject(message="not now")

    model = ScriptedModel([call("send_email", args), "ok"])
    result = await Agent(model, tools=tools).run("mail Ana", approve=reject)
    assert [m.content for m in result.messages if m.role == "tool"] == ["not now"]
    assert not (tmp_path / "outbox").exists()


@pytest.mark.parametrize(
    "subject", ["Hi\r\nBcc: eve@example.org", "Hi\nthere", "a\x85b", "a\u2028b", "a\x00b", "a\x1b]52;c;x\x07"]
)
def test_a_subject_with_line_breaks_or_controls_is_a_typed_error(tmp_path: Path, subject: str) -> None:
    """A subject that could forge a header raises ToolArgumentsError (not ValueError) and writes nothing."""
    mailer = Mailer(Workspace(tmp_path))
    with pytest.raises(ToolArgumentsError, match="subject may not contain"):
        mailer.send(to=["ana@example.org"], subject=subject, body="b")
    assert not (tmp_path / "outbox").exists()


def test_an_attachment_over_the_cap_is_refused_unread(tmp_path: Path) -> None:
    """An attachment larger than max_attachment_bytes is refused after reading just past the cap."""
    with (tmp_path / "big.bin").open("wb") as out:
        out.truncate(20_000_000)  # sparse: 20 MB
    mailer = Mailer(Workspace(tmp_path), max_attachment_bytes=1000)
    tracemalloc.start()
    try:
        with pytest.raises(WorkspaceError, match="larger than 1000 bytes"):
            mailer.send(to=["ana@example.org"], subject="s", body="b", attachments=["big.bin"])
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 2_000_000
