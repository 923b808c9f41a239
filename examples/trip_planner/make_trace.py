"""Regenerate the bundled trace ``trace.jsonl``: an AUTHORED run, not one captured from Moonshot.

A scripted responder (`scripted_kimi`) plays Kimi-K2 on agentkit's loopback
fake Kimi server, speaking Kimi's wire format (tool-call ids ``functions.NAME:IDX``,
parallel calls in one message). It reads the real tool results in each request and
decides as the instructions say: search the tour, compare every candidate in one
parallel turn, write the itinerary and calendar, email them, summarise; and it keeps a
five-step plan current with ``update_plan``, sent alongside each step's tool calls. The real
agent, provider, tools and HTTP client run; the trace is written with
``origin: "authored"``.

    python -m examples.trip_planner.make_trace
"""

from __future__ import annotations

import json
import re
import sys
import tempfile
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import anyio
from agentkit_tools import Workspace

from agentkit.approval import approve_all
from agentkit.models import KimiModel
from agentkit.testing import FakeKimiServer, Reply
from agentkit.tracing import TraceWriter

from .agent import TripRequest, build_agent

__all__ = ["MODEL_NAME", "TRACE", "record", "request_of", "scripted_kimi"]

TRACE = Path(__file__).with_name("trace.jsonl")
MODEL_NAME = "kimi-k2-0905-preview"
REQUEST = TripRequest()
PLAN = (
    "Find the concerts in the travel window",
    "Compare flights, hotels and weather for every concert",
    "Choose the best trip",
    "Write the itinerary and the calendar file",
    "Email the itinerary to the traveller",
)


def _plan(done: int, explanation: str | None = None) -> tuple[str, dict[str, Any]]:
    """An ``update_plan`` call: the first ``done`` steps completed, the next one in progress."""
    steps = [
        {"step": step, "status": "completed" if i < done else "in_progress" if i == done else "pending"}
        for i, step in enumerate(PLAN)
    ]
    arguments: dict[str, Any] = {"steps": steps}
    if explanation is not None:
        arguments["explanation"] = explanation
    return ("update_plan", arguments)


def _results(messages: list[dict[str, Any]]) -> dict[str, list[Any]]:
    """Tool results so far, by tool name, in order (decoded from JSON)."""
    out: dict[str, list[Any]] = {}
    for message in messages:
        if message["role"] == "tool":
            content = message["content"]
            decoded = json.loads(content) if content[:1] in "[{" else content
            out.setdefault(message["name"], []).append(decoded)
    return out


_PROMPT = re.compile(
    r"I live in (?P<home_city>.+?) \(airport (?P<home_airport>[A-Z]{3})\)\. I'd like to see (?P<artist>.+?) "
    r"live somewhere between (?P<start>[\d-]+) and (?P<end>[\d-]+):.* at (?P<email>\S+?)\.$",
    re.DOTALL,
)


def request_of(body: dict[str, Any]) -> TripRequest:
    """The trip request the user message states (``TripRequest.prompt``'s words), else the default one."""
    prompt = next((m["content"] for m in body["messages"] if m["role"] == "user"), "")
    found = _PROMPT.match(prompt or "")
    return TripRequest(**found.groupdict()) if found else REQUEST


