"""Find the object a command names (the agent of ``agentkit run``, the tools of ``mcp serve``), and the model.

A spec is ``path/to/file.py:name`` or ``package.module:name`` (``:agent`` when
the name is left out). The name is an [`Agent`][agentkit.Agent], or a function
that takes a model and returns one (then ``--model``/``--base-url`` decide the
model it gets).
"""

from __future__ import annotations

import importlib
import importlib.util
import inspect
import os
import sys
import traceback
from pathlib import Path
from types import ModuleType
from typing import Any
from urllib.parse import urlsplit

from agentkit.agent import Agent
from agentkit.cli._errors import MISSING_KEY_HINT, CliError
from agentkit.exceptions import AgentkitError
from agentkit.models.abstract import Model

__all__ = ["AGENT_HELP", "build_model", "import_object", "load_agent"]

_SPEC_HINT = "name an agent as path/to/file.py:agent or package.module:agent"

#: The help of every command option or argument naming an agent (docs/cli.md, "Naming an agent").
AGENT_HELP = (
    "The agent: path/to/file.py:name or package.module:name (alone: its `agent`); "
    "an Agent or a function returning one."
)


def import_object(spec: str, *, default_name: str | None = "agent") -> Any:
    """The object ``spec`` names: ``path/to/file.py:name`` or ``package.module:name``.

    A module is looked up in the current folder first (like ``python -m``), then installed
    packages. A file is imported as a module registered in ``sys.modules`` (so pydantic and
    ``typing.get_type_hints`` can resolve its annotations, ``from __future__ import
    annotations`` included) with its folder on ``sys.path`` (so its sibling imports work).
    ``name`` may be dotted; without ``:name``, ``default_name`` is used.

    Raises:
        CliError: the spec is malformed, names no file, module or attribute, or the
            file or module fails while importing (the message says how).
    """
    location, sep, name = spec.rpartition(":")
    if not sep:
        location, name = spec, ""
    name = name or default_name or ""
    if not location or not name:
        raise CliError(f"cannot read {spec!r}", hint=_SPEC_HINT)
    module = _import_file(location) if _is_path(location) else _import_module(location)
    target: Any = module
    for part in name.split("."):
        if not hasattr(target, part):
            raise CliError(f"{location} has no attribute {name!r}", hint=_SPEC_HINT)
        target = getattr(target, part)
    return target


def _is_path(location: str) -> bool:
    return location.endswith(".py") or os.sep in location or "/" in location


def _import_file(location: str) -> ModuleType:
    path = Path(location)
    if not path.is_file():
        raise CliError(f"no such file: {location}", hint=_SPEC_HINT)
    module_name = f"_agentkit_cli_{path.stem}"
    spec_obj = importlib.util.spec_from_file_location(module_name, path)
    if spec_obj is None or spec_obj.loader is None:
        raise CliError(f"cannot import {location}", hint=_SPEC_HINT)
    module = importlib.util.module_from_spec(spec_obj)
    folder = str(path.resolve().parent)
    if folder not in sys.path:
        sys.path.insert(0, folder)  # so the file's sibling imports work
    # Registered before it runs: pydantic resolves the module's annotations through sys.modules.
    sys.modules[module_name] = module
    try:
        spec_obj.loader.exec_module(module)
    except BaseException as err:
        del sys.modules[module_name]
        if isinstance(err, AgentkitError) or not isinstance(err, Exception):
            raise  # agentkit's own errors already say what to do (the CLI shows them as they are)
        raise CliError(f"{location} failed to import: {_describe(err, path)}") from err
    return module


def _import_module(location: str) -> ModuleType:
    cwd = os.getcwd()
    if cwd not in sys.path:  # `module:attr` finds modules in the current folder, as `python -m` does
        sys.path.insert(0, cwd)
    try:
        return importlib.import_module(location)
    except ModuleNotFoundError as err:
        if err.name is not None and location.startswith(err.name):
            raise CliError(f"cannot import module {location!r}: {err}", hint=_SPEC_HINT) from err
        raise CliError(f"{location} failed to import: {_describe(err, None)}") from err
    except AgentkitError:
        raise
    except Exception as err:
        raise CliError(f"{location} failed to import: {_describe(err, None)}") from err


def _describe(err: Exception, path: Path | None) -> str:
    """``Type: message``, with the line of ``path`` (the user's file) the error came from."""
    text = f"{type(err).__name__}: {err}"
    if isinstance(err, SyntaxError):
        return text
    frames = list(traceback.extract_tb(err.__traceback__))
    if path is not None:
        frames = [f for f in frames if Path(f.filename).resolve() == path.resolve()] or frames
    return f"{text} (line {frames[-1].lineno} of {frames[-1].filename})" if frames else text


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
    target = import_object(spec)
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
