"""Approval decisions, pauses and plans of a recorded run, for the trace views.

Spans hold the run's work (model and tool calls); these records are moments in it:
a call waiting for approval, the decision on it, the run pausing, the model's plan
changing. `markers` lists them in order with their time since the run started;
`latest_plan` is the plan as the run left it.

>>> header = {"type": "header", "format": "agentkit-trace", "version": 1, "start_ns": 0}
>>> records = [
...     {"type": "plan", "turn": 1, "time_ns": 10**6, "explanation": None,
...      "steps": [{"step": "Find flights", "status": "in_progress"}]},
...     {"type": "approval_decided", "turn": 2, "time_ns": 2 * 10**6, "decision": "reject",
...      "call": {"id": "c1", "name": "send_email", "arguments": "{}"}, "message": "not now"},
... ]
>>> trace = Trace(header=header, records=records)
>>> [m.text for m in markers(trace)]
['plan: 0/1 done, now: Find flights', 'reject send_email: not now']
>>> format_plan(latest_plan(trace))
['[>] Find flights']
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

import orjson

from agentkit.tracing.reader import Trace

__all__ = ["MARKER_TYPES", "Marker", "format_plan", "latest_plan", "markers"]

#: The record types shown as markers on a run's timeline.
MARKER_TYPES: Final = ("approval_requested", "approval_decided", "paused", "plan")

_BOXES: Final = {"completed": "[x]", "in_progress": "[>]", "pending": "[ ]"}


@dataclass(frozen=True, kw_only=True, slots=True)
class Marker:
    """One moment of a run shown on its timeline.

    Attributes:
        kind: the record type (one of `MARKER_TYPES`).
        time_ns: when it happened (ns since the epoch).
        offset_s: seconds since the run started.
        turn: the model turn it belongs to (``None`` for a pause).
        text: a one-line description.
        record: the trace record itself.
    """

    kind: str
    time_ns: int
    offset_s: float
    turn: int | None
    text: str
    record: Mapping[str, Any]


def markers(trace: Trace) -> list[Marker]:
    """Return the run's approval, pause and plan records as timeline markers, in order."""
    start = int(trace.header.get("start_ns", 0))
    out: list[Marker] = []
    for record in trace.records:
        kind = record.get("type")
        if kind not in MARKER_TYPES:
            continue
        time_ns = int(record.get("time_ns", start))
        out.append(
            Marker(
                kind=str(kind),
                time_ns=time_ns,
                offset_s=(time_ns - start) / 1e9,
                turn=record.get("turn"),
                text=_describe(record),
                record=record,
            )
        )
    return out


def latest_plan(trace: Trace) -> Sequence[Mapping[str, Any]]:
    """Return the steps (``{"step", "status"}``) of the run's last plan, or none."""
    plans = trace.of_type("plan")
    return list(plans[-1].get("steps", ())) if plans else []


def format_plan(steps: Sequence[Mapping[str, Any]]) -> list[str]:
    """Return one line per step: a status box (``[x]`` done, ``[>]`` running, ``[ ]`` to do) and the step."""
    return [f"{_BOXES.get(str(s.get('status')), '[?]')} {s.get('step')}" for s in steps]


def _call_text(record: Mapping[str, Any], arguments: Any) -> str:
    name = (record.get("call") or {}).get("name", "?")
    shown = orjson.dumps(arguments).decode() if arguments is not None else ""
    return f"{name}({shown[:77] + '...' if len(shown) > 80 else shown})"


def _describe(record: Mapping[str, Any]) -> str:
    kind = record.get("type")
    if kind == "approval_requested":
        return f"approval requested: {_call_text(record, record.get('arguments'))}"
    if kind == "approval_decided":
        name = (record.get("call") or {}).get("name", "?")
        decision = record.get("decision")
        if decision == "reject":
            return f"reject {name}" + (f": {record['message']}" if record.get("message") else "")
        if decision == "edit":
            return f"edit {_call_text(record, record.get('arguments'))}"
        return f"approve {name}"
    if kind == "paused":
        pending = record.get("pending") or []
        names = ", ".join(_waiting_name(p) for p in pending)
        return f"paused: {len(pending)} call(s) wait for approval ({names})"
    steps = record.get("steps") or []
    done = sum(s.get("status") == "completed" for s in steps)
    now = next((s.get("step") for s in steps if s.get("status") == "in_progress"), None)
    return f"plan: {done}/{len(steps)} done" + (f", now: {now}" if now else "")


def _waiting_name(pending: dict[str, Any]) -> str:
    """A waiting call's tool name, after its agent's name when it waits inside an agent used as a tool."""
    name = str((pending.get("call") or {}).get("name", "?"))
    agent = pending.get("agent")
    return f"{agent}: {name}" if agent else name