def scripted_kimi(body: dict[str, Any]) -> Reply:
    """Play Kimi-K2 for the trip request, one step per turn, from the tool results received."""
    request = request_of(body)
    results = _results(body["messages"])
    if "search_concerts" not in results:
        return Reply.tool_calls(
            _plan(0),
            ("search_concerts", {"artist": request.artist, "start": request.start, "end": request.end}),
            content=f"I'll look up {request.artist}'s tour dates first.",
        )
    concerts = results["search_concerts"][0]
    if "search_flights" not in results:
        calls: list[tuple[str, dict[str, Any]]] = [_plan(1)]
        for concert in concerts:
            back = (date.fromisoformat(concert["date"]) + timedelta(days=1)).isoformat()
            calls += [
                (
                    "search_flights",
                    {"origin": request.home_airport, "dest": concert["airport"], "day": concert["date"]},
                ),
                ("search_flights", {"origin": concert["airport"], "dest": request.home_airport, "day": back}),
                ("search_hotels", {"city": concert["city"], "check_in": concert["date"], "check_out": back}),
                ("weather_forecast", {"city": concert["city"], "day": concert["date"]}),
            ]
        content = (
            f"{len(concerts)} concerts in the window. Comparing flights, hotels and weather for all of them."
        )
        return Reply.tool_calls(*calls, content=content)
    options = _options(concerts, results)
    best = min(options, key=lambda o: (o["total"], o["weather"]["rain_chance_pct"]))
    if "write_file" not in results:
        events = _events(best)
        chose = f"{best['concert']['city']} is the cheapest trip (EUR {best['total']})"
        return Reply.tool_calls(
            _plan(3, explanation=chose),
            ("write_file", {"path": "itinerary.md", "content": _itinerary(best, options)}),
            ("write_calendar", {"path": "trip.ics", "events": events}),
        )
    if "send_email" not in results:
        email = {
            "to": [request.email],
            "subject": f"Your trip: {best['concert']['artist']} in {best['concert']['city']}",
            "body": _email_body(best),
            "attachments": ["itinerary.md", "trip.ics"],
        }
        return Reply.tool_calls(_plan(4), ("send_email", email))
    if len(results.get("update_plan", [])) < len(PLAN):
        return Reply.tool_calls(_plan(len(PLAN), explanation="The itinerary is sent."))
    return Reply.text(_summary(best, options, results["send_email"][0], request.email))


def _options(concerts: list[dict[str, Any]], results: dict[str, list[Any]]) -> list[dict[str, Any]]:
    """One option per concert: the cheapest flights and hotel, the forecast, the total."""
    options = []
    for index, concert in enumerate(concerts):
        out = results["search_flights"][2 * index][0]
        back = results["search_flights"][2 * index + 1][0]
        hotel = results["search_hotels"][index][0]
        total = concert["ticket_eur"] + out["price_eur"] + back["price_eur"] + hotel["total_eur"]
        weather = results["weather_forecast"][index]
        options.append(
            {"concert": concert, "out": out, "back": back, "hotel": hotel, "weather": weather, "total": total}
        )
    return options


def _flight(f: dict[str, Any]) -> str:
    stops = "direct" if f["stops"] == 0 else f"{f['stops']} stop"
    return (
        f"{f['carrier']} {f['flight_no']}, {f['origin']} {f['depart_local']} → {f['dest']} "
        f"{f['arrive_local']} ({stops}), €{f['price_eur']}"
    )


def _itinerary(best: dict[str, Any], options: list[dict[str, Any]]) -> str:
    """The Markdown itinerary the "model" writes."""
    c, hotel, weather = best["concert"], best["hotel"], best["weather"]
    rows = "\n".join(
        f"| {o['concert']['city']} | {o['concert']['date']} | €{o['concert']['ticket_eur']} | "
        f"€{o['out']['price_eur'] + o['back']['price_eur']} | €{o['hotel']['total_eur']} | "
        f"{o['weather']['summary']}, {o['weather']['high_c']} °C | **€{o['total']}** |"
        for o in options
    )
    runner_up = sorted(options, key=lambda o: o["total"])[1]
    saving, other = runner_up["total"] - best["total"], runner_up["concert"]["city"]
    sky = f"{weather['summary']}, {weather['high_c']} °C"
    back_day = best["back"]["date"]
    return f"""# {c["artist"]} in {c["city"]}: your trip

> Planned by the agentkit trip-planner demo. All concerts, flights, hotels and forecasts here
> are **SAMPLE DATA** invented by the demo's travel provider, not real offers.

## The choice
**{c["venue"]}, {c["city"]} ({c["country"]}), {c["date"]}**,
doors {c["doors_local"]}, show {c["start_local"]}. It is the cheapest trip at **€{best["total"]}** all in,
€{saving} less than {other} (the next cheapest), and the forecast is {sky}.

## Options compared
| City | Date | Ticket | Flights | Hotel (1 night) | Weather | Total |
|---|---|---|---|---|---|---|
{rows}

## Travel
- **Out, {c["date"]}:** {_flight(best["out"])}
- **Back, {back_day}:** {_flight(best["back"])}
- **Hotel:** {hotel["name"]}, {hotel["nights"]} night, €{hotel["total_eur"]} (rated {hotel["rating"]}, \
{hotel["distance_to_venue_km"]} km from the venue)

## Day by day
1. **{c["date"]}:** fly out, check in at {hotel["name"]}, dinner, doors at {c["doors_local"]}, \
show at {c["start_local"]}.
2. **{back_day}:** check out, fly home.

## Costs (EUR)
| Item | Price |
|---|---|
| Concert ticket | €{c["ticket_eur"]} |
| Flight out | €{best["out"]["price_eur"]} |
| Flight back | €{best["back"]["price_eur"]} |
| Hotel | €{hotel["total_eur"]} |
| **Total** | **€{best["total"]}** |

The calendar file `trip.ics` holds the flights, the concert and the hotel stay.
"""


