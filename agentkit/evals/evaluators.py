"""Evaluators: each scores one run of one case in [0, 1], passes or fails it, and says why.

Output checks (`Equals`, `Contains`, `Regex`, `MatchesSchema`),
behaviour checks on the run's recorded tool calls and turns (`ToolCalled`,
`TurnsWithin`, `ToolCallsWithin`), budgets (`CostWithin`,
`LatencyWithin`, `TokensWithin`), any Python function (`Function`) and
an LLM judge with a rubric ([`LLMJudge`][agentkit.evals.judge.LLMJudge]). All are pydantic models
with a ``kind``, so a dataset file can name them.

>>> from agentkit.evals.records import RunRecord, ToolCallRecord
>>> from agentkit.evals.dataset import Case
>>> case = Case(name="c", prompt="?", expected_output="Oslo")
>>> run = RunRecord(case="c", output="It is sunny in Oslo.",
...                 tool_calls=[ToolCallRecord(name="weather", arguments='{"city": "Oslo", "days": 2}')])
>>> spend = JudgeSpend()
>>> Contains().evaluate(case, run, spend).passed
True
>>> ToolCalled(tool="weather", arguments={"city": "Oslo"}).evaluate(case, run, spend).passed
True
>>> ToolCalled(tool="send_email", called=False).evaluate(case, run, spend).reason
'send_email was not called, as required'
"""

from __future__ import annotations

import importlib
import inspect
import re
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Annotated, Any, Literal

import jsonschema
import orjson
from pydantic import BaseModel, Field, ValidationError

from agentkit.evals._base import Evaluator, JudgeSpend
from agentkit.evals.judge import LLMJudge
from agentkit.evals.records import RunRecord, Score

if TYPE_CHECKING:
    from agentkit.evals.dataset import Case

__all__ = [
    "Contains",
    "CostWithin",
    "Equals",
    "EvaluatorSpec",
    "Function",
    "LatencyWithin",
    "MatchesSchema",
    "NoToolErrors",
    "Regex",
    "TokensWithin",
    "ToolCalled",
    "ToolCallsWithin",
    "ToolOrder",
    "TurnsWithin",
]

_MISSING = object()


def _short(text: str, limit: int = 80) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _expected(value: Any, case: Case, who: str) -> Any:
    if value is not _MISSING and value is not None:
        return value
    if case.expected_output is None:
        raise ValueError(f"{who} needs a value, or the case's expected_output")
    return case.expected_output


class Equals(Evaluator):
    """The output equals ``value`` (default: the case's ``expected_output``).

    Text is compared after trimming whitespace (and case, unless ``case_sensitive``).
    """

    kind: Literal["equals"] = "equals"
    value: Any = None
    case_sensitive: bool = True

    def evaluate(self, case: Case, run: RunRecord, spend: JudgeSpend) -> Score:
        """Compare the output with the expected value."""
        want = _expected(self.value, case, "equals")
        got = run.output
        if isinstance(want, str) and isinstance(got, str):
            a, b = want.strip(), got.strip()
            if not self.case_sensitive:
                a, b = a.casefold(), b.casefold()
            return Score.check(a == b, f"expected {_short(want)!r}, got {_short(got)!r}")
        return Score.check(got == want, f"expected {_short(repr(want))}, got {_short(repr(got))}")


class Contains(Evaluator):
    """The output text contains ``value`` (default: the case's ``expected_output``).

    ``value`` may be a list: every item must appear (the score is the fraction found).
    """

    kind: Literal["contains"] = "contains"
    value: str | list[str] | None = None
    case_sensitive: bool = False

    def default_name(self) -> str:
        """``contains`` or ``contains:VALUE``."""
        return "contains" if self.value is None else f"contains:{_short(str(self.value), 40)}"

    def evaluate(self, case: Case, run: RunRecord, spend: JudgeSpend) -> Score:
        """Look for each wanted piece in the output text."""
        want = _expected(self.value, case, "contains")
        wanted = [str(w) for w in (want if isinstance(want, list) else [want])]
        text = run.output_text if self.case_sensitive else run.output_text.casefold()
        missing = [w for w in wanted if (w if self.case_sensitive else w.casefold()) not in text]
        value = 1.0 - len(missing) / len(wanted) if wanted else 1.0
        reason = "all found" if not missing else "missing: " + ", ".join(repr(_short(m, 40)) for m in missing)
        return Score(value=value, passed=not missing, reason=reason)


