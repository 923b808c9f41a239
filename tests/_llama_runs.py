"""The runs the conformance suite makes against the real llama.cpp server, shared with the replays.

``tests/conformance/test_llama_server.py`` runs them live, ``tests/conformance/record_llama_traces.py``
records them into ``tests/traces/llama_cpp/``, and ``tests/test_recorded_traces.py`` replays those
recordings with the same agents. SmolLM2-135M rarely calls a tool unprompted, so each turn's
``tool_choice`` is set by a hook: the tool by name (the server constrains the arguments to its
schema with a grammar), then ``"none"`` for the final answer.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

from pydantic import BaseModel

from agentkit import Agent, tool
from agentkit.hooks import RunHooks, RunInfo
from agentkit.models.abstract import Model, ModelRequest, ModelSettings

__all__ = ["SCENARIOS", "City", "ForceTools", "Scenario", "add", "make_agent"]

#: Greedy decoding with a fixed seed: the same request gets the same answer from the server.
SETTINGS = ModelSettings(temperature=0.0, seed=7, max_tokens=128)


@tool
def add(a: int, b: int) -> int:
    """Add two whole numbers.

    Args:
        a: The first number.
        b: The second number.
    """
    return a + b


class City(BaseModel):
    """A city and the country it lies in."""

    name: str
    country: str


class ForceTools(RunHooks):
    """Sets ``tool_choice`` per turn (turn 1 gets ``choices[0]``); later turns keep the last one."""

    def __init__(self, choices: Sequence[str]) -> None:
        self._choices = tuple(choices)

    async def before_model_call(self, request: ModelRequest, info: RunInfo) -> ModelRequest:
        """Return ``request`` with this turn's ``tool_choice``."""
        choice = self._choices[min(info.turn, len(self._choices)) - 1]
        return replace(request, tool_choice=choice)


@dataclass(frozen=True, kw_only=True, slots=True)
class Scenario:
    """One run: its prompt, the tool choice of each turn, and what it outputs."""

    prompt: str
    choices: tuple[str, ...] = ()
    output_type: Any = str
    tools: bool = True


SCENARIOS: dict[str, Scenario] = {
    "plain_text": Scenario(prompt="Say hello in one short sentence.", tools=False),
    "three_turn_tools": Scenario(
        prompt="Add 2 and 3, then add 10 and 20, then tell me both sums.",
        choices=("add", "add", "none"),
    ),
    "structured_output": Scenario(
        prompt="Which city is the capital of France? Give the city and its country.",
        choices=("final_result",),
        output_type=City,
        tools=False,
    ),
}


def make_agent(model: Model, scenario: Scenario) -> Agent[Any]:
    """The agent a scenario runs: ``add`` as its tool (when it has tools) and the forcing hook."""
    hooks = [ForceTools(scenario.choices)] if scenario.choices else []
    return Agent(
        model,
        tools=[add] if scenario.tools else [],
        output_type=scenario.output_type,
        model_settings=SETTINGS,
        hooks=hooks,
        name="llama-conformance",
    )
