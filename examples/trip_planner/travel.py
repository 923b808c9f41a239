"""The travel "APIs" of the trip planner: a provider interface, its tools, and a SAMPLE provider.

`TravelProvider` is the seam: the agent's tools call a provider, and
`SampleTravelProvider` (the default, for the offline demo) serves SAMPLE
DATA generated deterministically from its inputs. The artist, the concerts, the
flights, the hotels and the forecasts it returns are invented, and every result
says so (``"sample_data": true``). To plan a real trip, implement the four methods
of `TravelProvider` over real APIs (a ticketing API, a flight search, a
hotel search, a weather service) and pass it to ``build_agent(provider=...)``.
"""

from __future__ import annotations

import hashlib
from datetime import date, datetime, time, timedelta
from typing import Annotated, Protocol
from zoneinfo import ZoneInfo

import anyio
from pydantic import BaseModel, ConfigDict, Field

from agentkit import Tool, tool

__all__ = [
    "Concert",
    "Flight",
    "Forecast",
    "Hotel",
    "SampleTravelProvider",
    "TravelProvider",
    "travel_tools",
]

_IATA = Annotated[str, Field(pattern=r"^[A-Z]{3}$", description="IATA airport code, e.g. CDG.")]
_DAY = Annotated[str, Field(pattern=r"^\d{4}-\d{2}-\d{2}$", description="A date, YYYY-MM-DD.")]


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True)


class Concert(_Frozen):
    """A concert of the artist's tour."""

    artist: str
    city: str
    country: str
    venue: str
    date: str
    doors_local: str = Field(description="Doors open, local time HH:MM.")
    start_local: str = Field(description="Show starts, local time HH:MM.")
    timezone: str
    airport: str
    ticket_eur: int
    sample_data: bool = True


class Flight(_Frozen):
    """One flight offer (times are local to each airport)."""

    carrier: str
    flight_no: str
    origin: str
    dest: str
    date: str
    depart_local: str = Field(description="Departure, local time at the origin, HH:MM.")
    arrive_date: str
    arrive_local: str = Field(description="Arrival, local time at the destination, HH:MM.")
    origin_timezone: str
    dest_timezone: str
    stops: int
    price_eur: int
    sample_data: bool = True


class Hotel(_Frozen):
    """One hotel offer for a stay."""

    name: str
    city: str
    check_in: str
    check_out: str
    nights: int
    price_per_night_eur: int
    total_eur: int
    rating: float
    distance_to_venue_km: float
    sample_data: bool = True


class Forecast(_Frozen):
    """The weather expected on a day."""

    city: str
    date: str
    summary: str
    high_c: int
    low_c: int
    rain_chance_pct: int
    sample_data: bool = True


class TravelProvider(Protocol):
    """Where the travel tools get their answers; implement it over real APIs to go live."""

    async def concerts(self, artist: str, start: date, end: date) -> list[Concert]:
        """Concerts of ``artist`` between ``start`` and ``end`` (inclusive)."""
        ...

    async def flights(self, origin: str, dest: str, day: date) -> list[Flight]:
        """Flight offers from ``origin`` to ``dest`` on ``day``."""
        ...

    async def hotels(self, city: str, check_in: date, check_out: date) -> list[Hotel]:
        """Hotel offers in ``city`` for the stay."""
        ...

    async def forecast(self, city: str, day: date) -> Forecast:
        """The expected weather in ``city`` on ``day``."""
        ...


def _pick(*key: object, modulo: int) -> int:
    """A stable pseudo-random number from ``key`` (the same inputs always give the same sample)."""
    digest = hashlib.sha256("|".join(map(str, key)).encode()).digest()
    return int.from_bytes(digest[:4], "big") % modulo


# --- SAMPLE DATA: an invented artist and tour --------------------------------------------------
_TOUR = [  # city, country, venue, day offset from the window start, time zone, airport, typical high
    ("Lisbon", "Portugal", "Coliseu dos Recreios", 5, "Europe/Lisbon", "LIS", 27),
    ("Barcelona", "Spain", "Sala Apolo", 9, "Europe/Madrid", "BCN", 28),
    ("Berlin", "Germany", "Columbiahalle", 13, "Europe/Berlin", "BER", 23),
    ("Copenhagen", "Denmark", "Vega", 17, "Europe/Copenhagen", "CPH", 20),
]
_AIRPORT_ZONES = {"CDG": "Europe/Paris", "ORY": "Europe/Paris"} | {t[5]: t[4] for t in _TOUR}
_CARRIERS = [("Sample Air", "SA"), ("Demo Airways", "DA"), ("Example Jet", "EJ")]
_HOTEL_NAMES = ["Hotel Mirador", "The Lantern Rooms", "Casa Central", "Station Inn"]
_SKIES = ["sunny", "partly cloudy", "cloudy", "light showers"]


