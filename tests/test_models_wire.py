"""Pure Chat Completions wire mapping (agentkit.models._openai_wire): no I/O."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest

from agentkit.events import ReasoningDelta, TextDelta
from agentkit.exceptions import ModelResponseError, UserError
from agentkit.messages import AssistantMessage, SystemMessage, ToolCall, ToolMessage, UserMessage
from agentkit.models import KIMI_PROFILE, ModelProfile, ModelRequest, ModelSettings, ToolDefinition
from agentkit.models._openai_stream import SSE_DONE, StreamAccumulator, parse_sse_line
from agentkit.models._openai_wire import (
    PERMISSIVE_TYPES,
    build_request_body,
    decode_body,
    parse_response,
    sanitize_schema,
)
from agentkit.models.abstract import ModelResponse, ToolCallDelta
from agentkit.models.kimi import KIMI_THINKING_PROFILE, kimi_profile_for
from agentkit.usage import PRICES, Usage, cost_usd

PLAIN = ModelProfile()
WEATHER = ToolDefinition(
    name="get_weather",
    description="Weather for a city.",
    parameters={"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
)


def body_for(request: ModelRequest, profile: ModelProfile = KIMI_PROFILE, *, stream: bool = False) -> Any:
    """Build the wire body for ``request`` with the Kimi profile by default."""
    return build_request_body(request, model_name="kimi-k2-0905-preview", profile=profile, stream=stream).body


def test_full_conversation_maps_to_exact_wire_shape() -> None:
    """A tool-calling conversation maps to the exact OpenAI message dicts, ids and types verbatim."""
    calls = (
        ToolCall(id="functions.get_weather:0", name="get_weather", arguments='{"city": "Osaka"}'),
        ToolCall(id="t-web_search-9", name="$web_search", arguments='{"q":1}', type="builtin_function"),
    )
    request = ModelRequest(
        messages=[
            SystemMessage(content="be brief"),
            UserMessage(content="weather?", name="alice"),
            AssistantMessage(content=None, tool_calls=calls, reasoning_content="think", extra={"x_k": 1}),
            ToolMessage(tool_call_id="functions.get_weather:0", name="get_weather", content="sunny"),
        ],
        tools=[
            WEATHER,
            ToolDefinition(name="$web_search", description="", parameters={}, kind="builtin_function"),
        ],
        tool_choice="auto",
    )
    body = body_for(request)
    assert body["messages"] == [
        {"role": "system", "content": "be brief"},
        {"role": "user", "content": "weather?", "name": "alice"},
        {
            "x_k": 1,
            "role": "assistant",
            "content": "",
            "tool_calls": [
                {
                    "id": "functions.get_weather:0",
                    "type": "function",
                    "function": {"name": "get_weather", "arguments": '{"city": "Osaka"}'},
                },
                {
                    "id": "t-web_search-9",
                    "type": "builtin_function",
                    "function": {"name": "$web_search", "arguments": '{"q":1}'},
                },
            ],
            "reasoning_content": "think",
        },
        {
            "role": "tool",
            "tool_call_id": "functions.get_weather:0",
            "name": "get_weather",
            "content": "sunny",
        },
    ]
    assert body["tools"] == [
        {
            "type": "function",
            "function": {
                "name": "get_weather",
                "description": "Weather for a city.",
                "parameters": {
                    "type": "object",
                    "properties": {"city": {"type": "string"}},
                    "required": ["city"],
                },
            },
        },
        {"type": "builtin_function", "function": {"name": "$web_search"}},
    ]
    assert body["tool_choice"] == "auto"
    assert body["model"] == "kimi-k2-0905-preview"
    assert (body["temperature"], body["max_tokens"]) == (0.6, 4096)
    assert "stream" not in body


def test_reasoning_content_only_sent_when_profile_says_so() -> None:
    """reasoning_content goes back on assistant messages only with send_reasoning_content."""
    message = AssistantMessage(content="hi", reasoning_content="because")
    request = ModelRequest(messages=[message])
    assert body_for(request, KIMI_PROFILE)["messages"][0]["reasoning_content"] == "because"
    assert "reasoning_content" not in body_for(request, PLAIN)["messages"][0]


def test_partial_prefill_and_empty_content() -> None:
    """A prefill sends partial/name; an assistant message without content or calls sends ""."""
    request = ModelRequest(
        messages=[AssistantMessage(content="Once", partial=True, name="Narrator"), AssistantMessage()]
    )
    first, second = body_for(request)["messages"]
    assert first == {"role": "assistant", "content": "Once", "partial": True, "name": "Narrator"}
    assert second == {"role": "assistant", "content": ""}


def test_partial_prefill_refuses_json_object_mode() -> None:
    """A trailing partial assistant message with response_format json_object is a UserError."""
    request = ModelRequest(
        messages=[UserMessage(content="hi"), AssistantMessage(content="{", partial=True)],
        response_format={"type": "json_object"},
    )
    with pytest.raises(UserError, match="partial"):
        body_for(request)
    assert body_for(replace(request, response_format=None))["messages"][-1]["partial"] is True


def test_partial_prefill_refuses_json_object_mode_given_in_extra_body() -> None:
    """The provider also refuses json_object passed through the settings' extra_body (Agent did)."""
    request = ModelRequest(
        messages=[UserMessage(content="hi"), AssistantMessage(content="{", partial=True)],
        settings=ModelSettings(extra_body={"response_format": {"type": "json_object"}}),
    )
    with pytest.raises(UserError, match="cannot be combined with response_format json_object"):
        body_for(request)
    plain = replace(request, settings=ModelSettings(extra_body={"response_format": {"type": "text"}}))
    assert body_for(plain)["messages"][-1]["partial"] is True


