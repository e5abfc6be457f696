"""Data queries (SPEC §13)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Literal

from pydantic import Field, StringConstraints

from app.schemas.common import InputModel, OutputModel

Resource = Literal[
    "visit", "dose", "adverse_event", "screening", "lab_result", "outcome", "treatment"
]
QueryStatus = Literal["open", "answered", "closed"]
QueryText = Annotated[str, StringConstraints(min_length=1, max_length=2000, strip_whitespace=True)]
FieldName = Annotated[str, StringConstraints(pattern=r"^[a-z_][a-z0-9_.]{0,99}$")]


class QueryIn(InputModel):
    participant_id: uuid.UUID
    resource: Resource
    record_id: uuid.UUID = Field(description="the id of the record queried")
    field: FieldName | None = Field(default=None, examples=["labs.total_bilirubin"])
    text: QueryText


class QueryResponseIn(InputModel):
    text: QueryText


class QueryActionIn(InputModel):
    text: QueryText | None = Field(default=None, description="an optional note")


class QueryMessageOut(OutputModel):
    kind: Literal["opened", "response", "closed", "reopened", "correction"]
    text: str | None
    correction_record_id: uuid.UUID | None = Field(
        description="correction: the record corrected (PATCH with this query_id)"
    )
    author_user_id: uuid.UUID | None = Field(description="null: raised by the service")
    author_role: str | None
    created_at: datetime


class QueryOut(OutputModel):
    id: uuid.UUID
    participant_id: uuid.UUID
    resource: Resource
    record_id: uuid.UUID
    field: str | None
    text: str
    status: QueryStatus
    automatic: bool = Field(description="raised by the service itself (a plausibility check)")
    created_by: uuid.UUID | None
    created_at: datetime
    updated_at: datetime | None


class QueryDetailOut(QueryOut):
    messages: list[QueryMessageOut] = Field(description="the query's history, oldest first")
    corrections: list[uuid.UUID] = Field(
        description="records corrected in answer to this query (PATCH with `query_id`)"
    )


class QueryPageOut(OutputModel):
    items: list[QueryOut]
    total: int
    limit: int
    offset: int
