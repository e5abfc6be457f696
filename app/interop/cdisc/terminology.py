"""Controlled terminology: every coded value the SDTM export emits, pinned in one place.

CDISC CT package: SDTM CT 2022-06-24 (the newest in the only offline source, see
docs/sdtm.md "Conformance"). `tests/unit/test_cdisc_terminology.py` checks every value
below against that package (`sdtmig34.json`): values of a CDISC codelist must be CDISC terms
unless marked `extended` (a sponsor term added to an extensible codelist, flagged
def:ExtendedValue="Yes" in define.xml), and non-extensible codelists take no extension.

NCI term codes (`nci`) are given only where they were verified; the offline CT source holds no
term codes, so the others are left empty (define.xml then carries no term Alias) until they are
taken from the CDISC Library. Codelist codes (`CodeList.nci`) are all from the package.
"""

from __future__ import annotations

from dataclasses import dataclass

CT_VERSION = "2022-06-24"
CT_PACKAGE = f"sdtmct-{CT_VERSION}"


@dataclass(frozen=True, slots=True)
class Term:
    value: str
    decode: str | None = None
    nci: str | None = None
    extended: bool = False  # a sponsor term in an extensible CDISC codelist


@dataclass(frozen=True, slots=True)
class CodeList:
    key: str
    name: str
    terms: tuple[Term, ...]
    nci: str | None = None  # the CDISC codelist; None for a sponsor-defined list
    data_type: str = "text"

    @property
    def values(self) -> frozenset[str]:
        return frozenset(t.value for t in self.terms)


def _terms(*values: str) -> tuple[Term, ...]:
    return tuple(Term(v) for v in values)


def _sponsor(*values: str) -> tuple[Term, ...]:
    return tuple(Term(v, extended=True) for v in values)


# --- general ---------------------------------------------------------------------------------
NY = CodeList(
    "NY", "No Yes Response", (Term("N", "No", "C49487"), Term("Y", "Yes", "C49488")), "C66742"
)
SEX = CodeList("SEX", "Sex", (Term("F", "Female", "C16576"), Term("M", "Male", "C20197")), "C66731")
SEX_FROM_API = {"female": "F", "male": "M"}
AGEU = CodeList("AGEU", "Age Unit", (Term("YEARS", "Years", "C29848"),), "C66781")
COUNTRY_CHINA = "CHN"  # every site of the trial is in China (ISO 3166-1 alpha-3)

EPOCH_SCREENING, EPOCH_TREATMENT, EPOCH_FOLLOW_UP = "SCREENING", "TREATMENT", "FOLLOW-UP"
EPOCH = CodeList(
    "EPOCH", "Epoch", _terms(EPOCH_SCREENING, EPOCH_TREATMENT, EPOCH_FOLLOW_UP), "C99079"
)

# --- arms ------------------------------------------------------------------------------------
ARMCD_FROM_API = {"control": "CTRL", "exosome": "EXO"}
ARM_NAMES = {
    "CTRL": "Standard medical treatment",
    "EXO": "Standard medical treatment + PT-MSCs exosome infusion",
}
ARMCD = CodeList("ARMCD", "Planned Arm Code", tuple(Term(c, n) for c, n in ARM_NAMES.items()))
ARM = CodeList("ARM", "Description of Planned Arm", _terms(*ARM_NAMES.values()))
ARMNRS_SCREEN_FAILURE = "SCREEN FAILURE"
ARMNRS_NOT_ASSIGNED = "NOT ASSIGNED"
ARMNRS_NOT_TREATED = "ASSIGNED, NOT TREATED"
ARMNRS = CodeList(
    "ARMNRS",
    "Arm Null Reason",
    (
        Term(ARMNRS_NOT_TREATED, nci="C142238"),
        Term(ARMNRS_NOT_ASSIGNED, nci="C142239"),
        Term(ARMNRS_SCREEN_FAILURE, nci="C49628"),
    ),
    "C142179",
)

