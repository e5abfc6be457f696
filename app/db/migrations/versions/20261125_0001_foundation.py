"""foundation

Revision ID: 0001
Revises:
Create Date: 2026-11-25 17:31:31.116316
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


# The audit trail lives in PostgreSQL: a row trigger on every clinical table writes one
# audit row per insert/update (also for direct SQL), the actor comes from transaction-local
# settings (`trial.user_id`, `trial.role`, `trial.site`, `trial.request_id`, `trial.reason`),
# and a deferred constraint trigger links each audit row into a SHA-256 hash chain at commit.
# The chain lock is taken only at commit time, so unrelated writes serialize only for the
# few microseconds of linking, not for the whole transaction.
AUDIT_SQL = r"""
CREATE SCHEMA audit;

CREATE FUNCTION audit.refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION '% on % refused: %', TG_OP, TG_TABLE_NAME, TG_ARGV[0]
    USING ERRCODE = 'insufficient_privilege';
END $$;

CREATE FUNCTION audit.redact(j jsonb) RETURNS jsonb LANGUAGE sql IMMUTABLE AS $$
  -- secrets never enter the trail; a fingerprint still shows that they changed
  SELECT j || COALESCE((
    SELECT jsonb_object_agg(k, 'redacted:' || left(md5(j->>k), 8))
    FROM unnest(ARRAY['password_hash', 'token_hash']) AS k
    WHERE j ? k AND j->>k IS NOT NULL), '{}'::jsonb)
$$;

CREATE FUNCTION audit.log_change() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  secrets boolean := TG_TABLE_NAME IN ('users', 'api_tokens');
  old_j jsonb;
  new_j jsonb := to_jsonb(NEW);
  act text := TG_OP;
BEGIN
  IF secrets THEN
    new_j := audit.redact(new_j);
  END IF;
  IF TG_OP = 'UPDATE' THEN
    old_j := to_jsonb(OLD);
    IF secrets THEN
      old_j := audit.redact(old_j);
    END IF;
    IF (old_j - 'last_used_at') = (new_j - 'last_used_at') THEN
      RETURN NULL;  -- nothing but token bookkeeping changed
    END IF;
    IF old_j->>'voided_at' IS NULL AND new_j->>'voided_at' IS NOT NULL THEN
      act := 'VOID';
    END IF;
  END IF;
  INSERT INTO audit_log (table_name, record_id, participant_id, action, old_values, new_values,
                         actor_user_id, actor_role, actor_site, request_id, reason)
  VALUES (TG_TABLE_NAME, new_j->>'id',
          COALESCE(new_j->>'participant_id',
                   CASE WHEN TG_TABLE_NAME = 'participants' THEN new_j->>'id' END),
          act, old_j, new_j,
          NULLIF(current_setting('trial.user_id', true), ''),
          NULLIF(current_setting('trial.role', true), ''),
          NULLIF(current_setting('trial.site', true), ''),
          NULLIF(current_setting('trial.request_id', true), ''),
          NULLIF(current_setting('trial.reason', true), ''));
  RETURN NULL;
END $$;

CREATE FUNCTION audit.enable(tbl regclass) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
  EXECUTE format('CREATE TRIGGER audit_row AFTER INSERT OR UPDATE ON %s '
                 'FOR EACH ROW EXECUTE FUNCTION audit.log_change()', tbl);
  EXECUTE format('CREATE TRIGGER no_delete BEFORE DELETE ON %s FOR EACH ROW '
                 'EXECUTE FUNCTION audit.refuse_change(%L)', tbl,
                 'records are never hard-deleted; void them with a reason');
  EXECUTE format('CREATE TRIGGER no_truncate BEFORE TRUNCATE ON %s FOR EACH STATEMENT '
                 'EXECUTE FUNCTION audit.refuse_change(%L)', tbl,
                 'records are never hard-deleted');
  EXECUTE format('ALTER TABLE %s ENABLE ALWAYS TRIGGER audit_row, '
                 'ENABLE ALWAYS TRIGGER no_delete, ENABLE ALWAYS TRIGGER no_truncate', tbl);
