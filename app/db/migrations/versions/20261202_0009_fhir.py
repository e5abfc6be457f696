"""fhir: the site's MRN, ingested Observation identifiers, SMART Backend Services clients

* `sites.mrn_system` (the site's identifier system for medical record numbers), with a
  version for If-Match on PATCH /sites/{code};
* `participants.mrn_hmac` (HMAC-SHA256 keyed by MRN_HMAC_KEY over site and MRN: the lookup)
  and `participants.mrn_ciphertext` (AES-256-GCM with MRN_ENCRYPTION_KEY: the display); one
  live participant per MRN and site (screen failures excepted: a person re-screened later is a
  new participant record);
* `lab_results.fhir_identifier_system/value`: the identifier of an ingested Observation, the
  key of conditional create (unique, voided results included: re-posting a voided result does
  not bring it back);
* `integration_clients` (audited): a SMART Backend Services client, its public JWKS, its
  scopes, bound to an `integration` user (and so to one site);
* `client_assertion_jtis`: the `jti` of each accepted client assertion until its `exp` (replay
  refusal across workers; the app role cannot DELETE: an expired row is overwritten);
* `api_tokens.kind` gains `client` (tokens issued by client credentials, 5 minutes), with
  `scopes` and the issuing `integration_client_id`.

Revision ID: 0009
Revises: 0010
Create Date: 2026-12-02 20:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0009"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TOKEN_KINDS_BEFORE = "kind IN ('api','login','bootstrap')"
TOKEN_KINDS = "kind IN ('api','login','bootstrap','client')"


def upgrade() -> None:
    op.execute("SET LOCAL lock_timeout = '5s'")
    _sites_and_participants()
    _lab_results()
    _clients()
    _tokens()
    op.execute("SELECT audit.enable('integration_clients')")


def _sites_and_participants() -> None:
    op.add_column("sites", sa.Column("mrn_system", sa.String(), nullable=True))
    op.add_column(
        "sites", sa.Column("version", sa.Integer(), server_default=sa.text("1"), nullable=False)
    )
    op.add_column("sites", sa.Column("updated_at", sa.DateTime(timezone=True), nullable=True))
    op.add_column("participants", sa.Column("mrn_hmac", sa.LargeBinary(), nullable=True))
    op.add_column("participants", sa.Column("mrn_ciphertext", sa.LargeBinary(), nullable=True))
    op.create_check_constraint(
        op.f("ck_participants_mrn_both"),
        "participants",
        "(mrn_hmac IS NULL) = (mrn_ciphertext IS NULL)",
    )
    op.create_index(
        "uq_participants_site_mrn",
        "participants",
        ["site_id", "mrn_hmac"],
        unique=True,
        postgresql_where=sa.text("mrn_hmac IS NOT NULL AND status <> 'screen_failed'"),
    )


def _lab_results() -> None:
    op.add_column("lab_results", sa.Column("fhir_identifier_system", sa.String(), nullable=True))
    op.add_column("lab_results", sa.Column("fhir_identifier_value", sa.String(), nullable=True))
    op.create_check_constraint(
        op.f("ck_lab_results_fhir_identifier"),
        "lab_results",
        "(fhir_identifier_system IS NULL) = (fhir_identifier_value IS NULL)"
        " AND (fhir_identifier_system IS NULL OR source = 'fhir')",
    )
    op.create_index(
        "uq_lab_results_fhir_identifier",
        "lab_results",
        ["fhir_identifier_system", "fhir_identifier_value"],
        unique=True,
        postgresql_where=sa.text("fhir_identifier_system IS NOT NULL"),
    )


def _clients() -> None:
    op.create_table(
        "integration_clients",
        sa.Column("id", sa.Uuid(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column("name", sa.String(), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("jwks", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("scopes", postgresql.ARRAY(sa.String()), nullable=False),
        sa.Column("active", sa.Boolean(), server_default=sa.text("true"), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("created_by", sa.Uuid(), nullable=True),
        sa.Column("version", sa.Integer(), server_default=sa.text("1"), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("deactivated_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("deactivation_reason", sa.String(), nullable=True),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_integration_clients_user_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["created_by"], ["users.id"], name=op.f("fk_integration_clients_created_by_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_integration_clients")),
    )
    op.create_index(op.f("ix_integration_clients_user_id"), "integration_clients", ["user_id"])
    op.create_table(
        "client_assertion_jtis",
        sa.Column("client_id", sa.Uuid(), nullable=False),
        sa.Column("jti", sa.String(), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["client_id"],
            ["integration_clients.id"],
            name=op.f("fk_client_assertion_jtis_client_id_integration_clients"),
        ),
        sa.PrimaryKeyConstraint("client_id", "jti", name=op.f("pk_client_assertion_jtis")),
    )


def _tokens() -> None:
    op.drop_constraint(op.f("ck_api_tokens_kind"), "api_tokens", type_="check")
    op.create_check_constraint(op.f("ck_api_tokens_kind"), "api_tokens", TOKEN_KINDS)
    op.add_column("api_tokens", sa.Column("scopes", postgresql.ARRAY(sa.String()), nullable=True))
    op.add_column("api_tokens", sa.Column("integration_client_id", sa.Uuid(), nullable=True))
    op.create_foreign_key(
        op.f("fk_api_tokens_integration_client_id_integration_clients"),
        "api_tokens",
        "integration_clients",
        ["integration_client_id"],
        ["id"],
    )
    op.create_check_constraint(
        op.f("ck_api_tokens_client_scopes"),
        "api_tokens",
        "(kind = 'client') = (scopes IS NOT NULL AND integration_client_id IS NOT NULL)",
    )
    op.create_index(
        "ix_api_tokens_integration_client_id",
        "api_tokens",
        ["integration_client_id"],
        postgresql_where=sa.text("integration_client_id IS NOT NULL"),
    )


def downgrade() -> None:
    """Reviewed: what 0009 added goes, with its data.

    Client tokens (5-minute lifetime) are revoked and become plain `api` tokens before the
    kind is narrowed again (audited, with a reason). MRNs (hash and ciphertext), sites' MRN
    systems and ingested Observation identifiers are dropped: after an upgrade, MRNs must be
    entered again and a re-posted Bundle would create its Observations anew. The audit rows of
    `integration_clients` stay (the trail is append-only; dropping a table drops its trigger).
    """
    op.execute("SET LOCAL lock_timeout = '5s'")
    op.execute("SELECT set_config('trial.reason', 'migration 0009 downgrade', true)")
    op.execute(
        "UPDATE api_tokens SET kind = 'api', scopes = NULL, integration_client_id = NULL,"
        " revoked_at = COALESCE(revoked_at, now()) WHERE kind = 'client'"
    )
    op.drop_index(
        "ix_api_tokens_integration_client_id",
        table_name="api_tokens",
        postgresql_where=sa.text("integration_client_id IS NOT NULL"),
    )
    op.drop_constraint(op.f("ck_api_tokens_client_scopes"), "api_tokens", type_="check")
    op.drop_constraint(
        op.f("fk_api_tokens_integration_client_id_integration_clients"),
        "api_tokens",
        type_="foreignkey",
    )
    op.drop_column("api_tokens", "integration_client_id")
    op.drop_column("api_tokens", "scopes")
    op.drop_constraint(op.f("ck_api_tokens_kind"), "api_tokens", type_="check")
    op.create_check_constraint(op.f("ck_api_tokens_kind"), "api_tokens", TOKEN_KINDS_BEFORE)
    op.drop_table("client_assertion_jtis")
    op.drop_index(op.f("ix_integration_clients_user_id"), table_name="integration_clients")
    op.drop_table("integration_clients")
    op.drop_index(
        "uq_lab_results_fhir_identifier",
        table_name="lab_results",
        postgresql_where=sa.text("fhir_identifier_system IS NOT NULL"),
    )
    op.drop_constraint(op.f("ck_lab_results_fhir_identifier"), "lab_results", type_="check")
    op.drop_column("lab_results", "fhir_identifier_value")
    op.drop_column("lab_results", "fhir_identifier_system")
    op.drop_index(
        "uq_participants_site_mrn",
        table_name="participants",
        postgresql_where=sa.text("mrn_hmac IS NOT NULL AND status <> 'screen_failed'"),
    )
    op.drop_constraint(op.f("ck_participants_mrn_both"), "participants", type_="check")
    op.drop_column("participants", "mrn_ciphertext")
    op.drop_column("participants", "mrn_hmac")
    op.drop_column("sites", "updated_at")
    op.drop_column("sites", "version")
    op.drop_column("sites", "mrn_system")
