"""An eval of the trip planner: a dataset of trip requests and two recorded experiments.

``evals/trips.yaml`` holds three trip requests with their checks. ``evals/careful/`` and
``evals/hasty/`` hold one AUTHORED trace per case (``origin: authored``): the real agent,
tools and HTTP client ran against agentkit's loopback fake Kimi server, played by two
scripted "models": ``careful`` follows the instructions (`make_trace.scripted_kimi`),
``hasty`` stops after writing the files and never emails the traveller. ``docs/evals.md``
replays both offline and compares them. Regenerate with::

    python -m examples.trip_planner.eval_cases
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path
from typing import Any

import anyio
from agentkit_tools import Workspace

from agentkit import Agent
from agentkit.approval import approve_all
from agentkit.evals import Case, Dataset, Report, run_eval
from agentkit.models import KimiModel
from agentkit.models.abstract import Model
from agentkit.testing import FakeKimiServer, Reply

from .agent import build_agent
from .make_trace import MODEL_NAME, scripted_kimi

__all__ = ["DATASET", "EXPERIMENTS", "TRACES", "agent_factory", "hasty_kimi", "record"]

TRACES = Path(__file__).with_name("evals")
DATASET = TRACES / "trips.yaml"


def hasty_kimi(body: dict[str, Any]) -> Reply:
    """Like `scripted_kimi`, but once the files are written it answers without emailing."""
    reply = scripted_kimi(body)
    if any(name == "send_email" for name, _ in reply.calls):
        return Reply.text("Your itinerary.md and trip.ics are ready in the workspace. Enjoy the show!")
    return reply


EXPERIMENTS = {"careful": scripted_kimi, "hasty": hasty_kimi}


def agent_factory(model: Model, root: Path) -> Any:
    """A function giving each case a fresh trip agent with its own workspace under ``root``."""

    def build(case: Case) -> Agent[str]:
        return build_agent(model, workspace=Workspace(root / case.name))

    return build


async def record(experiment: str) -> Report:
    """Run the dataset against the scripted server of ``experiment``; write its traces (authored)."""
    dataset = Dataset.load(DATASET)
    folder = TRACES / experiment
    for old in folder.glob("*.jsonl"):
        old.unlink()
    with tempfile.TemporaryDirectory() as root, FakeKimiServer(EXPERIMENTS[experiment]) as server:
        model = KimiModel(MODEL_NAME, base_url=server.base_url, api_key="offline-authoring")
        try:
            return await run_eval(
                dataset,
                agent_factory(model, Path(root)),
                name=experiment,
                traces=folder,
                run_options={"approve": approve_all},
                trace_origin="authored",
            )
        finally:
            await model.aclose()


async def _main() -> None:
    for experiment in EXPERIMENTS:
        report = await record(experiment)
        print(f"{experiment}: pass rate {report.summary.pass_rate:.0%}", file=sys.stderr)


if __name__ == "__main__":
    anyio.run(_main)