def _flight_event(f: dict[str, Any]) -> dict[str, str]:
    return {
        "summary": f"Flight {f['flight_no']} {f['origin']} → {f['dest']}",
        "start": f"{f['date']}T{f['depart_local']}",
        "timezone": f["origin_timezone"],
        "end": f"{f['arrive_date']}T{f['arrive_local']}",
        "end_timezone": f["dest_timezone"],
        "location": f"{f['origin']} airport",
        "description": f"{f['carrier']}, EUR {f['price_eur']} (sample data).",
    }


def _events(best: dict[str, Any]) -> list[dict[str, str]]:
    """Calendar entries: both flights, the concert, the hotel (local times + IANA zones)."""
    c, hotel = best["concert"], best["hotel"]
    concert = {
        "summary": f"{c['artist']} live",
        "start": f"{c['date']}T{c['start_local']}",
        "end": f"{c['date']}T23:00",
        "timezone": c["timezone"],
        "location": f"{c['venue']}, {c['city']}",
        "description": f"Doors {c['doors_local']}. Ticket EUR {c['ticket_eur']} (sample data).",
    }
    stay = {
        "summary": f"Hotel: {hotel['name']}",
        "start": hotel["check_in"],
        "end": hotel["check_in"],
        "timezone": c["timezone"],
        "location": hotel["name"],
    }
    return [_flight_event(best["out"]), concert, stay, _flight_event(best["back"])]


def _email_body(best: dict[str, Any]) -> str:
    c = best["concert"]
    return (
        f"Hi!\n\nYour trip to see {c['artist']} is planned: {c['venue']}, {c['city']}, on {c['date']} "
        f"(show at {c['start_local']}). Total €{best['total']} for ticket, flights and one hotel night.\n\n"
        f"Out: {_flight(best['out'])}\nBack: {_flight(best['back'])}\nHotel: {best['hotel']['name']}\n\n"
        "The full itinerary (itinerary.md) and a calendar file (trip.ics) are attached.\n"
        "Note: everything here is sample data from the agentkit demo, not real bookings.\n"
    )


def _summary(best: dict[str, Any], options: list[dict[str, Any]], sent: dict[str, Any], email: str) -> str:
    c = best["concert"]
    where = sent.get("path") or sent.get("server")
    return (
        f"Compared {len(options)} concerts; the best trip is **{c['city']} on {c['date']}** "
        f"({c['venue']}), €{best['total']} all in. I wrote `itinerary.md` and `trip.ics` and "
        f"emailed both to {email} (delivered via {sent['delivered_via']}: {where}). "
        "All offers are sample data."
    )


async def record(path: Path = TRACE) -> None:
    """Run the agent against the scripted fake Kimi server and write the trace to ``path``."""
    with tempfile.TemporaryDirectory() as folder, FakeKimiServer(scripted_kimi) as server:
        model = KimiModel(MODEL_NAME, base_url=server.base_url, api_key="offline-authoring")
        agent = build_agent(model, workspace=Workspace(folder))
        writer = TraceWriter(path, origin="authored")
        await agent.run(REQUEST.prompt(), trace=writer, approve=approve_all)
        await model.aclose()


if __name__ == "__main__":
    anyio.run(record)
    print(f"wrote {TRACE}", file=sys.stderr)
