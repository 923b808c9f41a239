"""``agentkit run``: run an agent on a prompt, or chat with it when no prompt is given.

The answer goes to stdout (``--json`` for a machine-readable result), progress
and the summary line to stderr, so ``agentkit run a.py:agent "..." > out.txt``
captures just the answer.
"""

from __future__ import annotations

import dataclasses
import sys
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path
from typing import Annotated, Any

import anyio
import anyio.to_thread
import orjson
import pydantic_core
import typer

from agentkit.agent import Agent
from agentkit.approval import Approver, approve_all, prompt_approver
from agentkit.cli._echo import counted, echo
from agentkit.cli._errors import EXIT_RUN_FAILED, CliError, one_line, reported
from agentkit.cli._load import AGENT_HELP, build_model, load_agent
from agentkit.cli._progress import Progress
from agentkit.events import TextDelta
from agentkit.exceptions import RunError
from agentkit.hooks import RunHooks
from agentkit.messages import Message
from agentkit.result import RunKwargs, RunResult
from agentkit.usage import format_usd

__all__ = ["Invocation", "result_json", "run"]


@dataclasses.dataclass(frozen=True, kw_only=True, slots=True)
class Invocation:
    """The options of one ``agentkit run``, after parsing.

    Attributes:
        session: stored session to continue (the agent needs a memory).
        trace: JSONL trace file to write.
        stream: print the answer as it is generated.
        json: print the result as one JSON object.
        yes: approve tools that need approval without asking.
        quiet: the answer only on stdout, errors on stderr: no progress, no summary line,
            no chat banner (a chat still prompts ``you>``, an approval still asks).
    """

    session: str | None = None
    trace: Path | None = None
    stream: bool = False
    json: bool = False
    yes: bool = False
    quiet: bool = False


def result_json(result: RunResult[Any], inv: Invocation, *, trace: Path | None) -> dict[str, Any]:
    """The ``--json`` document: output, ids, usage, cost and where the trace went."""
    return {
        "output": pydantic_core.to_jsonable_python(result.output, fallback=str),
        "run_id": result.run_id,
        "turns": result.turns,
        "usage": dataclasses.asdict(result.usage),
        "cost_usd": result.cost_usd,
        "session": inv.session,
        "trace": None if trace is None else str(trace),
    }


def _run_kwargs(
    inv: Invocation,
    history: Sequence[Message],
    hooks: list[RunHooks],
    trace: Path | None,
    approver: Approver | None,
) -> Any:
    kwargs: RunKwargs = {"hooks": hooks, "message_history": history}
    if approver is not None:
        kwargs["approve"] = approver
    if inv.session is not None:
        kwargs["session"] = inv.session
    if trace is not None:
        kwargs["trace"] = trace
    return kwargs


def _approver(inv: Invocation, progress: Progress) -> Approver | None:
    """``--yes`` approves every call; on a terminal the user is asked; otherwise the run pauses."""
    if inv.yes:
        return approve_all
    if sys.stdin.isatty():

        def ask(question: str) -> str:
            with progress.suspended():  # the live panel would draw over the question
                return _ask_on_terminal(question)

        return prompt_approver(ask)
    return None


def _ask_on_terminal(question: str) -> str:
    """Ask on stderr (stdout carries only the answer) and read the reply from stdin."""
    sys.stderr.write(question)
    sys.stderr.flush()
    line = sys.stdin.readline()
    if not line:
        raise CliError(
            "no answer to the approval question (end of input)", hint="rerun with --yes to approve"
        )
    return line


def _refuse_paused(result: RunResult[Any]) -> None:
    """A paused run has no answer: say which calls wait and how to let them run."""
    if not result.paused:
        return
    waiting = ", ".join(
        f"{p.agent + ': ' if p.agent else ''}{p.call.name}({_short(orjson.dumps(p.arguments).decode())})"
        for p in result.pending
    )
    raise CliError(
        f"the run paused: {len(result.pending)} tool call(s) wait for approval: {waiting}",
        hint="rerun with --yes to approve them (or on a terminal, to be asked)",
        exit_code=EXIT_RUN_FAILED,
    )


def _short(text: str, limit: int = 80) -> str:
    return text if len(text) <= limit else text[: limit - 3] + "..."


async def _exchange(
    agent: Agent[Any], prompt: str, inv: Invocation, history: Sequence[Message], trace: Path | None
) -> RunResult[Any]:
    """One prompt -> one result, with progress on stderr and, when streaming, text on stdout."""
    progress = Progress.for_terminal(live=False if inv.stream or inv.quiet else None)
    hooks: list[RunHooks] = [] if inv.quiet else [progress]
    kwargs = _run_kwargs(inv, history, hooks if not inv.stream else [], trace, _approver(inv, progress))
    with progress:
        if not inv.stream:
            result: RunResult[Any] = await agent.run(prompt, **kwargs)
            _refuse_paused(result)
            return result
        async with agent.stream(prompt, **kwargs) as events:
            async for event in events:
                if isinstance(event, TextDelta):
                    sys.stdout.write(event.text)
                    sys.stdout.flush()
                elif not inv.quiet:
                    progress.on_event(event)
        sys.stdout.write("\n")
        _refuse_paused(events.result)
        return events.result