class Regex(Evaluator):
    """The output text matches ``pattern`` (``re.search``); ``match=False`` requires no match."""

    kind: Literal["regex"] = "regex"
    pattern: str
    match: bool = True
    ignore_case: bool = False

    def default_name(self) -> str:
        """``regex:PATTERN``."""
        return f"regex:{_short(self.pattern, 40)}"

    def evaluate(self, case: Case, run: RunRecord, spend: JudgeSpend) -> Score:
        """Search the output text."""
        found = re.search(self.pattern, run.output_text, re.IGNORECASE if self.ignore_case else 0)
        seen = f"matched {found.group(0)!r}" if found else "no match"
        return Score.check(bool(found) == self.match, f"{seen} (pattern {self.pattern!r})")


class MatchesSchema(Evaluator):
    """The output validates against a JSON schema, or a pydantic model (Python only).

    Text output is parsed as JSON first. ``model`` is never saved in a dataset file; its
    JSON schema would lose validators, so a file names ``json_schema`` instead.
    """

    kind: Literal["matches_schema"] = "matches_schema"
    json_schema: dict[str, Any] | None = None
    model: type[BaseModel] | None = Field(default=None, exclude=True)

    def evaluate(self, case: Case, run: RunRecord, spend: JudgeSpend) -> Score:
        """Parse the output if it is text, then validate it."""
        value = run.output
        if isinstance(value, str):
            try:
                value = orjson.loads(value)
            except orjson.JSONDecodeError as err:
                return Score.check(False, f"the output is not JSON ({err})")
        if self.model is not None:
            try:
                self.model.model_validate(value)
            except ValidationError as err:
                first = err.errors()[0]
                where = ".".join(str(p) for p in first["loc"]) or "(root)"
                return Score.check(False, f"{err.error_count()} error(s), first at {where}: {first['msg']}")
            return Score.check(True, f"valid {self.model.__name__}")
        if self.json_schema is None:
            raise ValueError("matches_schema needs json_schema (or, in Python, a pydantic model)")
        errors = sorted(jsonschema.Draft202012Validator(self.json_schema).iter_errors(value), key=str)
        if errors:
            where = "/".join(str(p) for p in errors[0].absolute_path) or "(root)"
            return Score.check(False, f"{len(errors)} error(s), first at {where}: {errors[0].message}")
        return Score.check(True, "valid against the schema")


def _partial_match(want: Any, got: Any) -> bool:
    """``want`` is contained in ``got``: dicts by their listed keys (recursively), the rest by equality."""
    if isinstance(want, Mapping):
        return isinstance(got, Mapping) and all(
            k in got and _partial_match(v, got[k]) for k, v in want.items()
        )
    if isinstance(want, list):
        return isinstance(got, list) and len(want) == len(got) and all(map(_partial_match, want, got))
    return bool(want == got)


