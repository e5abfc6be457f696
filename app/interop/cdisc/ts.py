"""TS (Trial Summary): the trial's parameters, from the protocol module and the registration.

Values the service does not know (the registry identifier, the sponsor, the phase: the
registration text states none of them) are empty with TSVALNF = UNK, for the sponsor to fill.
SSTDTC (study start) is the earliest informed consent; DCUTDTC (data cutoff) is the time of the
export. TSPARMCD/TSPARM are CDISC CT (C66738/C67152, 2022-06-24); coded values name their
reference in TSVCDREF.
"""

from __future__ import annotations

from collections import defaultdict

from app.domain import protocol
from app.interop.cdisc import terminology as ct
from app.interop.cdisc.common import ASSIGNED, DERIVED, PROTOCOL, STUDYID, Domain, Row, Var, dtc
from app.interop.cdisc.records import Study
from app.interop.cdisc.standard import SDTM_VERSION, SDTMIG_VERSION

VARIABLES = (
    Var("STUDYID", ASSIGNED, "the trial code"),
    Var("DOMAIN", ASSIGNED, "TS"),
    Var("TSSEQ", DERIVED, "1, 2, ... per TSPARMCD", method="SEQ"),
    Var("TSPARMCD", ASSIGNED, "the parameter's CDISC code"),
    Var("TSPARM", ASSIGNED, "the parameter's CDISC name"),
    Var("TSVAL", PROTOCOL, "the value (app.domain.protocol, the registration text, the export)"),
    Var("TSVALNF", ASSIGNED, "UNK where the service does not know the value"),
    Var("TSVALCD", ASSIGNED, "the code of a coded value"),
    Var(
        "TSVCDREF", ASSIGNED, "the terminology of TSVALCD (CDISC CT, ISO 8601, ISO 3166-1 alpha-3)"
    ),
    Var("TSVCDVER", ASSIGNED, "the version of that terminology"),
)
# TSPARMCD -> TSPARM (C66738 / C67152)
PARAMETERS = {
    "ACTSUB": "Actual Number of Subjects",
    "ADAPT": "Adaptive Design",
    "ADDON": "Added on to Existing Treatments",
    "AGEMAX": "Planned Maximum Age of Subjects",
    "AGEMIN": "Planned Minimum Age of Subjects",
    "CURTRT": "Current Therapy or Treatment",
    "DCUTDESC": "Data Cutoff Description",
    "DCUTDTC": "Data Cutoff Date",
    "DOSE": "Dose per Administration",
    "DOSFRQ": "Dosing Frequency",
    "DOSU": "Dose Units",
    "EXTTIND": "Extension Trial Indicator",
    "FCNTRY": "Planned Country of Investigational Sites",
    "HLTSUBJI": "Healthy Subject Indicator",
    "INDIC": "Trial Disease/Condition Indication",
    "INTMODEL": "Intervention Model",
    "INTTYPE": "Intervention Type",
    "LENGTH": "Trial Length",
    "NARMS": "Planned Number of Arms",
    "OBJPRIM": "Trial Primary Objective",
    "OBJSEC": "Trial Secondary Objective",
    "OUTMSPRI": "Primary Outcome Measure",
    "OUTMSSEC": "Secondary Outcome Measure",
    "PLANSUB": "Planned Number of Subjects",
    "RANDOM": "Trial is Randomized",
    "REGID": "Registry Identifier",
    "ROUTE": "Route of Administration",
    "SDTIGVER": "SDTM IG Version",
    "SDTMVER": "SDTM Version",
    "SEXPOP": "Sex of Participants",
    "SPONSOR": "Clinical Study Sponsor",
    "SSTDTC": "Study Start Date",
    "STYPE": "Study Type",
    "TBLIND": "Trial Blinding Schema",
    "TCNTRL": "Control Type",
    "THERAREA": "Therapeutic Area",
    "TINDTP": "Trial Intent Type",
    "TITLE": "Trial Title",
    "TPHASE": "Trial Phase Classification",
    "TRT": "Investigational Therapy or Treatment",
    "TTYPE": "Trial Type",
}
# the values of coded parameters and the CDISC codelist they come from (checked by a test)
CODED: dict[str, str] = {
    "ADAPT": "C66742", "ADDON": "C66742", "EXTTIND": "C66742", "HLTSUBJI": "C66742",
    "RANDOM": "C66742", "INTMODEL": "C99076", "INTTYPE": "C99078", "SEXPOP": "C66732",
    "STYPE": "C99077", "TBLIND": "C66735", "TCNTRL": "C66785", "TINDTP": "C66736",
    "TTYPE": "C66739", "DOSFRQ": "C71113", "ROUTE": "C66729",
}  # fmt: skip
CONTROL_TYPE = "STANDARD OF CARE"  # not in C66785 (2022): a sponsor term, the control is SMT
UNKNOWN = "UNK"
ISO8601 = ("ISO 8601", "")
TITLE = (
    "Safety and Efficacy of PT-MSCs Exosome Injection in Acute-on-Chronic Liver Failure: a "
    "Single-Center, Prospective, Randomized, Open-Label, Exploratory Study"
)
SECONDARY_OUTCOMES = (
    "4-week survival rate",
    "Adverse outcomes (death, treatment abandonment or liver transplantation) at weeks 4 and 12",
    "Change from baseline in COSSH-ACLF II score",
    "Change from baseline in Child-Pugh score",
    "Change from baseline in clinical symptom score",
    "Change from baseline in biochemical markers (liver function, coagulation, inflammation)",
    "Incidence of adverse events and serious adverse events",
)


