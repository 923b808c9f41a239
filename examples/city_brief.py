"""A small agent that briefs a traveller on a city, calling three typed tools in parallel.

Offline by default: the "model" is agentkit's loopback fake Kimi server on
127.0.0.1, driven by a short script (`scripted_kimi`) that asks for the
three tools at once and then writes its answer from their results. No network,
no API key. The agent, the tools, the wire format, the HTTP client and the
parallel tool execution are all real.

    python examples/city_brief.py                 # offline
    python examples/city_brief.py --live Lisbon   # Kimi-K2, needs MOONSHOT_API_KEY

The weather and exchange-rate figures are SAMPLE DATA bundled below, not live data.
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
import time
from typing import Annotated, Any, Literal, TypedDict
from zoneinfo import ZoneInfo

import anyio
import orjson
from pydantic import BaseModel, Field

from agentkit import Agent, tool
from agentkit.events import TextDelta, ToolCallFinished, ToolCallStarted, TurnFinished
from agentkit.models import KimiModel
from agentkit.testing import FakeKimiServer, Reply

# --- sample data (labelled as such everywhere it is shown) -------------------


class _CityFacts(TypedDict):
    tz: str
    currency: str
    high_c: list[int]


SAMPLE_CLIMATE: dict[str, _CityFacts] = {  # typical daytime highs (°C), January to December
    "Lisbon": {
        "tz": "Europe/Lisbon",
        "currency": "EUR",
        "high_c": [15, 16, 19, 20, 23, 26, 28, 29, 27, 23, 18, 15],
    },
    "Osaka": {
        "tz": "Asia/Tokyo",
        "currency": "JPY",
        "high_c": [9, 10, 14, 20, 25, 28, 32, 33, 29, 23, 17, 12],
    },
    "Oslo": {"tz": "Europe/Oslo", "currency": "NOK", "high_c": [-2, -1, 4, 10, 16, 20, 22, 21, 16, 9, 3, -1]},
}
SAMPLE_RATES_PER_USD = {"USD": 1.0, "EUR": 0.92, "JPY": 151.0, "NOK": 10.6}

City = Literal["Lisbon", "Osaka", "Oslo"]


class Climate(BaseModel):
    """Typical weather for a month (sample data)."""

    city: str
    month: int
    typical_high_c: int
    source: str = "sample data bundled with the example"


@tool
def typical_weather(city: City, month: Annotated[int, Field(ge=1, le=12)]) -> Climate:
    """Typical daytime high for a city in a given month.

    Args:
        city: The city.
        month: Month number, 1-12.
    """
    return Climate(city=city, month=month, typical_high_c=SAMPLE_CLIMATE[city]["high_c"][month - 1])


@tool
async def local_time(city: City) -> str:
    """The current local time in a city (computed from its IANA time zone).

    Args:
        city: The city.
    """
    await anyio.sleep(0.2)  # stands in for a slow API: the three tools overlap
    zone = ZoneInfo(SAMPLE_CLIMATE[city]["tz"])
    return dt.datetime.now(zone).strftime("%H:%M (%Z)")


@tool
async def convert(amount: Annotated[float, Field(gt=0)], to_currency: str) -> dict[str, Any]:
    """Convert US dollars to another currency (sample rates).

    Args:
        amount: Amount in USD.
        to_currency: ISO currency code, e.g. EUR.
    """
    await anyio.sleep(0.2)
    rate = SAMPLE_RATES_PER_USD[to_currency.upper()]
    return {
        "usd": amount,
        "converted": round(amount * rate, 2),
        "currency": to_currency.upper(),
        "sample": True,
    }


# --- the scripted model for offline runs -------------------------------------


def scripted_kimi(body: dict[str, Any]) -> Reply:
    """Play Kimi: first ask for all three tools at once, then answer from their results."""
    messages = body["messages"]
    results = [m for m in messages if m["role"] == "tool"]
    prompt = next(m["content"] for m in messages if m["role"] == "user")
    city = next((c for c in SAMPLE_CLIMATE if c in prompt), "Lisbon")
    if not results:
        month = dt.date.today().month
        currency = SAMPLE_CLIMATE[city]["currency"]
        return Reply.tool_calls(
            ("typical_weather", {"city": city, "month": month}),
            ("local_time", {"city": city}),
            ("convert", {"amount": 100, "to_currency": currency}),
        )
    weather, clock, money = (
        orjson.loads(r["content"]) if r["content"].startswith("{") else r["content"] for r in results[-3:]
    )
    return Reply.text(
        f"{city} brief: it is {clock} there now. Expect highs around {weather['typical_high_c']} °C "
        f"this month (sample climate data). 100 USD is about {money['converted']} {money['currency']} "
        "at the bundled sample rate."
    )


# --- running it ----------------------------------------------------------------


def build_agent(model: KimiModel) -> Agent[str]:
    """The city-brief agent: instructions and three tools."""
    return Agent(
        model,
        instructions=(
            "You brief travellers. Call the tools you need in parallel, then answer in 2-3 sentences."
        ),
        tools=[typical_weather, local_time, convert],
        max_turns=4,
    )


async def brief(model: KimiModel, city: str) -> None:
    """Stream one run, printing each tool call and the answer as they happen."""
    started = time.perf_counter()

    def stamp() -> str:
        return f"[{time.perf_counter() - started:5.2f}s]"

    mid_line = False
    async with build_agent(model).stream(f"I'm flying to {city} tomorrow. Brief me.") as run:
        async for event in run:
            if isinstance(event, ToolCallStarted):
                print(f"{stamp()} -> {event.call.name}({event.call.arguments})")
            elif isinstance(event, ToolCallFinished):
                took_ms = event.duration_s * 1000
                print(f"{stamp()} <- {event.call.name} in {took_ms:.0f} ms: {event.result.content}")
            elif isinstance(event, TextDelta):
                print(event.text, end="", flush=True)
                mid_line = True
            elif isinstance(event, TurnFinished):
                print(("\n" if mid_line else "") + f"{stamp()} turn {event.turn} done")
                mid_line = False
    result = run.result
    print(
        f"\n{result.turns} turns, {result.usage.tool_calls} tool calls, "
        f"{result.usage.input_tokens} input + {result.usage.output_tokens} output tokens, "
        f"${result.cost_usd:.6f} at {model.model_name} prices"
    )


def main(argv: list[str] | None = None) -> int:
    """Run the demo offline (default) or against Kimi with ``--live``."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("city", nargs="?", default="Osaka", choices=sorted(SAMPLE_CLIMATE))
    parser.add_argument("--live", action="store_true", help="call Kimi-K2 (needs MOONSHOT_API_KEY)")
    args = parser.parse_args(argv)
    if args.live:
        anyio.run(brief, KimiModel(), args.city)
        return 0
    print("OFFLINE DEMO: the model is a scripted fake Kimi server on 127.0.0.1 (no network, no API key).")
    print(
        "Weather and exchange rates are sample data. Use --live with MOONSHOT_API_KEY for the real model.\n"
    )
    with FakeKimiServer(scripted_kimi) as server:
        anyio.run(brief, KimiModel(base_url=server.base_url, api_key="offline-demo"), args.city)
    return 0


if __name__ == "__main__":
    sys.exit(main())
