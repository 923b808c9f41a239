"""The concert-trip agent: travel tools (behind a provider), files, calendar and email.

``build_agent`` is all a caller needs: the demo replays a recorded run through it,
the tests run it against a loopback SMTP server, and ``--live`` points it at Kimi-K2.
"""

from __future__ import annotations

from dataclasses import dataclass

from agentkit_tools import Mailer, Workspace, calendar_tools, email_tools, file_tools

from agentkit import Agent, Tool
from agentkit.models.abstract import Model
from agentkit.planning import update_plan

from .travel import SampleTravelProvider, TravelProvider, travel_tools

__all__ = ["INSTRUCTIONS", "TripRequest", "build_agent"]

INSTRUCTIONS = """\
You plan short trips to see a concert. Keep your plan visible with update_plan: call it in your
first turn with these steps, and again (in the same turn as that step's tool calls) whenever a step
starts or finishes. Work in this order:
1. search_concerts for the artist in the travel window.
2. For every candidate concert, call search_flights (there, on the concert day; back, the next
   day), search_hotels (one night) and weather_forecast IN PARALLEL, all in one turn.
3. Choose the concert with the lowest total cost (ticket + flights + hotel), unless the weather
   or the timing makes it clearly worse; say why.
4. In one turn, write itinerary.md (Markdown: the choice and why, a table of the options, flights,
   hotel, weather, costs, a day-by-day plan) with write_file, and trip.ics with write_calendar
   (the two flights, the concert, the hotel stay as an all-day event; local times with the IANA
   time zone of each place).
5. Email the itinerary to the traveller with send_email, attaching itinerary.md and trip.ics.
6. Answer with a short summary: the choice, the total, and where the files are.
Say plainly when data is sample data. Prices are in EUR."""


@dataclass(frozen=True, kw_only=True, slots=True)
class TripRequest:
    """What the traveller asks for; `prompt` turns it into the user message."""

    artist: str = "The Midnight Lanterns"
    home_city: str = "Paris"
    home_airport: str = "CDG"
    start: str = "2027-06-01"
    end: str = "2027-06-20"
    email: str = "alex@example.org"

    def prompt(self) -> str:
        """The user message of this request."""
        return (
            f"I live in {self.home_city} (airport {self.home_airport}). I'd like to see {self.artist} "
            f"live somewhere between {self.start} and {self.end}: find the concerts, compare the trips, "
            f"pick the best one, and email me the itinerary and a calendar file at {self.email}."
        )


def build_agent(
    model: Model,
    *,
    workspace: Workspace,
    mailer: Mailer | None = None,
    provider: TravelProvider | None = None,
) -> Agent[str]:
    """The trip-planner agent.

    Args:
        model: the model (``KimiModel`` live, ``ReplayModel`` offline).
        workspace: where the itinerary, calendar file and outbox are written.
        mailer: how email is delivered (default: ``.eml`` files in the workspace's outbox).
        provider: the travel APIs (default: `SampleTravelProvider`, SAMPLE DATA).
    """
    tools: list[Tool] = [
        update_plan,
        *travel_tools(provider or SampleTravelProvider()),
        *(t for t in file_tools(workspace) if t.name == "write_file"),
        *(t for t in calendar_tools(workspace) if t.name == "write_calendar"),
        *email_tools(mailer or Mailer(workspace, sender="trip-planner@localhost")),
    ]
    return Agent(model, instructions=INSTRUCTIONS, tools=tools, name="trip_planner", max_turns=12)
