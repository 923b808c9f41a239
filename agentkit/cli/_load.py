"""Find the agent an ``agentkit run`` names, and the model it should call.

A spec is ``path/to/file.py:name`` or ``package.module:name`` (``:agent`` when
the name is left out). The name is an :class:`~agentkit.Agent`, or a function
that takes a model and returns one (then ``--model``/``--base-url`` decide the
model it gets).
"""

from __future__ import annotations

import importlib
import importlib.util
import inspect
import os
import sys
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from agentkit.agent import Agent
from agentkit.cli._errors import MISSING_KEY_HINT, CliError
from agentkit.models.abstract import Model

__all__ = ["build_model", "load_agent"]

_SPEC_HINT = "name an agent as path/to/file.py:agent or package.module:agent"


def _import_target(spec: str) -> Any:
    location, _, name = spec.rpartition(":") if ":" in spec else (spec, ":", "agent")
    name = name or "agent"
    if location.endswith(".py") or os.sep in location or "/" in location:
        path = Path(location)
        if not path.is_file():
            raise CliError(f"no such file: {location}", hint=_SPEC_HINT)
        module_name = f"_agentkit_cli_{path.stem}"
        spec_obj = importlib.util.spec_from_file_location(module_name, path)
        if spec_obj is None or spec_obj.loader is None:
            raise CliError(f"cannot import {location}", hint=_SPEC_HINT)
        module = importlib.util.module_from_spec(spec_obj)
        sys.path.insert(0, str(path.resolve().parent))  # so the file's sibling imports work
        sys.modules[module_name] = module
        spec_obj.loader.exec_module(module)
    else:
        try:
            module = importlib.import_module(location)
        except ModuleNotFoundError as err:
            raise CliError(f"cannot import module {location!r}: {err}", hint=_SPEC_HINT) from err
    target: Any = module
    for part in name.split("."):
        if not hasattr(target, part):
            raise CliError(f"{location} has no attribute {name!r}", hint=_SPEC_HINT)
        target = getattr(target, part)
    return target


def build_model(model_name: str | None, base_url: str | None, *, required: bool = False) -> Model | None:
    """The model ``--model``/``--base-url`` ask for, or ``None`` when neither is given.

    With ``required``, Kimi's defaults (``MOONSHOT_MODEL``, ``MOONSHOT_BASE_URL``) are used
    when neither is given.

    A base URL away from Moonshot's own API is allowed without a key (self-hosted
    vLLM/SGLang, a loopback test server).

    Raises:
        CliError: Moonshot's API was chosen and no ``MOONSHOT_API_KEY`` is set.
    """
    if model_name is None and base_url is None and not required:
        return None
    from agentkit.models.kimi import KimiModel  # noqa: PLC0415 - the openai client loads only when needed

    key = os.environ.get("MOONSHOT_API_KEY")
    host = urlsplit(base_url or os.environ.get("MOONSHOT_BASE_URL") or "https://api.moonshot.ai").hostname
    if not key:
        if host is None or host.endswith(("moonshot.ai", "moonshot.cn")):
            raise CliError("no Kimi API key", hint=MISSING_KEY_HINT)
        key = "not-needed"
    return KimiModel(model_name, base_url=base_url, api_key=key)


def _with_model(agent: Agent[Any], model: Model) -> Agent[Any]:
    """The same agent answered by ``model`` (a shallow copy; the original is untouched)."""
    return agent.replace(model=model)


def load_agent(spec: str, model: Model | None) -> Agent[Any]:
    """Import the agent ``spec`` names; answered by ``model`` when one is given.

    Raises:
        CliError: the spec names nothing importable, or not an agent.
    """
    target = _import_target(spec)
    if isinstance(target, Agent):
        return target if model is None else _with_model(target, model)
    if callable(target):
        takes_model = bool(inspect.signature(target).parameters)
        if takes_model and model is None:
            model = build_model(None, None, required=True)
        built = target(model) if takes_model else target()
        if isinstance(built, Agent):
            return built if model is None or takes_model else _with_model(built, model)
    raise CliError(
        f"{spec} is neither an Agent nor a function returning one",
        hint="e.g. agent = Agent(KimiModel(), ...) or def build(model): return Agent(model, ...)",
    )
