"""security: least privilege in PostgreSQL, anchors, account lifecycle, login throttle,
per-site study ids, no secrets in the idempotency store (issue 10, SPEC §8)

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-02 09:00:00

Three roles (docs/deployment.md, "PostgreSQL roles"):
* the owner: whoever runs this migration; owns every table and the non-audit functions;
* DB_APP_ROLE (default trial_app), NOLOGIN, owns nothing: SELECT/INSERT/UPDATE on the
  application's tables (also on tables of later migrations, by ALTER DEFAULT PRIVILEGES), no
  DELETE or TRUNCATE anywhere, nothing on audit_log/audit_chain; it reads the trail through
  the view audit.trail and the functions audit.verify_chain/anchor_at/current_anchor;
* trial_audit, NOLOGIN, owns the SECURITY DEFINER audit functions (search_path pinned) and may
  only SELECT/INSERT the audit tables.
Roles are cluster-wide: created here when missing (race-safe, several databases may migrate
at once) and never dropped by the downgrade.
"""

import re
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import context, op

from app.db.migrations.sql_0006_security import (
    ANCHOR_AT,
    CHAIN_LINK,
    CHAIN_LINK_0001,
    CURRENT_ANCHOR,
    LOG_CHANGE,
    LOG_CHANGE_0001,
    SEED_COUNTERS,
    STUDY_ID,
    STUDY_ID_0001,
    TRAIL_VIEW,
    VERIFY_CHAIN,
    VERIFY_CHAIN_0001,
)

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

AUDIT_ROLE = "trial_audit"
ROLE_NAME = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")
AUDIT_TABLES = "('audit_log', 'audit_chain')"
READ_ONLY_TABLES = "('alembic_version')"
DEFINER = "SECURITY DEFINER SET search_path = pg_catalog, pg_temp"
DEFINER_FUNCTIONS = (
    "audit.log_change()",
    "audit.chain_link()",
    "audit.verify_chain()",
    "audit.anchor_at(bigint)",
    "audit.current_anchor()",
)
HELPER_FUNCTIONS = (
    "audit.redact(jsonb)",
    "audit.genesis(integer)",
    "audit.row_digest(bytea, audit_log)",
    "audit.chain_count()",
)
APP_READ_FUNCTIONS = ("audit.verify_chain()", "audit.anchor_at(bigint)", "audit.current_anchor()")


def _app_role() -> str:
    role = context.config.attributes.get("app_role")
    if role is None:
        from app.settings import get_settings

        role = get_settings().db_app_role
    if not ROLE_NAME.match(role):
        raise ValueError(f"DB_APP_ROLE {role!r} is not a plain lower-case identifier")
    return str(role)


def _create_role(name: str) -> None:
    """Race-safe: another database's migration may create the same role at the same moment
    (its CREATE then waits for ours and fails with unique_violation, which is caught)."""
    op.execute(
        f"""
        DO $$ BEGIN
          IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '{name}') THEN
            BEGIN
              CREATE ROLE {name} NOLOGIN;
            EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL;
            END;
          END IF;
        END $$"""
    )


def _schema() -> None:
    op.add_column(
        "users", sa.Column("version", sa.Integer(), server_default=sa.text("1"), nullable=False)
    )
    op.add_column("users", sa.Column("updated_at", sa.DateTime(timezone=True), nullable=True))
    op.add_column(
        "api_tokens", sa.Column("kind", sa.String(), server_default="api", nullable=False)
    )
    op.create_check_constraint(
        op.f("ck_api_tokens_kind"), "api_tokens", "kind IN ('api','login','bootstrap')"
    )
    op.add_column(
        "idempotency_keys",
        sa.Column("withheld", sa.Boolean(), server_default=sa.text("false"), nullable=False),
    )
    op.create_table(
        "login_throttle",
        sa.Column("key", sa.String(), nullable=False),
        sa.Column(
            "failures",
            sa.ARRAY(sa.DateTime(timezone=True)),
            server_default=sa.text("'{}'"),
            nullable=False,
        ),
        sa.Column("locked_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_login_throttle")),
    )
    op.create_table(
        "study_id_counters",
        sa.Column("site_id", sa.Uuid(), nullable=False),
        sa.Column("last_number", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["site_id"], ["sites.id"], name=op.f("fk_study_id_counters_site_id_sites")
        ),
        sa.PrimaryKeyConstraint("site_id", name=op.f("pk_study_id_counters")),
    )
    op.execute("CREATE SEQUENCE audit.link_seq CACHE 1")  # CACHE 1: numbers in drawing order
    op.add_column("audit_chain", sa.Column("link_no", sa.BigInteger(), nullable=True))
    op.create_index(
        "ix_audit_chain_chain_link_no", "audit_chain", ["chain", "link_no"], unique=False
    )