class SampleTravelProvider:
    """SAMPLE DATA for the offline demo: an invented artist on an invented tour, invented offers.

    Args:
        artist: the (fictional) artist whose tour is served; other names find no concerts.
        latency_s: seconds each answer takes, standing in for a real API (the demo shows the
            parallel calls overlapping); 0 in tests.
    """

    def __init__(self, artist: str = "The Midnight Lanterns", *, latency_s: float = 0.0) -> None:
        self.artist = artist
        self.latency_s = latency_s

    async def _wait(self) -> None:
        if self.latency_s:
            await anyio.sleep(self.latency_s)

    async def concerts(self, artist: str, start: date, end: date) -> list[Concert]:
        """Tour dates falling in the window (the tour is laid out from the window's first day)."""
        await self._wait()
        if artist.strip().lower() != self.artist.lower():
            return []
        found = []
        for city, country, venue, offset, zone, airport, _ in _TOUR:
            day = start + timedelta(days=offset)
            if day <= end:
                ticket = 45 + 5 * _pick(artist, city, modulo=8)
                found.append(
                    Concert(
                        artist=self.artist,
                        city=city,
                        country=country,
                        venue=venue,
                        date=day.isoformat(),
                        doors_local="19:00",
                        start_local="20:30",
                        timezone=zone,
                        airport=airport,
                        ticket_eur=ticket,
                    )
                )
        return found

    async def flights(self, origin: str, dest: str, day: date) -> list[Flight]:
        """Three offers a day, priced and timed from the route and date."""
        await self._wait()
        offers = []
        for index, (carrier, code) in enumerate(_CARRIERS):
            minutes = 7 * 60 + index * 240 + 5 * _pick(origin, dest, day, index, modulo=12)
            duration = 110 + 5 * _pick(origin, dest, modulo=20) + (75 if index == 2 else 0)
            here, there = (ZoneInfo(_AIRPORT_ZONES.get(code, "UTC")) for code in (origin, dest))
            depart = datetime.combine(day, time(minutes // 60, minutes % 60), here)
            arrive = (depart + timedelta(minutes=duration)).astimezone(there)
            price = 60 + 7 * _pick(origin, dest, day, code, modulo=30) - (20 if index == 2 else 0)
            offers.append(
                Flight(
                    carrier=carrier,
                    flight_no=f"{code}{100 + _pick(origin, dest, code, modulo=800)}",
                    origin=origin,
                    dest=dest,
                    date=day.isoformat(),
                    depart_local=f"{depart:%H:%M}",
                    arrive_date=arrive.date().isoformat(),
                    arrive_local=f"{arrive:%H:%M}",
                    origin_timezone=str(here),
                    dest_timezone=str(there),
                    stops=1 if index == 2 else 0,
                    price_eur=price,
                )
            )
        return sorted(offers, key=lambda f: f.price_eur)

    async def hotels(self, city: str, check_in: date, check_out: date) -> list[Hotel]:
        """Three offers near the venue."""
        await self._wait()
        nights = (check_out - check_in).days
        offers = []
        for index, name in enumerate(_HOTEL_NAMES[:3]):
            rate = 70 + 10 * _pick(city, name, check_in, modulo=12)
            offers.append(
                Hotel(
                    name=f"{name} {city}",
                    city=city,
                    check_in=check_in.isoformat(),
                    check_out=check_out.isoformat(),
                    nights=nights,
                    price_per_night_eur=rate,
                    total_eur=rate * nights,
                    rating=round(3.6 + 0.1 * _pick(city, name, modulo=13), 1),
                    distance_to_venue_km=round(0.4 + 0.6 * index + 0.1 * _pick(name, city, modulo=9), 1),
                )
            )
        return sorted(offers, key=lambda h: h.total_eur)

    async def forecast(self, city: str, day: date) -> Forecast:
        """A plausible day for the city's season (invented, not a real forecast)."""
        await self._wait()
        high = next((t[6] for t in _TOUR if t[0] == city), 22) + _pick(city, day, modulo=5) - 2
        rain = 10 + 10 * _pick(day, city, modulo=6)
        return Forecast(
            city=city,
            date=day.isoformat(),
            summary=_SKIES[min(3, rain // 20)],
            high_c=high,
            low_c=high - 8,
            rain_chance_pct=rain,
        )


def travel_tools(provider: TravelProvider) -> list[Tool]:
    """The four travel tools the agent calls, answered by ``provider``."""

    @tool
    async def search_concerts(artist: str, start: _DAY, end: _DAY) -> list[Concert]:
        """Find the artist's concerts between two dates.

        Args:
            artist: The artist's name.
            start: First day of the window.
            end: Last day of the window.
        """
        return await provider.concerts(artist, date.fromisoformat(start), date.fromisoformat(end))

    @tool
    async def search_flights(origin: _IATA, dest: _IATA, day: _DAY) -> list[Flight]:
        """Flight offers for one day, cheapest first.

        Args:
            origin: Departure airport.
            dest: Arrival airport.
            day: Departure date.
        """
        return await provider.flights(origin, dest, date.fromisoformat(day))

    @tool
    async def search_hotels(city: str, check_in: _DAY, check_out: _DAY) -> list[Hotel]:
        """Hotel offers for a stay, cheapest first.

        Args:
            city: The city.
            check_in: Arrival date.
            check_out: Departure date.
        """
        return await provider.hotels(city, date.fromisoformat(check_in), date.fromisoformat(check_out))

    @tool
    async def weather_forecast(city: str, day: _DAY) -> Forecast:
        """The weather expected in a city on a day.

        Args:
            city: The city.
            day: The date.
        """
        return await provider.forecast(city, date.fromisoformat(day))

    return [search_concerts, search_flights, search_hotels, weather_forecast]
