"""Sites, users and their API tokens."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import (
    ARRAY,
    CheckConstraint,
    DateTime,
    ForeignKey,
    LargeBinary,
    String,
    func,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from app.db.models.base import Base, Timestamped, UUIDKey


class Site(UUIDKey, Timestamped, Base):
    __tablename__ = "sites"

    code: Mapped[str] = mapped_column(unique=True)
    name: Mapped[str]
    # study days are local calendar dates at the site (Day 1 = local date of randomization)
    timezone: Mapped[str] = mapped_column(server_default="Asia/Shanghai", default="Asia/Shanghai")
    # the identifier system of the site's medical record numbers (FHIR Identifier.system)
    mrn_system: Mapped[str | None] = mapped_column(default=None)
    version: Mapped[int] = mapped_column(server_default=text("1"), default=1)
    updated_at: Mapped[datetime | None] = mapped_column(default=None)

    __mapper_args__ = {"version_id_col": version, "eager_defaults": True}


class User(UUIDKey, Timestamped, Base):
    __tablename__ = "users"
    __table_args__ = (
        CheckConstraint(
            "(role IN ('investigator','coordinator','integration')) = (site_id IS NOT NULL)",
            name="site_bound_roles_have_site",
        ),
        CheckConstraint(
            "role IN ('admin','investigator','coordinator','monitor','statistician','dsmb',"
            "'integration')",
            name="known_role",
        ),
    )

    username: Mapped[str] = mapped_column(unique=True)
    role: Mapped[str]
    site_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("sites.id"), default=None)
    password_hash: Mapped[str | None] = mapped_column(default=None)
    # the printed name of an electronic signature's manifest (21 CFR 11.50)
    full_name: Mapped[str | None] = mapped_column(default=None)
    active: Mapped[bool] = mapped_column(default=True)
    # optimistic concurrency: the version is the ETag of GET/PATCH /users/{id}
    version: Mapped[int] = mapped_column(server_default=text("1"), default=1)
    updated_at: Mapped[datetime | None] = mapped_column(default=None)

    __mapper_args__ = {"version_id_col": version, "eager_defaults": True}


TOKEN_KINDS = ("api", "login", "bootstrap", "client")


class ApiToken(UUIDKey, Timestamped, Base):
    __tablename__ = "api_tokens"
    __table_args__ = (
        CheckConstraint("kind IN ('api','login','bootstrap','client')", name="kind"),
        CheckConstraint(
            "(kind = 'client') = (scopes IS NOT NULL AND integration_client_id IS NOT NULL)",
            name="client_scopes",
        ),
    )

    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id"), index=True)
    token_hash: Mapped[bytes] = mapped_column(LargeBinary, unique=True)
    name: Mapped[str | None] = mapped_column(default=None)
    expires_at: Mapped[datetime]
    revoked_at: Mapped[datetime | None] = mapped_column(default=None)
    last_used_at: Mapped[datetime | None] = mapped_column(default=None)
    # api: issued by an admin; login: password login (short-lived, capped); bootstrap: 24 h;
    # client: SMART Backend Services client credentials (5 minutes, scoped)
    kind: Mapped[str] = mapped_column(server_default="api", default="api")
    scopes: Mapped[list[str] | None] = mapped_column(ARRAY(String), default=None)
    integration_client_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("integration_clients.id"), default=None
    )


class LoginThrottle(Base):
    """Recent failed logins per key (`user:<name>` or `addr:<ip>`), in PostgreSQL so the
    lockout holds across workers and replicas. Rows are updated in place, never deleted."""

    __tablename__ = "login_throttle"

    key: Mapped[str] = mapped_column(primary_key=True)
    failures: Mapped[list[datetime]] = mapped_column(
        ARRAY(DateTime(timezone=True)), server_default=text("'{}'")
    )
    locked_until: Mapped[datetime | None] = mapped_column(default=None)
    updated_at: Mapped[datetime] = mapped_column(server_default=func.now())