def test_required_tool_choice_is_emulated_when_unsupported() -> None:
    """tool_choice="required" on Kimi is omitted, a nudge appended, and the emulation reported."""
    request = ModelRequest(messages=[UserMessage(content="go")], tools=[WEATHER], tool_choice="required")
    wire = build_request_body(request, model_name="m", profile=KIMI_PROFILE, stream=False)
    assert wire.tool_choice_emulated
    assert "tool_choice" not in wire.body
    assert wire.body["messages"][-1] == {"role": "user", "content": KIMI_PROFILE.tool_choice_required_nudge}
    native = build_request_body(request, model_name="m", profile=PLAIN, stream=False)
    assert not native.tool_choice_emulated
    assert native.body["tool_choice"] == "required"
    assert len(native.body["messages"]) == 1


def test_named_tool_choice_and_unknown_name() -> None:
    """A tool name becomes a function tool_choice; a name not among the tools is a UserError."""
    request = ModelRequest(messages=[], tools=[WEATHER], tool_choice="get_weather")
    assert body_for(request)["tool_choice"] == {"type": "function", "function": {"name": "get_weather"}}
    with pytest.raises(UserError, match="nope"):
        body_for(replace(request, tool_choice="nope"))


def test_settings_defaults_overrides_and_extra_body() -> None:
    """Explicit settings win over profile defaults and extra_body is merged last."""
    settings = ModelSettings(
        temperature=0.2,
        max_tokens=10,
        top_p=0.9,
        stop=("END",),
        seed=7,
        extra_body={"max_tokens": 11, "k": 1},
    )
    body = body_for(ModelRequest(messages=[], settings=settings))
    assert body["temperature"] == 0.2
    assert (body["max_tokens"], body["top_p"], body["stop"], body["seed"], body["k"]) == (
        11,
        0.9,
        ["END"],
        7,
        1,
    )
    plain = body_for(ModelRequest(messages=[]), PLAIN)
    assert "temperature" not in plain
    assert "max_tokens" not in plain


def test_temperature_outside_range_is_refused() -> None:
    """A temperature outside the profile's range raises a UserError naming the range."""
    with pytest.raises(UserError, match=r"\[0.0, 1.0\]"):
        body_for(ModelRequest(messages=[], settings=ModelSettings(temperature=1.5)))


def test_thinking_models_get_thinking_defaults() -> None:
    """Models named *thinking* use temperature 1.0 and at least 16000 max_tokens."""
    assert kimi_profile_for("kimi-k2-thinking-turbo") is KIMI_THINKING_PROFILE
    assert kimi_profile_for("kimi-k2-0905-preview") is KIMI_PROFILE
    body = body_for(ModelRequest(messages=[]), KIMI_THINKING_PROFILE)
    assert body["temperature"] == 1.0
    assert body["max_tokens"] >= 16000


def test_stream_flag_and_usage_option() -> None:
    """A streamed body asks for the stream and for usage in it."""
    body = body_for(ModelRequest(messages=[]), stream=True)
    assert body["stream"] is True
    assert body["stream_options"] == {"include_usage": True}


def test_too_many_tools_refused() -> None:
    """More tools than profile.max_tools raises a UserError."""
    tools = [replace(WEATHER, name=f"t{i}") for i in range(129)]
    with pytest.raises(UserError, match="at most 128"):
        body_for(ModelRequest(messages=[], tools=tools))


