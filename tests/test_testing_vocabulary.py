"""One vocabulary for test doubles: the same scripted replies drive the loopback server and the models."""

from __future__ import annotations

from collections.abc import Sequence

import pytest

import agentkit.models.function as function_module
from agentkit import Agent, tool
from agentkit.exceptions import ModelHTTPError
from agentkit.messages import ToolMessage
from agentkit.models import KimiModel
from agentkit.testing import FakeKimiServer, FunctionModel, Reply, ScriptedModel, call


@tool
def double(x: int) -> int:
    """Double a number.

    Args:
        x: The number.
    """
    return 2 * x


def _script() -> list[Reply]:
    return [Reply.tool_calls(("double", {"x": 1}), ("double", {"x": 2})), Reply.text("2 and 4")]


def _tool_results(messages: Sequence[object]) -> list[tuple[str, str]]:
    return [(m.tool_call_id, m.content) for m in messages if isinstance(m, ToolMessage)]


def test_one_script_drives_the_server_and_the_in_process_model() -> None:
    """A parallel turn scripted with Reply gives the same ids, results and answer over HTTP and in process."""
    in_process = Agent(ScriptedModel(_script()), tools=[double]).run_sync("double 1 and 2")
    with FakeKimiServer(_script()) as server:
        model = KimiModel(base_url=server.base_url, api_key="k")
        over_http = Agent(model, tools=[double]).run_sync("double 1 and 2")
    assert in_process.output == over_http.output == "2 and 4"
    assert _tool_results(in_process.messages) == _tool_results(over_http.messages)
    assert _tool_results(in_process.messages) == [("functions.double:0", "2"), ("functions.double:1", "4")]


def test_a_list_of_calls_is_a_parallel_turn() -> None:
    """ScriptedModel([[call(...), (name, args)], ...]) plays one turn with both calls."""
    model = ScriptedModel([[call("double", {"x": 3}), ("double", {"x": 4})], "done"])
    result = Agent(model, tools=[double]).run_sync("go")
    assert [content for _, content in _tool_results(result.messages)] == ["6", "8"]


def test_an_error_reply_raises_what_the_provider_would() -> None:
    """Reply.error in process raises the provider's ModelHTTPError with its status and type."""
    model = FunctionModel(lambda request: Reply.error(400, "invalid_request_error", "bad"))
    with pytest.raises(ModelHTTPError) as caught:
        Agent(model).run_sync("go")
    assert (caught.value.status_code, caught.value.error_type) == (400, "invalid_request_error")


def test_reply_usage_and_finish_reason_reach_the_result() -> None:
    """A Reply's usage triple and finish reason are kept by the in-process double."""
    model = ScriptedModel([Reply.text("hi", usage=(100, 7, 40))])
    result = Agent(model).run_sync("go")
    assert (result.usage.input_tokens, result.usage.output_tokens, result.usage.cached_tokens) == (100, 7, 40)


def test_the_old_alias_warns() -> None:
    """agentkit.models.function.Reply (a type alias, easily confused with the class) is deprecated."""
    with pytest.warns(DeprecationWarning, match="renamed ModelReply"):
        alias = function_module.Reply
    assert alias is function_module.ModelReply
