"""Calendar tools: write iCalendar (``.ics``, RFC 5545) files; date and time helpers.

>>> from datetime import datetime
>>> from zoneinfo import ZoneInfo
>>> event = CalendarEvent(
...     summary="Concert, Osaka",
...     start=datetime(2026, 5, 16, 18, 0, tzinfo=ZoneInfo("Asia/Tokyo")),
...     end=datetime(2026, 5, 16, 21, 0, tzinfo=ZoneInfo("Asia/Tokyo")),
... )
>>> [line for line in to_ics([event]).splitlines() if line.startswith("DT")][1:]
['DTSTART:20260516T090000Z', 'DTEND:20260516T120000Z']
>>> nights_between("2026-05-15", "2026-05-18")
3
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Annotated, Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, Field

from agentkit import Tool, tool
from agentkit_tools.workspace import Workspace, WorkspaceError

__all__ = [
    "CalendarEvent",
    "EventSpec",
    "calendar_tools",
    "event_from_spec",
    "local_datetime",
    "nights_between",
    "to_ics",
    "write_ics",
]

_PRODID = "-//agentkit//agentkit-tools calendar//EN"


@dataclass(frozen=True, kw_only=True, slots=True)
class CalendarEvent:
    """One calendar entry. Times must be time-zone aware; all-day events use dates.

    Attributes:
        summary: the title.
        start: start time (aware ``datetime``) or day (``date`` for an all-day event).
        end: end time, or the day after the last day of an all-day event.
        location: where.
        description: notes.
        uid: a stable unique id; derived from the content when omitted.
    """

    summary: str
    start: datetime | date
    end: datetime | date
    location: str = ""
    description: str = ""
    uid: str = ""


#: Every line break Python knows (CR, LF, VT, FF, FS/GS/RS, NEL, U+2028/9) becomes one escaped newline.
_LINE_BREAK = re.compile(r"\r\n|[\r\n\x0b\x0c\x1c-\x1e\x85\u2028\u2029]")
#: Other controls RFC 5545 TEXT may not hold (C0 but TAB, DEL, C1) are dropped.
_CONTROL = re.compile(r"[\x00-\x08\x0e-\x1b\x1f\x7f-\x9f]")


def _escape(text: str) -> str:
    """A TEXT value (RFC 5545 §3.3.11): backslash, semicolon, comma and line breaks escaped.

    Control characters (ESC, NUL, ...) are dropped, and every kind of line break is
    written as an escaped newline, so no value can start a line or a property of its own.
    """
    text = _CONTROL.sub("", _LINE_BREAK.sub("\n", text))
    text = text.replace("\\", "\\\\").replace(";", "\\;").replace(",", "\\,")
    return text.replace("\n", "\\n")


def _fold(line: str) -> list[str]:
    """Fold a content line at 75 octets (RFC 5545 §3.1), never inside a UTF-8 character."""
    out: list[str] = []
    current, size, limit = "", 0, 75
    for char in line:
        width = len(char.encode())
        if size + width > limit:
            out.append(current)
            current, size, limit = " ", 1, 75
        current += char
        size += width
    out.append(current)
    return out


def _when(name: str, value: datetime | date) -> str:
    if isinstance(value, datetime):
        if value.tzinfo is None:
            raise ValueError(f"{name} must be time-zone aware (give tzinfo)")
        return f"{name}:{value.astimezone(UTC):%Y%m%dT%H%M%SZ}"
    return f"{name};VALUE=DATE:{value:%Y%m%d}"


def to_ics(events: Sequence[CalendarEvent], *, stamp: datetime | None = None) -> str:
    """The iCalendar text (CRLF line ends, folded lines) of ``events``.

    Args:
        events: the entries.
        stamp: the ``DTSTAMP`` written (default: now).
    """
    stamped = (stamp or datetime.now(UTC)).astimezone(UTC)
    lines = ["BEGIN:VCALENDAR", "VERSION:2.0", f"PRODID:{_PRODID}", "CALSCALE:GREGORIAN"]
    for event in events:
        if event.end < event.start:
            raise ValueError(f"event {event.summary!r} ends before it starts")
        if isinstance(event.start, datetime) != isinstance(event.end, datetime):
            raise ValueError(f"event {event.summary!r}: start and end must both be dates or both datetimes")
        digest = hashlib.sha256(f"{event.summary}|{event.start}|{event.end}".encode()).hexdigest()[:16]
        lines += [
            "BEGIN:VEVENT",
            f"UID:{_escape(event.uid) if event.uid else digest + '@agentkit'}",
            f"DTSTAMP:{stamped:%Y%m%dT%H%M%SZ}",
            _when("DTSTART", event.start),
            _when("DTEND", event.end),
            f"SUMMARY:{_escape(event.summary)}",
        ]
        if event.location:
            lines.append(f"LOCATION:{_escape(event.location)}")
        if event.description:
            lines.append(f"DESCRIPTION:{_escape(event.description)}")
        lines.append("END:VEVENT")
    lines.append("END:VCALENDAR")
    return "".join(part + "\r\n" for line in lines for part in _fold(line))


def write_ics(workspace: Workspace, path: str, events: Sequence[CalendarEvent]) -> str:
    """Write ``events`` to the ``.ics`` file ``path`` in the workspace; return its relative path."""
    if not path.endswith(".ics"):
        raise WorkspaceError(f"{path!r}: a calendar file name must end in .ics")
    text = to_ics(events)
    with workspace.open(path, "wb", make_parents=True) as out:
        out.write(text.encode())
    return "/".join(workspace.parts(path))


def local_datetime(value: str, timezone: str) -> datetime:
    """Parse ``YYYY-MM-DDTHH:MM`` (or a date) as local time in an IANA time zone.

    Raises:
        WorkspaceError: the text or the time zone is not understood (the model may retry).
    """
    try:
        zone = ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError):
        raise WorkspaceError(f"unknown time zone {timezone!r}; use an IANA name like Europe/Paris") from None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise WorkspaceError(f"{value!r} is not an ISO date or date-time (YYYY-MM-DDTHH:MM)") from None
    return parsed.replace(tzinfo=zone) if parsed.tzinfo is None else parsed.astimezone(zone)


def nights_between(check_in: str, check_out: str) -> int:
    """Nights between two ISO dates (a hotel stay)."""
    return (date.fromisoformat(check_out) - date.fromisoformat(check_in)).days


class EventSpec(BaseModel):
    """One event as the model describes it: local times plus their IANA time zone."""

    summary: str = Field(description="Event title.")
    start: str = Field(description="Local start, YYYY-MM-DDTHH:MM (or YYYY-MM-DD for all day).")
    end: str = Field(description="Local end, YYYY-MM-DDTHH:MM (or YYYY-MM-DD, the last day, for all day).")
    timezone: str = Field(description="IANA time zone of start (and of end), e.g. Asia/Tokyo.")
    end_timezone: str | None = Field(default=None, description="IANA time zone of end, when it differs.")
    location: str = Field(default="", description="Where.")
    description: str = Field(default="", description="Notes.")


def event_from_spec(spec: EventSpec) -> CalendarEvent:
    """Turn a model-given `EventSpec` into a `CalendarEvent` (all-day when dates)."""
    start = local_datetime(spec.start, spec.timezone)
    end = local_datetime(spec.end, spec.end_timezone or spec.timezone)
    all_day = "T" not in spec.start and "T" not in spec.end
    return CalendarEvent(
        summary=spec.summary,
        start=start.date() if all_day else start,
        end=end.date() + timedelta(days=1) if all_day else end,
        location=spec.location,
        description=spec.description,
    )


def calendar_tools(workspace: Workspace) -> list[Tool]:
    """Build ``write_calendar`` (an ``.ics`` file in ``workspace``) and ``count_nights``."""

    @tool
    def write_calendar(
        path: str, events: Annotated[list[EventSpec], Field(min_length=1, max_length=100)]
    ) -> dict[str, Any]:
        """Write events to an iCalendar (.ics) file in the workspace, importable by any calendar app.

        Args:
            path: File path relative to the workspace, ending in .ics.
            events: The events, with local times and their time zone.
        """
        try:
            converted = [event_from_spec(spec) for spec in events]
            written = write_ics(workspace, path, converted)
        except ValueError as err:
            raise WorkspaceError(str(err)) from None
        return {"path": written, "events": len(converted)}

    @tool
    def count_nights(check_in: str, check_out: str) -> int:
        """Number of nights between two dates (YYYY-MM-DD).

        Args:
            check_in: Arrival date.
            check_out: Departure date.
        """
        return nights_between(check_in, check_out)

    return [write_calendar, count_nights]
