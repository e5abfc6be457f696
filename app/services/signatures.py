"""Electronic signatures of a participant's casebook (SPEC §13; 21 CFR 11.50, 11.200).

An investigator of the participant's site signs, entering the password again: a wrong one is
403 and counts toward the login lockout (app/services/login.py). The manifest records the
SHA-256 of the canonical casebook (app/domain/casebook.py). PostgreSQL itself marks the
signature invalidated on any later change to the participant's data, and refuses any other
change to it (migration 0013).
"""

from __future__ import annotations

import uuid

from sqlalchemy.ext.asyncio import AsyncSession

from app.auth import Principal
from app.db.audit_context import set_reason
from app.db.models import Signature
from app.db.repositories import access as access_repo
from app.db.repositories import locks as lock_repo
from app.db.repositories import signatures as repo
from app.domain.casebook import CANONICAL_VERSION, CASEBOOK_TABLES, casebook_sha256
from app.domain.errors import StateConflict
from app.schemas.signatures import SignatureIn, SignatureOut, SignaturesOut, SignerOut
from app.services.login import check_password_for_reauthentication
from app.services.participants import visible
from app.settings import Settings


async def current_hash(session: AsyncSession, participant_id: uuid.UUID) -> str:
    rows = await repo.casebook_rows(session, participant_id, CASEBOOK_TABLES)
    return casebook_sha256(participant_id, rows)


async def sign(
    session: AsyncSession,
    principal: Principal,
    participant_id: uuid.UUID,
    data: SignatureIn,
    client: str | None,
    settings: Settings,
) -> SignatureOut:
    participant = await visible(session, principal, participant_id)
    await check_password_for_reauthentication(session, principal, data.password, client, settings)
    user = await access_repo.user_by_id(session, principal.user_id)
    if user is None or not user.full_name:
        raise StateConflict(
            "The signer has no full name on record: an admin sets `full_name` on the user"
            " (it is printed in the signature's manifest)"
        )
    await set_reason(session, f"electronic signature: {data.meaning}")
    await lock_repo.hold_casebook_key(session, participant.id)  # the hash and the rows agree
    signature = Signature(
        participant_id=participant.id,
        signer_user_id=user.id,
        signer_username=user.username,
        signer_full_name=user.full_name,
        signer_role=user.role,
        meaning=data.meaning,
        casebook_sha256=await current_hash(session, participant.id),
        canonical_version=CANONICAL_VERSION,
    )
    session.add(signature)
    await session.flush()
    return signature_out(signature)


async def list_for(
    session: AsyncSession, principal: Principal, participant_id: uuid.UUID, limit: int, offset: int
) -> SignaturesOut:
    """One page of the signatures, oldest first (a casebook has few: read whole, then cut)."""
    participant = await visible(session, principal, participant_id)
    signatures = await repo.for_participant(session, participant.id)
    return SignaturesOut(
        items=[signature_out(s) for s in signatures[offset : offset + limit]],
        total=len(signatures),
        limit=limit,
        offset=offset,
        current_casebook_sha256=await current_hash(session, participant.id),
    )


def signature_out(s: Signature) -> SignatureOut:
    when = s.signed_at.isoformat().replace("+00:00", "Z")
    return SignatureOut(
        id=s.id,
        participant_id=s.participant_id,
        signer=SignerOut(
            user_id=s.signer_user_id,
            username=s.signer_username,
            full_name=s.signer_full_name,
            role=s.signer_role,
        ),
        signed_at=s.signed_at,
        meaning="approval",
        casebook_sha256=s.casebook_sha256,
        canonical_version=s.canonical_version,
        status="valid" if s.invalidated_at is None else "invalidated",
        invalidated_at=s.invalidated_at,
        invalidated_by_table=s.invalidated_by_table,
        invalidated_by_record=s.invalidated_by_record,
        manifest=(
            f"Signed by {s.signer_full_name} ({s.signer_username}) at {when} UTC,"
            f" meaning: {s.meaning}"
        ),
    )
