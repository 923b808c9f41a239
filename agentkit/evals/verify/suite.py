"""The fixed, versioned suite of tool-calling requests ``agentkit verify`` sends.

Version 1: twelve requests, each sent non-streamed and streamed. They cover varied schemas
(enums, patterns, integer bounds, nested objects and arrays), parallel calls, multi-turn
conversations with tool results (the ids a second call takes), a tool that must not be
called (``tool_choice: none``, a question needing no tool), many tools to choose from, and
Kimi's ``thinking`` switch on and off with ``reasoning_content`` sent back. The multi-turn
cases whose history has no ``reasoning_content`` turn thinking off (Kimi refuses such a history
with thinking on, its default on K2.6). A change to any request is a new version: reference
runs of another version are not compared.

Each case also says what a correct model does (`SuiteCase.ideal`), which is what
`ideal_reply` answers when the loopback fake server plays a well-behaved vendor.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from agentkit.testing import Reply

__all__ = ["SUITE", "SUITE_VERSION", "SuiteCase", "ideal_reply"]

SUITE_VERSION = "1"


def _fn(name: str, description: str, properties: dict[str, Any], required: list[str]) -> dict[str, Any]:
    return {
        "type": "function",
        "function": {
            "name": name,
            "description": description,
            "parameters": {"type": "object", "properties": properties, "required": required},
        },
    }


WEATHER = _fn(
    "get_weather",
    "Current weather of a city.",
    {
        "city": {"type": "string", "description": "City name."},
        "unit": {"type": "string", "enum": ["celsius", "fahrenheit"], "description": "Temperature unit."},
    },
    ["city"],
)
EVENT = _fn(
    "create_event",
    "Create a calendar event.",
    {
        "title": {"type": "string"},
        "start": {"type": "string", "pattern": r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}", "description": "ISO 8601."},
        "attendees": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {
                    "name": {"type": "string"},
                    "email": {"type": "string", "pattern": "^[^@]+@[^@]+$"},
                },
                "required": ["name", "email"],
            },
        },
        "reminders_min": {"type": "array", "items": {"type": "integer", "minimum": 0}},
    },
    ["title", "start", "attendees"],
)
FLIGHTS = _fn(
    "search_flights",
    "Search flights between two airports.",
    {
        "origin": {"type": "string", "pattern": "^[A-Z]{3}$", "description": "IATA code."},
        "dest": {"type": "string", "pattern": "^[A-Z]{3}$", "description": "IATA code."},
        "max_stops": {"type": "integer", "minimum": 0, "maximum": 2},
        "cabin": {"type": "string", "enum": ["economy", "premium", "business"]},
    },
    ["origin", "dest"],
)
CURRENCY = _fn(
    "convert_currency",
    "Convert an amount between currencies.",
    {
        "amount": {"type": "number"},
        "from": {"type": "string", "pattern": "^[A-Z]{3}$"},
        "to": {"type": "string", "pattern": "^[A-Z]{3}$"},
    },
    ["amount", "from", "to"],
)
MANY_TOOLS = [
    WEATHER,
    EVENT,
    FLIGHTS,
    CURRENCY,
    _fn(
        "send_email", "Send an email.", {"to": {"type": "string"}, "body": {"type": "string"}}, ["to", "body"]
    ),
    _fn("search_web", "Search the web.", {"query": {"type": "string"}}, ["query"]),
    _fn("read_file", "Read a file.", {"path": {"type": "string"}}, ["path"]),
    _fn(
        "translate",
        "Translate text.",
        {"text": {"type": "string"}, "lang": {"type": "string"}},
        ["text", "lang"],
    ),
]

_SYSTEM = {"role": "system", "content": "You are a helpful assistant. Use the tools when they help."}


def _user(text: str) -> dict[str, Any]:
    return {"role": "user", "content": text}


def _asked(call_id: str, name: str, arguments: str, reasoning: str | None = None) -> dict[str, Any]:
    message: dict[str, Any] = {
        "role": "assistant",
        "content": "",
        "tool_calls": [
            {"id": call_id, "type": "function", "function": {"name": name, "arguments": arguments}}
        ],
    }
    if reasoning is not None:
        message["reasoning_content"] = reasoning
    return message


def _result(call_id: str, name: str, content: str) -> dict[str, Any]:
    return {"role": "tool", "tool_call_id": call_id, "name": name, "content": content}


@dataclass(frozen=True, kw_only=True, slots=True)
class SuiteCase:
    """One request of the suite.

    Attributes:
        id: stable name (reference runs are matched by it).
        what: what the case checks, in a few words.
        messages: the conversation sent.
        tools: the tool definitions offered (wire format).
        tool_choice: sent when set.
        thinking: Kimi's ``thinking`` switch (``"enabled"``/``"disabled"``), sent when set.
        expect_tools: the tools a correct answer calls (empty: answer without calling).
        ideal: what a correct model answers: ``(name, arguments)`` calls, or text.
    """

    id: str
    what: str
    messages: tuple[Mapping[str, Any], ...]
    tools: tuple[Mapping[str, Any], ...] = (WEATHER,)
    tool_choice: str | None = None
    thinking: str | None = None
    expect_tools: tuple[str, ...] = ()
    ideal: tuple[tuple[str, Mapping[str, Any]], ...] | str = field(default="")

    def body(
        self, model: str, *, stream: bool, send_thinking: bool = True, max_tokens: int = 4096
    ) -> dict[str, Any]:
        """The request body for ``model``."""
        body: dict[str, Any] = {
            "model": model,
            "messages": [dict(m) for m in self.messages],
            "tools": [dict(t) for t in self.tools],
            "max_tokens": max_tokens,
        }
        if self.tool_choice is not None:
            body["tool_choice"] = self.tool_choice
        if self.thinking is not None and send_thinking:
            body["thinking"] = {"type": self.thinking}
        if stream:
            body["stream"] = True
            body["stream_options"] = {"include_usage": True}
        return body

    def schema_of(self, tool: str) -> Mapping[str, Any] | None:
        """The JSON schema of ``tool``'s parameters, or ``None`` when it was not offered."""
        for definition in self.tools:
            function = definition.get("function") or {}
            if function.get("name") == tool:
                return function.get("parameters") or {}
        return None


