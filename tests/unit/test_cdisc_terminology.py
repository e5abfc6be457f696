"""The controlled terminology the SDTM export emits, checked against CDISC CT 2022-06-24.

Every value of a CDISC codelist must be a term of that codelist (the vendored package holds
each codelist's submission values, preferred terms and synonyms), unless `terminology` marks it
a sponsor extension, which only an extensible codelist takes; every API code has its term.
"""

from __future__ import annotations

import pytest

from app.domain import adverse_events, eligibility, treatments
from app.domain.analytes import ANALYTES
from app.interop.cdisc import standard, ts
from app.interop.cdisc import terminology as ct
from app.interop.cdisc.ie import CRITERIA, CRITERION_OF_REASON

CDISC_LISTS = [c for c in ct.CODELISTS.values() if c.nci]


@pytest.mark.parametrize("codelist", CDISC_LISTS, ids=lambda c: c.key)
def test_cdisc_values_are_terms_of_their_codelist(codelist: ct.CodeList):
    meta = standard.codelist(codelist.nci or "")
    for term in codelist.terms:
        if term.extended:
            assert meta.extensible, (codelist.key, term.value)
            assert term.value not in meta.terms, f"{term.value} is a CDISC term: not an extension"
        else:
            assert term.value in meta.terms, (codelist.key, term.value)


def test_the_vendored_package_is_sdtmig_3_4_and_ct_2022_06_24():
    about = standard.about()
    assert about["standard"].startswith("SDTMIG v3.4")
    assert about["ct_package"] == ct.CT_PACKAGE == "sdtmct-2022-06-24"
    assert "CDISC" in about["attribution"]
    assert len(about["wheel_sha256"]) == 64


def test_every_analyte_has_its_lab_test_and_units_their_cdisc_terms():
    assert set(ct.LB_TESTS) == set(ANALYTES)
    codes = standard.codelist("C65047").terms
    names = standard.codelist("C67154").terms
    units = standard.codelist("C71620").terms
    for key, (code, name) in ct.LB_TESTS.items():
        assert code in codes, key
        assert name in names, key
        assert len(code) <= 8, key
        assert len(name) <= 40, key
        unit = ANALYTES[key].canonical_unit
        assert unit in ct.UNITLESS or ct.UNIT_FROM_UCUM[unit] in units, key
    assert set(ct.UNIT_FROM_UCUM.values()) <= units
    assert ct.EX_DOSE_UNIT not in units
    assert {ct.EX_DOSE_UNIT} == ct.SPONSOR_UNITS


def test_every_api_code_has_its_term():
    assert set(ct.AEOUT_FROM_API) == set(adverse_events.AE_OUTCOMES)
    assert set(ct.AEACN_FROM_API) == set(adverse_events.ACTIONS_TAKEN)
    assert set(ct.AEREL_FROM_API) == set(adverse_events.RELATEDNESS)
    assert set(ct.SERIOUSNESS_FLAGS) == set(adverse_events.SERIOUSNESS_CRITERIA)
    assert set(ct.SEX_FROM_API) == {"male", "female"}
    drugs = {c.upper() for c in treatments.CATEGORIES} - {
        c.upper() for c in treatments.PROCEDURE_CATEGORIES
    }
    assert drugs == ct.CMCAT.values
    reasons = {
        v
        for k, v in vars(eligibility).items()
        if k.isupper() and isinstance(v, str) and k not in {"REQUIRED_LABS"}
    }
    reasons = {r for r in reasons if "_" in r and r == r.lower()}
    assert reasons == set(CRITERION_OF_REASON)
    assert set(CRITERION_OF_REASON.values()) == set(CRITERIA)
    assert all(len(text) <= 200 for text in CRITERIA.values())


def test_disposition_terms_come_from_their_codelists():
    for code, values in ct.DSDECOD_CODELISTS.items():
        meta = standard.codelist(code)
        extended = {t.value for t in ct.DSDECOD.terms if t.extended}
        for value in values:
            assert (value in meta.terms) != (value in extended), (code, value)


def test_child_pugh_tests_are_the_cdisc_ones_and_cossh_a_sponsor_extension():
    codes, names = standard.codelist("C120989"), standard.codelist("C120988")
    for code, name in ct.CHILD_PUGH_TESTS:
        assert code in codes.terms
        assert name in names.terms
    assert not codes.extensible  # COSSH-ACLF II cannot go into the Child-Pugh list
    assert ct.RS_COSSH not in standard.codelist("C118971").terms
    for code, name in (ct.COSSH_SCORE, ct.COSSH_RISK, *ct.QS_ITEMS.values(), ct.QS_TOTAL):
        assert len(code) <= 8
        assert code.isalnum()
        assert code.isupper()
        assert len(name) <= 40


def test_trial_summary_parameters_and_values_are_cdisc_terms():
    assert set(ts.PARAMETERS) <= standard.codelist("C66738").terms
    assert set(ts.PARAMETERS.values()) <= standard.codelist("C67152").terms
    from datetime import UTC, datetime

    from app.interop.cdisc.records import Study

    for code, value, _ in ts._values(Study((), datetime.now(UTC))):
        if code in ts.CODED and value is not None:
            meta = standard.codelist(ts.CODED[code])
            if value == ts.CONTROL_TYPE:
                assert meta.extensible
                assert value not in meta.terms
            else:
                assert value in meta.terms, (code, value)
        assert value is None or len(value) <= 200, code


def test_verified_nci_term_codes():
    """The term codes the export states (Alias nci:ExtCodeID), as verified; the others stay
    empty until taken from the CDISC Library (docs/sdtm.md)."""
    stated = {(c.key, t.value): t.nci for c in ct.CODELISTS.values() for t in c.terms if t.nci}
    assert stated == {
        ("NY", "N"): "C49487",
        ("NY", "Y"): "C49488",
        ("SEX", "F"): "C16576",
        ("SEX", "M"): "C20197",
        ("AGEU", "YEARS"): "C29848",
        ("ARMNRS", "ASSIGNED, NOT TREATED"): "C142238",
        ("ARMNRS", "NOT ASSIGNED"): "C142239",
        ("ARMNRS", "SCREEN FAILURE"): "C49628",
    }