class ToolCalled(Evaluator):
    """The model called ``tool`` (between ``min_times`` and ``max_times``), or never did.

    ``arguments`` must be contained in a call's arguments (a partial dict: listed keys only,
    nested dicts alike); ``pattern`` must match a call's raw argument string. Only matching
    calls count. ``called=False`` requires that no matching call was made.
    """

    kind: Literal["tool_called"] = "tool_called"
    tool: str
    arguments: dict[str, Any] | None = None
    pattern: str | None = None
    called: bool = True
    min_times: int = Field(default=1, ge=1)
    max_times: int | None = None

    def default_name(self) -> str:
        """``called:TOOL`` or ``not_called:TOOL``."""
        return f"{'called' if self.called else 'not_called'}:{self.tool}"

    def _matches(self, arguments: str) -> bool:
        if self.pattern is not None and not re.search(self.pattern, arguments):
            return False
        if self.arguments is None:
            return True
        try:
            decoded = orjson.loads(arguments)
        except orjson.JSONDecodeError:
            return False
        return _partial_match(self.arguments, decoded)

    def evaluate(self, case: Case, run: RunRecord, spend: JudgeSpend) -> Score:
        """Count the matching calls."""
        named = [c for c in run.tool_calls if c.name == self.tool]
        count = sum(self._matches(c.arguments) for c in named)
        what = self.tool if self.arguments is None and self.pattern is None else f"{self.tool} (matching)"
        if not self.called:
            ok = count == 0
            return Score.check(ok, f"{what} was not called, as required" if ok else f"{what} called {count}x")
        ok = count >= self.min_times and (self.max_times is None or count <= self.max_times)
        seen = ", ".join(_short(c.arguments, 60) for c in named[:3]) or "none"
        return Score.check(ok, f"{what} called {count}x (calls of {self.tool}: {seen})")


class ToolOrder(Evaluator):
    """The model called ``tools`` in this order (other calls may come between them).

    >>> from agentkit.evals.dataset import Case
    >>> from agentkit.evals.records import ToolCallRecord
    >>> run = RunRecord(case="c", tool_calls=[ToolCallRecord(name=n, arguments="{}") for n in "abcb"])
    >>> ToolOrder(tools=["a", "c"]).evaluate(Case(name="c", prompt="?"), run, JudgeSpend()).passed
    True
    >>> ToolOrder(tools=["c", "a"]).evaluate(Case(name="c", prompt="?"), run, JudgeSpend()).reason
    "found 'c' but not 'a' after it (calls: a, b, c, b)"
    """

    kind: Literal["tool_order"] = "tool_order"
    tools: list[str] = Field(min_length=1)

    def default_name(self) -> str:
        """``order:A>B>C``."""
        return "order:" + ">".join(self.tools)

    def evaluate(self, case: Case, run: RunRecord, spend: JudgeSpend) -> Score:
        """Look for ``tools`` as a subsequence of the calls."""
        calls = [c.name for c in run.tool_calls]
        found = 0
        for name in calls:
            if found < len(self.tools) and name == self.tools[found]:
                found += 1
        seen = ", ".join(calls[:20]) or "none"
        if found == len(self.tools):
            return Score.check(True, f"in order (calls: {seen})")
        done = " then ".join(repr(t) for t in self.tools[:found])
        missing = repr(self.tools[found])
        reason = f"found {done} but not {missing} after it" if found else f"no call of {missing}"
        return Score.check(False, f"{reason} (calls: {seen})")


class NoToolErrors(Evaluator):
    """No tool call failed (bad arguments, a tool error, a timeout); the score is the share that worked."""

    kind: Literal["no_tool_errors"] = "no_tool_errors"

    def default_name(self) -> str:
        """``no_tool_errors``."""
        return "no_tool_errors"

    def evaluate(self, case: Case, run: RunRecord, spend: JudgeSpend) -> Score:
        """Count the failed calls."""
        failed = [c.name for c in run.tool_calls if c.is_error]
        total = len(run.tool_calls)
        value = 1.0 - len(failed) / total if total else 1.0
        reason = (
            "no tool call failed"
            if not failed
            else f"{len(failed)} of {total} failed: {', '.join(failed[:5])}"
        )
        return Score(value=value, passed=not failed, reason=reason)