END $$;

CREATE FUNCTION audit.genesis(chain integer) RETURNS bytea LANGUAGE sql IMMUTABLE AS $$
  SELECT sha256(convert_to('aclf-trial audit chain v1/' || chain, 'UTF8'))
$$;

CREATE FUNCTION audit.row_digest(prev bytea, a audit_log) RETURNS bytea
LANGUAGE sql STABLE AS $$
  SELECT sha256(prev || convert_to(concat_ws(E'\x1f',
    a.id, (extract(epoch FROM a.occurred_at) * 1000000)::bigint, a.txid,
    COALESCE(a.actor_user_id, '\N'), COALESCE(a.actor_role, '\N'),
    COALESCE(a.actor_site, '\N'), COALESCE(a.request_id, '\N'), COALESCE(a.reason, '\N'),
    a.db_user, a.table_name, a.record_id, COALESCE(a.participant_id, '\N'), a.action,
    COALESCE(a.old_values::text, '\N'), COALESCE(a.new_values::text, '\N')), 'UTF8'))
$$;

-- 16 independent chains, chosen by transaction id: one transaction's rows share a chain and
-- its lock; unrelated transactions rarely wait for each other's commit.
CREATE FUNCTION audit.chain_count() RETURNS integer LANGUAGE sql IMMUTABLE AS $$ SELECT 16 $$;

CREATE FUNCTION audit.chain_link() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  k integer := (NEW.txid % audit.chain_count())::integer;
  head record;
  prev bytea;
  next_seq bigint;
BEGIN
  PERFORM pg_advisory_xact_lock(724500, k);
  SELECT seq, hash INTO head FROM audit_chain WHERE chain = k ORDER BY seq DESC LIMIT 1;
  IF NOT FOUND THEN
    prev := audit.genesis(k);
    next_seq := 1;
  ELSE
    prev := head.hash;
    next_seq := head.seq + 1;
  END IF;
  INSERT INTO audit_chain (chain, seq, audit_id, prev_hash, hash)
  VALUES (k, next_seq, NEW.id, prev, audit.row_digest(prev, NEW));
  RETURN NULL;
END $$;

CREATE FUNCTION audit.verify_chain(OUT valid boolean, OUT checked bigint,
                                   OUT first_invalid bigint, OUT head_hash text)
LANGUAGE plpgsql STABLE AS $$
DECLARE
  cur integer := -1;
  prev bytea;
  expected bigint;
  broken boolean := false;
  heads bytea := ''::bytea;
  r record;
BEGIN
  valid := true;
  checked := 0;
  FOR r IN
    SELECT c.chain, c.seq, c.audit_id, c.prev_hash, c.hash, a AS row, a.id AS row_id
    FROM audit_chain c LEFT JOIN audit_log a ON a.id = c.audit_id
    ORDER BY c.chain, c.seq
  LOOP
    IF r.chain <> cur THEN
      IF cur >= 0 THEN heads := heads || prev; END IF;
      cur := r.chain;
      prev := audit.genesis(cur);
      expected := 1;
      broken := false;
    END IF;
    CONTINUE WHEN broken;  -- the rest of a broken chain cannot be trusted either
    IF r.seq <> expected OR r.prev_hash <> prev OR r.row_id IS NULL
       OR audit.row_digest(prev, r.row) <> r.hash THEN
      valid := false;
      broken := true;
      first_invalid := LEAST(COALESCE(first_invalid, r.audit_id), r.audit_id);
      CONTINUE;
    END IF;
    prev := r.hash;
    expected := expected + 1;
    checked := checked + 1;
  END LOOP;
  IF cur >= 0 AND NOT broken THEN heads := heads || prev; END IF;
  IF valid THEN
    head_hash := encode(sha256(heads), 'hex');
  END IF;
  SELECT LEAST(first_invalid, min(a.id)) INTO first_invalid FROM audit_log a
  WHERE NOT EXISTS (SELECT 1 FROM audit_chain c WHERE c.audit_id = a.id);
  IF first_invalid IS NOT NULL THEN
    valid := false;
    head_hash := NULL;
  END IF;
