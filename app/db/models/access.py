"""Sites, users and their API tokens."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, LargeBinary
from sqlalchemy.orm import Mapped, mapped_column

from app.db.models.base import Base, Timestamped, UUIDKey


class Site(UUIDKey, Timestamped, Base):
    __tablename__ = "sites"

    code: Mapped[str] = mapped_column(unique=True)
    name: Mapped[str]
    # study days are local calendar dates at the site (Day 1 = local date of randomization)
    timezone: Mapped[str] = mapped_column(server_default="Asia/Shanghai", default="Asia/Shanghai")


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
    active: Mapped[bool] = mapped_column(default=True)


class ApiToken(UUIDKey, Timestamped, Base):
    __tablename__ = "api_tokens"

    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id"), index=True)
    token_hash: Mapped[bytes] = mapped_column(LargeBinary, unique=True)
    name: Mapped[str | None] = mapped_column(default=None)
    expires_at: Mapped[datetime]
    revoked_at: Mapped[datetime | None] = mapped_column(default=None)
    last_used_at: Mapped[datetime | None] = mapped_column(default=None)
