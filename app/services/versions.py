"""Optimistic concurrency: a record's version is its ETag; a stale If-Match is 412."""

from __future__ import annotations

from app.problems import ProblemError


def etag(version: int) -> str:
    return f'"{version}"'


def check_version(expected: int, actual: int) -> None:
    if expected != actual:
        raise ProblemError(
            412, f"The record changed since it was read (current ETag {etag(actual)})"
        )
