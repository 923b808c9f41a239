"""``agentkit verify``: send the tool-calling suite to OpenAI-compatible endpoints, side by side.

Each ``--endpoint`` is ``NAME=URL`` (or ``NAME=URL::MODEL``, or just ``URL``). Keys come from
the environment only: ``MOONSHOT_API_KEY`` for Moonshot's hosts, else the variable named by
``--api-key-env`` when set. The table goes to stdout; ``--save`` keeps the full report (a later
run's ``--reference``), ``--html`` writes a self-contained page.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated
from urllib.parse import urlsplit

import anyio
import typer

from agentkit.cli._echo import echo
from agentkit.cli._errors import EXIT_RUN_FAILED, CliError, reported

__all__ = ["verify_command"]


def _endpoint(spec: str, model: str | None, key_env: str | None, thinking: bool, max_tokens: int) -> object:
    from agentkit.evals.verify import Endpoint  # noqa: PLC0415 - loads only for this command

    name, _, rest = spec.partition("=") if "=" in spec.split("://", 1)[0] else ("", "", spec)
    url, _, own_model = rest.partition("::")
    host = urlsplit(url).hostname
    if not url.startswith(("http://", "https://")) or host is None:
        raise CliError(f"not an endpoint URL: {url!r}", hint="--endpoint NAME=https://host/v1[::MODEL]")
    chosen = own_model or model
    if not chosen:
        raise CliError(f"no model for endpoint {spec!r}", hint="pass --model, or NAME=URL::MODEL")
    env = "MOONSHOT_API_KEY" if host.endswith(("moonshot.ai", "moonshot.cn")) else key_env
    key = os.environ.get(env) if env else None
    if env == "MOONSHOT_API_KEY" and not key:
        raise CliError("no Kimi API key for Moonshot's endpoint", hint="export MOONSHOT_API_KEY=sk-...")
    return Endpoint(
        name=name or host,
        base_url=url,
        model=chosen,
        api_key=key,
        send_thinking=thinking,
        max_tokens=max_tokens,
    )


def verify_command(
    endpoint: Annotated[list[str], typer.Option("--endpoint", "-e", help="NAME=URL[::MODEL], repeatable.")],
    *,
    model: Annotated[str | None, typer.Option("--model", "-m", help="Model name for every endpoint.")] = None,
    api_key_env: Annotated[
        str | None, typer.Option(help="Environment variable holding the key of non-Moonshot endpoints.")
    ] = None,
    repeat: Annotated[int, typer.Option("--repeat", "-n", help="Passes over the suite.")] = 1,
    concurrency: Annotated[
        int, typer.Option("--concurrency", "-c", help="Requests at once per endpoint.")
    ] = 4,
    timeout: Annotated[float, typer.Option(help="Seconds per request.")] = 120.0,
    reference: Annotated[Path | None, typer.Option(help="A saved report to compare triggering with.")] = None,
    reference_endpoint: Annotated[str | None, typer.Option(help="Which endpoint of the reference.")] = None,
    save: Annotated[Path | None, typer.Option(help="Write the full report (JSON) here.")] = None,
    html: Annotated[Path | None, typer.Option(help="Write an HTML report here.")] = None,
    thinking: Annotated[
        bool, typer.Option(help="Send Kimi's thinking switch where the suite sets it.")
    ] = True,
    max_tokens: Annotated[int, typer.Option(help="Token budget of each answer.")] = 4096,
    min_success: Annotated[
        float | None, typer.Option(help="Exit with status 1 when an endpoint's success rate is below this.")
    ] = None,
    debug: Annotated[bool, typer.Option("--debug", help="Show the traceback on errors.")] = False,
) -> None:
    """Check the tool calling of one or more OpenAI-compatible endpoints with a fixed suite."""
    with reported(debug=debug):
        from agentkit.evals.verify import VerifyReport, verify  # noqa: PLC0415 - loads only here
        from agentkit.evals.verify.render import verify_html, verify_text  # noqa: PLC0415

        if repeat < 1 or concurrency < 1:
            raise CliError("--repeat and --concurrency must be >= 1")
        endpoints = [_endpoint(spec, model, api_key_env, thinking, max_tokens) for spec in endpoint]
        ref = None if reference is None else VerifyReport.load(reference)

        async def body() -> VerifyReport:
            return await verify(
                endpoints,  # type: ignore[arg-type]
                repeat=repeat,
                concurrency=concurrency,
                timeout_s=timeout,
                reference=ref,
                reference_endpoint=reference_endpoint,
            )

        report = anyio.run(body)
        echo(verify_text(report))
        if save is not None:
            report.save(save)
        if html is not None:
            html.write_text(verify_html(report), encoding="utf-8")
        low = [
            r.name
            for r in report.endpoints
            if min_success is not None and r.summary.success_rate < min_success
        ]
        if low:
            echo(f"success rate below {min_success:.0%}: {', '.join(low)}", err=True)
            raise typer.Exit(EXIT_RUN_FAILED)
