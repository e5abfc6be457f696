"""SMART Backend Services (SMART App Launch 2.x, client-confidential-asymmetric), pure parts.

- Scopes (SMART v2): `system/<ResourceType or *>.<cruds in that order>`, e.g. `system/*.rs`
  (read and search everything) or `system/Observation.c` (create Observations: lab ingest).
- The client assertion: a JWT (`private_key_jwt`, RFC 7523) signed RS384 or ES384 with a key
  of the client's registered JWKS. Checked with joserfc (never by hand): header `alg` in the
  two allowed, `kid` naming exactly one registered key of the matching type; claims `iss` =
  `sub` = client id, `aud` = the token URL, `exp` in the future and at most 5 minutes ahead,
  a `jti`. Whether the `jti` was seen before is the caller's (database) business.
joserfc refuses RS384/ES384 unless they are named (they are "not recommended" in its
registry); Authlib's server-side JWTBearerClientAssertion does not name them, so it cannot
verify these assertions (docs/fhir.md).
"""

from __future__ import annotations

import json
import re
import warnings
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import ECKey, KeySet, RSAKey
from joserfc.jws import extract_compact

ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
ALGORITHMS = ("RS384", "ES384")
KEY_TYPE = {"RS384": "RSA", "ES384": "EC"}
MAX_ASSERTION_LIFETIME = 300  # exp no more than five minutes ahead (SMART)
LEEWAY = 30  # seconds of clock skew allowed on exp, nbf, iat
MAX_JTI_LENGTH = 255
MIN_RSA_BITS = 2048
SCOPE = re.compile(r"(system)/(\*|[A-Z][A-Za-z]+)\.(c?r?u?d?s?)")
INTERACTIONS = {"create": "c", "read": "r", "update": "u", "delete": "d", "search": "s"}


class OAuthError(Exception):
    """RFC 6749 §5.2: `error` and `error_description` (HTTP 400)."""

    def __init__(self, error: str, description: str) -> None:
        super().__init__(description)
        self.error = error
        self.description = description


# --- scopes -----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Scope:
    resource_type: str  # a type or "*"
    permissions: frozenset[str]  # of "cruds"

    def __str__(self) -> str:
        return f"system/{self.resource_type}." + "".join(
            p for p in "cruds" if p in self.permissions
        )


def parse_scope(text: str) -> Scope:
    match = SCOPE.fullmatch(text)
    if match is None or not match[3]:
        raise OAuthError("invalid_scope", f"unsupported scope {text!r} (system/<type>.<cruds>)")
    return Scope(match[2], frozenset(match[3]))


def permits(scopes: Iterable[str], resource_type: str, interaction: str) -> bool:
    """Whether granted `scopes` allow `interaction` (create/read/search/...) on the type."""
    wanted = INTERACTIONS[interaction]
    for text in scopes:
        try:
            scope = parse_scope(text)
        except OAuthError:
            continue
        if scope.resource_type in ("*", resource_type) and wanted in scope.permissions:
            return True
    return False


def grant(requested: str, allowed: Iterable[str]) -> list[str]:
    """The requested scopes narrowed to what the client is registered for (none: an error)."""
    registered = [parse_scope(s) for s in allowed]
    granted: list[str] = []
    for text in requested.split():
        scope = parse_scope(text)
        ok: set[str] = set()
        for r in registered:
            if r.resource_type == "*" or r.resource_type == scope.resource_type:
                ok |= scope.permissions & r.permissions
        if ok:
            narrowed = str(Scope(scope.resource_type, frozenset(ok)))
            if narrowed not in granted:
                granted.append(narrowed)
    if not granted:
        raise OAuthError("invalid_scope", "none of the requested scopes is granted to this client")
    return granted


# --- registered keys --------------------------------------------------------------------------


