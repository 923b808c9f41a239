"""Kimi's partial mode (assistant prefill): four uses Kimi users ask for, offline or live.

1. JSON from ``{``: the answer starts inside a JSON object and validates as a pydantic model.
2. A role-play character kept over a multi-turn session (``prefill_name``).
3. A function body completed from its given header.
4. A mandatory disclaimer the answer must start with.

Offline by default: agentkit's loopback fake Kimi server plays the model. Its continuations
are AUTHORED here (see ``_offline_kimi``), not a real model's; the requests it receives are
the real wire bodies agentkit sends (the last message is ``{"role": "assistant", "content":
prefix, "partial": true}``), and the example checks that. With ``--live`` the same code calls
Kimi-K2 (needs MOONSHOT_API_KEY).

    python -m examples.partial_mode           # offline
    python -m examples.partial_mode --live    # Kimi-K2
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from pydantic import BaseModel

from agentkit import Agent
from agentkit.memory import InMemoryMemory
from agentkit.models import KimiModel
from agentkit.testing import FakeKimiServer, Reply

__all__ = ["Robot", "main", "run_examples"]

DISCLAIMER = "Disclaimer: this is general information, not financial advice. "
HEADER = "def is_palindrome(text: str) -> bool:\n"


class Robot(BaseModel):
    """What the JSON example asks for."""

    name: str
    purpose: str
    legs: int


# --- the offline model: authored continuations, chosen by the partial message sent ---------------

_AUTHORED = {
    "{": '"name": "Tidy", "purpose": "sorts socks", "legs": 6}',
    HEADER: "    cleaned = [c.lower() for c in text if c.isalnum()]\n    return cleaned == cleaned[::-1]\n",
    DISCLAIMER: "Index funds spread risk across many companies; fees matter over decades.",
}
_MARVIN = [
    "I think you ought to know I'm feeling very depressed. Brain the size of a planet, and they "
    "ask me about the weather.",
    "Tomorrow? It will be dreadful, I expect. It usually is.",
]


def _offline_kimi(body: dict[str, Any]) -> Reply:
    """Continue the partial assistant message the request ends with, as Kimi does (no repeat)."""
    last = body["messages"][-1]
    if last.get("role") != "assistant" or last.get("partial") is not True:
        return Reply.error(400, "invalid_request_error", "this offline model only answers partial mode")
    if last.get("name") == "Marvin":
        turns = sum(1 for m in body["messages"] if m["role"] == "user")
        return Reply.text(_MARVIN[min(turns, len(_MARVIN)) - 1])
    return Reply.text(_AUTHORED[last["content"]])


@contextmanager
def _model(live: bool) -> Iterator[KimiModel]:
    if live:
        yield KimiModel()
        return
    with FakeKimiServer(_offline_kimi) as server:
        yield KimiModel(base_url=server.base_url, api_key="offline")


# --- the four uses ---------------------------------------------------------------------------------


async def run_examples(model: KimiModel) -> dict[str, Any]:
    """Run the four uses on ``model`` and return what each produced."""
    robot = await Agent(model, output_type=Robot).run("Describe a small household robot.", prefill="{")

    marvin = Agent(model, instructions="You are Marvin, the paranoid android.", memory=InMemoryMemory())
    lines = []
    for question in ("How are you today?", "And the weather tomorrow?"):
        answer = await marvin.run(question, session="marvin", prefill="", prefill_name="Marvin")
        lines.append(answer.output)

    code = await Agent(model, instructions="Complete Python functions.").run(
        "Complete the function: ignore case and non-alphanumerics.", prefill=HEADER
    )
    advice = await Agent(model).run("Should I buy index funds?", prefill=DISCLAIMER)
    return {"robot": robot.output, "marvin": lines, "code": code.output, "advice": advice.output}


def _show(results: dict[str, Any]) -> None:
    print("1. JSON from '{' ->", repr(results["robot"]))
    print("2. Marvin, two turns of one session:")
    for line in results["marvin"]:
        print("   Marvin:", line)
    print("3. A function completed from its header:\n" + results["code"])
    print("4. Starts with the mandatory disclaimer:", results["advice"].startswith(DISCLAIMER))
    print("  ", results["advice"])


def main(argv: list[str] | None = None) -> int:
    """Run the four uses offline (default) or on Kimi-K2 (``--live``)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--live", action="store_true", help="call Kimi-K2 (needs MOONSHOT_API_KEY)")
    args = parser.parse_args(argv)
    if args.live and not os.environ.get("MOONSHOT_API_KEY"):
        parser.error("--live needs MOONSHOT_API_KEY")
    if not args.live:
        print("OFFLINE: the continuations are authored in this file; the wire bodies are real.\n")

    import anyio  # noqa: PLC0415 - only the entry point runs an event loop

    async def go() -> dict[str, Any]:
        with _model(args.live) as model:
            async with model:
                return await run_examples(model)

    _show(anyio.run(go))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
