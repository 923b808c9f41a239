"""Assistant prefill: the partial message is sent, and the answer includes the prefix."""

from __future__ import annotations

import pytest
from pydantic import BaseModel

from agentkit import Agent
from agentkit.messages import AssistantMessage
from agentkit.models.function import ScriptedModel

pytestmark = pytest.mark.anyio


class Verdict(BaseModel):
    """A structured answer."""

    ok: bool


async def test_prefill_is_sent_as_a_partial_assistant_message() -> None:
    """The request ends with the prefix as a partial assistant message; the output is stitched."""
    model = ScriptedModel([' "Marvin", "mood": "glum"}'])
    result = await Agent(model).run("Describe the robot as JSON", prefill='{"name":')
    last = model.requests[0].messages[-1]
    assert last == AssistantMessage(content='{"name":', partial=True)
    assert result.output == '{"name": "Marvin", "mood": "glum"}'
    assert result.messages[-1] == AssistantMessage(content=result.output)


async def test_prefill_forces_json_for_an_output_type() -> None:
    """Prefilling "{" with an output_type yields the validated instance."""
    model = ScriptedModel(['"ok": true}'])
    result = await Agent(model, output_type=Verdict).run("Is it fine?", prefill="{")
    assert result.output == Verdict(ok=True)


async def test_prefill_is_not_stored_in_the_history_twice() -> None:
    """The partial message lives only in the request; the history keeps the stitched answer."""
    model = ScriptedModel(["there"])
    result = await Agent(model).run("greet", prefill="Hello ")
    assert [m.role for m in result.messages] == ["user", "assistant"]
    assert result.output == "Hello there"


async def test_trailing_partial_message_in_history_prefills_the_answer() -> None:
    """A partial assistant message at the end of message_history acts as prefill= (multi-turn use)."""
    model = ScriptedModel(["an old robot."])
    history = [AssistantMessage(content="I am", name="Marvin", partial=True)]
    result = await Agent(model).run("Who are you?", message_history=history)
    sent = model.requests[0].messages
    assert sent[-1] == AssistantMessage(content="I am", name="Marvin", partial=True)
    assert [m.role for m in sent] == ["user", "assistant"]
    assert result.output == "I aman old robot."
    assert [m.role for m in result.messages] == ["user", "assistant"]
