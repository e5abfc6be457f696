"""The webhook rules without a database: retry schedule, Retry-After, URL and address rules,
which adverse-event changes are announced, and the overdue clocks."""

from __future__ import annotations

import ipaddress
import uuid
from datetime import UTC, datetime, timedelta

import pytest

from app.domain import webhooks as rules

POLICY = rules.RetryPolicy()  # 4 s, capped at 1 h, for 24 h
T0 = datetime(2026, 12, 3, tzinfo=UTC)


@pytest.mark.parametrize("seed", range(50))
def test_schedule_first_within_5s_each_at_most_double_capped_at_an_hour(seed):
    factor = rules.jitter_factor(uuid.UUID(int=seed * 7919 + 1))
    waits = [rules.backoff_seconds(n, POLICY, factor) for n in range(1, 40)]
    assert 0 < waits[0] <= 5
    for before, after in zip(waits, waits[1:], strict=False):
        assert before <= after <= 2 * before
    assert max(waits) == 3600


def test_retries_last_24_hours_then_fail():
    factor, now, attempts = 0.75, T0, 0
    while True:
        attempts += 1
        at = rules.next_attempt_at(
            attempts=attempts,
            created_at=T0,
            now=now,
            retry_after=None,
            policy=POLICY,
            factor=factor,
        )
        if at is None:
            break
        now = at
    assert timedelta(hours=23) <= now - T0 <= timedelta(hours=24)
    assert 25 < attempts < 40


def test_retry_after_is_honoured_up_to_the_cap():
    common = {"attempts": 1, "created_at": T0, "now": T0, "policy": POLICY, "factor": 0.5}
    assert rules.next_attempt_at(retry_after=120, **common) == T0 + timedelta(seconds=120)
    assert rules.next_attempt_at(retry_after=10**6, **common) == T0 + timedelta(hours=1)
    assert rules.next_attempt_at(retry_after=0, **common) == T0 + timedelta(seconds=2)


def test_parse_retry_after():
    assert rules.parse_retry_after("120", T0) == 120
    assert rules.parse_retry_after("Thu, 03 Dec 2026 00:01:00 GMT", T0) == 60
    assert rules.parse_retry_after("Wed, 02 Dec 2026 00:00:00 GMT", T0) == 0
    assert rules.parse_retry_after("soon", T0) is None
    assert rules.parse_retry_after(None, T0) is None


@pytest.mark.parametrize(
    ("url", "allow_http", "refused"),
    [
        ("https://partner.example.org/hook", False, False),
        ("http://partner.example.org/hook", False, True),
        ("http://partner.example.org/hook", True, False),
        ("https://partner.example.org:99999/", False, True),
        ("https://[::1", False, True),
        ("https://u:p@partner.example.org/", False, True),
        ("https://partner.example.org/#x", False, True),
        ("https://part ner.org/", False, True),
        ("javascript:alert(1)", True, True),
    ],
)
def test_url_form(url, allow_http, refused):
    assert (rules.url_problem(url, allow_http=allow_http) is not None) is refused


@pytest.mark.parametrize(
    ("address", "refused"),
    [
        ("127.0.0.1", True),
        ("::1", True),
        ("0.0.0.0", True),
        ("169.254.169.254", True),
        ("169.254.3.4", True),
        ("fe80::1", True),
        ("fd00:ec2::254", True),
        ("100.100.100.200", True),
        ("::ffff:127.0.0.1", True),
        ("224.0.0.1", True),
        ("93.184.216.34", False),
        ("10.1.2.3", False),  # a partner inside the hospital network (docs/webhooks.md)
    ],
)
def test_addresses(address, refused):
    ip = ipaddress.ip_address(address)
    assert (rules.address_problem(ip, allow_local=False) is not None) is refused
    assert rules.address_problem(ip, allow_local=True) is None


def test_adverse_event_announcements():
    assert rules.adverse_event_types(
        was_serious=False, was_susar=False, serious=True, susar=True
    ) == [rules.AE_SERIOUS, rules.AE_SUSAR]
    assert (
        rules.adverse_event_types(was_serious=True, was_susar=False, serious=True, susar=False)
        == []
    )
    assert rules.adverse_event_types(
        was_serious=True, was_susar=False, serious=True, susar=True
    ) == [rules.AE_SUSAR]


def test_overdue_reports_use_the_reporting_clock():
    due = T0
    clocks = [("sae_report", due, None), ("expedited_report", due, due), ("x", None, None)]
    assert rules.overdue_reports(clocks, due) == []  # at the due instant: still on time
    assert rules.overdue_reports(clocks, due + timedelta(seconds=1)) == ["sae_report"]


def test_payload_shape():
    body = rules.payload("dose.recorded", T0, {"id": "x"})
    assert body == {
        "type": "dose.recorded",
        "timestamp": "2026-12-03T00:00:00Z",
        "data": {"id": "x"},
    }