# --- disposition (DS) ------------------------------------------------------------------------
DSCAT_MILESTONE, DSCAT_DISPOSITION, DSCAT_OTHER = (
    "PROTOCOL MILESTONE",
    "DISPOSITION EVENT",
    "OTHER EVENT",
)
DSCAT = CodeList(
    "DSCAT",
    "Category for Disposition Event",
    _terms(DSCAT_MILESTONE, DSCAT_DISPOSITION, DSCAT_OTHER),
    "C74558",
)
CONSENTED, RANDOMIZED = "INFORMED CONSENT OBTAINED", "RANDOMIZED"
# the participant's final status -> DSDECOD (C66727, Completion/Reason for Non-Completion)
DISPOSITION_FROM_STATUS = {
    "completed": "COMPLETED",
    "died": "DEATH",
    "withdrawn": "WITHDRAWAL BY SUBJECT",
    "lost_to_follow_up": "LOST TO FOLLOW-UP",
    "screen_failed": "SCREEN FAILURE",
}
# events after which survival follow-up continues (SPEC §2.2): OTHER EVENT, sponsor terms
OTHER_EVENT_FROM_OUTCOME = {
    "liver_transplant": "LIVER TRANSPLANT",
    "treatment_abandoned": "TREATMENT ABANDONED",
}
DSDECOD = CodeList(
    "DSDECOD",
    "Standardized Disposition Term",
    (
        *_terms(CONSENTED, RANDOMIZED),  # C114118 Protocol Milestone
        *_terms(*DISPOSITION_FROM_STATUS.values()),  # C66727
        *_sponsor(*OTHER_EVENT_FROM_OUTCOME.values()),  # C150811 Other Disposition Event
    ),
)
DSDECOD_CODELISTS = {
    "C114118": (CONSENTED, RANDOMIZED),
    "C66727": tuple(DISPOSITION_FROM_STATUS.values()),
    "C150811": tuple(OTHER_EVENT_FROM_OUTCOME.values()),
}

# --- inclusion/exclusion (IE, TI) -------------------------------------------------------------
IECAT = CodeList(
    "IECAT", "Inclusion/Exclusion Category", _terms("INCLUSION", "EXCLUSION"), "C66797"
)

# --- exposure (EX) -----------------------------------------------------------------------------
EX_DOSE_UNIT = "PARTICLES"  # not in UNIT (C71620): a sponsor term
SPONSOR_UNITS = frozenset({EX_DOSE_UNIT})
EX_DOSE_FORM = "INJECTION"
EX_ROUTE = "INTRAVENOUS"
EX_FREQUENCY = "ONCE"  # per record: each record is one infusion (the regimen is Q3D, in TS)
# the free-text route of a medication (CM), case-insensitively -> C66729; other text is kept
ROUTE_FROM_TEXT = {
    "oral": "ORAL",
    "po": "ORAL",
    "intravenous": "INTRAVENOUS",
    "iv": "INTRAVENOUS",
    "subcutaneous": "SUBCUTANEOUS",
    "sc": "SUBCUTANEOUS",
    "intramuscular": "INTRAMUSCULAR",
    "im": "INTRAMUSCULAR",
    "rectal": "RECTAL",
    "topical": "TOPICAL",
    "nasogastric": "NASOGASTRIC",
}
ROUTE = CodeList(
    "ROUTE", "Route of Administration", _terms(*sorted(set(ROUTE_FROM_TEXT.values()))), "C66729"
)
FRM = CodeList("FRM", "Pharmaceutical Dosage Form", _terms(EX_DOSE_FORM), "C66726")
FREQ = CodeList("FREQ", "Frequency", _terms(EX_FREQUENCY, "Q3D"), "C71113")

# --- adverse events (AE) ---------------------------------------------------------------------
AEOUT_FROM_API = {
    "recovered": "RECOVERED/RESOLVED",
    "recovering": "RECOVERING/RESOLVING",
    "not_recovered": "NOT RECOVERED/NOT RESOLVED",
    "recovered_with_sequelae": "RECOVERED/RESOLVED WITH SEQUELAE",
    "fatal": "FATAL",
    "unknown": "UNKNOWN",
}
AEOUT = CodeList("OUT", "Outcome of Event", _terms(*AEOUT_FROM_API.values()), "C66768")
# action taken with the study drug; "none" is DOSE NOT CHANGED in the exosome arm and NOT
# APPLICABLE in the control arm (no study drug); a skipped dose is an interruption (later
# doses stay allowed, SPEC §2.4)
AEACN_FROM_API = {
    "none": "DOSE NOT CHANGED",
    "interrupted": "DRUG INTERRUPTED",
    "dose_not_given": "DRUG INTERRUPTED",
    "withdrawn": "DRUG WITHDRAWN",
    "not_applicable": "NOT APPLICABLE",
}
AEACN_NO_STUDY_DRUG = "NOT APPLICABLE"
AEACN = CodeList(
    "ACN",
    "Action Taken with Study Treatment",
    _terms(*sorted(set(AEACN_FROM_API.values()))),
    "C66767",
)
# causality: there is no CDISC codelist for AEREL; sponsor terms
AEREL_FROM_API = {
    "not_related": "NOT RELATED",
    "unlikely": "UNLIKELY RELATED",
    "possible": "POSSIBLY RELATED",
    "probable": "PROBABLY RELATED",
    "definite": "RELATED",
}
AEREL = CodeList("AEREL", "Causality", _terms(*AEREL_FROM_API.values()))
AETOXGR = CodeList(
    "AETOXGR",
    "CTCAE v5.0 Grade",
    tuple(Term(str(g), f"Grade {g}") for g in range(1, 6)),
)
# the seriousness criteria of the API -> the SDTM flag variables
SERIOUSNESS_FLAGS = {
    "congenital_anomaly": "AESCONG",
    "disability": "AESDISAB",
    "death": "AESDTH",
    "hospitalization": "AESHOSP",
    "life_threatening": "AESLIFE",
    "important_medical_event": "AESMIE",
}
EXPECTEDNESS = CodeList("AEEXPECT", "Expectedness", _terms("EXPECTED", "UNEXPECTED"))

