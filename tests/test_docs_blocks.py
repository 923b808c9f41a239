"""Every code block in docs/ and the README runs in the test suite or says why it cannot.

A block is runnable when it is fenced as ``python``; its page's runnable blocks run in order in
one namespace (top-level ``await`` allowed), in a temporary working directory, offline. Any other
block, and a Python block that cannot run offline, carries a marker on the line above its fence::

    <!-- not-runnable: calls Moonshot's API (needs MOONSHOT_API_KEY and the network) -->

The marker is an HTML comment, so the built site does not show it.
"""

from __future__ import annotations

import ast
import inspect
import os
import re
import shlex
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import anyio
import pytest

from agentkit.testing import FakeKimiServer, Reply
from tests._cli import run_cli

ROOT = Path(__file__).resolve().parents[1]
PAGES = [*sorted((ROOT / "docs").rglob("*.md")), ROOT / "README.md"]
FENCE = re.compile(r"^(?P<indent>\s*)(?P<fence>```+|~~~+)(?P<lang>[\w+-]*)\s*$")
MARKER = re.compile(r"^\s*<!--\s*not-runnable:\s*(?P<reason>.*?)\s*-->\s*$")


@dataclass(frozen=True, kw_only=True, slots=True)
class Block:
    """One fenced code block of a page."""

    page: Path
    line: int
    lang: str
    source: str
    reason: str | None  # why it is not runnable, when marked

    @property
    def runnable(self) -> bool:
        """Python and not marked."""
        return self.lang == "python" and self.reason is None

    def where(self) -> str:
        """page:line, for messages."""
        return f"{self.page.relative_to(ROOT)}:{self.line}"


def parse_blocks(page: Path) -> list[Block]:
    """The fenced code blocks of ``page``, with the not-runnable reason of each marked one."""
    lines = page.read_text(encoding="utf-8").splitlines()
    blocks: list[Block] = []
    index = 0
    while index < len(lines):
        opening = FENCE.match(lines[index])
        if opening is None:
            index += 1
            continue
        indent, fence = len(opening["indent"]), opening["fence"]
        previous = next((lines[i] for i in range(index - 1, -1, -1) if lines[i].strip()), "")
        marker = MARKER.match(previous)
        end = index + 1
        while end < len(lines) and lines[end].strip() != fence:
            end += 1
        body = "\n".join(line[indent:] for line in lines[index + 1 : end])
        reason = marker["reason"] if marker else None
        blocks.append(Block(page=page, line=index + 1, lang=opening["lang"], source=body, reason=reason))
        index = end + 1
    return blocks


def run_block(block: Block, namespace: dict[str, Any]) -> None:
    """Execute one block in ``namespace``; a block with top-level ``await`` runs in an event loop."""
    code = compile(block.source, block.where(), "exec", flags=ast.PyCF_ALLOW_TOP_LEVEL_AWAIT)
    outcome = eval(code, namespace)  # noqa: S307 - our own documentation's examples
    if inspect.iscoroutine(outcome):
        coroutine = outcome

        async def _await() -> None:
            await coroutine

        anyio.run(_await)


ALL = [block for page in PAGES for block in parse_blocks(page)]


def test_docs_have_runnable_blocks() -> None:
    """The docs show runnable Python examples (the parser found them)."""
    assert sum(block.runnable for block in ALL) >= 10


def test_every_block_runs_or_says_why_not() -> None:
    """No code block is left neither runnable (python) nor marked not-runnable with a reason."""
    unmarked = [block.where() for block in ALL if not block.runnable and not block.reason]
    assert unmarked == []


def test_parser_reads_markers_and_indented_fences(tmp_path: Path) -> None:
    """A marker above a fence gives its reason; indented fences (in lists) are found and dedented."""
    page = tmp_path / "page.md"
    page.write_text(
        "<!-- not-runnable: needs a GPU -->\n```python\nimport torch\n```\n\n"
        "- item\n\n    ```python\n    x = 1\n    ```\n\n```sh\nls\n```\n"
    )
    blocks = parse_blocks(page)
    assert [(b.lang, b.reason, b.source) for b in blocks] == [
        ("python", "needs a GPU", "import torch"),
        ("python", None, "x = 1"),
        ("sh", None, "ls"),
    ]


