"""Reading trace files: `read_trace` returns a `Trace`.

A truncated last line (the writer crashed mid-record) is dropped with a warning; any other
malformed line, a missing header or an unknown format version raises
[`TraceFormatError`][agentkit.exceptions.TraceFormatError] naming the file and line.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson

from agentkit.exceptions import TraceFormatError
from agentkit.messages import Message, message_from_dict
from agentkit.model_types import ToolDefinition
from agentkit.tracing._codec import SAME_TOOLS, tool_definition_from_json
from agentkit.tracing._records import FORMAT_NAME, FORMAT_VERSION
from agentkit.tracing.blobs import BLOB_REF, resolve_blobs

__all__ = ["Trace", "TruncatedTraceWarning", "read_trace", "read_traces"]

BLOB_MARK = f'"{BLOB_REF}'.encode()


class TruncatedTraceWarning(UserWarning):
    """A trace file's last line was cut off (the run crashed or is still being written)."""


@dataclass(frozen=True, kw_only=True, slots=True)
class Trace:
    """One recorded run: its header and its records, in the order they were written.

    Attributes:
        header: the header record (format, version, origin, agent, model, tools, ...).
        records: every record after the header (``model_call``, ``tool_call``, ``turn``,
            ``final`` / ``failed``), as decoded JSON.
        truncated: the file ended mid-record (the partial record was dropped).
        source: where the trace was read from.
    """

    header: Mapping[str, Any]
    records: Sequence[Mapping[str, Any]]
    truncated: bool = False
    source: str = ""

    @property
    def origin(self) -> str:
        """``"recorded"`` (captured from a live service) or ``"authored"``."""
        return str(self.header.get("origin"))

    @property
    def tools(self) -> tuple[ToolDefinition, ...]:
        """The tool definitions the model was offered."""
        return tuple(tool_definition_from_json(t) for t in self.header.get("tools", ()))

    def of_type(self, kind: str) -> list[Mapping[str, Any]]:
        """Return the records of one ``type``, in order."""
        return [r for r in self.records if r.get("type") == kind]

    @property
    def model_calls(self) -> list[Mapping[str, Any]]:
        """The ``model_call`` records, in order."""
        return self.of_type("model_call")

    @property
    def final(self) -> Mapping[str, Any] | None:
        """The ``final`` or ``failed`` record, if the run ended."""
        ends = [r for r in self.records if r.get("type") in ("final", "failed")]
        return ends[-1] if ends else None

    def requests(self) -> Iterator[dict[str, Any]]:
        """Yield each model call's full neutral request (JSON form), undoing the delta coding."""
        messages: list[dict[str, Any]] = []
        tools: Any = []
        for record in self.model_calls:
            request = record["request"]
            messages = [*messages[: request["base"]], *request["messages"]]
            if request.get("tools") != SAME_TOOLS:
                tools = request.get("tools", [])
            yield {**request, "base": 0, "messages": messages, "tools": tools}

    def messages(self) -> tuple[Message, ...]:
        """The conversation as of the last model call, plus that call's answer."""
        last: dict[str, Any] = {"messages": []}
        for last in self.requests():  # noqa: B007 - only the last one is wanted
            pass
        out = [message_from_dict(m) for m in last["messages"]]
        calls = self.model_calls
        if calls and calls[-1].get("response"):
            out.append(message_from_dict(calls[-1]["response"]["message"]))
        return tuple(out)


def read_traces(path: str | os.PathLike[str]) -> list[Trace]:
    """Read every run in the file at ``path`` (a file written by one writer may hold several).

    Raises:
        TraceFormatError: the file is not an agentkit trace, or of another format version.
    """
    source = os.fspath(path)
    lines = Path(path).read_bytes().split(b"\n")
    records, truncated = _decode_lines(source, lines)
    runs: list[tuple[dict[str, Any], list[dict[str, Any]]]] = []
    for number, record in records:
        if record.get("type") == "header":
            _check_header(source, number, record)
            runs.append((record, []))
        elif not runs:
            raise TraceFormatError(f"{source}:{number}: expected the header record first, got {record!r:.80}")
        else:
            runs[-1][1].append(record)
    if not runs:
        raise TraceFormatError(f"{source}: empty trace file (no header)")
    return [
        Trace(header=h, records=r, truncated=truncated and i == len(runs) - 1, source=source)
        for i, (h, r) in enumerate(runs)
    ]


def read_trace(path: str | os.PathLike[str]) -> Trace:
    """Read the one run recorded in the file at ``path``.

    Raises:
        TraceFormatError: not an agentkit trace, another format version, or several runs.
    """
    runs = read_traces(path)
    if len(runs) > 1:
        raise TraceFormatError(f"{os.fspath(path)} holds {len(runs)} runs: use read_traces()")
    return runs[0]


def _decode_lines(source: str, lines: list[bytes]) -> tuple[list[tuple[int, dict[str, Any]]], bool]:
    while lines and not lines[-1].strip():
        lines.pop()
    out: list[tuple[int, dict[str, Any]]] = []
    blobs: dict[str, str] = {}
    truncated = False
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            record = orjson.loads(line)
        except orjson.JSONDecodeError as err:
            if number == len(lines):
                warnings.warn(
                    f"{source}:{number}: last line is incomplete (the run was cut off); it was skipped",
                    TruncatedTraceWarning,
                    stacklevel=3,
                )
                truncated = True
                break
            raise TraceFormatError(f"{source}:{number}: not a JSON record ({err})") from None
        if not isinstance(record, dict):
            raise TraceFormatError(f"{source}:{number}: a record must be a JSON object")
        if record.get("type") == "blob":
            blobs[str(record.get("sha256"))] = str(record.get("data"))
            continue
        if BLOB_MARK in line:
            try:
                record = resolve_blobs(record, blobs)
            except TraceFormatError as err:
                raise TraceFormatError(f"{source}:{number}: {err}") from None
        out.append((number, record))
    return out, truncated


def _check_header(source: str, number: int, header: Mapping[str, Any]) -> None:
    if header.get("format") != FORMAT_NAME:
        raise TraceFormatError(f"{source}:{number}: not an agentkit trace (format {header.get('format')!r})")
    version = header.get("version")
    if version != FORMAT_VERSION:
        raise TraceFormatError(
            f"{source}:{number}: trace format version {version!r} is not supported "
            f"(this agentkit reads version {FORMAT_VERSION}); re-record the trace or upgrade agentkit"
        )
