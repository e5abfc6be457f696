"""Command line: create sites, users and tokens without the API (first set-up, recovery).

python -m app.cli create-site --code GZ3 --name "Third Affiliated Hospital"
python -m app.cli create-user --username inv1 --role investigator --site-code GZ3
python -m app.cli create-token --username inv1 [--name ehr] [--days 90]
"""

from __future__ import annotations

import argparse
import asyncio
import getpass
import sys

from app.db.audit_context import set_actor, set_reason
from app.db.engine import make_engine, make_sessionmaker, resolve_database_url
from app.db.migrate import upgrade_to_head
from app.db.repositories import access as repo
from app.schemas.access import SiteIn, TokenIn, UserIn
from app.services import access
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
    return parser


async def _run(args: argparse.Namespace) -> str:
    settings = get_settings()
    engine = make_engine(resolve_database_url(settings), settings)
    await upgrade_to_head(engine)
    sessions = make_sessionmaker(engine)
    try:
        async with sessions() as session, session.begin():
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
