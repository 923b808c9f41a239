"""The authored kimi-k2.6 trace: thinking, parallel tools and images, written against the K2.6 fake.

``python -m tests._k26_trace`` rewrites ``tests/fixtures/k26_thinking_tools_image.jsonl``. The
model's answers are scripted (this is an AUTHORED trace, ``origin: authored``, not a recording
of Moonshot's service); the requests went over the wire to ``FakeKimiServer(mode="k2.6")``, which
checks them against today's API rules (reasoning_content sent back, no fixed sampling fields,
image parts only for a vision model).
"""

from __future__ import annotations

from pathlib import Path
from typing import Final

import anyio

from agentkit import Agent, tool
from agentkit.images import ImagePart
from agentkit.models import KimiModel
from agentkit.models.abstract import Model
from agentkit.testing import FakeKimiServer, Reply
from agentkit.tool import ToolOutput
from agentkit.tracing import TraceWriter
from tests.builders import png

__all__ = ["PROMPT", "TRACE", "build_agent", "prompt_image", "record"]

TRACE: Final = Path(__file__).parent / "fixtures" / "k26_thinking_tools_image.jsonl"
PROMPT: Final = "The photo shows gauge A. Read it, fetch gauge B, and give me the total and the product."


def prompt_image() -> ImagePart:
    """The picture sent with the prompt (deterministic bytes)."""
    return ImagePart.from_bytes(png(24, 24, 1))


@tool
async def read_gauge(name: str) -> ToolOutput:
    """Photograph a gauge and return its reading.

    Args:
        name: The gauge.
    """
    return ToolOutput(text=f"gauge {name} reads 7", images=(ImagePart.from_bytes(png(24, 24, len(name))),))


@tool
def add(a: int, b: int) -> int:
    """Add two numbers.

    Args:
        a: First.
        b: Second.
    """
    return a + b


@tool
def multiply(a: int, b: int) -> int:
    """Multiply two numbers.

    Args:
        a: First.
        b: Second.
    """
    return a * b


def build_agent(model: Model) -> Agent[str]:
    """The agent the trace records (the same one replays it)."""
    instructions = "Read gauges and do the arithmetic with tools."
    return Agent(model, instructions=instructions, tools=[read_gauge, add, multiply])


SCRIPT: Final = (
    Reply.tool_calls(
        ("read_gauge", {"name": "B"}),
        reasoning="The photo shows gauge A at 6. I need gauge B's reading before any arithmetic.",
    ),
    Reply.tool_calls(
        ("add", {"a": 6, "b": 7}),
        ("multiply", {"a": 6, "b": 7}),
        reasoning="A is 6, B is 7 (its photo agrees). Sum and product are independent: both at once.",
    ),
    Reply.text(
        "Gauge A reads 6 and gauge B reads 7: the total is 13 and the product is 42.",
        reasoning="Both results are in: 13 and 42.",
    ),
)


async def record(path: Path = TRACE) -> None:
    """Run the agent against the K2.6 fake with the scripted answers and write the trace to ``path``."""
    with FakeKimiServer(list(SCRIPT), mode="k2.6") as server:
        async with KimiModel("kimi-k2.6", base_url=server.base_url, api_key="offline-authoring") as model:
            writer = TraceWriter(path, origin="authored")
            await build_agent(model).run(PROMPT, images=[prompt_image()], trace=writer)
        if server.problems:
            raise RuntimeError(f"the K2.6 fake saw problems: {server.problems}")


if __name__ == "__main__":
    anyio.run(record)
