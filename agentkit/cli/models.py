"""``agentkit models``: what the endpoint offers, with the context window and prices agentkit knows.

The list comes from ``GET /v1/models`` on ``--base-url`` (or ``MOONSHOT_BASE_URL``, or Moonshot's
API); context windows and prices (USD per 1M tokens: cache-hit input / cache-miss input / output)
come from agentkit's profile, ``-`` where it knows none.
"""

from __future__ import annotations

from typing import Annotated

import anyio
import typer

from agentkit.cli._errors import CliError, reported
from agentkit.cli._load import build_model
from agentkit.models._kimi_account import ModelInfo, list_models
from agentkit.models.openai_compat import OpenAICompatModel

__all__ = ["format_models", "models"]


def format_models(infos: list[ModelInfo]) -> str:
    """Return the table ``agentkit models`` prints."""
    rows = [("model", "context", "cache-hit", "input", "output")]
    for info in infos:
        price = info.price
        rows.append(
            (
                info.id,
                f"{info.context_window:,}" if info.context_window else "-",
                f"{price.cached_input:.2f}" if price else "-",
                f"{price.input:.2f}" if price else "-",
                f"{price.output:.2f}" if price else "-",
            )
        )
    widths = [max(len(row[i]) for row in rows) for i in range(5)]
    lines = [
        "  ".join(cell.ljust(widths[i]) if i == 0 else cell.rjust(widths[i]) for i, cell in enumerate(row))
        for row in rows
    ]
    return "\n".join(line.rstrip() for line in lines)


def models(
    base_url: Annotated[
        str | None, typer.Option("--base-url", help="API root (default: MOONSHOT_BASE_URL or Moonshot's).")
    ] = None,
    debug: Annotated[bool, typer.Option("--debug", help="Show the traceback on errors.")] = False,
) -> None:
    """List the models the endpoint offers, with context windows and prices (USD per 1M tokens)."""
    with reported(debug=debug):
        model = build_model(None, base_url, required=True)
        if not isinstance(model, OpenAICompatModel):  # pragma: no cover - build_model builds a KimiModel
            raise CliError("agentkit models needs an OpenAI-compatible endpoint")

        async def fetch() -> list[ModelInfo]:
            async with model:
                return await list_models(model)

        typer.echo(format_models(anyio.run(fetch)))
        typer.echo("prices: USD per 1M tokens (cache-hit input / cache-miss input / output)")
