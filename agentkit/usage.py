"""Token usage, price tables, cost and usage limits.

>>> u = Usage(input_tokens=1_000_000, cached_tokens=400_000, output_tokens=100_000, requests=1)
>>> round(cost_usd(u, PRICES["kimi-k2-0905-preview"]), 4)
0.67
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

__all__ = ["PRICES", "ModelPrice", "Usage", "UsageLimits", "cost_usd", "counted", "format_usd"]


@dataclass(frozen=True, kw_only=True, slots=True)
class Usage:
    """Tokens and calls spent so far.

    ``input_tokens`` includes ``cached_tokens`` (the provider's convention);
    ``output_tokens`` includes ``reasoning_tokens`` (a thinking model's reasoning is billed as
    output; the count is 0 where the server does not report it);
    ``web_searches`` counts builtin ``$web_search`` calls, billed per call.
    ``estimated_requests`` counts the requests whose server reported no usage (a stream
    without a usage chunk): their tokens are estimated from the characters sent and received
    (about four a token) and included in the totals, so token limits still apply, roughly.
    Zero means every figure is the server's own.
    """

    input_tokens: int = 0
    output_tokens: int = 0
    cached_tokens: int = 0
    requests: int = 0
    tool_calls: int = 0
    web_searches: int = 0
    estimated_requests: int = 0
    reasoning_tokens: int = 0

    @property
    def total_tokens(self) -> int:
        """Input plus output tokens."""
        return self.input_tokens + self.output_tokens

    def __add__(self, other: Usage) -> Usage:
        return Usage(
            input_tokens=self.input_tokens + other.input_tokens,
            output_tokens=self.output_tokens + other.output_tokens,
            cached_tokens=self.cached_tokens + other.cached_tokens,
            requests=self.requests + other.requests,
            tool_calls=self.tool_calls + other.tool_calls,
            web_searches=self.web_searches + other.web_searches,
            estimated_requests=self.estimated_requests + other.estimated_requests,
            reasoning_tokens=self.reasoning_tokens + other.reasoning_tokens,
        )


@dataclass(frozen=True, kw_only=True, slots=True)
class ModelPrice:
    """USD per million tokens: cache-hit input, cache-miss input, output; plus per-call fees."""

    cached_input: float
    input: float
    output: float
    web_search_call: float = 0.0


_K26 = ModelPrice(cached_input=0.16, input=0.95, output=4.00, web_search_call=0.005)
_K25 = ModelPrice(cached_input=0.10, input=0.60, output=3.00, web_search_call=0.005)
_K2 = ModelPrice(cached_input=0.15, input=0.60, output=2.50, web_search_call=0.005)
_K2_TURBO = ModelPrice(cached_input=0.15, input=1.15, output=8.00, web_search_call=0.005)

#: Moonshot's list prices (USD per 1M tokens; ``docs/kimi.md`` says where each comes from and
#: when it was checked). Copy and extend it for other models:
#: ``{**PRICES, "my-model": ModelPrice(cached_input=0.1, input=0.2, output=0.4)}``.
PRICES: Mapping[str, ModelPrice] = {
    "kimi-k2.6": _K26,
    "kimi-k2.5": _K25,
    "kimi-k2-0711-preview": _K2,
    "kimi-k2-0905-preview": _K2,
    "kimi-k2-turbo-preview": _K2_TURBO,
    "kimi-k2-thinking": _K2,
    "kimi-k2-thinking-turbo": _K2_TURBO,
    "moonshot-v1-8k": ModelPrice(cached_input=0.20, input=0.20, output=2.00, web_search_call=0.005),
    "moonshot-v1-32k": ModelPrice(cached_input=1.00, input=1.00, output=3.00, web_search_call=0.005),
    "moonshot-v1-128k": ModelPrice(cached_input=2.00, input=2.00, output=5.00, web_search_call=0.005),
}


def cost_usd(usage: Usage, price: ModelPrice | None) -> float:
    """Return what ``usage`` costs at ``price`` (0.0 when the price is unknown)."""
    if price is None:
        return 0.0
    uncached = usage.input_tokens - usage.cached_tokens
    return (
        usage.cached_tokens * price.cached_input + uncached * price.input + usage.output_tokens * price.output
    ) / 1_000_000 + usage.web_searches * price.web_search_call


def format_usd(amount: float) -> str:
    """Return a cost as people read it: cents from one dollar up, else three significant digits.

    A run on a small prompt costs fractions of a cent, which a fixed four decimals shows as
    ``$0.0000``; three significant digits keep what the run cost, without float noise
    (``0.0150865`` is ``$0.0151``). Trailing zeros are dropped; no scientific notation.

    >>> format_usd(0.0150865), format_usd(0.0000371), format_usd(0.25), format_usd(0)
    ('$0.0151', '$0.0000371', '$0.25', '$0')
    >>> format_usd(12.3456), format_usd(1234.5), format_usd(0.9996)
    ('$12.35', '$1,234.50', '$1.00')
    """
    from decimal import Decimal  # noqa: PLC0415 - only when printing a cost

    digits = f"{amount:.3g}"
    if abs(float(digits)) >= 1:
        return f"${amount:,.2f}"
    return "$" + format(Decimal(digits), "f")


def counted(number: int, noun: str) -> str:
    """``number`` and ``noun``, plural unless it is one: ``counted(1, "turn") == "1 turn"``.

    >>> counted(2, "model call"), counted(1, "tool call"), counted(1234, "run")
    ('2 model calls', '1 tool call', '1,234 runs')
    """
    return f"{number:,} {noun}" + ("" if number == 1 else "s")


@dataclass(frozen=True, kw_only=True, slots=True)
class UsageLimits:
    """Hard limits for one run; ``None`` means unlimited.

    Request and token limits are checked before each model call and after
    it; a limit that is passed ends the run with
    [`agentkit.exceptions.UsageLimitExceeded`][]. Where a server reports
    no usage, token limits are checked against estimates (see
    `Usage.estimated_requests`).
    """

    requests: int | None = None
    tool_calls: int | None = None
    input_tokens: int | None = None
    output_tokens: int | None = None
    total_tokens: int | None = None
    cost_usd: float | None = None

    def exceeded(self, usage: Usage, cost: float) -> str | None:
        """Return a description of the first limit ``usage`` passes, or ``None``."""
        checks: tuple[tuple[str, float | None, float], ...] = (
            ("requests", self.requests, usage.requests),
            ("tool_calls", self.tool_calls, usage.tool_calls),
            ("input_tokens", self.input_tokens, usage.input_tokens),
            ("output_tokens", self.output_tokens, usage.output_tokens),
            ("total_tokens", self.total_tokens, usage.total_tokens),
            ("cost_usd", self.cost_usd, cost),
        )
        for name, limit, value in checks:
            if limit is not None and value > limit:
                return f"{name} limit of {limit} exceeded ({value})"
        return None
