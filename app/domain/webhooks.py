"""Webhook rules (SPEC §12): event types, what a change announces, the retry schedule and
the URL rules. Pure: the services do the I/O (database, DNS, HTTP).

Retry schedule: the wait after attempt n is `min(first × 2^(n-1) × f, cap)`, where `f` in
[0.5, 1) is the delivery's own jitter factor (drawn from its id, so deliveries made together
spread out, yet each wait stays at most double the last). A receiver's `Retry-After` is
honoured (up to the cap) when it asks for longer. Once the next attempt would fall after
`horizon` from the event, the delivery is `failed`.
"""

from __future__ import annotations

import ipaddress
import re
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import urlsplit

from app.domain import reporting_clocks
from app.domain.visits import MISSED, OVERDUE, VisitSlot

PARTICIPANT_RANDOMIZED = "participant.randomized"
DOSE_RECORDED = "dose.recorded"
VISIT_RECORDED = "visit.recorded"
OUTCOME_RECORDED = "outcome.recorded"
AE_SERIOUS = "adverse_event.serious"
AE_SUSAR = "adverse_event.susar"
AE_REPORT_OVERDUE = "adverse_event.report_overdue"
VISIT_OVERDUE = "visit.overdue"
EVENT_TYPES: tuple[str, ...] = (
    PARTICIPANT_RANDOMIZED,
    DOSE_RECORDED,
    VISIT_RECORDED,
    OUTCOME_RECORDED,
    AE_SERIOUS,
    AE_SUSAR,
    AE_REPORT_OVERDUE,
    VISIT_OVERDUE,
)

# delivery states
PENDING = "pending"  # waiting for its next attempt, or claimed (lease in next_attempt_at)
DELIVERED = "delivered"
FAILED = "failed"
DELIVERY_STATES: tuple[str, ...] = (PENDING, DELIVERED, FAILED)


def payload(event_type: str, occurred_at: datetime, data: dict[str, Any]) -> dict[str, Any]:
    """The body every receiver gets: `{type, timestamp, data}` (SPEC §12)."""
    stamp = occurred_at.astimezone(UTC).isoformat().replace("+00:00", "Z")
    return {"type": event_type, "timestamp": stamp, "data": data}


def adverse_event_types(
    *, was_serious: bool, was_susar: bool, serious: bool, susar: bool
) -> list[str]:
    """The events a recorded or corrected adverse event announces: becoming serious (recorded
    so, or upgraded) and becoming a SUSAR. A change that keeps them announces nothing."""
    out: list[str] = []
    if serious and not was_serious:
        out.append(AE_SERIOUS)
    if susar and not was_susar:
        out.append(AE_SUSAR)
    return out


REPORT_KINDS: tuple[str, ...] = ("sae_report", "expedited_report", "follow_up_report")


def overdue_reports(
    clocks: Iterable[tuple[str, datetime | None, datetime | None]], now: datetime
) -> list[str]:
    """The kinds of report (kind, due_at, reported_at) whose clock has passed unreported."""
    return [kind for kind, due, done in clocks if reporting_clocks.is_overdue(due, done, now)]


def overdue_visits(slots: Iterable[VisitSlot]) -> list[VisitSlot]:
    """Follow-up visits past their target day and not recorded (still in window, or missed);
    visits that can no longer happen (follow-up ended) are not overdue."""
    return [s for s in slots if s.visit_day is not None and s.status in (OVERDUE, MISSED)]


# --- retries --------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class RetryPolicy:
    first_seconds: float = 4.0
    cap_seconds: float = 3600.0
    horizon_seconds: float = 86400.0


def jitter_factor(delivery_id: uuid.UUID) -> float:
    """The delivery's own factor in [0.5, 1): stable, so the schedule keeps its shape."""
    return 0.5 + (delivery_id.int % 10_000) / 20_000


def backoff_seconds(attempts: int, policy: RetryPolicy, factor: float) -> float:
    """The wait after the `attempts`-th failed attempt (1 = the first)."""
    exponent = min(max(attempts - 1, 0), 40)  # 2^40 × first is past any cap
    return float(min(policy.first_seconds * (2**exponent) * factor, policy.cap_seconds))


def next_attempt_at(
    *,
    attempts: int,
    created_at: datetime,
    now: datetime,
    retry_after: float | None,
    policy: RetryPolicy,
    factor: float,
) -> datetime | None:
    """When to try again, or None: give up (the retry horizon has passed)."""
    wait = backoff_seconds(attempts, policy, factor)
    if retry_after is not None:
        wait = max(wait, min(retry_after, policy.cap_seconds))
    at = now + timedelta(seconds=wait)
    return None if at > created_at + timedelta(seconds=policy.horizon_seconds) else at


def parse_retry_after(value: str | None, now: datetime) -> float | None:
    """Seconds asked for by a `Retry-After` header (delta-seconds or HTTP-date), else None."""
    if not value:
        return None
    text = value.strip()
    if text.isdigit():
        return float(text)
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max((when - now).total_seconds(), 0.0)


def delivered(status_code: int) -> bool:
    """Any 2xx; redirects are not followed (a receiver's URL is registered, not discovered)."""
    return 200 <= status_code < 300


# --- outbound URL safety --------------------------------------------------------------------
METADATA_ADDRESSES = frozenset(
    ipaddress.ip_address(a)
    for a in ("169.254.169.254", "169.254.170.2", "100.100.100.200", "fd00:ec2::254")
)
IpAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
URL_CHARACTERS = re.compile(r"[\x21-\x7e]+")
HOST = re.compile(r"[A-Za-z0-9._-]+|[0-9A-Fa-f:.]+")  # a name, or an IP literal (unbracketed)


def url_problem(url: str, *, allow_http: bool) -> str | None:
    """Why a subscription URL is refused before any lookup (None: acceptable so far)."""
    if not URL_CHARACTERS.fullmatch(url):
        return "must be a URL of printable ASCII characters without spaces"
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises on a bad port
    except ValueError:
        return "is not a valid URL"
    schemes = ("https", "http") if allow_http else ("https",)
    if parts.scheme not in schemes:
        return "must be an https URL" + ("" if allow_http else " (http is for development)")
    if not parts.hostname or not HOST.fullmatch(parts.hostname):
        return "must name a host (a DNS name or an IP address)"
    if parts.username or parts.password:
        return "must not carry credentials"
    if parts.fragment:
        return "must not have a fragment"
    return None


def address_problem(address: IpAddress, *, allow_local: bool) -> str | None:
    """Why the service must not call this address (None: it may)."""
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    if allow_local:
        return None
    if address in METADATA_ADDRESSES:
        return f"resolves to a cloud metadata address ({address})"
    if address.is_loopback or address.is_unspecified:
        return f"resolves to a loopback address ({address})"
    if address.is_link_local:
        return f"resolves to a link-local address ({address})"
    if address.is_multicast or address.is_reserved:
        return f"resolves to a reserved address ({address})"
    return None
