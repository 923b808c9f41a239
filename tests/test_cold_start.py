"""Cold start: what ``import agentkit`` and ``agentkit --help`` load (in a fresh interpreter each)."""

from __future__ import annotations

import subprocess
import sys

import pytest

from agentkit.cli import LAZY_COMMANDS, load_command

#: Libraries that only a provider (the HTTP stack), the command line, a declared tool (pydantic,
#: griffe, jsonschema) or the first log call (structlog, rich) needs.
HEAVY = (
    *("openai", "httpx2", "typer"),
    *("pydantic", "pydantic_core", "griffe", "jsonschema"),
    *("structlog", "rich"),
)

#: The provider modules of agentkit.models, loaded on first use of one of their names.
PROVIDERS = {
    f"agentkit.models.{name}"
    for name in (
        "openai_compat",
        "kimi",
        "anthropic_compat",
        "replay",
        "model_ladder",
        "_kimi_account",
        "_http",
    )
}


def _loaded_after(code: str) -> set[str]:
    """Run ``code`` in a fresh interpreter; return the names in ``sys.modules`` at its end."""
    script = f"{code}\nimport sys\nprint('\\n'.join(sys.modules))"
    out = subprocess.run(  # noqa: S603 - this interpreter on our own snippet
        [sys.executable, "-c", script], capture_output=True, text=True, check=True, timeout=120
    ).stdout
    return set(out.split())


def _tops(modules: set[str]) -> set[str]:
    return {name.split(".")[0] for name in modules}


def test_import_agentkit_loads_no_provider_and_no_heavy_library() -> None:
    """``import agentkit`` loads the models contract only: no provider module, no HTTP client, no SDK."""
    loaded = _loaded_after("import agentkit")
    assert "agentkit.models.abstract" in loaded
    assert loaded & PROVIDERS == set()
    assert _tops(loaded) & set(HEAVY) == set()


def test_naming_or_making_a_provider_loads_no_sdk() -> None:
    """Naming the providers imports their modules; making a KimiModel loads neither openai nor a pool."""
    named = _loaded_after("from agentkit.models import KimiModel, OpenAICompatModel, AnthropicCompatModel")
    assert "agentkit.models.kimi" in named
    assert "openai" not in named
    made = _loaded_after("from agentkit.models import KimiModel\nKimiModel(api_key='sk-test')")
    assert "openai" not in _tops(made)  # tests/test_openai_transport.py: not after requests either


def test_the_lazy_names_of_agentkit_models_resolve_and_unknown_ones_fail() -> None:
    """Every name in agentkit.models.__all__ resolves; an unknown one raises AttributeError."""
    from agentkit import models  # noqa: PLC0415 - the module under test

    for name in models.__all__:
        assert getattr(models, name) is not None
    assert set(models.__all__) <= set(dir(models))
    with pytest.raises(AttributeError, match="no attribute 'Nope'"):
        _ = models.Nope


def test_agentkit_help_imports_no_command_module() -> None:
    """``agentkit --help`` lists every command without importing any command's module or tool machinery."""
    code = (
        "import sys, contextlib, io\n"
        "sys.argv = ['agentkit', '--help']\n"
        "from agentkit.cli import main\n"
        "out = io.StringIO()\n"
        "with contextlib.suppress(SystemExit), contextlib.redirect_stdout(out):\n"
        "    main()\n"
        "assert all(name in out.getvalue() for name in ('run', 'demo', 'batch', 'replay', 'mcp'))"
    )
    loaded = _loaded_after(code)
    assert loaded & {spec.module for spec in LAZY_COMMANDS.values()} == set()
    assert _tops(loaded) & {"openai", "httpx2", "pydantic", "griffe", "jsonschema", "structlog"} == set()


@pytest.mark.parametrize("name", list(LAZY_COMMANDS))
def test_each_listed_help_line_is_the_commands_own(name: str) -> None:
    """The help line ``agentkit --help`` shows for a lazy command is the loaded command's help."""
    command = load_command(name)
    assert command.name == name
    assert (command.help or "").strip().splitlines()[0] == LAZY_COMMANDS[name].help


def test_declaring_a_tool_and_logging_load_their_libraries_on_first_use() -> None:
    """The first declared tool loads pydantic, griffe, jsonschema; the first event logged loads structlog."""
    code = (
        "import agentkit\n"
        "@agentkit.tool\n"
        "def add(a: int, b: int) -> int:\n"
        "    '''Add.\n\n    Args:\n        a: first.\n        b: second.\n    '''\n"
        "    return a + b\n"
        "assert add.parameters['properties']['a']['description'] == 'first.'\n"
        "import logging\n"
        "logging.basicConfig(level=logging.INFO)\n"
        "from agentkit._log import get_logger\n"
        "get_logger('agentkit.test').info('hello')\n"
    )
    loaded = _tops(_loaded_after(code))
    assert {"pydantic", "griffe", "jsonschema", "structlog"} <= loaded


def test_an_event_below_the_level_loads_no_structlog() -> None:
    """A debug event with logging unconfigured returns at once: structlog is never imported for it."""
    quiet = _loaded_after("from agentkit._log import get_logger\nget_logger('agentkit.t').debug('x', a=1)")
    assert "structlog" not in _tops(quiet)
    loud = _loaded_after(
        "import logging\nlogging.basicConfig(level=logging.DEBUG)\n"
        "from agentkit._log import get_logger\nget_logger('agentkit.t').debug('x', a=1)"
    )
    assert "structlog" in _tops(loud)
