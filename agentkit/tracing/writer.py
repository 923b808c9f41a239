"""The JSONL trace recorder: ``agent.run(prompt, trace="run.jsonl")`` attaches one.

Records are written append-only, one JSON document a line, and flushed after each event,
so a crash leaves a readable prefix. The header comes first; it is written when the
first record after it is known, so that ``origin`` can say whether the responses came
over a wire (``"recorded"``) or from an in-process double (``"authored"``), unless
``origin`` is given. Secrets never reach the file (see `Redactor`).
"""

from __future__ import annotations

import os
import re
import threading
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import IO, Any, Final, Literal

import orjson

from agentkit._log import get_logger
from agentkit._redact import Redactor
from agentkit.events import Event, RunStarted
from agentkit.hooks import RunHooks
from agentkit.tracing._records import RecordEncoder
from agentkit.tracing.blobs import DATA_IMAGE, extract_blobs

__all__ = ["TRACE_DIR_ENV", "Origin", "TraceWriter", "trace_hook"]

#: Set to a folder to record every run of every agent there, one file per run.
TRACE_DIR_ENV: Final = "AGENTKIT_TRACE_DIR"

Origin = Literal["recorded", "authored"]

_log = get_logger("agentkit.tracing")
_SAFE = re.compile(r"[^A-Za-z0-9._-]+")
_OPTIONS: Final = orjson.OPT_APPEND_NEWLINE
#: Records hold str keys (bodies decoded from JSON, encoders' own dicts); a provider's raw body
#: with other keys is rare, so the slower option that accepts them is only the fallback.
_ANY_KEYS: Final = _OPTIONS | orjson.OPT_NON_STR_KEYS


class TraceWriter(RunHooks):
    """Records runs as JSONL trace files (format: ``docs/trace-format.md``).

    Args:
        target: a file path, a folder (``directory=True``: one file per run, named
            ``<agent>-<run id>.jsonl``), or an open binary file object (left open).
        origin: ``"recorded"`` (captured from a live service) or ``"authored"``; by
            default decided from the first model response (a wire body means recorded).
        secrets: extra strings that must never reach the file.
        directory: treat ``target`` as a folder.
        header: more header fields saying what was recorded (e.g. ``server``,
            ``server_version``); the standard fields keep their meaning and win a clash.

    One writer on a path records one run at a time; a second run on the same path
    replaces the file.
    """

    def __init__(
        self,
        target: str | os.PathLike[str] | IO[bytes],
        *,
        origin: Origin | None = None,
        secrets: Iterable[str] = (),
        directory: bool = False,
        header: Mapping[str, Any] | None = None,
    ) -> None:
        self._target = target
        self._extra_header = dict(header or {})
        self._origin: Origin | None = origin
        self._directory = directory
        self._redactor = Redactor(secrets)
        self._lock = threading.Lock()
        self._encoder: RecordEncoder | None = None
        self._file: IO[bytes] | None = None
        self._pending: dict[str, Any] | None = None
        self._blobs: set[str] = set()
        self.path: Path | None = None

    def on_event(self, event: Event) -> None:
        """Encode ``event`` and append its record (never raises into the loop)."""
        try:
            with self._lock:
                if isinstance(event, RunStarted):
                    self._start(event)
                    return
                encoder = self._encoder
                record = None if encoder is None else encoder.encode(event)
                if record is None:
                    return
                if self._pending is not None:
                    self._write_header(record)
                self._write(record)
                if record["type"] in ("final", "failed"):
                    self._finish()
        except (OSError, TypeError, ValueError) as err:
            _log.warning("trace.write_failed", path=str(self.path), error=f"{type(err).__name__}: {err}")

    def _start(self, event: RunStarted) -> None:
        self._finish()
        self._encoder = RecordEncoder(origin=self._origin)
        self._encoder.encode(event)
        self._pending = self._encoder.header
        if isinstance(self._target, str | os.PathLike):
            path = Path(self._target)
            if self._directory:
                path.mkdir(parents=True, exist_ok=True)
                path = path / f"{_SAFE.sub('_', event.agent_name)}-{event.run_id}.jsonl"
            self.path = path
            self._file = _open(path)
        else:
            self._file = self._target

    def _write_header(self, first: dict[str, Any]) -> None:
        header = self._pending
        assert header is not None
        if header["origin"] is None:
            header["origin"] = "recorded" if first.get("raw") is not None else "authored"
        for key, value in self._extra_header.items():
            header.setdefault(key, value)
        self._pending = None
        self._write(header)

    def _write(self, record: dict[str, Any]) -> None:
        assert self._file is not None
        encoded = _dumps(record)
        if record.get("type") == "header":
            self._blobs = set()
        elif DATA_IMAGE in encoded:
            # Inline images would be repeated in every later request of the run: each is written
            # once as a blob record and referenced by hash (see agentkit.tracing.blobs).
            record = extract_blobs(record, self._blobs, self._write_blob)
            encoded = _dumps(record)
        self._file.write(self._redactor.redact(encoded))  # our files are unbuffered: one write call
        if self._file is self._target:
            self._file.flush()  # a caller's file object may buffer

    def _write_blob(self, blob: dict[str, Any]) -> None:
        assert self._file is not None
        self._file.write(self._redactor.redact(_dumps(blob)))

    def _finish(self) -> None:
        if self._file is not None and self._file is not self._target:
            self._file.close()
        self._file = None
        self._encoder = None
        self._pending = None


def _dumps(record: dict[str, Any]) -> bytes:
    try:
        return orjson.dumps(record, default=str, option=_OPTIONS)
    except TypeError:  # a dict key that is not a str
        return orjson.dumps(record, default=str, option=_ANY_KEYS)


def _open(path: Path) -> IO[bytes]:
    """Open ``path`` unbuffered for writing (each record is one ``write``), creating its folder."""
    try:
        return open(path, "wb", buffering=0)
    except FileNotFoundError:
        path.parent.mkdir(parents=True, exist_ok=True)
        return open(path, "wb", buffering=0)


def trace_hook(
    target: str | os.PathLike[str] | IO[bytes], *, origin: Origin | None = None, secrets: Iterable[str] = ()
) -> TraceWriter:
    """Return the hook that records a run to ``target`` (a path or a binary file object) as JSONL.

    This is what ``agent.run(prompt, trace="run.jsonl")`` uses.
    """
    return TraceWriter(target, origin=origin, secrets=secrets)
