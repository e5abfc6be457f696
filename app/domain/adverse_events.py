"""Adverse events (SPEC §2.6): vocabulary, consistency rules and the sponsor-reporting clocks.

Consistency rules (`validate_adverse_event`): every broken rule is reported in one 422, as one
error per field (named in brackets) whose message joins that field's broken rules.

1. Vocabulary: `ctcae_grade` is 1..5; every `seriousness_criteria` item, `relatedness`,
   `expectedness`, `outcome` and `action_taken` (when given) is one of the listed codes;
   `seriousness_criteria` has no repeats; `term` is not blank; `meddra_pt_code`, when given,
   is the 8-digit MedDRA code [each field itself].
2. Seriousness: `serious` is true if and only if at least one seriousness criterion is listed
   [`seriousness_criteria` when serious without a criterion; `serious` when a criterion is
   listed on a non-serious event].
3. Fatal events: CTCAE grade 5 ("death related to AE"), outcome `fatal` and the criterion
   `death` go together. If any one of them is present the event must have all three and be
   serious [`ctcae_grade`, `outcome`, `seriousness_criteria`, `serious` — each one missing].
4. Dates: `end_date` >= `onset_date` [`end_date`]; neither the onset nor the end date is in the
   future [`onset_date`, `end_date`]; nothing is dated after a recorded death: onset and end
   on or before the death date [`onset_date`, `end_date`].
5. Awareness: `aware_at` carries a UTC offset; it is not earlier than the first instant of the
   onset date in any time zone (onset date 00:00 at UTC+14) and not later than the last instant
   of `today` in any time zone (today 24:00 at UTC-12) [`aware_at`]. Comparing a calendar date
   with an instant this widely means no legitimate entry is refused because of its offset.
6. Relatedness needs exposure: `relatedness` must be `not_related` unless the participant is
   in the exosome arm, randomized, received a dose (`first_dose_date` is not None) and the
   onset is on or after the first dose. This covers the control arm, a participant not (yet)
   randomized and an event that began before any study drug [`relatedness`].
7. Drug actions need exposure: without study drug (same test as rule 6, ignoring the onset)
   `action_taken` may only be `none` or `not_applicable` [`action_taken`].
8. A dose link (`dose_id`, an infusion reaction) is allowed only for an exosome-arm participant
   [`dose_id`]; that the dose belongs to the participant is checked by the service.

Grade 5 and the participant's death (409, not 422): a fatal event (rule 3) needs the
participant's death outcome already recorded, dated on or after the onset. The service asks
`requires_death_outcome(ae)` and calls `check_death_recorded`, which raises `StateConflict`
when no death is recorded; the ordering of the dates is rule 4 (422).

Not enforced here (a data manager's queries, not hard refusals): the outcome versus the
presence of an end date, and the AE term against its MedDRA code.

Reporting clocks: `app.domain.reporting_clocks`.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone
from enum import StrEnum

from app.domain import protocol
from app.domain.deviations import NOT_RANDOMIZED_STATUSES
from app.domain.errors import FieldError, InvalidData, StateConflict

CTCAE_MIN_GRADE = 1
CTCAE_MAX_GRADE = 5  # grade 5 = death related to the AE (CTCAE v5)
MEDDRA_CODE_DIGITS = 8
_CONTROL_ARM, EXPOSED_ARM = protocol.ARMS  # only the exosome arm receives study drug

# The earliest and latest UTC offsets in use: a date starts first at UTC+14, ends last at UTC-12.
_EARLIEST_ZONE = timezone(timedelta(hours=14))
_LATEST_ZONE = timezone(timedelta(hours=-12))


class Seriousness(StrEnum):
    """ICH E2A seriousness criteria; any one makes an event serious."""

    DEATH = "death"
    LIFE_THREATENING = "life_threatening"
    HOSPITALIZATION = "hospitalization"  # initial or prolonged
    DISABILITY = "disability"  # persistent or significant
    CONGENITAL_ANOMALY = "congenital_anomaly"
    IMPORTANT_MEDICAL_EVENT = "important_medical_event"


class Relatedness(StrEnum):
    """Causality to the study drug, as the investigator assesses it."""

    NOT_RELATED = "not_related"
    UNLIKELY = "unlikely"
    POSSIBLE = "possible"
    PROBABLE = "probable"
    DEFINITE = "definite"


class Expectedness(StrEnum):
    """Against the reference safety information (investigator's brochure)."""

    EXPECTED = "expected"
    UNEXPECTED = "unexpected"


class AeOutcome(StrEnum):
    """Outcome of the event itself (not the participant's trial outcome)."""

    RECOVERED = "recovered"
    RECOVERING = "recovering"
    NOT_RECOVERED = "not_recovered"
    RECOVERED_WITH_SEQUELAE = "recovered_with_sequelae"
    FATAL = "fatal"
    UNKNOWN = "unknown"


class ActionTaken(StrEnum):
    """Action taken with the study drug because of the event."""

    NONE = "none"
    INTERRUPTED = "interrupted"
    DOSE_NOT_GIVEN = "dose_not_given"
    WITHDRAWN = "withdrawn"
    NOT_APPLICABLE = "not_applicable"


SERIOUSNESS_CRITERIA: tuple[str, ...] = tuple(Seriousness)
RELATEDNESS: tuple[str, ...] = tuple(Relatedness)
EXPECTEDNESS: tuple[str, ...] = tuple(Expectedness)
AE_OUTCOMES: tuple[str, ...] = tuple(AeOutcome)
ACTIONS_TAKEN: tuple[str, ...] = tuple(ActionTaken)

RELATED: frozenset[str] = frozenset(
    {Relatedness.POSSIBLE, Relatedness.PROBABLE, Relatedness.DEFINITE}
)
ACTIONS_WITHOUT_DRUG: frozenset[str] = frozenset({ActionTaken.NONE, ActionTaken.NOT_APPLICABLE})
_SHORT_CLOCK_CRITERIA: frozenset[str] = frozenset({Seriousness.DEATH, Seriousness.LIFE_THREATENING})


@dataclass(frozen=True)
class AdverseEventInput:
    """One adverse event as recorded (SPEC §6 keys plus the optional extras)."""

    term: str
    onset_date: date
    ctcae_grade: int
    serious: bool
    seriousness_criteria: tuple[str, ...]
    relatedness: str
    expectedness: str
    outcome: str
    aware_at: datetime
    end_date: date | None = None
    meddra_pt_code: str | None = None
    action_taken: str | None = None
    dose_id: uuid.UUID | None = None


# --- consistency ------------------------------------------------------------------------------


def validate_adverse_event(
    ae: AdverseEventInput,
    *,
    arm: str | None,
    day1: date | None,
    death_date: date | None,
    today: date,
    participant_status: str,
    first_dose_date: date | None,
) -> None:
    """Refuse an event that cannot be right, naming every broken rule (module docstring).

    `today` is the site's calendar date; `first_dose_date` is the date of the first study-drug
    dose actually given (None when none was), needed to judge relatedness (rule 6).
    """
    exposed = _received_study_drug(arm, day1, participant_status, first_dose_date)
    errors = [
        *_vocabulary_errors(ae),
        *_seriousness_errors(ae),
        *_fatal_errors(ae),
        *_date_errors(ae, death_date, today),
        *_aware_at_errors(ae, today),
        *_exposure_errors(ae, arm, exposed=exposed, first_dose_date=first_dose_date),
    ]
    if errors:
        raise InvalidData(_one_per_field(errors))


def is_fatal(ae: AdverseEventInput) -> bool:
    """Any sign of a fatal event: grade 5, outcome fatal or the criterion death."""
    return (
        ae.ctcae_grade == CTCAE_MAX_GRADE
        or ae.outcome == AeOutcome.FATAL
        or Seriousness.DEATH in ae.seriousness_criteria
    )


def requires_death_outcome(ae: AdverseEventInput) -> bool:
    """A fatal event is only believable once the participant's death is recorded."""
    return is_fatal(ae)


def check_death_recorded(ae: AdverseEventInput, death_date: date | None) -> None:
    """409 for a fatal event while the participant has no recorded death outcome."""
    if requires_death_outcome(ae) and death_date is None:
        raise StateConflict(
            "A fatal adverse event (grade 5 / outcome fatal / criterion death) needs the "
            "participant's death outcome recorded first (POST .../outcomes type=death)."
        )


def _received_study_drug(
    arm: str | None, day1: date | None, status: str, first_dose_date: date | None
) -> bool:
    """Only a randomized exosome-arm participant with a dose given has had study drug."""
    randomized = day1 is not None and status not in NOT_RANDOMIZED_STATUSES
    return randomized and arm == EXPOSED_ARM and first_dose_date is not None


def _vocabulary_errors(ae: AdverseEventInput) -> Iterator[FieldError]:
    """Each coded field holds one of its codes."""
    if not ae.term.strip():
        yield FieldError("term", "must not be blank")
    if ae.meddra_pt_code is not None and not _is_meddra_code(ae.meddra_pt_code):
        yield FieldError("meddra_pt_code", f"must be the {MEDDRA_CODE_DIGITS}-digit MedDRA code")
    if not CTCAE_MIN_GRADE <= ae.ctcae_grade <= CTCAE_MAX_GRADE:
        yield FieldError(
            "ctcae_grade", f"must be a CTCAE grade {CTCAE_MIN_GRADE} to {CTCAE_MAX_GRADE}"
        )
    yield from _criteria_errors(ae.seriousness_criteria)
    yield from _code_error("relatedness", ae.relatedness, RELATEDNESS)
    yield from _code_error("expectedness", ae.expectedness, EXPECTEDNESS)
    yield from _code_error("outcome", ae.outcome, AE_OUTCOMES)
    if ae.action_taken is not None:
        yield from _code_error("action_taken", ae.action_taken, ACTIONS_TAKEN)


def _is_meddra_code(code: str) -> bool:
    return len(code) == MEDDRA_CODE_DIGITS and code.isascii() and code.isdigit()


def _code_error(field: str, value: str, allowed: tuple[str, ...]) -> Iterator[FieldError]:
    if value not in allowed:
        yield FieldError(field, f"{value!r} is not one of {', '.join(allowed)}")


def _criteria_errors(criteria: tuple[str, ...]) -> Iterator[FieldError]:
    unknown = [c for c in criteria if c not in SERIOUSNESS_CRITERIA]
    if unknown:
        yield FieldError(
            "seriousness_criteria",
            f"unknown criteria {', '.join(map(repr, unknown))}; "
            f"allowed: {', '.join(SERIOUSNESS_CRITERIA)}",
        )
    if len(set(criteria)) != len(criteria):
        yield FieldError("seriousness_criteria", "must not list a criterion twice")


def _seriousness_errors(ae: AdverseEventInput) -> Iterator[FieldError]:
    """Serious if and only if at least one criterion is met (ICH E2A)."""
    if ae.serious and not ae.seriousness_criteria:
        yield FieldError("seriousness_criteria", "a serious event needs at least one criterion")
    if not ae.serious and ae.seriousness_criteria:
        yield FieldError("serious", "must be true when a seriousness criterion is listed")


def _fatal_errors(ae: AdverseEventInput) -> Iterator[FieldError]:
    """Grade 5, outcome fatal and criterion death come together, on a serious event."""
    if not is_fatal(ae):
        return
    why = "for a fatal event (grade 5, outcome 'fatal' or criterion 'death')"
    if ae.ctcae_grade != CTCAE_MAX_GRADE:
        yield FieldError("ctcae_grade", f"must be {CTCAE_MAX_GRADE} {why}")
    if ae.outcome != AeOutcome.FATAL:
        yield FieldError("outcome", f"must be 'fatal' {why}")
    if Seriousness.DEATH not in ae.seriousness_criteria:
        yield FieldError("seriousness_criteria", f"must include 'death' {why}")
    if not ae.serious:
        yield FieldError("serious", f"must be true {why}")


def _date_errors(
    ae: AdverseEventInput, death_date: date | None, today: date
) -> Iterator[FieldError]:
    """Order of onset and end; nothing in the future or after a recorded death."""
    if ae.onset_date > today:
        yield FieldError("onset_date", "must not be in the future")
    if death_date is not None and ae.onset_date > death_date:
        yield FieldError("onset_date", f"is after the recorded death ({death_date.isoformat()})")
    if ae.end_date is None:
        return
    if ae.end_date < ae.onset_date:
        yield FieldError("end_date", "must not be before onset_date")
    if ae.end_date > today:
        yield FieldError("end_date", "must not be in the future")
    if death_date is not None and ae.end_date > death_date:
        yield FieldError("end_date", f"is after the recorded death ({death_date.isoformat()})")


def _aware_at_errors(ae: AdverseEventInput, today: date) -> Iterator[FieldError]:
    """Awareness lies between the onset date and today, in any time zone."""
    if ae.aware_at.utcoffset() is None:
        yield FieldError("aware_at", "must include a UTC offset (e.g. 'Z')")
        return
    if ae.aware_at < datetime.combine(ae.onset_date, time.min, _EARLIEST_ZONE):
        yield FieldError("aware_at", "must not be before the onset date")
    next_day = today + timedelta(days=1)
    if ae.aware_at >= datetime.combine(next_day, time.min, _LATEST_ZONE):
        yield FieldError("aware_at", "must not be in the future")


def _exposure_errors(
    ae: AdverseEventInput, arm: str | None, *, exposed: bool, first_dose_date: date | None
) -> Iterator[FieldError]:
    """Causality, drug actions and dose links need study drug to have been given."""
    yield from _relatedness_errors(ae, exposed=exposed, first_dose_date=first_dose_date)
    drug_action = ae.action_taken in ACTIONS_TAKEN and ae.action_taken not in ACTIONS_WITHOUT_DRUG
    if drug_action and not exposed:
        yield FieldError("action_taken", "must be 'none' or 'not_applicable' without study drug")
    if ae.dose_id is not None and arm != EXPOSED_ARM:
        yield FieldError("dose_id", f"only a participant in the {EXPOSED_ARM} arm has doses")


def _relatedness_errors(
    ae: AdverseEventInput, *, exposed: bool, first_dose_date: date | None
) -> Iterator[FieldError]:
    """A causal link needs a dose given on or before the onset."""
    if ae.relatedness == Relatedness.NOT_RELATED or ae.relatedness not in RELATEDNESS:
        return
    if not exposed:
        yield FieldError(
            "relatedness",
            "must be 'not_related': the participant has received no study drug "
            "(control arm, not randomized or no dose given)",
        )
    elif first_dose_date is not None and ae.onset_date < first_dose_date:
        yield FieldError(
            "relatedness", "must be 'not_related': the event began before the first dose"
        )


def _one_per_field(errors: list[FieldError]) -> list[FieldError]:
    """One error per field, its messages joined, in the order the fields first failed."""
    messages: dict[str, list[str]] = {}
    for error in errors:
        messages.setdefault(error.field, []).append(error.message)
    return [FieldError(field, "; ".join(texts)) for field, texts in messages.items()]


# --- classification ----------------------------------------------------------------------------


def is_susar(ae: AdverseEventInput) -> bool:
    """Suspected unexpected serious adverse reaction: serious, related, unexpected."""
    return ae.serious and ae.relatedness in RELATED and ae.expectedness == Expectedness.UNEXPECTED


def is_fatal_or_life_threatening(ae: AdverseEventInput) -> bool:
    """Fatal (grade 5, outcome fatal or criterion death) or criterion life_threatening."""
    return is_fatal(ae) or not _SHORT_CLOCK_CRITERIA.isdisjoint(ae.seriousness_criteria)


__all__ = [
    "ACTIONS_TAKEN",
    "AE_OUTCOMES",
    "EXPECTEDNESS",
    "RELATED",
    "RELATEDNESS",
    "SERIOUSNESS_CRITERIA",
    "ActionTaken",
    "AdverseEventInput",
    "AeOutcome",
    "Expectedness",
    "Relatedness",
    "Seriousness",
    "check_death_recorded",
    "is_fatal",
    "is_fatal_or_life_threatening",
    "is_susar",
    "requires_death_outcome",
    "validate_adverse_event",
]