class _Bound(Evaluator):
    """A measured number within ``[min, max]``."""

    max: float | None = None
    min: float | None = None

    def _measure(self, run: RunRecord) -> float:
        raise NotImplementedError

    def evaluate(self, case: Case, run: RunRecord, spend: JudgeSpend) -> Score:
        """Compare the measure with the bounds."""
        value = self._measure(run)
        ok = (self.max is None or value <= self.max) and (self.min is None or value >= self.min)
        bounds = " and ".join(
            part
            for part in (
                f">= {self.min}" if self.min is not None else "",
                f"<= {self.max}" if self.max is not None else "",
            )
            if part
        )
        return Score.check(ok, f"{self.default_name()} = {value:g} (wanted {bounds or 'anything'})")


class TurnsWithin(_Bound):
    """The run took between ``min`` and ``max`` model turns."""

    kind: Literal["turns_within"] = "turns_within"

    def default_name(self) -> str:
        """``turns``."""
        return "turns"

    def _measure(self, run: RunRecord) -> float:
        return run.turns


class ToolCallsWithin(_Bound):
    """The run made between ``min`` and ``max`` tool calls."""

    kind: Literal["tool_calls_within"] = "tool_calls_within"

    def default_name(self) -> str:
        """``tool_calls``."""
        return "tool_calls"

    def _measure(self, run: RunRecord) -> float:
        return len(run.tool_calls)


class CostWithin(_Bound):
    """The run cost at most ``max`` USD (at the model's prices; judges not included)."""

    kind: Literal["cost_within"] = "cost_within"

    def default_name(self) -> str:
        """``cost_usd``."""
        return "cost_usd"

    def _measure(self, run: RunRecord) -> float:
        return run.cost_usd


class LatencyWithin(_Bound):
    """The run took at most ``max`` seconds of wall-clock time."""

    kind: Literal["latency_within"] = "latency_within"

    def default_name(self) -> str:
        """``latency_s``."""
        return "latency_s"

    def _measure(self, run: RunRecord) -> float:
        return run.latency_s


class TokensWithin(_Bound):
    """The run used at most ``max`` tokens (input plus output)."""

    kind: Literal["tokens_within"] = "tokens_within"

    def default_name(self) -> str:
        """``tokens``."""
        return "tokens"

    def _measure(self, run: RunRecord) -> float:
        return run.total_tokens


class Function(Evaluator):
    """Any Python function ``fn(case, run)``, sync or async, as an evaluator.

    It returns a `Score`, a bool, a number in [0, 1], or ``(bool | number, reason)``.
    Give the function itself (``func=``, Python only) or where to import it from
    (``ref="package.module:function"``, which a dataset file can hold).
    """

    kind: Literal["function"] = "function"
    ref: str | None = None
    func: Callable[..., Any] | None = Field(default=None, exclude=True)

    def default_name(self) -> str:
        """The function's name."""
        if self.func is not None:
            return str(getattr(self.func, "__name__", "function"))
        return (self.ref or "function").rpartition(":")[2]

    def _resolve(self) -> Callable[..., Any]:
        if self.func is not None:
            return self.func
        if not self.ref or ":" not in self.ref:
            raise ValueError("function needs func=, or ref='package.module:function'")
        module, _, attr = self.ref.partition(":")
        target: Any = importlib.import_module(module)
        for part in attr.split("."):
            target = getattr(target, part)
        if not callable(target):
            raise TypeError(f"{self.ref} is not callable")
        return target  # type: ignore[no-any-return]

    async def evaluate(self, case: Case, run: RunRecord, spend: JudgeSpend) -> Any:
        """Call the function (awaiting it when it is async)."""
        outcome = self._resolve()(case, run)
        if inspect.isawaitable(outcome):
            outcome = await outcome
        return outcome


#: Every built-in evaluator, told apart by ``kind`` (what a dataset file can name).
EvaluatorSpec = Annotated[
    Equals
    | Contains
    | Regex
    | MatchesSchema
    | ToolCalled
    | ToolOrder
    | NoToolErrors
    | TurnsWithin
    | ToolCallsWithin
    | CostWithin
    | LatencyWithin
    | TokensWithin
    | Function
    | LLMJudge,
    Field(discriminator="kind"),
]