@pytest.mark.parametrize(
    "page", [p for p in PAGES if any(b.runnable for b in parse_blocks(p))], ids=lambda p: p.name
)
def test_page_examples_run(page: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A page's Python examples run as written, in order, offline (a placeholder key, no network)."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("MOONSHOT_API_KEY", "sk-docs-placeholder")
    monkeypatch.delenv("MOONSHOT_MODEL", raising=False)  # pages show the default model's requests
    namespace: dict[str, Any] = {"__name__": f"docs_{page.stem}"}
    for block in parse_blocks(page):
        if block.runnable:
            run_block(block, namespace)


# The forms of naming an agent that docs/cli.md lists ("Naming an agent"), each run as written.
CLI_PAGE = ROOT / "docs" / "cli.md"

AGENT_FILE = """
from agentkit import Agent
from agentkit.models import OpenAICompatModel
{sibling}
MODEL = OpenAICompatModel("unused", base_url="http://127.0.0.1:9/v1")
{attributes}
"""


def documented_agent_forms() -> list[str]:
    """The example forms in the second column of the "Naming an agent" table of docs/cli.md."""
    section = CLI_PAGE.read_text(encoding="utf-8").split("## Naming an agent", 1)[1].split("\n## ", 1)[0]
    rows = [line.split("|") for line in section.splitlines() if line.startswith("| ") and "`" in line]
    return [form for row in rows for form in re.findall(r"`([^`]+)`", row[2])]


def _is_file_form(location: str) -> bool:
    """A location naming a file (``file.py``, ``dir/file.py``) rather than a module."""
    return location.endswith(".py") or "/" in location


def _split_form(form: str) -> tuple[str, Path, str]:
    """(the location, the file it names, the attribute) of a form; the attribute defaults to ``agent``."""
    location, _, name = form.rpartition(":") if ":" in form else (form, "", "")
    path = Path(location) if _is_file_form(location) else Path(*location.split(".")).with_suffix(".py")
    return location, path, name or "agent"


def _agent_source(path: Path, names: set[str], *, by_path: bool) -> str:
    """A module whose attribute NAME answers "I am FILE:NAME" (an Agent; ``build*``: a factory)."""
    lines = []
    for name in sorted(names):
        me = f"I am {path.as_posix()}:{name}"
        if name.startswith("build"):
            lines.append(f"def {name}(model):\n    return Agent(model, instructions={me!r})\n")
        else:
            lines.append(f"{name} = Agent(MODEL, instructions={me!r})\n")
    # A file named by its path imports a sibling module: the docs promise its folder is on the path.
    sibling = "from sibling_helper import HELPER  # noqa: F401" if by_path else ""
    return AGENT_FILE.format(sibling=sibling, attributes="\n".join(lines))


def write_documented_agents(project: Path, forms: list[str]) -> None:
    """Write under ``project`` every file and package the forms name."""
    wanted: dict[Path, set[str]] = {}
    by_path: set[Path] = set()
    for form in forms:
        location, path, name = _split_form(form)
        wanted.setdefault(path, {"agent"}).add(name)
        if _is_file_form(location):
            by_path.add(path)
    for path, names in wanted.items():
        target = project / path
        target.parent.mkdir(parents=True, exist_ok=True)
        if path in by_path:
            (target.parent / "sibling_helper.py").write_text("HELPER = 1\n")
        else:
            for package in list(path.parents)[:-1]:  # pkg/mod.py: pkg is a package
                (project / package / "__init__.py").touch()
        target.write_text(_agent_source(path, names, by_path=path in by_path))


def _introduce_yourself(body: dict[str, Any]) -> Reply:
    """The fake model answers with the agent's instructions: which object the command loaded."""
    return Reply.text(body["messages"][0]["content"])


def test_docs_list_the_agent_forms() -> None:
    """docs/cli.md's table shows a file form, a module form, a bare file and a factory."""
    forms = documented_agent_forms()
    assert any(form.endswith(".py") for form in forms)  # a file alone: its `agent`
    assert any(":" in form and ".py" not in form for form in forms)  # a module and a name
    assert any(_split_form(form)[2].startswith("build") for form in forms)  # a factory


@pytest.mark.parametrize("form", documented_agent_forms())
def test_documented_agent_form_runs_and_replays(form: str, tmp_path: Path) -> None:
    """`agentkit run FORM` and `replay --agent FORM` from the project's folder load what the docs say."""
    write_documented_agents(tmp_path, documented_agent_forms())
    _, path, name = _split_form(form)
    with FakeKimiServer(_introduce_yourself) as server:
        done = run_cli(
            "run", form, "who are you?", "--base-url", server.base_url, "--trace", "t.jsonl", cwd=tmp_path
        )
    assert (done.returncode, done.stdout.strip()) == (0, f"I am {path.as_posix()}:{name}"), done.stderr
    replayed = run_cli("replay", "t.jsonl", "--agent", form, cwd=tmp_path)
    assert replayed.returncode == 0, replayed.stderr
    assert replayed.stdout.startswith("match:")


# docs/getting-started.md as a new user follows it: its files saved, its server started, its commands typed.
GETTING_STARTED = ROOT / "docs" / "getting-started.md"
BASH = shutil.which("bash") or "/bin/bash"


def _saved_files(blocks: list[Block]) -> dict[str, str]:
    """The Python blocks the page asks to save: those whose first line is ``# NAME.py``."""
    files = {}
    for block in blocks:
        first = block.source.splitlines()[0] if block.source else ""
        if block.lang == "python" and re.fullmatch(r"# [\w.]+\.py", first):
            files[first[2:]] = block.source
    return files


def _steps(block: Block) -> list[tuple[str, list[str]]]:
    """Each ``$ command`` of a console block with the output lines shown under it."""
    steps: list[tuple[str, list[str]]] = []
    for line in block.source.splitlines():
        if line.startswith("$ "):
            steps.append((line[2:], []))
        elif line.strip() and steps:
            steps[-1][1].append(line.strip())
    return steps


def test_getting_started_walk(tmp_path: Path) -> None:
    """getting-started.md followed literally in an empty folder: every command works as shown."""
    blocks = parse_blocks(GETTING_STARTED)
    for name, source in _saved_files(blocks).items():
        (tmp_path / name).write_text(source)
    consoles = [_steps(block) for block in blocks if block.lang == "console"]
    [(serve, [documented_url])] = next(steps for steps in consoles if "agentkit.testing serve" in steps[0][0])
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MOONSHOT_", "AGENTKIT_"))}
    env["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), env.get("PATH", "")])
    command = shlex.split(serve.replace("--port 8765", "--port 0"))  # any free port
    server = subprocess.Popen(command, cwd=tmp_path, env=env, stdout=subprocess.PIPE, text=True)  # noqa: S603
    try:
        assert server.stdout is not None
        base_url = server.stdout.readline().strip()
        for step, shown in (step for steps in consoles if steps[0][0] != serve for step in steps):
            if step.startswith("pip install"):
                continue  # installed here already
            done = subprocess.run(  # noqa: S603 - the page's own commands, in a temporary folder
                [BASH, "-c", step.replace(documented_url, base_url)],
                cwd=tmp_path,
                env=env,
                capture_output=True,
                text=True,
                timeout=120,
                check=False,
            )
            assert done.returncode == 0, f"$ {step}\n{done.stdout}{done.stderr}"
            for line in shown:
                assert line in done.stdout, f"$ {step}: expected {line!r} in\n{done.stdout}"
            assert "Traceback" not in done.stderr, done.stderr
    finally:
        server.terminate()
        server.wait(timeout=30)
    assert (tmp_path / "run.html").is_file()


@pytest.mark.timeout(600)
def test_scaling_batch_command_runs_on_the_getting_started_agent(tmp_path: Path) -> None:
    """docs/scaling.md's `agentkit batch` line runs as written beside getting-started's my_agent.py.

    It named `myapp.agents:trip`, a module a newcomer does not have (exit 2); the file form leads.
    """
    pytest.importorskip("dbos")
    for name, source in _saved_files(parse_blocks(GETTING_STARTED)).items():
        (tmp_path / name).write_text(source)
    blocks = parse_blocks(ROOT / "docs" / "scaling.md")
    command = next(b.source for b in blocks if b.lang == "bash" and b.source.startswith("agentkit batch"))
    (tmp_path / "tasks.jsonl").write_text(
        '{"id": "a", "prompt": "1 + 1?"}\n{"id": "b", "prompt": "2 + 2?"}\n'
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MOONSHOT_", "AGENTKIT_"))}
    env["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), env.get("PATH", "")])
    with FakeKimiServer(lambda body: Reply.text("Done.")) as server:
        env |= {"MOONSHOT_BASE_URL": server.base_url, "MOONSHOT_API_KEY": "offline"}
        done = subprocess.run(  # noqa: S603 - the page's own command, in a temporary folder
            [BASH, "-c", command],
            cwd=tmp_path,
            env=env,
            capture_output=True,
            text=True,
            timeout=500,
            check=False,
        )
    assert done.returncode == 0, f"$ {command}\n{done.stdout}{done.stderr}"
    assert "2 runs: 2 ok, 0 failed" in done.stdout
