"""Calendar tools: RFC 5545 text (escaping, folding, UTC times, all-day events) and date helpers."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from agentkit_tools import CalendarEvent, Workspace, WorkspaceError, calendar_tools
from agentkit_tools.calendar import local_datetime, to_ics

pytestmark = pytest.mark.anyio

_STAMP = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)


def _unfold(text: str) -> list[str]:
    return text.replace("\r\n ", "").split("\r\n")


def test_ics_lines_are_crlf_folded_and_escaped() -> None:
    """Lines end in CRLF, stay within 75 octets, and commas, semicolons and newlines are escaped."""
    event = CalendarEvent(
        summary="Gig; then dinner, drinks",
        start=datetime(2026, 5, 16, 18, tzinfo=ZoneInfo("Asia/Tokyo")),
        end=datetime(2026, 5, 16, 21, tzinfo=ZoneInfo("Asia/Tokyo")),
        description="Line one\nLine two " + "ü" * 80,
    )
    text = to_ics([event], stamp=_STAMP)
    assert text.endswith("END:VCALENDAR\r\n")
    assert all(len(line.encode()) <= 75 for line in text.split("\r\n"))
    lines = _unfold(text)
    assert "SUMMARY:Gig\\; then dinner\\, drinks" in lines
    assert "DESCRIPTION:Line one\\nLine two " + "ü" * 80 in lines
    assert "DTSTART:20260516T090000Z" in lines
    assert "DTSTAMP:20260102T030405Z" in lines


def test_all_day_events_use_dates_and_naive_times_are_refused() -> None:
    """All-day events are written as VALUE=DATE; a datetime without a time zone is an error."""
    text = to_ics(
        [CalendarEvent(summary="Trip", start=date(2026, 5, 15), end=date(2026, 5, 19))], stamp=_STAMP
    )
    assert "DTSTART;VALUE=DATE:20260515" in _unfold(text)
    with pytest.raises(ValueError, match="time-zone aware"):
        to_ics([CalendarEvent(summary="x", start=datetime(2026, 1, 1), end=datetime(2026, 1, 2))])


async def test_write_calendar_tool_converts_local_times(tmp_path: Path) -> None:
    """The tool takes local times plus an IANA zone, writes the file and reports its relative path."""
    workspace = Workspace(tmp_path)
    write_calendar, count_nights = calendar_tools(workspace)
    events = [
        {
            "summary": "Flight",
            "start": "2026-05-15T10:05",
            "end": "2026-05-15T13:40",
            "timezone": "Europe/Paris",
        },
        {"summary": "Hotel", "start": "2026-05-15", "end": "2026-05-17", "timezone": "Asia/Tokyo"},
    ]
    out = await write_calendar.call(json.dumps({"path": "trip/plan.ics", "events": events}))
    assert json.loads(out) == {"path": "trip/plan.ics", "events": 2}
    lines = _unfold((tmp_path / "trip/plan.ics").read_bytes().decode())
    assert "DTSTART:20260515T080500Z" in lines
    assert "DTEND;VALUE=DATE:20260518" in lines  # the day after the last day
    assert await count_nights.call('{"check_in": "2026-05-15", "check_out": "2026-05-18"}') == "3"


async def test_bad_zone_and_bad_path_are_tool_errors(tmp_path: Path) -> None:
    """An unknown time zone or a file name without .ics is reported to the model, nothing is written."""
    write_calendar, _ = calendar_tools(Workspace(tmp_path))
    event = {"summary": "x", "start": "2026-05-15T10:00", "end": "2026-05-15T11:00", "timezone": "Mars/Base"}
    with pytest.raises(WorkspaceError, match="unknown time zone"):
        await write_calendar.call(json.dumps({"path": "a.ics", "events": [event]}))
    with pytest.raises(WorkspaceError, match=r"\.ics"):
        await write_calendar.call(json.dumps({"path": "a.txt", "events": [{**event, "timezone": "UTC"}]}))
    assert not (tmp_path / "a.ics").exists()
    assert not (tmp_path / "a.txt").exists()


def test_local_datetime_attaches_the_zone() -> None:
    """A naive ISO time is read as local time in the given zone."""
    assert local_datetime("2026-07-01T12:00", "Europe/Lisbon").utcoffset() is not None
    assert local_datetime("2026-07-01T12:00", "Europe/Lisbon").astimezone(UTC).hour == 11


def test_text_values_hold_no_controls_or_stray_line_breaks() -> None:
    """Bare CR, VT, FF, NEL, U+2028/9, ESC, NUL and DEL in text never reach the file; breaks are escaped."""
    nasty = "a\rb\x0bc\x0cd\x85e\u2028f\u2029g\x1b]52;c;x\x07h\x00i\x7fj\r\nBEGIN:VEVENT"
    event = CalendarEvent(
        summary=nasty,
        start=date(2026, 5, 16),
        end=date(2026, 5, 17),
        location=nasty,
        description=nasty,
        uid="id\r\nX-EVIL:1",
    )
    text = to_ics([event], stamp=_STAMP)
    body = text.replace("\r\n", "")  # the CRLF line ends (and folds) are the only breaks allowed
    assert not [
        c for c in body if (ord(c) < 0x20 and c != "\t") or 0x7F <= ord(c) <= 0x9F or c in "\u2028\u2029"
    ]
    lines = _unfold(text)
    assert [line.split(":", 1)[0] for line in lines].count("BEGIN") == 2  # VCALENDAR and one VEVENT
    assert "SUMMARY:a\\nb\\nc\\nd\\ne\\nf\\ng]52\\;c\\;xhij\\nBEGIN:VEVENT" in lines
    assert "UID:id\\nX-EVIL:1" in lines
