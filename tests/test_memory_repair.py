"""repair_history answers orphaned tool calls and drops orphaned tool results."""

from __future__ import annotations

import logging

import pytest

from agentkit.memory.repair import MISSING_RESULT, repair_history
from agentkit.messages import AssistantMessage, Message, ToolCall, ToolMessage, UserMessage


def _call(call_id: str) -> ToolCall:
    return ToolCall(id=call_id, name="f", arguments="{}")


def _result(call_id: str) -> ToolMessage:
    return ToolMessage(tool_call_id=call_id, name="f", content=f"result of {call_id}")


def test_a_valid_history_is_returned_unchanged_without_warning(caplog: pytest.LogCaptureFixture) -> None:
    """A history with every call answered comes back equal and logs nothing."""
    history: list[Message] = [
        UserMessage(content="go"),
        AssistantMessage(tool_calls=(_call("a"), _call("b"))),
        _result("b"),
        _result("a"),
        AssistantMessage(content="done"),
    ]
    with caplog.at_level(logging.WARNING, logger="agentkit.memory"):
        assert repair_history(history) == history
    assert caplog.records == []


def test_unanswered_calls_get_an_error_result_after_the_answered_ones() -> None:
    """Only the missing results are added, after the existing ones and before the next message."""
    history: list[Message] = [
        AssistantMessage(tool_calls=(_call("a"), _call("b"), _call("c"))),
        _result("b"),
        UserMessage(content="later"),
    ]
    repaired = repair_history(history)
    assert [getattr(m, "tool_call_id", m.role) for m in repaired] == ["assistant", "b", "a", "c", "user"]
    added = repaired[2]
    assert isinstance(added, ToolMessage)
    assert (added.content, added.is_error, added.name) == (MISSING_RESULT, True, "f")


def test_calls_at_the_very_end_are_answered() -> None:
    """A history cut right after the assistant's tool calls gets results for all of them."""
    repaired = repair_history([UserMessage(content="go"), AssistantMessage(tool_calls=(_call("x"),))])
    assert [m.role for m in repaired] == ["user", "assistant", "tool"]


def test_results_that_answer_nothing_or_answer_twice_are_dropped() -> None:
    """A result for an unknown id, one after a user message, and a duplicate are all dropped."""
    history: list[Message] = [
        _result("before-anything"),
        AssistantMessage(tool_calls=(_call("a"),)),
        _result("a"),
        _result("a"),
        UserMessage(content="u"),
        _result("a"),
    ]
    assert repair_history(history) == [history[1], history[2], history[4]]


def test_the_warning_names_the_session_and_counts(caplog: pytest.LogCaptureFixture) -> None:
    """One history_repaired warning carries the session and both counts."""
    with caplog.at_level(logging.WARNING, logger="agentkit.memory"):
        repair_history([AssistantMessage(tool_calls=(_call("a"),)), _result("z")], session="s1")
    (record,) = caplog.records
    event = record.event_dict  # type: ignore[attr-defined]  # set by agentkit._log
    assert (event["event"], event["session"], event["orphaned_calls"], event["orphaned_results"]) == (
        "history_repaired",
        "s1",
        1,
        1,
    )


def test_two_calls_sharing_an_id_keep_both_results() -> None:
    """A model that repeated an id in one answer keeps one result per call, none dropped or added."""
    history: list[Message] = [
        AssistantMessage(tool_calls=(_call("a"), _call("a"))),
        _result("a"),
        _result("a"),
        AssistantMessage(content="done"),
    ]
    assert repair_history(history) == history
