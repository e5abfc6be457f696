"""A seeded trial for the FHIR tests: a site with an MRN system and participants in every state
that changes a resource (candidate, ineligible, both arms, a dose given and one not, a visit, a
voided result, serious and non-serious events), plus a second site for isolation."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

import httpx
import pytest

from app import clock
from tests.api.treatment_helpers import dose_body, local, randomized, visit_body
from tests.conftest import unique
from tests.helpers import Actor, make_actor, make_participant, screening_body

MRN_SYSTEM = "urn:oid:1.2.156.112604.1.2.1"


@dataclass
class World:
    site: str
    other_site: str
    investigator: Actor
    other_investigator: Actor
    ids: dict[str, str] = field(default_factory=dict)  # name -> participant id
    records: dict[str, str] = field(default_factory=dict)  # name -> record id
    day1: date | None = None


async def make_site_with_mrn(client: httpx.AsyncClient, admin: dict[str, str]) -> str:
    code = unique("F")[:10]
    r = await client.post(
        "/api/v1/sites",
        json={
            "code": code,
            "name": f"Site {code}",
            "mrn_system": f"{MRN_SYSTEM}.{int(code[-4:], 16)}",
        },
        headers=admin,
    )
    assert r.status_code == 201, r.text
    return code


def _ok(r: httpx.Response) -> dict[str, Any]:
    assert r.status_code in (200, 201), r.text
    return dict(r.json())


async def seed(client: httpx.AsyncClient, admin: dict[str, str]) -> World:
    site = await make_site_with_mrn(client, admin)
    other = await make_site_with_mrn(client, admin)
    inv = await make_actor(client, admin, "investigator", site)
    world = World(site, other, inv, await make_actor(client, admin, "investigator", other))
    h = inv.headers
    body = {"site_code": site, "date_of_birth": "1970-05-01", "sex": "female", "mrn": "MRN-0001"}
    world.ids["candidate"] = _ok(await client.post("/api/v1/participants", json=body, headers=h))[
        "id"
    ]
    failed = await make_participant(client, inv)
    _ok(
        await client.post(
            f"/api/v1/participants/{failed['id']}/screening",
            json=screening_body(aclf_diagnosis_confirmed=False),
            headers=h,
        )
    )
    world.ids["ineligible"] = failed["id"]
    exo, day1 = await randomized(client, admin, inv, "exosome")
    ctl, _ = await randomized(client, admin, inv, "control")
    world.ids.update(exosome=exo, control=ctl)
    world.day1 = day1
    await _treat(client, world, exo, ctl, day1)
    other_p = await make_participant(client, world.other_investigator)
    world.ids["other_site"] = other_p["id"]
    return world


async def _treat(client: httpx.AsyncClient, world: World, exo: str, ctl: str, day1: date) -> None:
    h = world.investigator.headers
    base = f"/api/v1/participants/{exo}"
    with pytest.MonkeyPatch.context() as m:
        now = local(day1, 4, 23).astimezone(UTC)
        m.setattr(clock, "utc_now", lambda: now)
        given = _ok(await client.post(f"{base}/doses", json=dose_body(day1, 1), headers=h))
        world.records["dose_given"] = given["id"]
        not_given = {"dose_number": 2, "status": "not_administered", "reason": "fever"}
        world.records["dose_not_given"] = _ok(
            await client.post(f"{base}/doses", json=not_given, headers=h)
        )["id"]
        world.records["visit"] = _ok(
            await client.post(f"{base}/visits", json=visit_body(day1, 4), headers=h)
        )["id"]
        lab = {
            "analyte": "crp",
            "value": 12.5,
            "unit": "mg/L",
            "collected_at": local(day1, 3, 8).isoformat(),
            "reference_range_high": 5,
        }
        world.records["lab"] = _ok(await client.post(f"{base}/lab-results", json=lab, headers=h))[
            "id"
        ]
        lab["analyte"], lab["collected_at"] = "alt", local(day1, 3, 9).isoformat()
        voided = _ok(
            await client.post(f"{base}/lab-results", json=lab | {"unit": "U/L"}, headers=h)
        )
        _ok(
            await client.post(
                f"{base}/lab-results/{voided['id']}/void",
                json={"reason": "wrong patient"},
                headers=h | {"If-Match": '"1"'},
            )
        )
        world.records["lab_voided"] = voided["id"]
        aware = datetime.now(UTC).replace(microsecond=0)
        event = {
            "term": "Infusion reaction",
            "meddra_pt_code": "10051792",
            "onset_date": (day1).isoformat(),
            "ctcae_grade": 3,
            "serious": True,
            "seriousness_criteria": ["hospitalization"],
            "relatedness": "probable",
            "expectedness": "unexpected",
            "outcome": "recovered",
            "aware_at": min(aware, now).isoformat(),
            "dose_id": given["id"],
        }
        world.records["ae_serious"] = _ok(
            await client.post(f"{base}/adverse-events", json=event, headers=h)
        )["id"]
        mild = event | {
            "term": "Headache",
            "ctcae_grade": 1,
            "serious": False,
            "seriousness_criteria": [],
            "relatedness": "not_related",
            "outcome": "recovered",
            "dose_id": None,
            "meddra_pt_code": None,
        }
        world.records["ae_control"] = _ok(
            await client.post(f"/api/v1/participants/{ctl}/adverse-events", json=mild, headers=h)
        )["id"]
        _ok(
            await client.post(
                f"/api/v1/participants/{ctl}/visits",
                json=visit_body(day1, 4) | {"visit_date": (day1 + timedelta(days=3)).isoformat()},
                headers=h,
            )
        )
