"""The whole trial flow through the client generated from openapi/openapi.json, against a
real server (two uvicorn workers): enrol -> screen -> consent -> randomize -> dose -> visit ->
AE -> reports, with Idempotency-Key, If-Match and If-None-Match. Nothing here builds a URL or
a header by hand: what the client cannot do, the contract does not say."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta
from types import ModuleType
from typing import Any

from tests.conftest import ADMIN_TOKEN
from tests.helpers import eligible_labs

DEMO_SEED = "aclf-demo-seed-not-for-a-real-trial-0005"  # first slot exosome (docs/randomization.md)


def ok(response: Any, status: int) -> Any:
    assert response.status_code == status, response.content
    return response.parsed


def test_the_trial_flow_through_the_generated_client(trial_client: ModuleType, server) -> None:
    from trial_client import AuthenticatedClient

    admin = AuthenticatedClient(base_url=server.url, token=ADMIN_TOKEN, timeout=60)
    token, site_code = _investigator(admin)
    inv = AuthenticatedClient(base_url=server.url, token=token, timeout=60)
    pid = _enrol_and_screen(inv, site_code)
    _randomize(admin, inv, pid)
    _dose_and_visit(inv, pid)
    _adverse_event(inv, pid)
    _reports_and_feed(admin, inv, pid)


def _investigator(admin: Any) -> tuple[str, str]:
    from trial_client.api.access import create_site, create_token, create_user
    from trial_client.models import SiteIn, TokenIn, UserIn, UserInRole

    code = "K" + uuid.uuid4().hex[:6].upper()
    ok(create_site.sync_detailed(client=admin, body=SiteIn(code=code, name="Client site")), 201)
    user = UserIn(username=f"inv-{code.lower()}", role=UserInRole.INVESTIGATOR, site_code=code)
    made = ok(create_user.sync_detailed(client=admin, body=user), 201)
    token = ok(create_token.sync_detailed(made.id, client=admin, body=TokenIn(name="client")), 201)
    return str(token.token), code


def _enrol_and_screen(inv: Any, site_code: str) -> uuid.UUID:
    from trial_client.api.participants import (
        create_participant,
        get_participant,
        record_consent,
        screen_participant,
    )
    from trial_client.models import ConsentIn, ParticipantIn, ParticipantInSex, ScreeningIn

    me = ParticipantIn(
        site_code=site_code, date_of_birth=date(1971, 4, 2), sex=ParticipantInSex.MALE
    )
    key = uuid.uuid4().hex
    first = create_participant.sync_detailed(client=inv, body=me, idempotency_key=key)
    again = create_participant.sync_detailed(client=inv, body=me, idempotency_key=key)
    assert ok(again, 201).id == ok(first, 201).id
    assert again.headers["Idempotent-Replayed"] == "true"
    pid = first.parsed.id
    read = get_participant.sync_detailed(pid, client=inv)
    unchanged = get_participant.sync_detailed(pid, client=inv, if_none_match=read.headers["ETag"])
    assert unchanged.status_code == 304
    body = {
        "assessment_date": (date.today() - timedelta(days=1)).isoformat(),
        "labs": eligible_labs(),
        "he_grade": 1,
        "ascites": "mild",
        "aclf_diagnosis_confirmed": True,
        "symptoms": {"fatigue": 2, "anorexia": 2, "nausea": 1, "jaundice": 3, "consciousness": 0},
    }
    screened = ok(
        screen_participant.sync_detailed(pid, client=inv, body=ScreeningIn.from_dict(body)), 201
    )
    assert screened.eligible, screened.reasons
    assert screened.scores.cossh_aclf_ii.score > 0  # typed scores
    consent = ConsentIn(consent_date=date.today() - timedelta(days=2), form_version="ICF v1.2")
    ok(record_consent.sync_detailed(pid, client=inv, body=consent), 201)
    return pid


def _randomize(admin: Any, inv: Any, pid: uuid.UUID) -> None:
    from trial_client.api.randomization import (
        create_randomization_list,
        deactivate_randomization_list,
        list_randomization_lists,
        randomize_participant,
    )
    from trial_client.models import AllocationListIn, DeactivateIn, RandomizationOutArm

    offset = 0
    while True:
        page = ok(
            list_randomization_lists.sync_detailed(client=admin, limit=100, offset=offset), 200
        )
        for listed in page.items:
            if listed.active:
                retire = DeactivateIn(reason="client test: a fresh demo list")
                ok(
                    deactivate_randomization_list.sync_detailed(
                        listed.id, client=admin, body=retire
                    ),
                    200,
                )
        offset += len(page.items)
        if offset >= page.total or not page.items:
            break
    ok(
        create_randomization_list.sync_detailed(
            client=admin, body=AllocationListIn(seed=DEMO_SEED)
        ),
        201,
    )
    allocation = ok(
        randomize_participant.sync_detailed(pid, client=inv, idempotency_key=uuid.uuid4().hex), 201
    )
    assert allocation.arm == RandomizationOutArm.EXOSOME


def _dose_and_visit(inv: Any, pid: uuid.UUID) -> None:
    from trial_client.api.treatment import list_doses, list_scores, record_dose, record_visit
    from trial_client.models import DoseIn, VisitIn

    now = datetime.now(UTC).replace(microsecond=0)
    dose = DoseIn.from_dict(
        {
            "dose_number": 1,
            "started_at": (now - timedelta(minutes=10)).isoformat(),
            "ended_at": now.isoformat(),
            "particles": 200_000_000_000,
            "volume_ml": 100,
            "lot_number": "EVS-2026-001",
            "deviation_reason": "stopped for chills; client test",
        }
    )
    given = ok(
        record_dose.sync_detailed(pid, client=inv, body=dose, idempotency_key=uuid.uuid4().hex), 201
    )
    doses = ok(list_doses.sync_detailed(pid, client=inv), 200)
    assert [d.id for d in doses.items] == [given.id]
    visit = VisitIn.from_dict(
        {
            "visit_day": 4,
            "visit_date": date.today().isoformat(),
            "vital_status": "alive",
            "he_grade": 0,
            "ascites": "mild",
            "labs": {**eligible_labs(), "total_bilirubin": {"value": 180, "unit": "umol/L"}},
            "symptoms": {
                "fatigue": 2,
                "anorexia": 1,
                "nausea": 0,
                "jaundice": 2,
                "consciousness": 0,
            },
            "deviation_reason": "client test: recorded early",
        }
    )
    ok(
        record_visit.sync_detailed(pid, client=inv, body=visit, idempotency_key=uuid.uuid4().hex),
        201,
    )
    series = ok(list_scores.sync_detailed(pid, client=inv), 200)
    assert series.items[1].scores.symptom_score.change_from_baseline == -3


def _adverse_event(inv: Any, pid: uuid.UUID) -> None:
    from trial_client.api.safety import (
        follow_up_adverse_event,
        get_adverse_event,
        record_adverse_event,
    )
    from trial_client.models import (
        AdverseEventIn,
        AdverseEventPatch,
        AeOutcome,
        Expectedness,
        Relatedness,
    )

    event = AdverseEventIn(
        term="Fever",
        onset_date=date.today(),
        ctcae_grade=2,
        serious=False,
        seriousness_criteria=[],
        relatedness=Relatedness.POSSIBLE,
        expectedness=Expectedness.EXPECTED,
        outcome=AeOutcome.RECOVERING,
        aware_at=datetime.now(UTC).replace(microsecond=0),
    )
    made = record_adverse_event.sync_detailed(
        pid, client=inv, body=event, idempotency_key=uuid.uuid4().hex
    )
    ae = ok(made, 201)
    read = get_adverse_event.sync_detailed(pid, ae.id, client=inv)
    change = AdverseEventPatch(
        outcome=AeOutcome.RECOVERED, end_date=date.today(), reason="resolved"
    )
    stale = follow_up_adverse_event.sync_detailed(
        pid, ae.id, client=inv, body=change, if_match='"0"'
    )
    assert stale.status_code == 412
    done = follow_up_adverse_event.sync_detailed(
        pid, ae.id, client=inv, body=change, if_match=read.headers["ETag"]
    )
    assert ok(done, 200).outcome == AeOutcome.RECOVERED


def _reports_and_feed(admin: Any, inv: Any, pid: uuid.UUID) -> None:
    from trial_client.api.reports import (
        get_consort_report,
        get_endpoints_report,
        get_kaplan_meier_plot,
    )
    from trial_client.api.sync import list_changes

    report = ok(get_endpoints_report.sync_detailed(client=admin), 200)
    assert report.arms.exosome.randomized >= 1
    assert ok(get_consort_report.sync_detailed(client=admin), 200).arms is not None
    png = get_kaplan_meier_plot.sync_detailed(client=admin)
    assert png.status_code == 200
    assert png.content.startswith(b"\x89PNG")
    changes, after = [], None
    while True:
        page = ok(list_changes.sync_detailed(client=inv, after=after or "0-0", limit=100), 200)
        changes += page.items
        after = page.next_cursor
        if len(page.items) < 100:
            break
    mine = {(c.resource.value, c.action.value) for c in changes if c.participant_id == pid}
    assert {("participant", "created"), ("dose", "created"), ("adverse_event", "updated")} <= mine
