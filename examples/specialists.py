"""Two specialist agents working under a coordinator, in parallel (``agent.as_tool``).

OFFLINE AND SCRIPTED: every "model" here is a `ScriptedModel` playing back
replies written by hand for this example (authored, not recorded from Kimi), and
the fares and rooms are SAMPLE DATA. What is real: the agents, the tools, the
coordinator calling both specialists in one turn so their runs overlap, and the
usage and cost of the sub-runs rolling up into the coordinator's result.

    python -m examples.specialists
"""

from __future__ import annotations

import sys
import time

import anyio

from agentkit import Agent, RunResult, tool
from agentkit.messages import AssistantMessage, ToolCall
from agentkit.models.abstract import ModelResponse
from agentkit.models.function import ScriptedModel, call
from agentkit.usage import Usage

#: SAMPLE DATA, not live fares or rooms.
_FARES = {"LIS": 89, "OPO": 64}
_ROOMS = {"LIS": 112, "OPO": 95}
#: How long each sample lookup pretends to take.
LOOKUP_S = 0.3


@tool
async def cheapest_fare(city: str) -> dict[str, object]:
    """Cheapest return fare from Paris (sample data).

    Args:
        city: IATA code of the destination.
    """
    await anyio.sleep(LOOKUP_S)
    return {"city": city, "fare_eur": _FARES.get(city), "sample_data": True}


@tool
async def cheapest_room(city: str) -> dict[str, object]:
    """Cheapest double room per night (sample data).

    Args:
        city: IATA code of the city.
    """
    await anyio.sleep(LOOKUP_S)
    return {"city": city, "room_eur": _ROOMS.get(city), "sample_data": True}


def _answer(text: str, cost: float) -> ModelResponse:
    """An authored final answer, priced so the roll-up of cost is visible."""
    return ModelResponse(
        message=AssistantMessage(content=text),
        finish_reason="stop",
        usage=Usage(input_tokens=400, output_tokens=60, requests=1),
        model_name="scripted",
        cost_usd=cost,
    )


def build() -> Agent[str]:
    """The coordinator, with the two specialists as its tools (all models scripted)."""
    flights = Agent(
        ScriptedModel([call("cheapest_fare", {"city": "OPO"}), _answer("Porto: 64 EUR return.", 0.0004)]),
        name="flights",
        instructions="You find the cheapest flights.",
        tools=[cheapest_fare],
    )
    hotels = Agent(
        ScriptedModel([call("cheapest_room", {"city": "OPO"}), _answer("Porto: 95 EUR a night.", 0.0004)]),
        name="hotels",
        instructions="You find the cheapest hotels.",
        tools=[cheapest_room],
    )
    both = AssistantMessage(
        tool_calls=(
            ToolCall(id="", name="flights", arguments='{"task": "Cheapest flight Paris-Porto in May"}'),
            ToolCall(id="", name="hotels", arguments='{"task": "Cheapest hotel in Porto in May"}'),
        )
    )
    return Agent(
        ScriptedModel([both, _answer("Porto in May: 64 EUR flight + 95 EUR a night (sample data).", 0.001)]),
        name="coordinator",
        instructions="Split the trip into flights and hotels and ask both specialists at once.",
        tools=[
            flights.as_tool(description="A specialist who finds the cheapest flights."),
            hotels.as_tool(description="A specialist who finds the cheapest hotels."),
        ],
    )


async def plan() -> tuple[RunResult[str], float]:
    """Run the coordinator once; return its result and the wall time in seconds."""
    started = time.perf_counter()
    result = await build().run("Plan a cheap weekend in Porto in May.")
    return result, time.perf_counter() - started


def main() -> None:
    """Run the example and print what happened."""
    result, seconds = anyio.run(plan)
    out = sys.stdout
    out.write("[offline: scripted models, sample data]\n")
    out.write(f"{result.output}\n")
    out.write(
        f"two specialists, each waiting {LOOKUP_S:.1f} s on a tool, took {seconds:.2f} s together "
        f"(in parallel); requests {result.usage.requests}, cost ${result.cost_usd:.4f} "
        "(coordinator + specialists)\n"
    )


if __name__ == "__main__":
    main()
