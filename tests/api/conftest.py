"""Fixtures shared by the API test modules: a site of their own, its investigator, time travel.

Module-scoped: each test module works in its own site, so modules never see each other's
participants; a module may still define its own fixture of the same name.
"""

from __future__ import annotations

import pytest

from tests.api.treatment_helpers import Travel, time_machine
from tests.helpers import Actor, make_actor, make_site


@pytest.fixture(scope="module")
async def site(client, admin_headers) -> str:  # type: ignore[no-untyped-def]
    return await make_site(client, admin_headers)


@pytest.fixture(scope="module")
async def investigator(client, admin_headers, site) -> Actor:  # type: ignore[no-untyped-def]
    return await make_actor(client, admin_headers, "investigator", site)


@pytest.fixture
def travel(monkeypatch: pytest.MonkeyPatch) -> Travel:
    """Move "now" to a site-local time on a study day (see `treatment_helpers`)."""
    return time_machine(monkeypatch)


@pytest.fixture(scope="session")
async def cdisc_trial():  # type: ignore[no-untyped-def]
    """The seeded trial of the CDISC export tests, in a database of its own (built once)."""
    from tests.api.cdisc_trial import build_trial
    from tests.conftest import IsolatedApp

    async with IsolatedApp() as iso:
        yield await build_trial(iso)


@pytest.fixture(scope="session")
async def cdisc_statistician(cdisc_trial):  # type: ignore[no-untyped-def]
    from tests.api.cdisc_trial import ADMIN

    return await make_actor(cdisc_trial.iso.client, ADMIN, "statistician")