def test_tool_name_starting_with_digit_refused_when_sanitising() -> None:
    """A tool name starting with a digit is refused on Kimi but allowed elsewhere."""
    request = ModelRequest(messages=[], tools=[replace(WEATHER, name="3d_render")])
    with pytest.raises(UserError, match="3d_render"):
        body_for(request)
    assert body_for(request, PLAIN)["tools"][0]["function"]["name"] == "3d_render"


def test_sanitize_schema_types_every_property() -> None:
    """Sanitising infers or fills every property's type, collapses bare unions and drops strict."""
    schema: dict[str, Any] = {
        "type": "object",
        "strict": True,
        "properties": {
            "mode": {"enum": ["a", "b"]},
            "n": {"const": 3},
            "anything": {"description": "free"},
            "maybe": {"anyOf": [{"type": "string"}, {"type": "null"}], "default": None},
            "rich": {"type": "object", "anyOf": [{"properties": {"a": {}}}, {"type": "integer"}]},
            "tags": {"items": {"enum": [1, "x"]}},
            "where": {"$ref": "#/$defs/Place"},
        },
        "$defs": {"Place": {"type": "object", "properties": {"lat": {"type": "number"}}}},
    }
    out = sanitize_schema(schema)
    props = out["properties"]
    assert "strict" not in out
    assert props["mode"]["type"] == "string"
    assert props["n"]["type"] == "integer"
    assert props["anything"]["type"] == list(PERMISSIVE_TYPES)
    assert props["maybe"] == {"type": ["string", "null"], "default": None}
    assert "type" not in props["rich"]
    assert props["rich"]["anyOf"][0]["type"] == "object"
    assert props["rich"]["anyOf"][0]["properties"]["a"]["type"] == list(PERMISSIVE_TYPES)
    assert props["tags"] == {"items": {"enum": [1, "x"], "type": ["integer", "string"]}, "type": "array"}
    assert props["where"]["type"] == "object"
    assert schema["properties"]["mode"] == {"enum": ["a", "b"]}, "input must not be modified"


# --- responses -----------------------------------------------------------------------------------


def completion(**message: Any) -> dict[str, Any]:
    """Return a minimal non-streamed body with the given message fields."""
    return {
        "id": "c1",
        "model": "kimi-k2-turbo-preview",
        "choices": [{"index": 0, "message": {"role": "assistant", **message}, "finish_reason": "tool_calls"}],
        "usage": {
            "prompt_tokens": 1000,
            "completion_tokens": 200,
            "total_tokens": 1200,
            "cached_tokens": 400,
        },
    }


def test_parse_response_maps_message_usage_and_cost() -> None:
    """A body becomes an AssistantMessage with verbatim calls, extras, usage and Kimi-priced cost."""
    data = completion(
        content="",
        reasoning_content="hmm",
        tool_calls=[
            {"id": "functions.f:3", "type": "function", "function": {"name": "f", "arguments": '{"a":1}'}},
            {
                "id": "t-web_search-1",
                "type": "builtin_function",
                "function": {"name": "$web_search", "arguments": "{}"},
            },
        ],
        audio_hint="keep-me",
    )
    response = parse_response(data, model_name="kimi-k2-0905-preview", profile=KIMI_PROFILE, request_id="r1")
    message = response.message
    assert message.tool_calls[0] == ToolCall(id="functions.f:3", name="f", arguments='{"a":1}')
    assert message.tool_calls[1].type == "builtin_function"
    assert message.reasoning_content == "hmm"
    assert message.extra == {"audio_hint": "keep-me"}
    assert response.finish_reason == "tool_calls"
    assert response.usage == Usage(
        input_tokens=1000, output_tokens=200, cached_tokens=400, requests=1, web_searches=1
    )
    assert response.model_name == "kimi-k2-turbo-preview"
    expected = (400 * 0.15 + 600 * 1.15 + 200 * 8.0) / 1e6 + 0.005
    assert response.cost_usd == pytest.approx(expected)
    assert response.cost_usd == pytest.approx(cost_usd(response.usage, PRICES["kimi-k2-turbo-preview"]))
    assert response.request_id == "r1"
    assert response.raw is data


def test_parse_response_openai_cached_tokens_and_choice_usage() -> None:
    """Cached tokens are read from prompt_tokens_details, and usage from choices[0].usage."""
    data = completion(content="x")
    data["usage"] = {
        "prompt_tokens": 10,
        "completion_tokens": 2,
        "prompt_tokens_details": {"cached_tokens": 4},
    }
    assert parse_response(data, model_name="m", profile=PLAIN).usage.cached_tokens == 4
    del data["usage"]
    data["choices"][0]["usage"] = {"prompt_tokens": 7, "completion_tokens": 1}
    usage = parse_response(data, model_name="m", profile=PLAIN).usage
    assert (usage.input_tokens, usage.output_tokens, usage.requests) == (7, 1, 1)


