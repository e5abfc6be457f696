"""Shared building blocks: strict input models, pages, quantities."""

from __future__ import annotations

import uuid
from datetime import date
from decimal import Decimal
from typing import Annotated, Generic, TypeVar

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

T = TypeVar("T")


class InputModel(BaseModel):
    """Inputs forbid unknown fields: a client can never set status, arm or ids."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class OutputModel(BaseModel):
    model_config = ConfigDict(from_attributes=True)


class PageOut(OutputModel, Generic[T]):
    items: list[T]
    total: int
    limit: int
    offset: int


Reason = Annotated[str, StringConstraints(min_length=3, max_length=2000, strip_whitespace=True)]
Text = Annotated[str, StringConstraints(min_length=1, max_length=500, strip_whitespace=True)]


class QuantityIn(InputModel):
    value: Decimal = Field(allow_inf_nan=False, examples=[171])
    unit: str | None = Field(default=None, max_length=20, examples=["umol/L"])


class AnswersQuery(InputModel):
    """A correction (PATCH) may name the data query it answers (SPEC §13)."""

    query_id: uuid.UUID | None = Field(
        default=None,
        description="the data query this correction answers: the query shows the correction"
        " and becomes `answered` (422 when it is about another record, 409 when closed)",
    )


class CorrectionIn(InputModel):
    reason: Reason


def past_or_today(value: date, today: date) -> bool:
    return value <= today
