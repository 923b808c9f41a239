"""A dataset of cases: prompts, expected outputs, metadata and per-case checks.

Datasets are pydantic models, built in Python or loaded from YAML, JSON or JSONL files
(`Dataset.load`) and saved back (`Dataset.save`). A YAML or JSON file holds the
whole dataset (``name``, ``evaluators`` for every case, ``cases``); a JSONL file holds one
case a line.

>>> from agentkit.evals import Contains, ToolCalled
>>> ds = Dataset(name="weather", cases=[
...     Case(name="oslo", prompt="Weather in Oslo?", expected_output="Oslo",
...          checks=[ToolCalled(tool="weather", arguments={"city": "Oslo"})]),
... ], evaluators=[Contains()])
>>> Dataset.model_validate_json(ds.model_dump_json()) == ds
True
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

import orjson
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from agentkit.evals.evaluators import EvaluatorSpec
from agentkit.exceptions import UserError

__all__ = ["Case", "Dataset", "DatasetError"]

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")


class DatasetError(UserError):
    """A dataset file cannot be read or written (malformed, invalid case, unknown format)."""


class Case(BaseModel):
    """One scenario: what the agent is asked, and how its answer is judged.

    Attributes:
        name: unique in the dataset; letters, digits, ``.``, ``_``, ``-`` (it names trace files).
        prompt: the user message the agent runs on.
        expected_output: what a good answer is (``Equals``/``Contains`` use it by default).
        metadata: free-form labels (difficulty, topic...), kept in the results.
        checks: evaluators for this case only, run after the dataset's own.
        trace: a recorded trace to replay for this case when the eval runs offline (in a
            dataset file, relative to the file's folder).
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str
    prompt: str
    expected_output: Any = None
    metadata: dict[str, Any] = Field(default_factory=dict)
    checks: list[EvaluatorSpec] = Field(default_factory=list)
    trace: str | None = None

    @model_validator(mode="after")
    def _check_name(self) -> Case:
        if not _NAME.match(self.name):
            raise ValueError(
                f"case name {self.name!r} must be 1-128 letters, digits, '.', '_' or '-' "
                "(it names the case's trace file)"
            )
        return self


class Dataset(BaseModel):
    """Cases plus the evaluators every case is judged by.

    Attributes:
        name: the dataset's name (reports show it).
        cases: the cases; names are unique.
        evaluators: run on every case (before each case's own ``checks``).
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str = "dataset"
    cases: list[Case] = Field(default_factory=list)
    evaluators: list[EvaluatorSpec] = Field(default_factory=list)

    @model_validator(mode="after")
    def _unique_names(self) -> Dataset:
        seen: set[str] = set()
        for case in self.cases:
            if case.name in seen:
                raise ValueError(f"two cases are named {case.name!r}: case names must be unique")
            seen.add(case.name)
        return self

    def case(self, name: str) -> Case:
        """Return the case called ``name``.

        Raises:
            KeyError: no such case.
        """
        for case in self.cases:
            if case.name == name:
                return case
        raise KeyError(name)

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> Dataset:
        """Read a dataset from ``.yaml``/``.yml``, ``.json`` or ``.jsonl`` (one case a line).

        Raises:
            DatasetError: the file is missing, malformed, or a case is invalid (file and line named).
        """
        source = Path(path)
        try:
            text = source.read_text(encoding="utf-8")
        except OSError as err:
            raise DatasetError(f"cannot read dataset {source}: {err.strerror or err}") from None
        suffix = source.suffix.lower()
        if suffix == ".jsonl":
            return cls._from_lines(source, text)
        data = _parse_document(source, text, suffix)
        if isinstance(data, list):
            data = {"cases": data}
        if not isinstance(data, dict):
            raise DatasetError(f"{source}: a dataset is a mapping with 'cases' (or a list of cases)")
        data.setdefault("name", source.stem)
        try:
            return cls.model_validate(data)._traces_from(source.parent)
        except ValidationError as err:
            raise DatasetError(f"{source}: invalid dataset:\n{_errors(err)}") from None

    def _traces_from(self, folder: Path) -> Dataset:
        """Cases' relative ``trace`` paths, resolved against the dataset file's folder."""
        cases = [
            c.model_copy(update={"trace": str(folder / c.trace)})
            if c.trace is not None and not Path(c.trace).is_absolute()
            else c
            for c in self.cases
        ]
        return self.model_copy(update={"cases": cases})

    @classmethod
    def _from_lines(cls, source: Path, text: str) -> Dataset:
        cases: list[Case] = []
        for number, line in enumerate(text.splitlines(), start=1):
            if not line.strip():
                continue
            try:
                cases.append(Case.model_validate(orjson.loads(line)))
            except orjson.JSONDecodeError as err:
                raise DatasetError(f"{source}:{number}: not a JSON object ({err})") from None
            except ValidationError as err:
                raise DatasetError(f"{source}:{number}: invalid case:\n{_errors(err)}") from None
        try:
            return cls(name=source.stem, cases=cases)._traces_from(source.parent)
        except ValidationError as err:
            raise DatasetError(f"{source}: {_errors(err)}") from None

    def save(self, path: str | os.PathLike[str]) -> Path:
        """Write the dataset to ``path``; the suffix picks the format (``.yaml``, ``.json``, ``.jsonl``).

        A JSONL file holds the cases only (dataset-wide evaluators cannot be kept there).

        Raises:
            DatasetError: unknown suffix, dataset evaluators with JSONL, or a check that is
                Python-only (a ``Function`` without ``ref``, a judge's model is never saved).
        """
        target = Path(path)
        data = self.model_dump(mode="json", exclude_defaults=False)
        _refuse_unsavable(self)
        suffix = target.suffix.lower()
        if suffix == ".jsonl":
            if self.evaluators:
                raise DatasetError("a .jsonl dataset holds cases only: save evaluators in .yaml or .json")
            body = b"".join(orjson.dumps(c, option=orjson.OPT_APPEND_NEWLINE) for c in data["cases"])
        elif suffix == ".json":
            body = orjson.dumps(data, option=orjson.OPT_INDENT_2) + b"\n"
        elif suffix in (".yaml", ".yml"):
            body = _yaml().safe_dump(data, sort_keys=False, allow_unicode=True).encode()
        else:
            raise DatasetError(f"cannot save {target}: use .yaml, .json or .jsonl")
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(body)
        return target


def _refuse_unsavable(dataset: Dataset) -> None:
    from agentkit.evals.evaluators import Function  # noqa: PLC0415 - avoid a name clash at import

    checks = [*dataset.evaluators, *(c for case in dataset.cases for c in case.checks)]
    for check in checks:
        if isinstance(check, Function) and check.ref is None:
            raise DatasetError(
                f"check {check.label()!r} is a Python function without ref='module:attr': "
                "it cannot be saved; give it a ref, or pass it to run_eval(evaluators=...)"
            )


def _yaml() -> Any:
    try:
        import yaml  # noqa: PLC0415 - YAML support is optional
    except ImportError:  # pragma: no cover - pyyaml ships with the dev and evals extras
        raise DatasetError("YAML datasets need PyYAML: pip install 'agentkit[evals]'") from None
    return yaml


def _parse_document(source: Path, text: str, suffix: str) -> Any:
    if suffix == ".json":
        try:
            return orjson.loads(text)
        except orjson.JSONDecodeError as err:
            raise DatasetError(f"{source}: not JSON ({err})") from None
    if suffix in (".yaml", ".yml"):
        yaml = _yaml()
        try:
            return yaml.safe_load(text)
        except yaml.YAMLError as err:
            raise DatasetError(f"{source}: not YAML ({err})") from None
    raise DatasetError(f"cannot read {source}: a dataset is .yaml, .yml, .json or .jsonl")


def _errors(err: ValidationError) -> str:
    lines = []
    for problem in err.errors()[:10]:
        where = ".".join(str(p) for p in problem["loc"]) or "(root)"
        lines.append(f"  - {where}: {problem['msg']}")
    return "\n".join(lines)
