"""Which audited tables and columns the ODM archive carries, and their ODM data types.

A whitelist on purpose: a column added to a table later (a medical record number, say) is
not exported until it is listed here. Ids of the service's own bookkeeping (site, list and
slot ids, created_by, versions) are left out: the record id is the ItemGroupRepeatKey and the
audit record says who and when. JSON columns (labs, scores, symptoms, reasons, seriousness
criteria) are exported as their JSON text.
"""

from __future__ import annotations

TEXT, INTEGER, FLOAT, DATE, DATETIME, BOOLEAN = (
    "text",
    "integer",
    "float",
    "date",
    "datetime",
    "boolean",
)
JSON = "json"  # exported as text: the column's JSON, keys sorted

_VOID = {"voided_at": DATETIME, "void_reason": TEXT}

# table -> (form name, {column: ODM data type}), in the order of a participant's journey
TABLES: dict[str, tuple[str, dict[str, str]]] = {
    "participants": (
        "Participant",
        {"study_id": TEXT, "date_of_birth": DATE, "sex": TEXT, "status": TEXT},
    ),
    "screenings": (
        "Screening",
        {
            "assessment_date": DATE, "labs": JSON, "tbil_uln_umol_l": FLOAT, "he_grade": INTEGER,
            "ascites": TEXT, "aclf_diagnosis_confirmed": BOOLEAN, "age_years": INTEGER,
            "symptoms": JSON, "eligible": BOOLEAN, "reasons": JSON, "scores": JSON,
        },
    ),
    "consents": ("Informed consent", {"consent_date": DATE, "form_version": TEXT}),
    "randomizations": (
        "Randomization",
        {"arm": TEXT, "day1": DATE, "randomized_at": DATETIME, "sequence_number": INTEGER},
    ),
    "doses": (
        "Study drug administration",
        {
            "dose_number": INTEGER, "status": TEXT, "started_at": DATETIME, "ended_at": DATETIME,
            "particles": INTEGER, "volume_ml": FLOAT, "lot_number": TEXT,
            "interruption_notes": TEXT, "not_given_reason": TEXT, "deviation_reason": TEXT,
            **_VOID,
        },
    ),
    "visits": (
        "Visit",
        {
            "visit_day": INTEGER, "visit_date": DATE, "vital_status": TEXT, "labs": JSON,
            "he_grade": INTEGER, "ascites": TEXT, "symptoms": JSON, "age_years": INTEGER,
            "scores": JSON, "deviation_reason": TEXT, **_VOID,
        },
    ),
    "lab_results": (
        "Laboratory result",
        {
            "analyte": TEXT, "value": FLOAT, "unit": TEXT, "canonical_value": FLOAT,
            "canonical_unit": TEXT, "loinc": TEXT, "collected_at": DATETIME,
            "reference_range_high": FLOAT, "reference_range_high_canonical": FLOAT,
            "source": TEXT, "screening_id": TEXT, "visit_id": TEXT, **_VOID,
        },
    ),
    "adverse_events": (
        "Adverse event",
        {
            "term": TEXT, "meddra_pt_code": TEXT, "onset_date": DATE, "end_date": DATE,
            "ctcae_grade": INTEGER, "serious": BOOLEAN, "seriousness_criteria": JSON,
            "relatedness": TEXT, "expectedness": TEXT, "action_taken": TEXT, "outcome": TEXT,
            "aware_at": DATETIME, "serious_aware_at": DATETIME, "sponsor_aware_at": DATETIME,
            "dose_id": TEXT, "susar": BOOLEAN, "report_due_at": DATETIME,
            "expedited_due_at": DATETIME, "follow_up_due_at": DATETIME,
            "reported_at": DATETIME, "expedited_reported_at": DATETIME,
            "follow_up_reported_at": DATETIME, **_VOID,
        },
    ),
    "treatments": (
        "Standard medical treatment",
        {
            "category": TEXT, "name": TEXT, "start_date": DATE, "end_date": DATE, "dose": TEXT,
            "route": TEXT, "atc_code": TEXT, "notes": TEXT, **_VOID,
        },
    ),
    "outcomes": ("Outcome", {"type": TEXT, "outcome_date": DATE, "notes": TEXT, **_VOID}),
    "protocol_deviations": (
        "Protocol deviation",
        {
            "kind": TEXT, "rule": TEXT, "detail": TEXT, "reason": TEXT, "record_table": TEXT,
            "record_id": TEXT, **_VOID,
        },
    ),
}  # fmt: skip


def odm_type(kind: str) -> str:
    return TEXT if kind == JSON else kind


def oid(table: str, column: str | None = None) -> str:
    """IG.<TABLE> / IT.<TABLE>.<COLUMN> (FO.<TABLE> for forms)."""
    name = table.upper()
    return f"IG.{name}" if column is None else f"IT.{name}.{column.upper()}"
