"""Small async helpers for Moonshot's account endpoints: token estimates, the balance, the models.

Both go through the model's own client, so they share its base URL, key, retries and error
mapping (a bad key raises [`ModelHTTPError`][agentkit.exceptions.ModelHTTPError] like a chat call would).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from agentkit.exceptions import ModelResponseError, UserError
from agentkit.messages import Message
from agentkit.model_types import Model, ToolDefinition
from agentkit.models._openai_wire import message_to_wire
from agentkit.models.openai_compat import OpenAICompatModel
from agentkit.tokens import TokenCounter, estimate_tokens
from agentkit.usage import ModelPrice

__all__ = ["Balance", "ModelInfo", "estimate_token_count", "get_balance", "list_models", "moonshot_counter"]

ESTIMATE_PATH = "/tokenizers/estimate-token-count"
BALANCE_PATH = "/users/me/balance"
MODELS_PATH = "/models"


@dataclass(frozen=True, kw_only=True, slots=True)
class Balance:
    """An account's balance, in the site's currency (USD on api.moonshot.ai, CNY on .cn).

    ``available`` is what requests can spend (``cash + voucher``; below zero stops service).
    """

    available: float
    voucher: float
    cash: float


async def estimate_token_count(
    model: OpenAICompatModel,
    messages: Sequence[Message | Mapping[str, Any]],
    *,
    model_name: str | None = None,
) -> int:
    """Return the server's count of prompt tokens for ``messages`` (agentkit messages or wire dicts).

    Raises:
        ModelResponseError: the answer has no ``data.total_tokens``.

    """
    wire = [m if isinstance(m, Mapping) else message_to_wire(m, model.profile) for m in messages]
    body = {"model": model_name or model.model_name, "messages": wire}
    data = await model.request_json("POST", ESTIMATE_PATH, body)
    return int(_field(data, "total_tokens"))


async def get_balance(model: OpenAICompatModel) -> Balance:
    """Return the account balance of the model's API key.

    Raises:
        ModelResponseError: the answer lacks a balance field.

    """
    data = await model.request_json("GET", BALANCE_PATH)
    return Balance(
        available=float(_field(data, "available_balance")),
        voucher=float(_field(data, "voucher_balance")),
        cash=float(_field(data, "cash_balance")),
    )


def moonshot_counter(model: Model) -> TokenCounter:
    """A `TokenCounter` that asks the model's Moonshot endpoint to count the messages.

    Tool schemas, which the endpoint does not take, are estimated locally.
    """
    if not isinstance(model, OpenAICompatModel):
        raise UserError("moonshot_counter needs a KimiModel (or another OpenAI-compatible model)")

    async def count(messages: Sequence[Message], tools: Sequence[ToolDefinition]) -> int:
        return await estimate_token_count(model, messages) + estimate_tokens((), tools)

    return count


@dataclass(frozen=True, kw_only=True, slots=True)
class ModelInfo:
    """A model the endpoint offers, with what agentkit's profile knows of it (``None``: nothing)."""

    id: str
    context_window: int | None = None
    price: ModelPrice | None = None


async def list_models(model: OpenAICompatModel) -> list[ModelInfo]:
    """Return the models the endpoint lists (``GET /models``), sorted by id.

    The context window and price come from the model's profile (looked up with the id's
    family profile for Kimi ids), not from the server, which does not publish them.

    Raises:
        ModelResponseError: the answer has no ``data`` list of models with ids.

    """
    from agentkit.models.kimi import kimi_profile_for  # noqa: PLC0415 - kimi imports this module

    data = await model.request_json("GET", MODELS_PATH)
    entries = data.get("data")
    if not isinstance(entries, list):
        raise ModelResponseError("the models endpoint's answer has no data list")
    ids = sorted({str(e["id"]) for e in entries if isinstance(e, Mapping) and e.get("id")})
    out = []
    for model_id in ids:
        profile = kimi_profile_for(model_id, model.profile)
        out.append(
            ModelInfo(
                id=model_id,
                context_window=profile.context_windows.get(model_id),
                price=profile.prices.get(model_id),
            )
        )
    return out


def _field(data: Mapping[str, Any], name: str) -> Any:
    inner = data.get("data")
    value = inner.get(name) if isinstance(inner, Mapping) else None
    if not isinstance(value, int | float) or isinstance(value, bool):
        raise ModelResponseError(f"the account endpoint's answer has no numeric data.{name}")
    return value
