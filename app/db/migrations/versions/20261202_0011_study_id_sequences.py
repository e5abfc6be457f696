"""study ids from one sequence per site (enrolments at one site no longer take turns);
an index for the participant list's order

0006 numbered study ids per site with a counter row that each enrolment updated and kept
locked until it committed: gapless, but concurrent enrolments at one site ran one at a time
(~290 enrolments/s on the 2-core machine, where the database otherwise allowed ~950). A
sequence per site keeps the numbering per site and never waits; the price is that a number
drawn by an enrolment that is then refused or rolled back is not reused, so a site's numbers
may have gaps. Nothing is ever deleted, so a gap is always a refused enrolment, never a lost
participant (the audit trail has no INSERT for it).

The sequence of a site is created by a trigger on `sites` running as the owner (SECURITY
DEFINER, search_path pinned): the app role, which owns nothing and may not create objects,
still gets a sequence for each site an admin creates. It may only use it.

Revision ID: 0011
Revises: 0007
Create Date: 2026-12-02 19:10:00
"""

from collections.abc import Sequence

from alembic import context, op

revision: str = "0011"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

DEFINER = "SECURITY DEFINER SET search_path = pg_catalog, public, pg_temp"

SEQUENCE_NAME = r"""
CREATE FUNCTION study_id_sequence(site uuid) RETURNS text LANGUAGE sql IMMUTABLE AS $$
  SELECT 'public.study_id_seq_' || replace(site::text, '-', '')
$$"""

CREATE_SEQUENCE = r"""
CREATE FUNCTION create_study_id_sequence() RETURNS trigger LANGUAGE plpgsql {definer} AS $$
BEGIN
  EXECUTE format('CREATE SEQUENCE IF NOT EXISTS %s MINVALUE 1', study_id_sequence(NEW.id));
  EXECUTE format('GRANT USAGE ON SEQUENCE %s TO {app}', study_id_sequence(NEW.id));
  RETURN NULL;
END $$"""

STUDY_ID = r"""
CREATE OR REPLACE FUNCTION participant_study_id() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  n text;
BEGIN
  IF NEW.study_id IS NULL THEN
    n := nextval(study_id_sequence(NEW.site_id)::regclass)::text;
    -- at least 4 digits, never truncated (lpad alone would cut 10000 to 1000)
    NEW.study_id := (SELECT code FROM sites WHERE id = NEW.site_id) || '-'
                    || lpad(n, greatest(4, length(n)), '0');
  END IF;
  RETURN NEW;
END $$"""

STUDY_ID_0006 = r"""
CREATE OR REPLACE FUNCTION participant_study_id() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  n integer;
BEGIN
  IF NEW.study_id IS NULL THEN
    INSERT INTO study_id_counters AS c (site_id, last_number) VALUES (NEW.site_id, 1)
    ON CONFLICT (site_id) DO UPDATE SET last_number = c.last_number + 1
    RETURNING c.last_number INTO n;
    NEW.study_id := (SELECT code FROM sites WHERE id = NEW.site_id) || '-'
                    || lpad(n::text, greatest(4, length(n::text)), '0');
  END IF;
  RETURN NEW;
END $$"""


def _app_role() -> str:
    role = context.config.attributes.get("app_role")
    if role is None:
        from app.settings import get_settings

        role = get_settings().db_app_role
    return str(role)


def upgrade() -> None:
    op.execute("SET LOCAL lock_timeout = '5s'")
    app = _app_role()  # checked by 0006 to be a plain identifier
    op.execute(SEQUENCE_NAME)
    op.execute(CREATE_SEQUENCE.format(definer=DEFINER, app=app))
    op.execute(
        "CREATE TRIGGER study_id_sequence AFTER INSERT ON sites"
        " FOR EACH ROW EXECUTE FUNCTION create_study_id_sequence()"
    )
    op.execute("ALTER TABLE sites ENABLE ALWAYS TRIGGER study_id_sequence")
    # a sequence for every existing site, continuing after its last number
    op.execute(
        f"""
        DO $$
        DECLARE s record;
        BEGIN
          FOR s IN SELECT sites.id, c.last_number FROM sites
                   LEFT JOIN study_id_counters c ON c.site_id = sites.id LOOP
            EXECUTE format('CREATE SEQUENCE IF NOT EXISTS %s MINVALUE 1', study_id_sequence(s.id));
            EXECUTE format('GRANT USAGE ON SEQUENCE %s TO {app}', study_id_sequence(s.id));
            IF s.last_number IS NOT NULL THEN
              PERFORM setval(study_id_sequence(s.id)::regclass, s.last_number);
            END IF;
          END LOOP;
        END $$"""
    )
    op.execute(STUDY_ID)
    op.execute("DROP TABLE study_id_counters")
    # the participant list's order (a page without sorting the whole table)
    op.create_index(
        "ix_participants_created_at_study_id", "participants", ["created_at", "study_id"]
    )


def downgrade() -> None:
    """Back to the counter rows of 0006, seeded from each site's sequence."""
    op.execute("SET LOCAL lock_timeout = '5s'")
    op.drop_index("ix_participants_created_at_study_id", table_name="participants")
    app = _app_role()
    op.execute(
        "CREATE TABLE study_id_counters (site_id uuid NOT NULL, last_number integer NOT NULL,"
        " CONSTRAINT pk_study_id_counters PRIMARY KEY (site_id),"
        " CONSTRAINT fk_study_id_counters_site_id_sites FOREIGN KEY (site_id)"
        " REFERENCES sites (id))"
    )
    op.execute(f"GRANT SELECT, INSERT, UPDATE ON study_id_counters TO {app}")
    op.execute(
        """
        DO $$
        DECLARE s record; n bigint;
        BEGIN
          FOR s IN SELECT id FROM sites LOOP
            EXECUTE format('SELECT last_value FROM %s WHERE is_called', study_id_sequence(s.id))
              INTO n;
            IF n IS NOT NULL THEN
              INSERT INTO study_id_counters VALUES (s.id, n);
            END IF;
            EXECUTE format('DROP SEQUENCE %s', study_id_sequence(s.id));
          END LOOP;
        END $$"""
    )
    op.execute(STUDY_ID_0006)
    op.execute("DROP TRIGGER study_id_sequence ON sites")
    op.execute("DROP FUNCTION create_study_id_sequence()")
    op.execute("DROP FUNCTION study_id_sequence(uuid)")