def test_malformed_bodies_raise_response_error_with_excerpt() -> None:
    """Non-JSON bodies and bodies without choices raise ModelResponseError quoting the body."""
    with pytest.raises(ModelResponseError, match="<html>oops"):
        decode_body(b"<html>oops</html>")
    with pytest.raises(ModelResponseError, match="not a JSON object"):
        decode_body(b"[1, 2]")
    with pytest.raises(ModelResponseError, match="choices"):
        parse_response({"object": "weird"}, model_name="m", profile=PLAIN)


# --- streaming -----------------------------------------------------------------------------------


def chunk(delta: dict[str, Any], finish: str | None = None, **extra: Any) -> dict[str, Any]:
    """One stream chunk with a single choice."""
    choice: dict[str, Any] = {"index": 0, "delta": delta, "finish_reason": finish}
    choice.update(extra)
    return {"id": "s1", "model": "kimi-k2-thinking", "choices": [choice]}


def test_stream_accumulates_deltas_by_index() -> None:
    """Deltas become events; tool calls are assembled by index keeping the first id and name."""
    acc = StreamAccumulator()
    events: list[Any] = []
    usage = {"prompt_tokens": 5, "completion_tokens": 3, "cached_tokens": 1}
    for c in [
        chunk({"role": "assistant", "reasoning_content": "let me "}),
        chunk({"reasoning_content": "see"}),
        chunk({"content": "Calling."}),
        chunk(
            {
                "tool_calls": [
                    {
                        "index": 1,
                        "id": "functions.b:1",
                        "type": "function",
                        "function": {"name": "b", "arguments": ""},
                    }
                ]
            }
        ),
        chunk(
            {
                "tool_calls": [
                    {"index": 0, "id": "functions.a:0", "function": {"name": "a", "arguments": '{"x"'}}
                ]
            }
        ),
        chunk({"tool_calls": [{"index": 0, "id": "changed-id", "function": {"arguments": ": 1}"}}]}),
        chunk({"tool_calls": [{"index": 1, "function": {"arguments": "{}"}}]}),
        chunk({}, "tool_calls", usage=usage),
    ]:
        events.extend(acc.feed(c))
    assert events[:3] == [
        ReasoningDelta(text="let me "),
        ReasoningDelta(text="see"),
        TextDelta(text="Calling."),
    ]
    assert events[3] == ToolCallDelta(index=1, id="functions.b:1", name="b", arguments="")
    assert events[5] == ToolCallDelta(index=0, id="changed-id", name=None, arguments=": 1}")
    response = parse_response(acc.wire_body(), model_name="kimi-k2-thinking", profile=KIMI_PROFILE)
    assert isinstance(response, ModelResponse)
    assert response.message.content == "Calling."
    assert response.message.reasoning_content == "let me see"
    assert response.message.tool_calls == (
        ToolCall(id="functions.a:0", name="a", arguments='{"x": 1}'),
        ToolCall(id="functions.b:1", name="b", arguments="{}"),
    )
    assert response.finish_reason == "tool_calls"
    assert response.usage == Usage(input_tokens=5, output_tokens=3, cached_tokens=1, requests=1)


def test_stream_top_level_usage_chunk() -> None:
    """A final top-level usage chunk with no choices (OpenAI include_usage) is accounted."""
    acc = StreamAccumulator()
    acc.feed(chunk({"content": "hi"}, "stop"))
    acc.feed({"id": "s1", "choices": [], "usage": {"prompt_tokens": 9, "completion_tokens": 1}})
    body = acc.wire_body()
    assert body["usage"]["prompt_tokens"] == 9
    assert parse_response(body, model_name="m", profile=PLAIN).message.content == "hi"


def test_stream_error_chunk_raises() -> None:
    """An in-stream error object raises ModelResponseError with its type."""
    with pytest.raises(ModelResponseError, match="engine_overloaded_error"):
        StreamAccumulator().feed({"error": {"type": "engine_overloaded_error", "message": "busy"}})


def test_parse_sse_line() -> None:
    """Data lines decode, [DONE] is recognised, and other SSE lines are skipped."""
    assert parse_sse_line('data: {"a": 1}') == {"a": 1}
    assert parse_sse_line("data: [DONE]") == SSE_DONE
    assert parse_sse_line(": keep-alive") is None
    assert parse_sse_line("") is None
    with pytest.raises(ModelResponseError):
        parse_sse_line("data: {broken")