# --- laboratory (LB) -------------------------------------------------------------------------
# analyte key (app.domain.analytes) -> (LBTESTCD, LBTEST) of C65047/C67154
LB_TESTS: dict[str, tuple[str, str]] = {
    "alt": ("ALT", "Alanine Aminotransferase"),
    "ast": ("AST", "Aspartate Aminotransferase"),
    "alp": ("ALP", "Alkaline Phosphatase"),
    "ggt": ("GGT", "Gamma Glutamyl Transferase"),
    "total_bilirubin": ("BILI", "Bilirubin"),
    "direct_bilirubin": ("BILDIR", "Direct Bilirubin"),
    "albumin": ("ALB", "Albumin"),
    "inr": ("INR", "Prothrombin Intl. Normalized Ratio"),
    "pt": ("PT", "Prothrombin Time"),
    "pta": ("PTA", "Prothrombin Activity"),
    "fibrinogen": ("FIBRINO", "Fibrinogen"),
    "wbc": ("WBC", "Leukocytes"),
    "neutrophils": ("NEUT", "Neutrophils"),
    "crp": ("CRP", "C Reactive Protein"),
    "pct": ("PCT", "Procalcitonin"),
    "il6": ("INTLK6", "Interleukin 6"),
    "platelets": ("PLAT", "Platelets"),
    "hemoglobin": ("HGB", "Hemoglobin"),
    "creatinine": ("CREAT", "Creatinine"),
    "urea": ("UREA", "Urea"),
    "urea_nitrogen": ("UREAN", "Urea Nitrogen"),
    "sodium": ("SODIUM", "Sodium"),
    "ammonia": ("AMMONIA", "Ammonia"),
}
LBTESTCD = CodeList(
    "LBTESTCD", "Laboratory Test Code", tuple(Term(c, n) for c, n in LB_TESTS.values()), "C65047"
)
LBTEST = CodeList(
    "LBTEST", "Laboratory Test Name", _terms(*(n for _, n in LB_TESTS.values())), "C67154"
)
# UCUM code (as the API stores it) -> CDISC UNIT submission value. A unit of one (INR's "1")
# has no SDTM unit: the result is a ratio, --ORRESU/--STRESU stay empty.
UNIT_FROM_UCUM = {
    "U/L": "U/L",
    "ukat/L": "ukat/L",
    "umol/L": "umol/L",
    "mmol/L": "mmol/L",
    "mg/dL": "mg/dL",
    "mg/L": "mg/L",
    "g/L": "g/L",
    "g/dL": "g/dL",
    "s": "sec",
    "%": "%",
    "10*9/L": "10^9/L",
    "10*3/uL": "10^3/uL",
    "10*12/L": "10^12/L",
    "ng/mL": "ng/mL",
    "ng/L": "ng/L",
    "pg/mL": "pg/mL",
    "ug/dL": "ug/dL",
    "ug/L": "ug/L",
    "mL": "mL",
}
UNITLESS = frozenset({"1", ""})
LBNRIND = CodeList("NRIND", "Reference Range Indicator", _terms("HIGH"), "C78736")

