"""The derivations of the SDTM export, stated once (define.xml MethodDefs, docs/sdtm.md)."""

from __future__ import annotations

METHODS: dict[str, tuple[str, str]] = {
    # key: (name, description); every method is a Computation
    "SEQ": (
        "Sequence number",
        "1, 2, ... per USUBJID in the dataset's record order (stated per variable).",
    ),
    "DY": (
        "Study day",
        "--DTC date minus RFSTDTC date, plus 1 when on or after RFSTDTC; there is no day 0 "
        "(the day before Day 1 is -1). Empty when the participant was never randomized.",
    ),
    "EPOCH": (
        "Epoch",
        "SCREENING before Day 1 and for participants never randomized; TREATMENT from Day 1 "
        "to Day 10 (or to the day of dose 4 when later); FOLLOW-UP after it.",
    ),
    "RFSTDTC": (
        "Reference start",
        "Day 1 of the participant (the site-local date of randomization), in both arms.",
    ),
    "RFENDTC": (
        "Reference end / end of participation",
        "The latest of Day 1, the visit dates, the dose dates and the outcome dates; before "
        "randomization, the latest screening or consent date.",
    ),
    "RFXSTDTC": (
        "First / last exposure",
        "started_at of the earliest dose given, ended_at of the latest (site-local).",
    ),
    "AGE": (
        "Age",
        "Completed years from date_of_birth to RFSTDTC (to the latest screening date when not "
        "randomized); a 29 February birthday is reached on 1 March in common years.",
    ),
    "ACTARM": (
        "Actual arm",
        "ACTARMCD = ARMCD for control participants and for exosome participants with at least "
        "one dose given; an exosome participant without a dose has ARMNRS ASSIGNED, NOT "
        "TREATED. Not randomized: ARMNRS SCREEN FAILURE or NOT ASSIGNED.",
    ),
    "LBSTRES": (
        "Standard units",
        "The service converts each result to the analyte's canonical UCUM unit when it is "
        "recorded (ucumvert; mass to substance with the protocol's factors, SPEC §3.4) and "
        "stores it; the export copies the stored canonical value.",
    ),
    "LOBXFL": (
        "Last observation before exposure",
        "LB: per participant and test, the latest result collected at or before the first "
        "dose's start (exosome arm) or the randomization (otherwise). QS, RS: the records of "
        "the baseline screening (the latest recorded at or before randomization).",
    ),
    "SYMPTOT": (
        "Clinical symptom score",
        "Sum of the five items (0-3 each; SPEC §3.3), computed and stored by the service with "
        "the assessment; its algorithm version is in SUPPQS.ALGVER.",
    ),
    "RSSTRES": (
        "Scores, classes and Child-Pugh points",
        "COSSH-ACLF II, its risk group, the Child-Pugh total and class: the values the service "
        "computed and stored with the assessment (app.domain.scores, SPEC §3.1-3.2; version in "
        "SUPPRS.ALGVER). COSSH-ACLF II = 1.649 ln(INR) + 0.457 HE grade + 0.425 "
        "ln(neutrophils) + 0.396 ln(TBil umol/L) + 0.576 ln(urea mmol/L) + 0.033 age, risk on "
        "the unrounded score (< 7.4 low, <= 8.4 moderate, else high). Child-Pugh items: points "
        "1-3 (bilirubin < 34.2 / 34.2-51.3 / > 51.3 umol/L; albumin > 35 / 28-35 / < 28 g/L; "
        "INR < 1.7 / 1.7-2.3 / > 2.3; ascites none / mild / moderate-severe; encephalopathy "
        "none / grade 1-2 / grade 3-4), middle bands inclusive; class A 5-6, B 7-9, C 10-15.",
    ),
}