def public_jwks(jwks: Mapping[str, Any]) -> dict[str, Any]:
    """A registrable JWKS: public RSA (>= 2048 bits) or EC P-384 signing keys, each with a
    unique `kid`, `alg` (when given) RS384/ES384. Raises ValueError naming what is wrong."""
    keys = jwks.get("keys") if isinstance(jwks, Mapping) else None
    if not isinstance(keys, list) or not keys:
        raise ValueError('jwks must be {"keys": [...]} with at least one key')
    kids: set[str] = set()
    out = []
    for i, key in enumerate(keys):
        where = f"jwks.keys[{i}]"
        if not isinstance(key, Mapping):
            raise ValueError(f"{where}: not a JWK")
        if any(private in key for private in ("d", "p", "q", "dp", "dq", "qi", "k")):
            raise ValueError(f"{where}: a private key; register the public key only")
        kid = key.get("kid")
        if not isinstance(kid, str) or not kid or kid in kids:
            raise ValueError(f"{where}: a unique kid is required")
        kids.add(kid)
        if key.get("alg") not in (None, *ALGORITHMS):
            raise ValueError(f"{where}: alg must be RS384 or ES384")
        if key.get("use") not in (None, "sig"):
            raise ValueError(f"{where}: use must be sig")
        _check_key(key, where)
        out.append(dict(key))
    return {"keys": out}


def _check_key(key: Mapping[str, Any], where: str) -> None:
    try:
        if key.get("kty") == "RSA":
            with warnings.catch_warnings():  # a short key is refused below, not warned about
                warnings.simplefilter("ignore")
                rsa = RSAKey.import_key(dict(key))
            if rsa.raw_value.key_size < MIN_RSA_BITS:
                raise ValueError(f"{where}: RSA keys need at least {MIN_RSA_BITS} bits")
        elif key.get("kty") == "EC":
            if key.get("crv") != "P-384":
                raise ValueError(f"{where}: EC keys must be on P-384 (ES384)")
            ECKey.import_key(dict(key))
        else:
            raise ValueError(f"{where}: kty must be RSA or EC")
    except JoseError as exc:
        raise ValueError(f"{where}: not a valid key ({exc.description})") from None


# --- the assertion ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Assertion:
    client_id: str
    jti: str
    exp: int


def unverified_issuer(assertion: str) -> str:
    """Who claims to have signed it (to find their keys); nothing is trusted yet."""
    try:
        claims = json.loads(extract_compact(assertion.encode()).payload)
    except (JoseError, ValueError, UnicodeError) as exc:
        raise OAuthError("invalid_client", "client_assertion is not a compact JWS") from exc
    iss = claims.get("iss") if isinstance(claims, dict) else None
    if not isinstance(iss, str) or not iss:
        raise OAuthError("invalid_client", "client_assertion has no iss")
    return iss


def verify_assertion(
    assertion: str, client_id: str, jwks: Mapping[str, Any], token_url: str, now: int
) -> Assertion:
    """The checked claims of a client assertion, or OAuthError(invalid_client, why)."""
    try:
        header = extract_compact(assertion.encode()).headers()
    except (JoseError, ValueError, UnicodeError) as exc:
        raise OAuthError("invalid_client", "client_assertion is not a compact JWS") from exc
    alg, kid = header.get("alg"), header.get("kid")
    if alg not in ALGORITHMS:
        raise OAuthError("invalid_client", f"alg must be one of {', '.join(ALGORITHMS)}")
    if header.get("typ") not in (None, "JWT") or "jku" in header or "jwk" in header:
        raise OAuthError("invalid_client", "typ must be JWT; jku/jwk headers are not accepted")
    keys = [
        k for k in jwks.get("keys", []) if k.get("kid") == kid and k.get("kty") == KEY_TYPE[alg]
    ]
    if not kid or len(keys) != 1:
        raise OAuthError("invalid_client", "kid does not name one registered key for this alg")
    try:
        token = jwt.decode(assertion, KeySet.import_key_set({"keys": keys}), algorithms=[alg])
        jwt.JWTClaimsRegistry(
            now=now,
            leeway=LEEWAY,
            iss={"essential": True, "value": client_id},
            sub={"essential": True, "value": client_id},
            aud={"essential": True, "value": token_url},
            exp={"essential": True},
            jti={"essential": True},
        ).validate(token.claims)
    except JoseError as exc:
        raise OAuthError("invalid_client", f"client_assertion refused: {exc.description}") from None
    claims = token.claims
    exp, jti = claims["exp"], claims["jti"]
    if not isinstance(exp, int) or exp > now + MAX_ASSERTION_LIFETIME + LEEWAY:
        raise OAuthError("invalid_client", "exp must be at most 5 minutes ahead")
    if not isinstance(jti, str) or not 0 < len(jti) <= MAX_JTI_LENGTH:
        raise OAuthError("invalid_client", f"jti must be a string of 1-{MAX_JTI_LENGTH} characters")
    return Assertion(client_id, jti, exp)
