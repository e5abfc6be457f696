"""Command line: create sites, users and tokens without the API (first set-up, recovery).

python -m app.cli create-site --code GZ3 --name "Third Affiliated Hospital"
python -m app.cli create-user --username inv1 --role investigator --site-code GZ3
python -m app.cli create-token --username inv1 [--name ehr] [--days 90]
python -m app.cli audit-anchor        # prints the current audit anchor (JSON) for safekeeping

Everything but the migrations runs as DB_APP_ROLE, like the service's requests.
"""

from __future__ import annotations

import argparse
import asyncio
import getpass
import json
import sys
from datetime import UTC, datetime

from sqlalchemy.ext.asyncio import AsyncSession

from app.db.audit_context import set_actor, set_reason
from app.db.engine import make_engine, make_sessionmaker, resolve_database_url
from app.db.migrate import upgrade_to_head
from app.db.repositories import access as repo
from app.db.roles import enter_app_role
from app.schemas.access import SiteIn, TokenIn, UserIn
from app.services import access
from app.services import audit as audit_service
from app.settings import get_settings


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m app.cli")
    sub = parser.add_subparsers(dest="command", required=True)
    site = sub.add_parser("create-site")
    site.add_argument("--code", required=True)
    site.add_argument("--name", required=True)
    site.add_argument("--timezone", default="Asia/Shanghai")
    user = sub.add_parser("create-user")
    user.add_argument("--username", required=True)
    user.add_argument("--role", required=True)
    user.add_argument("--site-code")
    user.add_argument("--password", action="store_true", help="prompt for a password")
    token = sub.add_parser("create-token")
    token.add_argument("--username", required=True)
    token.add_argument("--name")
    token.add_argument("--days", type=int)
    sub.add_parser(
        "audit-anchor", help="verify the audit trail and print its current anchor (JSON)"
    )
    return parser


async def _anchor(session: AsyncSession) -> str:
    """One JSON line to keep outside the database (docs/deployment.md: anchors)."""
    result = await audit_service.verify(session)
    if not result.valid or result.head_id is None:
        raise RuntimeError(
            f"the audit trail does not verify (first invalid row {result.first_invalid}):"
            " no anchor is printed"
            if not result.valid
            else "no audit row has been linked since anchors exist: write something first"
        )
    return json.dumps(
        {
            "anchor_id": result.head_id,
            "anchor_hash": result.head_hash,
            "taken_at": datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z"),
            "checked": result.checked,
        }
    )


async def _run(args: argparse.Namespace) -> str:
    settings = get_settings()
    engine = make_engine(resolve_database_url(settings), settings)
    sessions = make_sessionmaker(engine)
    try:
        if args.command == "audit-anchor":
            async with sessions() as session, session.begin():
                await enter_app_role(session, settings.db_app_role)
                return await _anchor(session)
        await upgrade_to_head(engine, settings.db_app_role)
        async with sessions() as session, session.begin():
            await enter_app_role(session, settings.db_app_role)
            await set_actor(session, user_id="cli", role="system", site=None)
            await set_reason(session, f"cli {args.command}")
            if args.command == "create-site":
                site = await access.create_site(
                    session, SiteIn(code=args.code, name=args.name, timezone=args.timezone)
                )
                return f"site {site.code} {site.id}"
            if args.command == "create-user":
                password = getpass.getpass("password: ") if args.password else None
                data = UserIn(
                    username=args.username,
                    role=args.role,
                    site_code=args.site_code,
                    password=password,
                )
                user, _ = await access.create_user(session, data)
                return f"user {user.username} {user.id}"
            found = await repo.user_by_username(session, args.username)
            if found is None:
                raise SystemExit(f"no user {args.username!r}")
            _, plaintext = await access.issue_token(
                session, found.id, TokenIn(name=args.name, expires_in_days=args.days), settings
            )
            return plaintext
    finally:
        await engine.dispose()


def main(argv: list[str] | None = None) -> None:
    args = _parser().parse_args(argv)
    try:
        print(asyncio.run(_run(args)))  # noqa: T201 - a CLI prints its result
    except Exception as exc:  # a CLI reports failures as one line, not a traceback
        print(f"error: {exc}", file=sys.stderr)  # noqa: T201
        raise SystemExit(1) from exc


if __name__ == "__main__":
    main()
