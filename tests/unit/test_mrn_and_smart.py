"""MRN sealing (keyed hash + AES-256-GCM), its keys in the settings, and the pure SMART parts
(scopes, registrable keys), without a database."""

from __future__ import annotations

import base64
import secrets
import time
import uuid

import pytest
from joserfc import jwt
from joserfc.jwk import ECKey, KeySet, RSAKey
from pydantic import ValidationError

from app.interop import smart
from app.services import mrn
from app.settings import Settings

SITE, OTHER = uuid.uuid4(), uuid.uuid4()


def key() -> str:
    return base64.urlsafe_b64encode(secrets.token_bytes(32)).decode()


KEYS = mrn.Keys(secrets.token_bytes(32), secrets.token_bytes(32))


def test_sealed_mrns_open_only_where_they_were_sealed() -> None:
    mac, blob = mrn.seal(KEYS, SITE, "0012345")
    assert mrn.unseal(KEYS, SITE, mac, blob) == "0012345"
    assert b"0012345" not in blob
    assert mrn.unseal(KEYS, OTHER, mac, blob) is None  # moved to another site's row
    other_mac, _ = mrn.seal(KEYS, SITE, "0012346")
    assert mrn.unseal(KEYS, SITE, other_mac, blob) is None  # moved to another participant
    rotated = mrn.Keys(KEYS.hmac_key, secrets.token_bytes(32))
    assert mrn.unseal(rotated, SITE, mac, blob) is None
    assert mrn.seal(KEYS, SITE, "0012345")[1] != blob  # a fresh nonce each time


def test_the_lookup_hash_is_keyed_and_per_site() -> None:
    assert mrn.digest(KEYS, SITE, "A1") == mrn.digest(KEYS, SITE, "A1")
    assert mrn.digest(KEYS, SITE, "A1") != mrn.digest(KEYS, OTHER, "A1")
    other_key = mrn.Keys(secrets.token_bytes(32), KEYS.encryption_key)
    assert mrn.digest(KEYS, SITE, "A1") != mrn.digest(other_key, SITE, "A1")


@pytest.mark.parametrize(
    "value",
    [
        "changeme-changeme-changeme-changeme-changeme",
        base64.b64encode(b"a" * 32).decode(),  # not random
        base64.b64encode(secrets.token_bytes(16)).decode(),  # too short
        "not base64 at all!",
    ],
    ids=["text", "not-random", "too-short", "not-base64"],  # stable ids for pytest-xdist
)
def test_weak_mrn_keys_are_refused(value: str) -> None:
    with pytest.raises(ValidationError) as caught:
        Settings(mrn_hmac_key=value, mrn_encryption_key=key())
    assert value not in str(caught.value)  # a refused secret is not echoed


def test_mrn_keys_come_in_pairs_and_differ() -> None:
    with pytest.raises(ValidationError, match="both"):
        Settings(mrn_hmac_key=key(), mrn_encryption_key="")
    same = key()
    with pytest.raises(ValidationError, match="differ"):
        Settings(mrn_hmac_key=same, mrn_encryption_key=same)
    assert Settings(mrn_hmac_key=key(), mrn_encryption_key=key()).mrn_hmac_key is not None


# --- SMART --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("scopes", "kind", "interaction", "allowed"),
    [
        ({"system/*.rs"}, "Patient", "read", True),
        ({"system/*.rs"}, "Observation", "search", True),
        ({"system/*.rs"}, "Observation", "create", False),
        ({"system/Observation.c"}, "Observation", "create", True),
        ({"system/Observation.c"}, "Patient", "read", False),
        ({"system/Patient.rs"}, "Observation", "read", False),
        (set(), "Patient", "read", False),
    ],
)
def test_scopes_permit(scopes: set[str], kind: str, interaction: str, allowed: bool) -> None:
    assert smart.permits(scopes, kind, interaction) is allowed


def test_requested_scopes_are_narrowed_to_the_registered_ones() -> None:
    registered = ["system/*.rs", "system/Observation.c"]
    assert smart.grant("system/Observation.crs", registered) == ["system/Observation.crs"]
    assert smart.grant("system/Patient.cruds", registered) == ["system/Patient.rs"]
    assert smart.grant("system/*.rs system/*.rs", ["system/*.rs"]) == ["system/*.rs"]
    for bad in ("patient/*.rs", "system/*.read", "system/*.", ""):
        with pytest.raises(smart.OAuthError):
            smart.grant(bad, registered)


def test_only_public_signing_keys_are_registrable() -> None:
    rsa = RSAKey.generate_key(2048, parameters={"kid": "a"})
    ec = ECKey.generate_key("P-384", parameters={"kid": "b"})
    jwks = KeySet([rsa, ec]).as_dict(private=False)
    assert smart.public_jwks(jwks) == jwks
    with pytest.raises(ValueError, match="private"):
        smart.public_jwks({"keys": [ec.as_dict(private=True)]})
    with pytest.raises(ValueError, match="unique kid"):
        smart.public_jwks({"keys": [jwks["keys"][0], jwks["keys"][0]]})


def test_an_assertion_is_verified_with_joserfc() -> None:
    ec = ECKey.generate_key("P-384", parameters={"kid": "k"})
    jwks = KeySet([ec]).as_dict(private=False)
    now = int(time.time())
    claims = {"iss": "c", "sub": "c", "aud": "https://t/token", "exp": now + 60, "jti": "j"}
    signed = jwt.encode({"alg": "ES384", "kid": "k"}, claims, ec, algorithms=["ES384"])
    checked = smart.verify_assertion(signed, "c", jwks, "https://t/token", now)
    assert (checked.client_id, checked.jti, checked.exp) == ("c", "j", now + 60)
    assert smart.unverified_issuer(signed) == "c"
    for client_id, url, at in (
        ("d", "https://t/token", now),
        ("c", "https://x/token", now),
        ("c", "https://t/token", now + 120),
    ):
        with pytest.raises(smart.OAuthError):
            smart.verify_assertion(signed, client_id, jwks, url, at)
