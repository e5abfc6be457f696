"""Conditional reads (RFC 9110 §13.1.2): a GET whose If-None-Match names the current ETag
answers 304 with no body, so a syncing client re-reads only what changed (SPEC §9.2).

Applied by the middleware to any successful GET of the REST API that sends an ETag: the
single reads. The route has already run (and checked roles and site), so a 304 never tells
a caller more than the 200 would have.
"""

from __future__ import annotations

from app.idempotency import Captured

KEPT_ON_304 = {b"etag", b"cache-control", b"vary"}


def _opaque(tag: str) -> str:
    return tag.strip().removeprefix("W/")


def matches(if_none_match: str, etag: str) -> bool:
    """Weak comparison, as If-None-Match requires; `*` matches any current record."""
    current = _opaque(etag)
    return any(t.strip() == "*" or _opaque(t) == current for t in if_none_match.split(","))


def not_modified(method: str, if_none_match: str | None, captured: Captured) -> Captured | None:
    """The 304 that replaces `captured`, or None when the full response stands."""
    if method != "GET" or captured.status != 200 or not if_none_match:
        return None
    etag = captured.header(b"etag")
    if not etag or not matches(if_none_match, etag):
        return None
    headers = [(k, v) for k, v in captured.headers if k.lower() in KEPT_ON_304]
    return Captured(304, headers)