def _data() -> None:
    """Audited changes to existing rows, with the reason recorded in the trail."""
    op.execute("SELECT set_config('trial.reason', 'migration 0006: security review', true)")
    op.execute("UPDATE api_tokens SET kind = 'login' WHERE name = 'password login'")
    op.execute(
        "UPDATE api_tokens SET kind = 'bootstrap' WHERE name = 'bootstrap'"
        " AND user_id IN (SELECT id FROM users WHERE username = 'bootstrap-admin')"
    )
    op.execute(
        "UPDATE api_tokens SET expires_at = now() + interval '12 hours'"
        " WHERE kind = 'login' AND revoked_at IS NULL AND expires_at > now() + interval '12 hours'"
    )
    op.execute(
        "UPDATE api_tokens SET expires_at = now() + interval '24 hours'"
        " WHERE kind = 'bootstrap' AND revoked_at IS NULL"
        " AND expires_at > now() + interval '24 hours'"
    )
    # token responses stored before this fix held the plaintext token: keep the key (a replay
    # answers 409), drop the body
    op.execute(
        "UPDATE idempotency_keys SET response_body = ''::bytea, withheld = true"
        " WHERE method = 'POST' AND path ~ '^/api/v1/users/[^/]+/tokens$'"
    )
    op.execute(SEED_COUNTERS)
    op.execute(STUDY_ID)
    op.execute("DROP SEQUENCE participant_number_seq")


def _audit_functions() -> None:
    op.execute(LOG_CHANGE)
    op.execute(CHAIN_LINK)
    op.execute("DROP FUNCTION audit.verify_chain()")
    op.execute(VERIFY_CHAIN)
    op.execute(ANCHOR_AT)
    op.execute(CURRENT_ANCHOR)
    op.execute(TRAIL_VIEW)


def _privileges(app: str) -> None:
    audit = AUDIT_ROLE
    # the audit role: owns the definer functions and the trail view; touches only the trail
    op.execute(f"GRANT USAGE, CREATE ON SCHEMA audit TO {audit}")
    op.execute(f"GRANT SELECT, INSERT ON audit_log, audit_chain TO {audit}")
    op.execute(f"GRANT USAGE ON SEQUENCE audit.link_seq TO {audit}")
    op.execute(f"REVOKE EXECUTE ON FUNCTION {', '.join(HELPER_FUNCTIONS)} FROM PUBLIC")
    op.execute("REVOKE EXECUTE ON FUNCTION audit.enable(regclass) FROM PUBLIC")
    op.execute(f"GRANT EXECUTE ON FUNCTION {', '.join(HELPER_FUNCTIONS)} TO {audit}")
    for function in DEFINER_FUNCTIONS:
        op.execute(f"ALTER FUNCTION {function} OWNER TO {audit}")
        op.execute(f"ALTER FUNCTION {function} {DEFINER}")
    op.execute(f"REVOKE EXECUTE ON FUNCTION {', '.join(APP_READ_FUNCTIONS)} FROM PUBLIC")
    op.execute(f"ALTER VIEW audit.trail OWNER TO {audit}")
    # the app role: reads the trail through the view and functions, DML on everything else
    op.execute(f"GRANT USAGE ON SCHEMA public, audit TO {app}")
    op.execute(f"GRANT SELECT ON audit.trail TO {app}")
    op.execute(f"GRANT EXECUTE ON FUNCTION {', '.join(APP_READ_FUNCTIONS)} TO {app}")
    op.execute(
        f"""
        DO $$
        DECLARE t record;
        BEGIN
          FOR t IN SELECT c.oid::regclass AS name, c.relname FROM pg_class c
                   JOIN pg_namespace n ON n.oid = c.relnamespace
                   WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p', 'v', 'm', 'f') LOOP
            IF t.relname IN {AUDIT_TABLES} THEN
              EXECUTE format('REVOKE ALL ON %s FROM {app}', t.name);
            ELSIF t.relname IN {READ_ONLY_TABLES} THEN
              EXECUTE format('GRANT SELECT ON %s TO {app}', t.name);
            ELSE
              EXECUTE format('GRANT SELECT, INSERT, UPDATE ON %s TO {app}', t.name);
            END IF;
          END LOOP;
          FOR t IN SELECT c.oid::regclass AS name FROM pg_class c
                   JOIN pg_namespace n ON n.oid = c.relnamespace
                   WHERE n.nspname = 'public' AND c.relkind = 'S'
                     AND NOT EXISTS (SELECT 1 FROM pg_depend d
                                     WHERE d.objid = c.oid AND d.deptype IN ('a', 'i')
                                       AND d.refobjid IN ('audit_log'::regclass,
                                                          'audit_chain'::regclass)) LOOP
            EXECUTE format('GRANT USAGE, SELECT ON SEQUENCE %s TO {app}', t.name);
          END LOOP;
        END $$"""
    )
    # tables and sequences of later migrations (made by this same owner) get the same rights
    op.execute(
        f"ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT SELECT, INSERT, UPDATE ON TABLES TO {app}"
    )
    op.execute(
        f"ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT USAGE, SELECT ON SEQUENCES TO {app}"
    )