def _values(study: Study) -> list[tuple[str, str | None, tuple[str, str] | None]]:
    """(TSPARMCD, TSVAL or None (unknown), (TSVCDREF, TSVCDVER) or None)."""
    randomized = sum(1 for p in study.participants if p.allocation is not None)
    cdisc = ("CDISC CT", ct.CT_VERSION)
    last_day = protocol.FINAL_VISIT_DAY
    values: list[tuple[str, str | None, tuple[str, str] | None]] = [
        ("TITLE", TITLE, None),
        ("REGID", None, None),
        ("SPONSOR", None, None),
        ("TPHASE", None, None),
        ("STYPE", "INTERVENTIONAL", cdisc),
        ("TTYPE", "SAFETY", cdisc),
        ("TTYPE", "EFFICACY", cdisc),
        ("TINDTP", "TREATMENT", cdisc),
        ("INTMODEL", "PARALLEL", cdisc),
        ("INTTYPE", "BIOLOGIC", cdisc),
        ("RANDOM", "Y", cdisc),
        ("TBLIND", "OPEN LABEL", cdisc),
        ("TCNTRL", CONTROL_TYPE, cdisc),
        ("ADDON", "Y", cdisc),
        ("ADAPT", "N", cdisc),
        ("EXTTIND", "N", cdisc),
        ("HLTSUBJI", "N", cdisc),
        ("SEXPOP", "BOTH", cdisc),
        ("AGEMIN", f"P{protocol.AGE_MIN_YEARS}Y", ISO8601),
        ("AGEMAX", f"P{protocol.AGE_MAX_YEARS}Y", ISO8601),
        ("NARMS", str(len(protocol.ARMS)), None),
        ("PLANSUB", str(protocol.ENROLLMENT_TARGET), None),
        ("ACTSUB", str(randomized), None),
        ("INDIC", "Acute-on-chronic liver failure", None),
        ("THERAREA", "Hepatology", None),
        ("TRT", protocol.PRODUCT_NAME, None),
        ("DOSE", str(protocol.DOSE_PARTICLES), None),
        ("DOSU", ct.EX_DOSE_UNIT, None),
        ("DOSFRQ", "Q3D", cdisc),
        ("ROUTE", ct.EX_ROUTE, cdisc),
        ("CURTRT", "Standard medical treatment: antiviral therapy, hepatoprotective drugs, "
         "symptomatic support; artificial liver support or liver transplantation by clinical "
         "judgment", None),
        ("LENGTH", f"P{last_day}D", ISO8601),
        ("OBJPRIM", "To evaluate whether PT-MSCs Exosome Injection added to standard medical "
         "treatment improves 12-week survival in acute-on-chronic liver failure", None),
        ("OBJSEC", "To describe the safety of PT-MSCs Exosome Injection (adverse events and "
         "serious adverse events) and its effect on 4-week survival, adverse outcomes, "
         "clinical scores, symptoms and biochemical markers", None),
        ("OUTMSPRI", "12-week survival rate", None),
        *(("OUTMSSEC", text, None) for text in SECONDARY_OUTCOMES),
        ("FCNTRY", ct.COUNTRY_CHINA, ("ISO 3166-1 alpha-3", "")),
        ("SSTDTC", dtc(study.first_consent), ISO8601),
        ("DCUTDTC", study.exported_at.date().isoformat(), ISO8601),
        ("DCUTDESC", "The data recorded in the trial service when this export was made "
         f"({study.exported_at.isoformat(timespec='seconds')}, {study.data_as_of})", None),
        ("SDTMVER", SDTM_VERSION, None),
        ("SDTIGVER", SDTMIG_VERSION, None),
    ]  # fmt: skip
    return values


def build(study: Study) -> Domain:
    rows: list[Row] = []
    counters: dict[str, int] = defaultdict(int)
    for code, value, reference in _values(study):
        counters[code] += 1
        coded = reference is not None and value is not None
        rows.append(
            {
                "STUDYID": STUDYID,
                "DOMAIN": "TS",
                "TSSEQ": float(counters[code]),
                "TSPARMCD": code,
                "TSPARM": PARAMETERS[code],
                "TSVAL": value,
                "TSVALNF": UNKNOWN if value is None else None,
                "TSVALCD": value if coded and reference != ("CDISC CT", ct.CT_VERSION) else None,
                "TSVCDREF": reference[0] if coded and reference else None,
                "TSVCDVER": (reference[1] or None) if coded and reference else None,
            }
        )
    return Domain("TS", VARIABLES, rows)