# --- scores (QS, RS) ----------------------------------------------------------------------------
QS_CATEGORY = "CLINICAL SYMPTOM SCORE"  # sponsor-defined instrument (SPEC §3.3)
# symptom item (API key) -> (QSTESTCD, QSTEST); the total is derived (QSDRVFL = Y)
QS_ITEMS: dict[str, tuple[str, str]] = {
    "fatigue": ("SYMP01", "Fatigue"),
    "anorexia": ("SYMP02", "Anorexia"),
    "nausea": ("SYMP03", "Nausea"),
    "jaundice": ("SYMP04", "Jaundice"),
    "consciousness": ("SYMP05", "Level of Consciousness"),
}
QS_TOTAL = ("SYMPTOT", "Total Symptom Score")
QSCAT = CodeList("QSCAT", "Category of Questionnaire", _sponsor(QS_CATEGORY), "C100129")
QSTESTCD = CodeList(
    "QSTESTCD",
    "Symptom Score Test Code",
    tuple(Term(c, n) for c, n in (*QS_ITEMS.values(), QS_TOTAL)),
)

RS_CHILD_PUGH = "CHILD-PUGH CLASSIFICATION"
RS_COSSH = "COSSH-ACLF II"  # not in CDISC CT 2022: a sponsor term
RSCAT = CodeList(
    "RSCAT",
    "Category of Clinical Classification",
    (Term(RS_CHILD_PUGH), Term(RS_COSSH, extended=True)),
    "C118971",
)
# Child-Pugh (C120989 test codes, C120988 test names)
CP_HE, CP_ASCITES, CP_BILI, CP_ALB, CP_INR, CP_TOTAL, CP_GRADE = (
    ("CPS0101", "CPS01-Encephalopathy Grade"),
    ("CPS0102", "CPS01-Ascites"),
    ("CPS0103", "CPS01-Serum Bilirubin"),
    ("CPS0104", "CPS01-Serum Albumin"),
    ("CPS0105B", "CPS01-PT, INR"),
    ("CPS0106", "CPS01-Total Score"),
    ("CPS0107", "CPS01-Grade"),
)
CHILD_PUGH_TESTS = (CP_HE, CP_ASCITES, CP_BILI, CP_ALB, CP_INR, CP_TOTAL, CP_GRADE)
COSSH_SCORE = ("COSSH2SC", "COSSH-ACLF II Score")  # sponsor test codes
COSSH_RISK = ("COSSH2RK", "COSSH-ACLF II Risk Group")
RSTESTCD = CodeList(
    "RSTESTCD",
    "Clinical Classification Test Code",
    (
        *(Term(c, n) for c, n in CHILD_PUGH_TESTS),
        *(Term(c, n, extended=True) for c, n in (COSSH_SCORE, COSSH_RISK)),
    ),
)
ASCITES_TEXT = {"none": "NONE", "mild": "MILD", "moderate_severe": "MODERATE-SEVERE"}
COSSH_RISK_TEXT = {"low": "LOW", "moderate": "MODERATE", "high": "HIGH"}

# --- medications and procedures (CM, PR) -----------------------------------------------------
CMCAT = CodeList(
    "CMCAT",
    "Category of Standard Medical Treatment",
    _terms("ANTIVIRAL", "HEPATOPROTECTIVE", "ALBUMIN", "ANTIBIOTIC", "OTHER"),
)
PR_ARTIFICIAL_LIVER = "ARTIFICIAL LIVER SUPPORT"
PR_TRANSPLANT_CAT = "LIVER TRANSPLANTATION"
PRCAT = CodeList("PRCAT", "Category of Procedure", _terms(PR_ARTIFICIAL_LIVER, PR_TRANSPLANT_CAT))

# --- protocol deviations (DV) -----------------------------------------------------------------
DVCAT_FROM_TABLE = {"doses": "STUDY DRUG ADMINISTRATION", "visits": "VISIT SCHEDULE"}
DVCAT = CodeList("DVCAT", "Category for Protocol Deviation", _terms(*DVCAT_FROM_TABLE.values()))

CODELISTS: dict[str, CodeList] = {
    c.key: c
    for c in (
        NY, SEX, AGEU, EPOCH, ARMCD, ARM, ARMNRS, DSCAT, DSDECOD, IECAT, ROUTE, FRM, FREQ,
        AEOUT, AEACN, AEREL, AETOXGR, EXPECTEDNESS, LBTESTCD, LBTEST, LBNRIND, QSCAT, QSTESTCD,
        RSCAT, RSTESTCD, CMCAT, PRCAT, DVCAT,
    )
}  # fmt: skip