def upgrade() -> None:
    op.execute("SET LOCAL lock_timeout = '60s'")  # a concurrent CREATE ROLE waits for its peer
    app = _app_role()
    _create_role(app)
    _create_role(AUDIT_ROLE)
    op.execute("SET LOCAL lock_timeout = '5s'")
    _schema()
    _data()
    _audit_functions()
    _privileges(app)


def downgrade() -> None:
    """Back to 0004: the app role loses every right in this database (it is left in place,
    being cluster-wide), the audit functions return to the owner as SECURITY INVOKER, study
    ids return to one global counter (continuing above every number used), the new columns
    and tables go. Token kinds, lifetimes and scrubbed idempotency bodies stay as they are."""
    op.execute("SET LOCAL lock_timeout = '5s'")
    app = _app_role()
    op.execute(f"ALTER DEFAULT PRIVILEGES IN SCHEMA public REVOKE ALL ON TABLES FROM {app}")
    op.execute(f"ALTER DEFAULT PRIVILEGES IN SCHEMA public REVOKE ALL ON SEQUENCES FROM {app}")
    op.execute(f"REVOKE ALL ON ALL TABLES IN SCHEMA public FROM {app}")
    op.execute(f"REVOKE ALL ON ALL SEQUENCES IN SCHEMA public FROM {app}")
    op.execute(f"REVOKE ALL ON SCHEMA audit FROM {app}")
    op.execute(f"REVOKE USAGE ON SCHEMA public FROM {app}")
    op.execute("DROP VIEW audit.trail")
    op.execute("DROP FUNCTION audit.current_anchor(), audit.anchor_at(bigint)")
    op.execute("DROP FUNCTION audit.verify_chain()")
    for function in ("audit.log_change()", "audit.chain_link()"):
        op.execute(f"ALTER FUNCTION {function} OWNER TO CURRENT_USER")
        op.execute(f"ALTER FUNCTION {function} SECURITY INVOKER RESET search_path")
    op.execute(LOG_CHANGE_0001)
    op.execute(CHAIN_LINK_0001)
    op.execute(VERIFY_CHAIN_0001)
    op.execute(f"GRANT EXECUTE ON FUNCTION {', '.join(HELPER_FUNCTIONS)} TO PUBLIC")
    op.execute("GRANT EXECUTE ON FUNCTION audit.enable(regclass) TO PUBLIC")
    op.execute(f"REVOKE ALL ON FUNCTION {', '.join(HELPER_FUNCTIONS)} FROM {AUDIT_ROLE}")
    op.execute(f"REVOKE ALL ON audit_log, audit_chain FROM {AUDIT_ROLE}")
    op.execute(f"REVOKE ALL ON SCHEMA audit FROM {AUDIT_ROLE}")
    op.drop_index("ix_audit_chain_chain_link_no", table_name="audit_chain")
    op.drop_column("audit_chain", "link_no")
    op.execute("DROP SEQUENCE audit.link_seq")
    op.execute("CREATE SEQUENCE participant_number_seq")
    op.execute(
        "SELECT setval('participant_number_seq', m)"
        " FROM (SELECT max(last_number) AS m FROM study_id_counters) AS used WHERE m IS NOT NULL"
    )
    op.execute(STUDY_ID_0001)
    op.drop_table("study_id_counters")
    op.drop_table("login_throttle")
    op.drop_column("idempotency_keys", "withheld")
    op.drop_constraint(op.f("ck_api_tokens_kind"), "api_tokens", type_="check")
    op.drop_column("api_tokens", "kind")
    op.drop_column("users", "updated_at")
    op.drop_column("users", "version")
