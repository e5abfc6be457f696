"""Domain exceptions; the HTTP layer maps each to one problem+json status."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class FieldError:
    """One invalid input, named by its dotted path (e.g. `labs.inr.value`)."""

    field: str
    message: str


class DomainError(Exception):
    """Base class: a rule of the trial refused the request."""

    title = "Request refused"

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


class InvalidData(DomainError):
    """The data cannot be right (HTTP 422); `errors` names each field."""

    title = "Invalid data"

    def __init__(self, errors: list[FieldError], detail: str | None = None) -> None:
        super().__init__(detail or "; ".join(f"{e.field}: {e.message}" for e in errors))
        self.errors = errors

    @classmethod
    def one(cls, field: str, message: str) -> InvalidData:
        return cls([FieldError(field, message)])


class StateConflict(DomainError):
    """The record's state forbids the action (HTTP 409)."""

    title = "Conflict with the record's state"


class NotFound(DomainError):
    """No such record visible to the caller (HTTP 404)."""

    title = "Not found"