END $$;

CREATE CONSTRAINT TRIGGER chain_link AFTER INSERT ON audit_log
  DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION audit.chain_link();

CREATE TRIGGER immutable BEFORE UPDATE OR DELETE ON audit_log
  FOR EACH ROW EXECUTE FUNCTION audit.refuse_change('the audit trail is append-only');

CREATE TRIGGER no_truncate BEFORE TRUNCATE ON audit_log
  FOR EACH STATEMENT EXECUTE FUNCTION audit.refuse_change('the audit trail is append-only');

CREATE TRIGGER immutable BEFORE UPDATE OR DELETE ON audit_chain
  FOR EACH ROW EXECUTE FUNCTION audit.refuse_change('the audit chain is append-only');

CREATE TRIGGER no_truncate BEFORE TRUNCATE ON audit_chain
  FOR EACH STATEMENT EXECUTE FUNCTION audit.refuse_change('the audit chain is append-only');

ALTER TABLE audit_log ENABLE ALWAYS TRIGGER chain_link, ENABLE ALWAYS TRIGGER immutable,
  ENABLE ALWAYS TRIGGER no_truncate;

ALTER TABLE audit_chain ENABLE ALWAYS TRIGGER immutable, ENABLE ALWAYS TRIGGER no_truncate;

REVOKE UPDATE, DELETE, TRUNCATE ON audit_log, audit_chain FROM PUBLIC;

SELECT audit.enable('sites');

SELECT audit.enable('users');

SELECT audit.enable('api_tokens');

SELECT audit.enable('participants');

SELECT audit.enable('screenings');

SELECT audit.enable('consents');

CREATE SEQUENCE participant_number_seq;

CREATE FUNCTION participant_study_id() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  n text;
BEGIN
  IF NEW.study_id IS NULL THEN
    n := nextval('participant_number_seq')::text;
    -- at least 4 digits, never truncated (lpad alone would cut 10000 to 1000)
    NEW.study_id := (SELECT code FROM sites WHERE id = NEW.site_id) || '-'
                    || lpad(n, greatest(4, length(n)), '0');
  END IF;
  RETURN NEW;
END $$;

CREATE TRIGGER study_id BEFORE INSERT ON participants
  FOR EACH ROW EXECUTE FUNCTION participant_study_id();
