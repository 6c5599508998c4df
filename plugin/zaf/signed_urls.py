"""Verifying the JWT Zendesk sends when it loads a location of an app whose manifest sets `signedUrls: true`.

Zendesk then loads the location by POSTing an HTML form (application/x-www-form-urlencoded) to the location
url, with a single field `token`: a JWT signed RS256 with the app's private key. The public half is per app:
`GET https://<subdomain>.zendesk.com/api/v2/apps/<app_id>/public_key.pem`. The claims Zendesk documents
("Authenticating Zendesk in your server-side app"):

    iss      the account's host: "<subdomain>.zendesk.com"
    aud      the installation's API url: "https://<subdomain>.zendesk.com/api/v2/apps/installations/<id>.json"
    sub      the Zendesk user who opened the app (its API url, ending in the user id)
    iat, nbf, exp   issue time, not-before and expiry; Zendesk's tokens live about five minutes
    context  {"product": "support", "location": "ticket_sidebar"}
    cnf.jku, qsh    where the key lives and a query-string hash; not used here

`verify_signed_url_token` accepts a token only when: the header says RS256 and the signature verifies
against the given RSA public key (HS256 with the public key as a secret and `none` are refused, whatever the
header says); iss is exactly the tenant's `<subdomain>.zendesk.com`; aud is that account's installation url
(and, when given, the pinned installation id); sub names a numeric user on the same host; iat is not in the
future, nbf has passed and exp has not (each with `leeway_seconds`), against the caller's clock; the token
lives no longer than an hour. The role of the user is not in the token: the sidebar knows only that a
signed-in Zendesk agent of that account opened that location of that installation.
"""

import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qs

import jwt
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPublicKey
from cryptography.hazmat.primitives.serialization import load_pem_public_key

from plugin.core.errors import AppError, Unauthorized

ALGORITHM = "RS256"
MAX_TOKEN_CHARS = 8192
MAX_LIFETIME_SECONDS = 3600
MIN_KEY_BITS = 2048
ZENDESK_HOST = re.compile(r"^([a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)\.zendesk\.com\Z")
USER_ID = re.compile(r"(?:^|[/:])(\d+)(?:\.json)?\Z")
REQUIRED_CLAIMS = ["iss", "aud", "sub", "iat", "exp"]


@dataclass(frozen=True)
class SignedUrlClaims:
    """Who opened which location of which installation, as vouched for by Zendesk's signature."""

    subdomain: str
    installation_id: int
    user_id: int
    product: str
    location: str
    issued_at: datetime
    expires_at: datetime


def zendesk_host(subdomain: str) -> str:
    return f"{subdomain}.zendesk.com"


def installation_audience(subdomain: str, installation_id: int) -> str:
    return f"https://{zendesk_host(subdomain)}/api/v2/apps/installations/{installation_id}.json"


def load_zendesk_public_key(pem: str | bytes) -> RSAPublicKey:
    """The app's public key from its PEM text; a misconfigured key is our fault, not the caller's."""
    try:
        key = load_pem_public_key(pem.encode() if isinstance(pem, str) else pem)
    except ValueError as error:
        raise AppError("the configured Zendesk app public key is not a PEM public key") from error
    if not isinstance(key, RSAPublicKey) or key.key_size < MIN_KEY_BITS:
        raise AppError(f"the configured Zendesk app public key must be RSA of at least {MIN_KEY_BITS} bits")
    return key


def token_from_form(body: bytes) -> str:
    """The `token` field of the form Zendesk POSTs to a signed location url."""
    try:
        fields = parse_qs(body.decode("utf-8"), strict_parsing=False)
    except UnicodeDecodeError as error:
        raise Unauthorized("the signed-url form is not UTF-8") from error
    tokens = fields.get("token", [])
    if len(tokens) != 1 or not tokens[0]:
        raise Unauthorized("the signed-url form must carry exactly one token field")
    return tokens[0]


def unverified_subdomain(token: str) -> str:
    """The Zendesk subdomain a token claims to come from: only for choosing which tenant's key to verify with."""
    try:
        claims = jwt.decode(_bounded(token), options={"verify_signature": False})
    except jwt.InvalidTokenError as error:
        raise Unauthorized("the signed-url token is malformed") from error
    match = ZENDESK_HOST.match(str(claims.get("iss", "")))
    if match is None:
        raise Unauthorized("the signed-url token was not issued by a Zendesk account")
    return match.group(1)