_PARIS_CALL = _asked("functions.get_weather:0", "get_weather", '{"city": "Paris"}')
_PARIS_RESULT = _result("functions.get_weather:0", "get_weather", '{"temp_c": 18, "sky": "cloudy"}')
_THOUGHT = "The user wants Paris weather; I should call get_weather."

SUITE: tuple[SuiteCase, ...] = (
    SuiteCase(
        id="weather-simple",
        what="one call, string and enum",
        messages=(_SYSTEM, _user("What's the weather in Paris right now, in celsius?")),
        expect_tools=("get_weather",),
        ideal=(("get_weather", {"city": "Paris", "unit": "celsius"}),),
    ),
    SuiteCase(
        id="parallel-two-cities",
        what="two calls in one message",
        messages=(_SYSTEM, _user("Compare the weather in Tokyo and in Osaka right now.")),
        expect_tools=("get_weather", "get_weather"),
        ideal=(("get_weather", {"city": "Tokyo"}), ("get_weather", {"city": "Osaka"})),
    ),
    SuiteCase(
        id="nested-schema",
        what="nested objects, arrays, pattern, integer minimum",
        messages=(
            _SYSTEM,
            _user(
                "Schedule 'Design review' on 2027-03-04 at 10:00 with Ana (ana@example.org) and Bo "
                "(bo@example.org); remind us 10 and 60 minutes before."
            ),
        ),
        tools=(EVENT,),
        expect_tools=("create_event",),
        ideal=(
            (
                "create_event",
                {
                    "title": "Design review",
                    "start": "2027-03-04T10:00",
                    "attendees": [
                        {"name": "Ana", "email": "ana@example.org"},
                        {"name": "Bo", "email": "bo@example.org"},
                    ],
                    "reminders_min": [10, 60],
                },
            ),
        ),
    ),
    SuiteCase(
        id="bounds-and-enums",
        what="integer bounds, enums, patterns",
        messages=(_SYSTEM, _user("Find direct economy flights from CDG to LIS.")),
        tools=(FLIGHTS,),
        expect_tools=("search_flights",),
        ideal=(("search_flights", {"origin": "CDG", "dest": "LIS", "max_stops": 0, "cabin": "economy"}),),
    ),
    SuiteCase(
        id="no-tool-needed",
        what="tools offered, none needed",
        messages=(_SYSTEM, _user("Say hello in French. One word only.")),
        ideal="Bonjour",
    ),
    SuiteCase(
        id="tool-choice-none",
        what="tool_choice none is honoured",
        messages=(_SYSTEM, _user("What's the weather in Rome? Answer from what you know.")),
        tool_choice="none",
        ideal="I cannot check live weather, but Rome is usually mild.",
    ),
    SuiteCase(
        id="multi-turn-result",
        what="answers from a tool result",
        messages=(_SYSTEM, _user("What's the weather in Paris?"), _PARIS_CALL, _PARIS_RESULT),
        thinking="disabled",
        ideal="It is 18 °C and cloudy in Paris.",
    ),
    SuiteCase(
        id="multi-turn-second-call",
        what="a second call after a result (id index continues)",
        messages=(
            _SYSTEM,
            _user("What's the weather in Paris?"),
            _PARIS_CALL,
            _PARIS_RESULT,
            {"role": "assistant", "content": "It is 18 °C and cloudy in Paris."},
            _user("And in Berlin?"),
        ),
        thinking="disabled",
        expect_tools=("get_weather",),
        ideal=(("get_weather", {"city": "Berlin"}),),
    ),
    SuiteCase(
        id="many-tools",
        what="the right tool among eight",
        messages=(_SYSTEM, _user("Convert 100 USD to EUR.")),
        tools=tuple(MANY_TOOLS),
        expect_tools=("convert_currency",),
        ideal=(("convert_currency", {"amount": 100, "from": "USD", "to": "EUR"}),),
    ),
    SuiteCase(
        id="thinking-on",
        what="a call with thinking enabled",
        messages=(_SYSTEM, _user("What's the weather in Lisbon?")),
        thinking="enabled",
        expect_tools=("get_weather",),
        ideal=(("get_weather", {"city": "Lisbon"}),),
    ),
    SuiteCase(
        id="thinking-off",
        what="a call with thinking disabled",
        messages=(_SYSTEM, _user("What's the weather in Madrid?")),
        thinking="disabled",
        expect_tools=("get_weather",),
        ideal=(("get_weather", {"city": "Madrid"}),),
    ),
    SuiteCase(
        id="reasoning-round-trip",
        what="reasoning_content sent back with the call is accepted",
        messages=(
            _SYSTEM,
            _user("What's the weather in Paris?"),
            _asked("functions.get_weather:0", "get_weather", '{"city": "Paris"}', _THOUGHT),
            _PARIS_RESULT,
        ),
        thinking="enabled",
        ideal="It is 18 °C and cloudy in Paris.",
    ),
)


def _case_of(body: Mapping[str, Any]) -> SuiteCase | None:
    messages = [m for m in body.get("messages") or () if isinstance(m, dict)]
    for case in SUITE:
        if len(case.messages) == len(messages) and all(
            a.get("content") == b.get("content") for a, b in zip(case.messages, messages, strict=True)
        ):
            return case
    return None


def ideal_reply(body: dict[str, Any]) -> Reply:
    """What a correct model answers to a suite request (the fake server's well-behaved vendor).

    A request that is not in the suite gets a plain text answer.
    """
    case = _case_of(body)
    reasoning = "Thinking about the request." if case is not None and case.thinking == "enabled" else None
    if case is None:
        return Reply.text("ok")
    if isinstance(case.ideal, str):
        return Reply.text(case.ideal, reasoning=reasoning)
    return Reply.tool_calls(*case.ideal, reasoning=reasoning)
