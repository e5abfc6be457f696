"""SQL of migration 0013 (data management). Frozen with that migration: do not edit.

The lock is enforced by PostgreSQL, so that no write path (ORM, raw SQL on the driver
connection, FHIR ingest, direct SQL) can pass it:
* `datamgmt_guard_write()` runs BEFORE INSERT OR UPDATE on every clinical table. It raises
  SQLSTATE `DL001` while the study is locked and `DL002` while the participant's casebook is
  locked (app/db/errors.py maps both to 409). It holds two advisory keys shared - (724501, 0)
  for the study, (724502, hashtext(participant id)) for the casebook - which locking the
  study, locking a casebook and signing take exclusively: no write slips past a lock or a
  signature being made.
* `datamgmt_after_change()` runs AFTER INSERT OR UPDATE on the same tables: it marks the
  participant's valid signatures `invalidated` and clears the SDV mark of the changed record.
* `datamgmt_signature_immutable()` refuses (`DL003`) any UPDATE of a signature except the
  first invalidation mark.
"""

CLINICAL_TABLES = (
    "participants",
    "screenings",
    "consents",
    "randomizations",
    "outcomes",
    "doses",
    "visits",
    "protocol_deviations",
    "adverse_events",
    "lab_results",
    "treatments",
)

GUARD_WRITE = r"""
CREATE FUNCTION datamgmt_guard_write() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  pid uuid;
  since timestamptz;
BEGIN
  -- one statement per branch: PL/pgSQL prepares a statement when it first runs, so the
  -- branch naming a column the table lacks is never prepared for that table
  IF TG_TABLE_NAME = 'participants' THEN
    pid := NEW.id;
  ELSE
    pid := NEW.participant_id;
  END IF;
  -- shared transaction-level advisory locks: a lock or a signature being made (which holds
  -- the key exclusively, app/db/repositories/locks.py) waits for the writes in flight, and
  -- the writes after it wait for it and then see it (each statement takes a new snapshot)
  PERFORM pg_advisory_xact_lock_shared(724501, 0);
  PERFORM pg_advisory_xact_lock_shared(724502, hashtext(pid::text));
  SELECT locked_at INTO since FROM public.study_lock WHERE id = 1 AND locked;
  IF FOUND THEN
    RAISE EXCEPTION USING ERRCODE = 'DL001',
      MESSAGE = format('The study is locked (since %s UTC): clinical data cannot be changed'
                       ' until an admin unlocks it',
                       to_char(since AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS'));
  END IF;
  SELECT locked_at INTO since FROM public.casebook_locks WHERE participant_id = pid AND locked;
  IF FOUND THEN
    RAISE EXCEPTION USING ERRCODE = 'DL002',
      MESSAGE = format('The casebook of participant %s is locked (since %s UTC): its data'
                       ' cannot be changed until an admin or monitor unlocks it with a reason',
                       pid, to_char(since AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS'));
  END IF;
  RETURN NEW;
END $$"""

AFTER_CHANGE = r"""
CREATE FUNCTION datamgmt_after_change() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  pid uuid;
BEGIN
  IF TG_OP = 'UPDATE' AND OLD IS NOT DISTINCT FROM NEW THEN
    RETURN NULL;
  END IF;
  IF TG_TABLE_NAME = 'participants' THEN
    pid := NEW.id;
  ELSE
    pid := NEW.participant_id;
  END IF;
  UPDATE public.signatures
     SET invalidated_at = clock_timestamp(), invalidated_by_table = TG_TABLE_NAME,
         invalidated_by_record = NEW.id
   WHERE participant_id = pid AND invalidated_at IS NULL;
  IF TG_OP = 'UPDATE' THEN
    UPDATE public.sdv_marks SET cleared_at = clock_timestamp()
     WHERE record_id = NEW.id AND cleared_at IS NULL;
  END IF;
  RETURN NULL;
END $$"""

SIGNATURE_IMMUTABLE = r"""
CREATE FUNCTION datamgmt_signature_immutable() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  marks text[] := ARRAY['invalidated_at', 'invalidated_by_table', 'invalidated_by_record'];
BEGIN
  IF OLD.invalidated_at IS NOT NULL
     OR (to_jsonb(OLD) - marks) IS DISTINCT FROM (to_jsonb(NEW) - marks) THEN
    RAISE EXCEPTION USING ERRCODE = 'DL003',
      MESSAGE = 'An electronic signature cannot be changed (only invalidated, once)';
  END IF;
  RETURN NEW;
END $$"""


def attach(table: str) -> list[str]:
    """The lock guard and the after-change trigger of one clinical table (ENABLE ALWAYS, like
    the audit triggers: they fire under session_replication_role = replica too)."""
    return [
        f"CREATE TRIGGER datamgmt_guard BEFORE INSERT OR UPDATE ON {table}"
        " FOR EACH ROW EXECUTE FUNCTION datamgmt_guard_write()",
        f"CREATE TRIGGER datamgmt_after AFTER INSERT OR UPDATE ON {table}"
        " FOR EACH ROW EXECUTE FUNCTION datamgmt_after_change()",
        f"ALTER TABLE {table} ENABLE ALWAYS TRIGGER datamgmt_guard,"
        " ENABLE ALWAYS TRIGGER datamgmt_after",
    ]


def detach(table: str) -> list[str]:
    return [
        f"DROP TRIGGER datamgmt_after ON {table}",
        f"DROP TRIGGER datamgmt_guard ON {table}",
    ]