"""


def upgrade() -> None:
    op.execute("SET LOCAL lock_timeout = '5s'")
    # ### commands auto generated by Alembic - please adjust! ###
    op.create_table(
        "audit_log",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=True), nullable=False),
        sa.Column(
            "occurred_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("clock_timestamp()"),
            nullable=False,
        ),
        sa.Column(
            "txid",
            sa.BigInteger(),
            server_default=sa.text("pg_current_xact_id()::text::bigint"),
            nullable=False,
        ),
        sa.Column("actor_user_id", sa.String(), nullable=True),
        sa.Column("actor_role", sa.String(), nullable=True),
        sa.Column("actor_site", sa.String(), nullable=True),
        sa.Column("request_id", sa.String(), nullable=True),
        sa.Column("reason", sa.String(), nullable=True),
        sa.Column("db_user", sa.String(), server_default=sa.text("current_user"), nullable=False),
        sa.Column("table_name", sa.String(), nullable=False),
        sa.Column("record_id", sa.String(), nullable=False),
        sa.Column("participant_id", sa.String(), nullable=True),
        sa.Column("action", sa.String(), nullable=False),
        sa.Column("old_values", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.Column("new_values", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_log")),
    )
    op.create_index(
        op.f("ix_audit_log_participant_id"), "audit_log", ["participant_id"], unique=False
    )
    op.create_index(
        "ix_audit_log_table_record", "audit_log", ["table_name", "record_id"], unique=False
    )
    op.create_table(
        "sites",
        sa.Column("code", sa.String(), nullable=False),
        sa.Column("name", sa.String(), nullable=False),
        sa.Column("id", sa.Uuid(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sites")),
        sa.UniqueConstraint("code", name=op.f("uq_sites_code")),
    )
    op.create_table(
        "audit_chain",
        sa.Column("chain", sa.SmallInteger(), nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.Column("audit_id", sa.BigInteger(), nullable=False),
        sa.Column("prev_hash", sa.LargeBinary(), nullable=False),
        sa.Column("hash", sa.LargeBinary(), nullable=False),
        sa.ForeignKeyConstraint(
            ["audit_id"], ["audit_log.id"], name=op.f("fk_audit_chain_audit_id_audit_log")
        ),
        sa.PrimaryKeyConstraint("chain", "seq", name=op.f("pk_audit_chain")),
        sa.UniqueConstraint("audit_id", name=op.f("uq_audit_chain_audit_id")),
    )
    op.create_table(
        "users",
        sa.Column("username", sa.String(), nullable=False),
        sa.Column("role", sa.String(), nullable=False),
        sa.Column("site_id", sa.Uuid(), nullable=True),
        sa.Column("password_hash", sa.String(), nullable=True),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("id", sa.Uuid(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.CheckConstraint(
            "(role IN ('investigator','coordinator','integration')) = (site_id IS NOT NULL)",
            name=op.f("ck_users_site_bound_roles_have_site"),
        ),
        sa.CheckConstraint(
            "role IN ('admin','investigator','coordinator','monitor','statistician','dsmb','integration')",
            name=op.f("ck_users_known_role"),
        ),
        sa.ForeignKeyConstraint(["site_id"], ["sites.id"], name=op.f("fk_users_site_id_sites")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_users")),
        sa.UniqueConstraint("username", name=op.f("uq_users_username")),
    )
    op.create_table(
        "api_tokens",
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("token_hash", sa.LargeBinary(), nullable=False),
        sa.Column("name", sa.String(), nullable=True),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_used_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("id", sa.Uuid(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_api_tokens_user_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_api_tokens")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_api_tokens_token_hash")),
    )
    op.create_index(op.f("ix_api_tokens_user_id"), "api_tokens", ["user_id"], unique=False)
    op.create_table(
        "idempotency_keys",
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("key", sa.String(), nullable=False),
        sa.Column("request_hash", sa.LargeBinary(), nullable=False),
        sa.Column("method", sa.String(), nullable=False),
        sa.Column("path", sa.String(), nullable=False),
        sa.Column("response_status", sa.Integer(), nullable=False),
        sa.Column("response_body", sa.LargeBinary(), nullable=False),
        sa.Column("response_headers", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_idempotency_keys_user_id_users")
        ),
        sa.PrimaryKeyConstraint("user_id", "key", name=op.f("pk_idempotency_keys")),
    )
    op.create_index(
        op.f("ix_idempotency_keys_expires_at"), "idempotency_keys", ["expires_at"], unique=False
    )
    op.create_table(
        "participants",
        sa.Column("study_id", sa.String(), nullable=False),
        sa.Column("site_id", sa.Uuid(), nullable=False),
        sa.Column("date_of_birth", sa.Date(), nullable=False),
        sa.Column("sex", sa.String(), nullable=False),
        sa.Column("status", sa.String(), nullable=False),
        sa.Column("created_by", sa.Uuid(), nullable=True),
        sa.Column("id", sa.Uuid(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("version", sa.Integer(), server_default=sa.text("1"), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("voided_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("void_reason", sa.String(), nullable=True),
        sa.CheckConstraint("sex IN ('male','female')", name=op.f("ck_participants_sex")),
        sa.CheckConstraint(
            "status IN ('screening','screen_failed','eligible','randomized','completed','died','liver_transplant','treatment_abandoned','withdrawn','lost_to_follow_up')",
            name=op.f("ck_participants_status"),
        ),
        sa.ForeignKeyConstraint(
            ["created_by"], ["users.id"], name=op.f("fk_participants_created_by_users")
        ),
        sa.ForeignKeyConstraint(
            ["site_id"], ["sites.id"], name=op.f("fk_participants_site_id_sites")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_participants")),
        sa.UniqueConstraint("study_id", name=op.f("uq_participants_study_id")),
    )
    op.create_index(op.f("ix_participants_site_id"), "participants", ["site_id"], unique=False)
    op.create_index(op.f("ix_participants_status"), "participants", ["status"], unique=False)
    op.create_table(
        "consents",
        sa.Column("participant_id", sa.Uuid(), nullable=False),
        sa.Column("consent_date", sa.Date(), nullable=False),
        sa.Column("form_version", sa.String(), nullable=False),
        sa.Column("created_by", sa.Uuid(), nullable=True),
        sa.Column("id", sa.Uuid(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["created_by"], ["users.id"], name=op.f("fk_consents_created_by_users")
        ),
        sa.ForeignKeyConstraint(
            ["participant_id"],
            ["participants.id"],
            name=op.f("fk_consents_participant_id_participants"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_consents")),
    )
    op.create_index(
        op.f("ix_consents_participant_id"), "consents", ["participant_id"], unique=False
    )
    op.create_table(
        "screenings",
        sa.Column("participant_id", sa.Uuid(), nullable=False),
        sa.Column("assessment_date", sa.Date(), nullable=False),
        sa.Column("labs", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("tbil_uln_umol_l", sa.Numeric(), nullable=True),
        sa.Column("he_grade", sa.Integer(), nullable=False),
        sa.Column("ascites", sa.String(), nullable=False),
        sa.Column("aclf_diagnosis_confirmed", sa.Boolean(), nullable=False),
        sa.Column("age_years", sa.Integer(), nullable=False),
        sa.Column("eligible", sa.Boolean(), nullable=False),
        sa.Column("reasons", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("scores", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("symptoms", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.Column("created_by", sa.Uuid(), nullable=True),
        sa.Column("id", sa.Uuid(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["created_by"], ["users.id"], name=op.f("fk_screenings_created_by_users")
        ),
        sa.ForeignKeyConstraint(
            ["participant_id"],
            ["participants.id"],
            name=op.f("fk_screenings_participant_id_participants"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_screenings")),
    )
    op.create_index(
        op.f("ix_screenings_participant_id"), "screenings", ["participant_id"], unique=False
    )
    # ### end Alembic commands ###
    for statement in AUDIT_SQL.split(";\n\n"):
        if statement.strip():
            op.execute(statement)


def downgrade() -> None:
    op.execute("DROP SCHEMA audit CASCADE")
    op.execute("DROP TRIGGER study_id ON participants")
    op.execute("DROP FUNCTION participant_study_id()")
    op.execute("DROP SEQUENCE participant_number_seq")
    # ### commands auto generated by Alembic - please adjust! ###
    op.drop_index(op.f("ix_screenings_participant_id"), table_name="screenings")
    op.drop_table("screenings")
    op.drop_index(op.f("ix_consents_participant_id"), table_name="consents")
    op.drop_table("consents")
    op.drop_index(op.f("ix_participants_status"), table_name="participants")
    op.drop_index(op.f("ix_participants_site_id"), table_name="participants")
    op.drop_table("participants")
    op.drop_index(op.f("ix_idempotency_keys_expires_at"), table_name="idempotency_keys")
    op.drop_table("idempotency_keys")
    op.drop_index(op.f("ix_api_tokens_user_id"), table_name="api_tokens")
    op.drop_table("api_tokens")
    op.drop_table("users")
    op.drop_table("audit_chain")
    op.drop_table("sites")
    op.drop_index("ix_audit_log_table_record", table_name="audit_log")
    op.drop_index(op.f("ix_audit_log_participant_id"), table_name="audit_log")
    op.drop_table("audit_log")
    # ### end Alembic commands ###