def _show(result: RunResult[Any], inv: Invocation, trace: Path | None) -> None:
    if inv.json:
        sys.stdout.write(orjson.dumps(result_json(result, inv, trace=trace)).decode() + "\n")
        return
    if not inv.stream:
        output = result.output
        text = (
            output
            if isinstance(output, str)
            else orjson.dumps(
                pydantic_core.to_jsonable_python(output, fallback=str), option=orjson.OPT_INDENT_2
            ).decode()
        )
        sys.stdout.write(text + "\n")
    if inv.quiet:
        return
    u = result.usage
    where = f", trace {trace}" if trace is not None else ""
    echo(
        f"{counted(result.turns, 'turn')}, {counted(u.tool_calls, 'tool call')}, "
        f"{u.input_tokens:,} in / {u.output_tokens:,} out "
        f"tokens, {format_usd(result.cost_usd)} (run {result.run_id}{where})",
        err=True,
    )


async def _closing(agent: Agent[Any], body: Callable[[], Awaitable[None]]) -> None:
    """Run ``body``, then release the model's connections inside the same event loop."""
    try:
        await body()
    finally:
        aclose = getattr(agent.model, "aclose", None)
        if aclose is not None:
            await aclose()


def _chat_trace(trace: Path | None, exchange: int) -> Path | None:
    """The trace file of the n-th exchange of a chat: FILE, then FILE-2, FILE-3, ..."""
    if trace is None or exchange == 1:
        return trace
    return trace.with_name(f"{trace.stem}-{exchange}{trace.suffix}")


async def _read_line() -> str | None:
    sys.stderr.write("you> ")
    sys.stderr.flush()
    line: str = await anyio.to_thread.run_sync(sys.stdin.readline)
    if not line:  # Ctrl-D: end the prompt's line, so the shell's prompt starts on its own
        sys.stderr.write("\n")
        return None
    return line.rstrip("\n")


async def _chat(agent: Agent[Any], inv: Invocation) -> None:
    """Read prompts from stdin until an empty line, ``/exit`` or end of input."""
    if not inv.quiet:
        echo(f"chatting with {agent.name} (empty line, /exit or Ctrl-D to quit)", err=True)
    history: Sequence[Message] = ()
    exchange = 0
    while (line := await _read_line()) is not None and line.strip() not in ("", "/exit", "/quit"):
        exchange += 1
        trace = _chat_trace(inv.trace, exchange)
        try:
            result = await _exchange(agent, line, inv, history, trace)
        except (RunError, CliError) as err:  # one failed or paused exchange does not end the chat
            echo(one_line(err), err=True)
            continue
        _show(result, inv, trace)
        # A session reloads the conversation from memory; otherwise carry it here.
        history = () if inv.session is not None else result.messages


def run(
    agent: Annotated[str, typer.Argument(help=AGENT_HELP)],
    prompt: Annotated[
        str | None, typer.Argument(help="What to ask. Leave out for an interactive chat.")
    ] = None,
    *,
    model: Annotated[
        str | None, typer.Option("--model", "-m", help="Kimi model name (overrides the agent's model).")
    ] = None,
    base_url: Annotated[
        str | None,
        typer.Option("--base-url", help="OpenAI-compatible endpoint (vLLM, SGLang, a test server)."),
    ] = None,
    session: Annotated[
        str | None, typer.Option("--session", "-s", help="Continue and extend this stored session.")
    ] = None,
    trace: Annotated[
        Path | None, typer.Option("--trace", help="Write the run's JSONL trace to FILE.")
    ] = None,
    stream: Annotated[bool, typer.Option("--stream", help="Print the answer as it is generated.")] = False,
    json_: Annotated[bool, typer.Option("--json", help="Print the result as one JSON object.")] = False,
    yes: Annotated[
        bool, typer.Option("--yes", "-y", help="Approve side-effect tools without asking.")
    ] = False,
    quiet: Annotated[
        bool, typer.Option("--quiet", "-q", help="Only the answer (stdout) and errors (stderr).")
    ] = False,
    debug: Annotated[bool, typer.Option("--debug", help="Show the traceback on errors.")] = False,
) -> None:
    """Run an agent on a prompt (or chat with it): progress on stderr, the answer on stdout."""
    with reported(debug=debug):
        if json_ and stream:
            raise CliError("--json and --stream cannot be combined", hint="pick one")
        inv = Invocation(session=session, trace=trace, stream=stream, json=json_, yes=yes, quiet=quiet)
        the_agent = load_agent(agent, build_model(model, base_url))
        check_key = getattr(the_agent.model, "check_key", None)
        if check_key is not None:  # before any progress line: a missing key is a usage problem
            check_key()
        if session is not None and the_agent.memory is None:
            raise CliError(
                f"--session needs an agent with a memory; {agent} has none",
                hint="build it with Agent(..., memory=SQLiteMemory('agentkit.db'))",
            )

        async def body() -> None:
            if prompt is None:
                await _chat(the_agent, inv)
                return
            _show(await _exchange(the_agent, prompt, inv, (), trace), inv, trace)

        anyio.run(_closing, the_agent, body)
