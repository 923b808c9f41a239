"""The benchmark workload: what the fake server answers and the tools every client runs.

CPU workload (``cpu_responder``): turns 1-3 ask for 4 parallel tool calls each
(Kimi ids ``functions.NAME:IDX``), turn 4 answers with text. The turn is decided
from the conversation in the request alone (tool results counted so far), so any
number of runs can share one server concurrently.

Latency workload (``latency_responder``): turn 1 asks for 8 parallel calls of
``slow_lookup`` (each sleeps 200 ms), turn 2 answers.

``responder`` serves both, picking by the tools the request declares; start the
server with ``python -m agentkit.testing serve --script-module benchmarks.workload:responder``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Final

import anyio

if TYPE_CHECKING:
    # Imported where used: the clients import this module, and the baselines must not
    # pay for (or carry in their peak RSS) an agentkit import they do not use.
    from agentkit.testing import Reply

__all__ = [
    "CALLS_PER_TURN",
    "CPU_TOOLS",
    "EXPECTED_OUTPUT",
    "INSTRUCTIONS",
    "LATENCY_CALLS",
    "LATENCY_OUTPUT",
    "LATENCY_TOOLS",
    "MODEL_NAME",
    "PROMPT",
    "SLEEP_S",
    "TOOL_CALL_TURNS",
    "TOOL_SCHEMAS",
    "TURNS_PER_RUN",
    "convert",
    "cpu_responder",
    "get_time",
    "get_weather",
    "latency_responder",
    "lookup",
    "responder",
    "slow_lookup",
    "wire_tools",
]

MODEL_NAME: Final = "kimi-k2-0905-preview"
INSTRUCTIONS: Final = "You are a travel assistant. Call the tools in parallel when you can."
PROMPT: Final = "Plan a day in Paris for a visitor from Tokyo: weather, time, money, museum hours."
EXPECTED_OUTPUT: Final = "Paris: sunny, 21 C; 09:30 local; 100 EUR = 108 USD; Louvre open 9-18."
#: Model turns that ask for tools before the final answer, and the calls each asks for.
TOOL_CALL_TURNS: Final = 3
CALLS_PER_TURN: Final = 4
TURNS_PER_RUN: Final = TOOL_CALL_TURNS + 1
#: The latency case: this many parallel calls, each sleeping this long.
LATENCY_CALLS: Final = 8
SLEEP_S: Final = 0.2
LATENCY_OUTPUT: Final = "All 8 lookups done."


# --- the tools (plain async functions; each client wraps them its own way) ----------------------


async def get_weather(city: str) -> dict[str, Any]:
    """Return the current weather in a city.

    Args:
        city: The city name, e.g. "Paris".
    """
    return {"city": city, "sky": "sunny", "temp_c": 21}


async def get_time(tz: str) -> dict[str, Any]:
    """Return the local time in a time zone.

    Args:
        tz: An IANA time zone name, e.g. "Europe/Paris".
    """
    return {"tz": tz, "time": "09:30"}


async def convert(amount: float, from_currency: str, to_currency: str) -> dict[str, Any]:
    """Convert an amount of money between currencies.

    Args:
        amount: How much money.
        from_currency: ISO code of the currency to convert from.
        to_currency: ISO code of the currency to convert to.
    """
    return {"amount": round(amount * 1.08, 2), "currency": to_currency, "from": from_currency}


async def lookup(key: str) -> dict[str, Any]:
    """Look up a fact in the travel knowledge base.

    Args:
        key: What to look up, e.g. "louvre.hours".
    """
    return {"key": key, "value": "9-18"}


async def slow_lookup(key: str) -> dict[str, Any]:
    """Look up a fact in a slow remote service (takes 200 ms).

    Args:
        key: What to look up.
    """
    await anyio.sleep(SLEEP_S)
    return {"key": key, "value": "ok"}


CPU_TOOLS: Final = (get_weather, get_time, convert, lookup)
LATENCY_TOOLS: Final = (slow_lookup,)


def _object(properties: dict[str, Any]) -> dict[str, Any]:
    return {
        "type": "object",
        "properties": properties,
        "required": list(properties),
        "additionalProperties": False,
    }


#: Hand-written Chat Completions tool declarations, for the clients without a framework.
TOOL_SCHEMAS: Final[dict[str, dict[str, Any]]] = {
    "get_weather": _object({"city": {"type": "string", "description": 'The city name, e.g. "Paris".'}}),
    "get_time": _object({"tz": {"type": "string", "description": "An IANA time zone name."}}),
    "convert": _object(
        {
            "amount": {"type": "number", "description": "How much money."},
            "from_currency": {"type": "string", "description": "ISO code to convert from."},
            "to_currency": {"type": "string", "description": "ISO code to convert to."},
        }
    ),
    "lookup": _object({"key": {"type": "string", "description": "What to look up."}}),
    "slow_lookup": _object({"key": {"type": "string", "description": "What to look up."}}),
}

_DESCRIPTIONS: Final = {
    "get_weather": "Return the current weather in a city.",
    "get_time": "Return the local time in a time zone.",
    "convert": "Convert an amount of money between currencies.",
    "lookup": "Look up a fact in the travel knowledge base.",
    "slow_lookup": "Look up a fact in a slow remote service (takes 200 ms).",
}


def wire_tools(names: tuple[str, ...]) -> list[dict[str, Any]]:
    """Return the ``tools`` array of a Chat Completions request for the named tools."""
    return [
        {
            "type": "function",
            "function": {"name": n, "description": _DESCRIPTIONS[n], "parameters": TOOL_SCHEMAS[n]},
        }
        for n in names
    ]


# --- the server side ----------------------------------------------------------------------------

_TURN_CALLS: Final[tuple[tuple[str, dict[str, Any]], ...]] = (
    ("get_weather", {"city": "Paris"}),
    ("get_time", {"tz": "Europe/Paris"}),
    ("convert", {"amount": 100, "from_currency": "EUR", "to_currency": "USD"}),
    ("lookup", {"key": "louvre.hours"}),
)


def _tool_results(body: dict[str, Any]) -> int:
    messages = body.get("messages")
    if not isinstance(messages, list):
        return 0
    return sum(1 for m in messages if isinstance(m, dict) and m.get("role") == "tool")


def cpu_responder(body: dict[str, Any]) -> Reply:
    """Turns 1-3: four parallel tool calls; turn 4: the final answer."""
    from agentkit.testing import Reply  # noqa: PLC0415 - see the TYPE_CHECKING import

    turn = _tool_results(body) // CALLS_PER_TURN
    if turn < TOOL_CALL_TURNS:
        return Reply.tool_calls(*_TURN_CALLS)
    return Reply.text(EXPECTED_OUTPUT)


def latency_responder(body: dict[str, Any]) -> Reply:
    """Turn 1: eight parallel ``slow_lookup`` calls; turn 2: the final answer."""
    from agentkit.testing import Reply  # noqa: PLC0415 - see the TYPE_CHECKING import

    if _tool_results(body) == 0:
        return Reply.tool_calls(*(("slow_lookup", {"key": f"k{i}"}) for i in range(LATENCY_CALLS)))
    return Reply.text(LATENCY_OUTPUT)


def responder(body: dict[str, Any]) -> Reply:
    """Serve both workloads: the latency one when the request declares ``slow_lookup``."""
    tools = body.get("tools")
    names = (
        {t.get("function", {}).get("name") for t in tools if isinstance(t, dict)}
        if isinstance(tools, list)
        else set()
    )
    return latency_responder(body) if "slow_lookup" in names else cpu_responder(body)
