"""What one run of one case left behind, and the results file that keeps every run.

A `RunRecord` holds everything the evaluators look at (output, messages, tool calls,
turns, usage, cost, latency, error), so results can be scored again without calling the
model ([`agentkit.evals.rescore`][]). The results file is JSON Lines: a ``header`` line
naming the experiment, then one ``run`` line per case and repetition, appended and flushed
as each run finishes, so an interrupted eval keeps every finished run and resumes from them.
"""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path
from typing import IO, Any, Literal

import orjson
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from agentkit.exceptions import UserError

__all__ = ["ResultsFile", "RunRecord", "Score", "ToolCallRecord", "read_results"]

#: The results file's format version (the header says it).
RESULTS_VERSION = 1


class Score(BaseModel):
    """One evaluator's verdict on one run: a value in [0, 1], pass or fail, and why.

    Attributes:
        value: 1.0 is best; pass/fail evaluators give 1.0 or 0.0.
        passed: whether the run meets the evaluator's bar.
        reason: a short explanation (what was expected, what was seen).
    """

    model_config = ConfigDict(frozen=True)

    value: float = Field(ge=0.0, le=1.0)
    passed: bool
    reason: str = ""

    @classmethod
    def check(cls, ok: bool, reason: str = "") -> Score:
        """A pass/fail score: 1.0 when ``ok``, else 0.0."""
        return cls(value=1.0 if ok else 0.0, passed=ok, reason=reason)


class ToolCallRecord(BaseModel):
    """A tool call the model made: its name, raw arguments and whether the tool failed."""

    model_config = ConfigDict(frozen=True)

    name: str
    arguments: str
    is_error: bool = False


class RunRecord(BaseModel):
    """One run of one case (one repetition), as stored in the results file.

    Attributes:
        case: the case's name.
        repetition: which repetition (from 0).
        status: ``"ok"`` (the run finished) or ``"failed"`` (it raised; ``error`` says why).
        output: the final output (structured outputs as JSON), ``None`` when failed.
        error: ``{"type", "message"}`` of a failed run.
        messages: the run's new messages (prompt included), as ``message_to_dict`` writes them.
        tool_calls: every tool call in the order the model asked, with whether it failed.
        turns: model turns taken.
        usage: tokens and calls (``input_tokens``, ``output_tokens``, ``cached_tokens``, ...).
        cost_usd: what the run cost at the model's prices.
        latency_s: wall-clock seconds of the run.
        run_id: the run's id (logs and trace).
        model: the name of the model that answered (a replay reports the recorded one).
        trace: the run's trace file, when one was written.
        scores: each evaluator's score, by evaluator name.
        judge_cost_usd: what LLM judges spent scoring this run (not part of ``cost_usd``).
        judge_tokens: tokens LLM judges spent scoring this run.
        finished_at: when the run ended (Unix seconds).
    """

    model_config = ConfigDict(extra="ignore")

    case: str
    repetition: int = 0
    status: Literal["ok", "failed"] = "ok"
    output: Any = None
    error: dict[str, str] | None = None
    messages: list[dict[str, Any]] = Field(default_factory=list)
    tool_calls: list[ToolCallRecord] = Field(default_factory=list)
    turns: int = 0
    usage: dict[str, int] = Field(default_factory=dict)
    cost_usd: float = 0.0
    latency_s: float = 0.0
    run_id: str | None = None
    model: str | None = None
    trace: str | None = None
    scores: dict[str, Score] = Field(default_factory=dict)
    judge_cost_usd: float = 0.0
    judge_tokens: int = 0
    finished_at: float = Field(default_factory=time.time)

    @property
    def key(self) -> tuple[str, int]:
        """``(case, repetition)``: what a resumed eval skips."""
        return (self.case, self.repetition)

    @property
    def passed(self) -> bool:
        """The run finished and every evaluator passed it."""
        return self.status == "ok" and all(s.passed for s in self.scores.values())

    @property
    def output_text(self) -> str:
        """The output as text (structured outputs as JSON)."""
        if self.output is None:
            return ""
        if isinstance(self.output, str):
            return self.output
        return orjson.dumps(self.output, option=orjson.OPT_SORT_KEYS).decode()

    @property
    def total_tokens(self) -> int:
        """Input plus output tokens of the run."""
        return int(self.usage.get("input_tokens", 0)) + int(self.usage.get("output_tokens", 0))


def read_results(path: str | os.PathLike[str]) -> tuple[dict[str, Any], list[RunRecord]]:
    """Read a results file: its header and its run records (a cut-off last line is skipped).

    When a case and repetition appear twice (a rerun of a failed run), the later record wins.

    Raises:
        UserError: not a results file, or a malformed line before the last.
    """
    source = Path(path)
    lines = [line for line in source.read_bytes().split(b"\n") if line.strip()]
    header: dict[str, Any] = {}
    runs: dict[tuple[str, int], RunRecord] = {}
    for number, line in enumerate(lines, start=1):
        try:
            data = orjson.loads(line)
            if isinstance(data, dict) and data.get("type") == "header":
                header = data
                continue
            record = RunRecord.model_validate(data)
        except (orjson.JSONDecodeError, ValidationError) as err:
            if number == len(lines):
                break  # the eval was interrupted mid-write: that run is simply not finished
            raise UserError(f"{source}:{number}: not a results record ({err})") from None
        runs[record.key] = record
    if not header and runs:
        raise UserError(f"{source}: no header line: not an agentkit eval results file")
    return header, list(runs.values())


class ResultsFile:
    """Appends run records to a JSONL results file, one flushed line each (thread-safe).

    Args:
        path: the file; created with a header line when missing or empty.
        header: the experiment's header fields (name, dataset, model...).
    """

    def __init__(self, path: str | os.PathLike[str], header: dict[str, Any]) -> None:
        self.path = Path(path)
        self._lock = threading.Lock()
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fresh = not self.path.exists() or self.path.stat().st_size == 0
        if not fresh:
            _end_with_newline(self.path)
        self._file: IO[bytes] = open(self.path, "ab", buffering=0)  # noqa: SIM115 - closed in close()
        if fresh:
            self._write({"type": "header", "version": RESULTS_VERSION, **header})

    def append(self, record: RunRecord) -> None:
        """Write ``record`` as one line (a rescored or rerun record supersedes the earlier one)."""
        self._write({"type": "run", **record.model_dump(mode="json")})

    def _write(self, data: dict[str, Any]) -> None:
        line = orjson.dumps(data, default=str, option=orjson.OPT_APPEND_NEWLINE)
        with self._lock:
            self._file.write(line)

    def close(self) -> None:
        """Close the file."""
        self._file.close()

    def __enter__(self) -> ResultsFile:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _end_with_newline(path: Path) -> None:
    """Drop a cut-off last line (an interrupted write) so appended records start on their own line."""
    data = path.read_bytes()
    if data.endswith(b"\n"):
        return
    cut = data.rfind(b"\n") + 1
    with open(path, "r+b") as file:
        file.truncate(cut)
