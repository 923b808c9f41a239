"""The loop's run record and the saved RunState: one set of fields, converted by name."""

from __future__ import annotations

import dataclasses

import pytest

from agentkit import Agent, tool
from agentkit.models.function import ScriptedModel, call
from agentkit.run_state import RunRecord, RunState

pytestmark = pytest.mark.anyio


@tool(requires_approval=True)
def send_email(to: str) -> str:
    """Send an email.

    Args:
        to: The recipient's address.
    """
    return f"sent to {to}"


@tool
def lookup(name: str) -> str:
    """Find an address.

    Args:
        name: Who to look up.
    """
    return f"{name}@example.com"


def test_the_record_has_the_saved_fields_by_name() -> None:
    """RunRecord has exactly RunState's fields but pending (a field added to one needs the other)."""
    saved = {f.name for f in dataclasses.fields(RunState)}
    record = {f.name for f in dataclasses.fields(RunRecord)}
    assert record == saved - {"pending"}


async def test_thaw_then_freeze_gives_the_saved_state_back() -> None:
    """A paused run's state thawed into a record and frozen again is equal to it, carried results included."""
    model = ScriptedModel([[call("lookup", {"name": "bob"}), call("send_email", {"to": "bob@example.com"})]])
    paused = await Agent(model, tools=[lookup, send_email]).run("email bob")
    assert paused.state is not None
    assert set(paused.state.results) == {0}
    record = RunRecord.thaw(paused.state)
    assert isinstance(record.messages, list)
    assert record.freeze(paused.state.pending) == paused.state
