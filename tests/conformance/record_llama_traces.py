"""Record the llama.cpp conformance runs as traces.

Run ``.venv/bin/python -m tests.conformance.record_llama_traces`` after ``make conformance``.

Starts the real server (as the conformance tests do), runs every scenario of
:mod:`tests._llama_runs` on both model classes, streamed and not, and writes one trace per run
to ``tests/traces/llama_cpp/`` with ``origin: recorded`` and the server, its version and the
model file in the header. ``tests/test_recorded_traces.py`` replays them in the ordinary suite.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Final

import anyio

from agentkit.models import KIMI_PROFILE, KimiModel, ModelProfile, OpenAICompatModel
from agentkit.tracing import TraceWriter
from tests._llama_runs import SCENARIOS, make_agent
from tests.builders import run_agent
from tests.conformance._llama import MODEL_ALIAS, LlamaServer, running_server

OUT: Final = Path(__file__).resolve().parent.parent / "traces" / "llama_cpp"


def _model(kind: str, server: LlamaServer) -> OpenAICompatModel:
    if kind == "openai":
        return OpenAICompatModel(MODEL_ALIAS, base_url=server.base_url, profile=ModelProfile())
    return KimiModel(MODEL_ALIAS, base_url=server.base_url, api_key="not-needed", profile=KIMI_PROFILE)


async def record(server: LlamaServer) -> list[Path]:
    """Record every scenario on both model classes, streamed and not; return the files written."""
    OUT.mkdir(parents=True, exist_ok=True)
    written = []
    for kind in ("openai", "kimi"):
        for name, scenario in SCENARIOS.items():
            for stream in (False, True):
                path = OUT / f"{kind}-{name}-{'stream' if stream else 'complete'}.jsonl"
                header = {
                    "server": "llama-cpp-python",
                    "server_version": server.version,
                    "model_file": server.model_file,
                    "model_package": server.model_package,
                    "model_class": "OpenAICompatModel" if kind == "openai" else "KimiModel",
                    "scenario": name,
                    "stream": stream,
                }
                writer = TraceWriter(path, origin="recorded", header=header)
                async with _model(kind, server) as model:
                    await run_agent(make_agent(model, scenario), scenario.prompt, stream=stream, trace=writer)
                written.append(path)
    return written


def main() -> None:
    """Start the server, record, stop it."""
    with tempfile.TemporaryDirectory() as tmp, running_server(Path(tmp)) as server:
        for path in anyio.run(record, server):
            print(path)


if __name__ == "__main__":
    main()
