"""``agentkit verify``: check an OpenAI-compatible endpoint's tool calling before trusting it.

The same open model behaves differently at each provider. `verify` sends the fixed,
versioned [`SUITE`][agentkit.evals.verify.suite.SUITE] to each endpoint (non-streamed and
streamed, ``repeat`` times), records every answer as it came over the wire, and reports per
endpoint: request success rate, finish-reason mix, schema-validation errors of the returned
arguments, malformed and double-encoded arguments, tool calls offered under unknown names, raw
tool-call markup leaked into the content, empty answers, id formats, ``reasoning_content``
returned and sent back, usage present (streamed and not), parallel calls, how often it did
what the suite expects, trigger similarity to a reference run, latency, tokens and cost.
Tables: [`agentkit.evals.verify.render`][].
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import anyio
import httpx
from pydantic import BaseModel, ConfigDict, ValidationError

from agentkit.evals.verify.metrics import EndpointSummary, summarise
from agentkit.evals.verify.probe import Observation, probe
from agentkit.evals.verify.suite import SUITE, SUITE_VERSION, SuiteCase
from agentkit.exceptions import UserError
from agentkit.usage import PRICES, ModelPrice

__all__ = ["Endpoint", "EndpointResult", "VerifyReport", "verify"]


class Endpoint(BaseModel):
    """An endpoint to verify.

    Attributes:
        name: its label in reports.
        base_url: the OpenAI-compatible base URL (``.../v1``).
        model: the model name to ask for.
        api_key: sent as a bearer token; never stored in a report.
        price: USD per million tokens, for cost (default: agentkit's table for ``model``).
        send_thinking: send Kimi's ``thinking`` switch on the cases that set it.
        max_tokens: the answer's token budget (thinking models spend part of it reasoning;
            an answer cut by it shows as finish reason ``length``).
    """

    model_config = ConfigDict(frozen=True)

    name: str
    base_url: str
    model: str
    api_key: str | None = None
    price: ModelPrice | None = None
    send_thinking: bool = True
    max_tokens: int = 4096

    def public_url(self) -> str:
        """``base_url`` without credentials, query or fragment (what reports show)."""
        parts = urlsplit(self.base_url)
        host = parts.hostname or ""
        netloc = f"{host}:{parts.port}" if parts.port else host
        return urlunsplit((parts.scheme, netloc, parts.path, "", ""))


class EndpointResult(BaseModel):
    """One endpoint's summary and every observation behind it."""

    model_config = ConfigDict(frozen=True)

    name: str
    base_url: str
    model: str
    summary: EndpointSummary
    observations: list[Observation]


class VerifyReport(BaseModel):
    """A verification of one or more endpoints with one suite version; ``save``/``load`` as JSON."""

    model_config = ConfigDict(frozen=True)

    suite_version: str = SUITE_VERSION
    repeat: int = 1
    reference: str | None = None
    endpoints: list[EndpointResult]

    def endpoint(self, name: str) -> EndpointResult:
        """The result of endpoint ``name``.

        Raises:
            KeyError: no such endpoint.
        """
        for result in self.endpoints:
            if result.name == name:
                return result
        raise KeyError(name)

    def save(self, path: str | os.PathLike[str]) -> Path:
        """Write the report as JSON (it can serve as a later run's reference)."""
        target = Path(path)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(self.model_dump_json(indent=2) + "\n", encoding="utf-8")
        return target

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> VerifyReport:
        """Read a saved report.

        Raises:
            UserError: missing, not a verify report, or of another suite version.
        """
        source = Path(path)
        try:
            report = cls.model_validate_json(source.read_bytes())
        except OSError as err:
            raise UserError(f"cannot read {source}: {err.strerror or err}") from None
        except ValidationError as err:
            raise UserError(
                f"{source} is not an agentkit verify report ({err.error_count()} problems)"
            ) from None
        if report.suite_version != SUITE_VERSION:
            raise UserError(
                f"{source} was made with suite version {report.suite_version}; this agentkit sends "
                f"version {SUITE_VERSION}: make a new reference run"
            )
        return report


async def _observe(
    endpoint: Endpoint, suite: Sequence[SuiteCase], repeat: int, concurrency: int, timeout_s: float
) -> list[Observation]:
    headers = {"Authorization": f"Bearer {endpoint.api_key}"} if endpoint.api_key else {}
    jobs = [(case, stream, rep) for rep in range(repeat) for case in suite for stream in (False, True)]
    out: list[Observation | None] = [None] * len(jobs)
    limiter = anyio.CapacityLimiter(concurrency)
    async with httpx.AsyncClient(headers=headers, timeout=timeout_s) as client:

        async def one(index: int) -> None:
            case, stream, rep = jobs[index]
            async with limiter:
                out[index] = await probe(
                    client,
                    endpoint.base_url,
                    endpoint.model,
                    case,
                    stream=stream,
                    repetition=rep,
                    send_thinking=endpoint.send_thinking,
                    max_tokens=endpoint.max_tokens,
                )

        async with anyio.create_task_group() as group:
            for index in range(len(jobs)):
                group.start_soon(one, index)
    return [o for o in out if o is not None]


async def verify(
    endpoints: Sequence[Endpoint],
    *,
    repeat: int = 1,
    concurrency: int = 4,
    timeout_s: float = 120.0,
    reference: VerifyReport | None = None,
    reference_endpoint: str | None = None,
    suite: Sequence[SuiteCase] = SUITE,
) -> VerifyReport:
    """Send the suite to every endpoint (side by side, at once) and summarise each.

    Args:
        endpoints: what to verify.
        repeat: passes over the suite (answers are stochastic).
        concurrency: requests at once per endpoint.
        timeout_s: per-request timeout.
        reference: a saved report whose triggering the endpoints are compared with.
        reference_endpoint: which endpoint of ``reference`` (default: its first).
        suite: the requests to send (default: the versioned `SUITE`).

    Raises:
        UserError: no endpoints, duplicate names, or an unknown reference endpoint.
    """
    if not endpoints or len({e.name for e in endpoints}) != len(endpoints):
        raise UserError("give one or more endpoints with distinct names")
    ref = None
    if reference is not None:
        try:
            ref = reference.endpoint(reference_endpoint) if reference_endpoint else reference.endpoints[0]
        except (KeyError, IndexError):
            raise UserError(f"the reference has no endpoint {reference_endpoint!r}") from None
    observed: dict[str, list[Observation]] = {}

    async def run(endpoint: Endpoint) -> None:
        observed[endpoint.name] = await _observe(endpoint, suite, repeat, concurrency, timeout_s)

    async with anyio.create_task_group() as group:
        for endpoint in endpoints:
            group.start_soon(run, endpoint)
    results = []
    for endpoint in endpoints:
        price = endpoint.price or PRICES.get(endpoint.model)
        summary = summarise(
            observed[endpoint.name],
            price=price,
            reference=None if ref is None else ref.observations,
            suite=suite,
        )
        results.append(
            EndpointResult(
                name=endpoint.name,
                base_url=endpoint.public_url(),
                model=endpoint.model,
                summary=summary,
                observations=observed[endpoint.name],
            )
        )
    return VerifyReport(repeat=repeat, reference=None if ref is None else ref.name, endpoints=results)