def verify_signed_url_token(
    token: str,
    *,
    public_key_pem: str | bytes,
    subdomain: str,
    now: datetime,
    installation_id: int | None = None,
    leeway_seconds: int = 60,
) -> SignedUrlClaims:
    """Verify a ZAF signed-url JWT for the tenant whose Zendesk subdomain is `subdomain`; raise Unauthorized."""
    key = load_zendesk_public_key(public_key_pem)
    host = zendesk_host(subdomain)
    claims = _decode(_bounded(token), key, issuer=host)
    issued_at, expires_at = _check_times(claims, now.timestamp(), leeway_seconds)
    context = claims.get("context")
    context = context if isinstance(context, dict) else {}
    return SignedUrlClaims(
        subdomain=subdomain,
        installation_id=_installation_id(claims["aud"], host, installation_id),
        user_id=_user_id(claims["sub"], host),
        product=str(context.get("product", "")),
        location=str(context.get("location", "")),
        issued_at=issued_at,
        expires_at=expires_at,
    )


def _bounded(token: str) -> str:
    if not token or len(token) > MAX_TOKEN_CHARS:
        raise Unauthorized("the signed-url token is missing or too long")
    return token


def _decode(token: str, key: RSAPublicKey, *, issuer: str) -> dict[str, Any]:
    try:
        header = jwt.get_unverified_header(token)
        if header.get("alg") != ALGORITHM:
            raise Unauthorized(f"the signed-url token must be signed {ALGORITHM}")
        # Times are checked against the caller's clock below, not the wall clock inside PyJWT.
        return jwt.decode(
            token,
            key,
            algorithms=[ALGORITHM],
            issuer=issuer,
            options={
                "verify_aud": False,
                "verify_exp": False,
                "verify_iat": False,
                "verify_nbf": False,
                "require": REQUIRED_CLAIMS,
            },
        )
    except jwt.InvalidSignatureError as error:
        raise Unauthorized("the signed-url token's signature does not verify") from error
    except jwt.InvalidIssuerError as error:
        raise Unauthorized("the signed-url token was issued for another Zendesk account") from error
    except jwt.MissingRequiredClaimError as error:
        raise Unauthorized(f"the signed-url token lacks the {error.claim!r} claim") from error
    except jwt.InvalidTokenError as error:
        raise Unauthorized("the signed-url token is malformed") from error


def _timestamp(claims: dict[str, Any], name: str) -> float:
    value = claims[name]
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise Unauthorized(f"the signed-url token's {name!r} claim is not a timestamp")
    return float(value)


def _check_times(claims: dict[str, Any], now: float, leeway: int) -> tuple[datetime, datetime]:
    issued, expires = _timestamp(claims, "iat"), _timestamp(claims, "exp")
    if now > expires + leeway:
        raise Unauthorized("the signed-url token has expired")
    if issued > now + leeway:
        raise Unauthorized("the signed-url token is issued in the future")
    if "nbf" in claims and _timestamp(claims, "nbf") > now + leeway:
        raise Unauthorized("the signed-url token is not valid yet")
    if expires - issued > MAX_LIFETIME_SECONDS:
        raise Unauthorized("the signed-url token lives longer than Zendesk's tokens do")
    return datetime.fromtimestamp(issued, UTC), datetime.fromtimestamp(expires, UTC)


def _installation_id(audience: object, host: str, pinned: int | None) -> int:
    pattern = re.compile(rf"^https://{re.escape(host)}/api/v2/apps/installations/(\d+)\.json\Z")
    candidates = audience if isinstance(audience, list) else [audience]
    for candidate in candidates:
        match = pattern.match(candidate) if isinstance(candidate, str) else None
        if match and (pinned is None or int(match.group(1)) == pinned):
            return int(match.group(1))
    raise Unauthorized("the signed-url token is meant for another app installation")


def _user_id(subject: object, host: str) -> int:
    text = str(subject) if isinstance(subject, str | int) and not isinstance(subject, bool) else ""
    named_host = text.split("://", 1)[1].split("/", 1)[0] if "://" in text else text.rpartition(":")[0]
    if named_host and named_host != host:
        raise Unauthorized("the signed-url token names a user of another Zendesk account")
    match = USER_ID.search(text)
    if match is None:
        raise Unauthorized("the signed-url token names no Zendesk user")
    return int(match.group(1))
