"""The site's medical record number of a participant (SPEC §10.3).

Stored twice, never in clear: `mrn_hmac` = HMAC-SHA256(MRN_HMAC_KEY, "mrn/v1" | site id | MRN)
finds a participant by MRN (the site id in the message keeps two sites' hashes of one MRN
apart); `mrn_ciphertext` = 0x01 | nonce | AES-256-GCM(MRN_ENCRYPTION_KEY, MRN) with the site
id and the hash as associated data, so a ciphertext moved to another row does not decrypt.
Shown only to the participant's own site roles and admin; never in exports. Keys come from
the settings (docs/fhir.md, "MRN keys"); without them the service refuses to store MRNs.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import re
import uuid
from collections.abc import Iterable
from dataclasses import dataclass

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from sqlalchemy.ext.asyncio import AsyncSession

from app.auth import Principal
from app.db.models import Participant, Site
from app.db.repositories import mrn as repo
from app.domain.errors import InvalidData, StateConflict
from app.interop.fhir.records import Mrn
from app.settings import Settings, get_settings, key_material

FORMAT_VERSION = b"\x01"
NONCE_BYTES = 12
CONTEXT = b"mrn/v1\x00"
# printable ASCII without surrounding spaces, at most 64 characters
MRN_PATTERN = re.compile(r"[\x21-\x7e]([\x20-\x7e]{0,62}[\x21-\x7e])?")


@dataclass(frozen=True, slots=True)
class Keys:
    hmac_key: bytes
    encryption_key: bytes


def keys(settings: Settings | None = None) -> Keys | None:
    settings = settings or get_settings()
    if settings.mrn_hmac_key is None or settings.mrn_encryption_key is None:
        return None
    return Keys(
        key_material(settings.mrn_hmac_key.get_secret_value(), "MRN_HMAC_KEY"),
        key_material(settings.mrn_encryption_key.get_secret_value(), "MRN_ENCRYPTION_KEY"),
    )


def digest(k: Keys, site_id: uuid.UUID, value: str) -> bytes:
    return hmac.new(k.hmac_key, CONTEXT + site_id.bytes + value.encode(), hashlib.sha256).digest()


def seal(k: Keys, site_id: uuid.UUID, value: str) -> tuple[bytes, bytes]:
    """(lookup hash, ciphertext) of one MRN at one site."""
    mac = digest(k, site_id, value)
    nonce = os.urandom(NONCE_BYTES)
    sealed = AESGCM(k.encryption_key).encrypt(nonce, value.encode(), CONTEXT + site_id.bytes + mac)
    return mac, FORMAT_VERSION + nonce + sealed


def unseal(k: Keys, site_id: uuid.UUID, mac: bytes, blob: bytes) -> str | None:
    """The MRN, or None when the ciphertext does not belong here (or the key changed)."""
    if blob[:1] != FORMAT_VERSION:
        return None
    nonce, sealed = blob[1 : 1 + NONCE_BYTES], blob[1 + NONCE_BYTES :]
    try:
        plain = AESGCM(k.encryption_key).decrypt(nonce, sealed, CONTEXT + site_id.bytes + mac)
    except InvalidTag:
        return None
    return plain.decode()


def may_see(principal: Principal, site_id: uuid.UUID) -> bool:
    """The participant's own site roles and admin; not monitor, statistician or dsmb."""
    return principal.role == "admin" or (principal.site_bound and principal.site_id == site_id)


def _checked(value: str) -> str:
    if not MRN_PATTERN.fullmatch(value):
        raise InvalidData.one(
            "mrn", "1-64 printable ASCII characters, no leading or trailing spaces"
        )
    return value


async def columns(
    session: AsyncSession,
    site_id: uuid.UUID,
    value: str | None,
    *,
    participant_id: uuid.UUID | None = None,
) -> dict[str, bytes | None]:
    """`mrn_hmac`/`mrn_ciphertext` for a participant at `site_id` (None clears them).

    422 without MRN keys or without the site's mrn_system; 409 when a live participant of
    the site already has this MRN.
    """
    if value is None:
        return {"mrn_hmac": None, "mrn_ciphertext": None}
    value = _checked(value)
    k = keys()
    if k is None:
        raise InvalidData.one(
            "mrn", "this server stores no MRNs (MRN_HMAC_KEY and MRN_ENCRYPTION_KEY are not set)"
        )
    site = await repo.site(session, site_id)
    if site is None or not site.mrn_system:
        raise InvalidData.one(
            "mrn", "the site has no mrn_system: an admin sets it (PATCH /api/v1/sites/{code})"
        )
    mac, sealed = seal(k, site_id, value)
    holder = await repo.live_holder(session, site_id, mac)
    if holder is not None and holder.id != participant_id:
        raise StateConflict(f"This MRN already belongs to participant {holder.study_id}")
    return {"mrn_hmac": mac, "mrn_ciphertext": sealed}


async def shown(
    session: AsyncSession,
    principal: Principal,
    participants: Iterable[Participant],
) -> dict[uuid.UUID, Mrn]:
    """The MRNs the caller may see, by participant id (one site query per site)."""
    k = keys()
    visible = [
        p
        for p in participants
        if p.mrn_hmac is not None and p.mrn_ciphertext is not None and may_see(principal, p.site_id)
    ]
    if k is None or not visible:
        return {}
    sites: dict[uuid.UUID, Site | None] = {}
    out: dict[uuid.UUID, Mrn] = {}
    for p in visible:
        if p.site_id not in sites:
            sites[p.site_id] = await repo.site(session, p.site_id)
        site = sites[p.site_id]
        value = unseal(k, p.site_id, p.mrn_hmac or b"", p.mrn_ciphertext or b"")
        if site is not None and site.mrn_system and value is not None:
            out[p.id] = Mrn(site.mrn_system, value)
    return out


def shown_one(
    principal: Principal,
    site_id: uuid.UUID,
    system: str | None,
    mac: bytes | None,
    blob: bytes | None,
) -> Mrn | None:
    """One participant's MRN from its stored columns, when the caller may see it."""
    k = keys()
    if k is None or system is None or mac is None or blob is None:
        return None
    if not may_see(principal, site_id):
        return None
    value = unseal(k, site_id, mac, blob)
    return None if value is None else Mrn(system, value)


async def find(
    session: AsyncSession, principal: Principal, system: str | None, value: str
) -> list[uuid.UUID]:
    """Participants with this MRN (at the sites whose mrn_system is `system`; any system when
    None) that the caller may see MRNs of: others learn nothing from an MRN search."""
    k = keys()
    if k is None or not MRN_PATTERN.fullmatch(value):
        return []
    found: list[uuid.UUID] = []
    for site in await repo.sites_with_mrn_system(session, system):
        if principal.role != "admin" and not (
            principal.site_bound and principal.site_id == site.id
        ):
            continue
        found += await repo.with_mrn(session, site.id, digest(k, site.id, value))
    return found
