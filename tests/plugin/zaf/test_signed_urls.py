import base64
import hashlib
import hmac
import json
from datetime import UTC, datetime, timedelta

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from plugin.core.errors import AppError, Unauthorized
from plugin.zaf.signed_urls import (
    installation_audience,
    token_from_form,
    unverified_subdomain,
    verify_signed_url_token,
)

NOW = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
NOW_TS = int(NOW.timestamp())
INSTALLATION = 360001234


def public_pem(key) -> str:
    return (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )


@pytest.fixture(scope="module")
def zendesk_key():
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture(scope="module")
def other_key():
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def claims(**overrides):
    base = {
        "iss": "acme.zendesk.com",
        "aud": installation_audience("acme", INSTALLATION),
        "sub": "https://acme.zendesk.com/api/v2/users/1001.json",
        "iat": NOW_TS - 10,
        "nbf": NOW_TS - 10,
        "exp": NOW_TS + 290,
        "cnf": {"jku": "https://acme.zendesk.com/api/v2/apps/77/public_key.json"},
        "qsh": "a" * 64,
        "context": {"product": "support", "location": "ticket_sidebar"},
    }
    base.update(overrides)
    return {k: v for k, v in base.items() if v is not None}


def sign(key, **overrides) -> str:
    return jwt.encode(claims(**overrides), key, algorithm="RS256")


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def forged(header: dict, secret: bytes | None) -> str:
    signing_input = f"{b64(json.dumps(header).encode())}.{b64(json.dumps(claims()).encode())}"
    if secret is None:
        return signing_input + "."
    return signing_input + "." + b64(hmac.new(secret, signing_input.encode(), hashlib.sha256).digest())


def verify(token, key, **kwargs):
    return verify_signed_url_token(token, public_key_pem=public_pem(key), subdomain="acme", now=NOW, **kwargs)


def test_a_token_signed_by_zendesk_yields_the_user_location_and_installation(zendesk_key):
    verified = verify(sign(zendesk_key), zendesk_key)
    assert verified.subdomain == "acme"
    assert verified.installation_id == INSTALLATION
    assert verified.user_id == 1001
    assert (verified.product, verified.location) == ("support", "ticket_sidebar")
    assert verified.issued_at == NOW - timedelta(seconds=10)
    assert verified.expires_at == NOW + timedelta(seconds=290)


def test_a_pinned_installation_accepts_its_own_token(zendesk_key):
    assert (
        verify(sign(zendesk_key), zendesk_key, installation_id=INSTALLATION).installation_id == INSTALLATION
    )


def test_a_token_for_another_installation_is_refused_when_one_is_pinned(zendesk_key):
    token = sign(zendesk_key, aud=installation_audience("acme", 999))
    with pytest.raises(Unauthorized, match="another app installation"):
        verify(token, zendesk_key, installation_id=INSTALLATION)


def test_a_token_signed_with_another_key_is_refused(zendesk_key, other_key):
    with pytest.raises(Unauthorized, match="signature does not verify"):
        verify(sign(other_key), zendesk_key)


def test_a_tampered_payload_is_refused(zendesk_key):
    header, _, signature = sign(zendesk_key).split(".")
    payload = b64(json.dumps(claims(sub="https://acme.zendesk.com/api/v2/users/1.json")).encode())
    with pytest.raises(Unauthorized, match="signature does not verify"):
        verify(f"{header}.{payload}.{signature}", zendesk_key)


@pytest.mark.parametrize(
    "audience",
    [
        "https://outcomedesk.example.com/zendesk/sidebar",
        installation_audience("globex", INSTALLATION),
        "http://acme.zendesk.com/api/v2/apps/installations/360001234.json",
        ["https://elsewhere.example.com"],
    ],
    ids=["backend_url", "other_account", "plain_http", "list_without_ours"],
)
def test_a_token_for_another_audience_is_refused(zendesk_key, audience):
    with pytest.raises(Unauthorized, match="another app installation"):
        verify(sign(zendesk_key, aud=audience), zendesk_key)


def test_an_audience_list_holding_our_installation_is_accepted(zendesk_key):
    token = sign(
        zendesk_key, aud=["https://elsewhere.example.com", installation_audience("acme", INSTALLATION)]
    )
    assert verify(token, zendesk_key).installation_id == INSTALLATION


@pytest.mark.parametrize(
    "issuer", ["globex.zendesk.com", "acme.zendesk.com.evil.io", "https://acme.zendesk.com"]
)
def test_a_token_from_another_issuer_is_refused(zendesk_key, issuer):
    with pytest.raises(Unauthorized, match="another Zendesk account"):
        verify(sign(zendesk_key, iss=issuer), zendesk_key)


def test_an_expired_token_is_refused(zendesk_key):
    token = sign(zendesk_key, iat=NOW_TS - 400, nbf=NOW_TS - 400, exp=NOW_TS - 61)
    with pytest.raises(Unauthorized, match="expired"):
        verify(token, zendesk_key)


def test_a_token_expired_within_the_leeway_is_accepted(zendesk_key):
    token = sign(zendesk_key, iat=NOW_TS - 330, nbf=NOW_TS - 330, exp=NOW_TS - 30)
    assert verify(token, zendesk_key).user_id == 1001


def test_a_token_issued_in_the_future_is_refused(zendesk_key):
    token = sign(zendesk_key, iat=NOW_TS + 120, nbf=None, exp=NOW_TS + 400)
    with pytest.raises(Unauthorized, match="issued in the future"):
        verify(token, zendesk_key)


def test_a_token_not_valid_yet_is_refused(zendesk_key):
    with pytest.raises(Unauthorized, match="not valid yet"):
        verify(sign(zendesk_key, nbf=NOW_TS + 120, exp=NOW_TS + 400), zendesk_key)


def test_a_token_living_longer_than_an_hour_is_refused(zendesk_key):
    with pytest.raises(Unauthorized, match="lives longer"):
        verify(sign(zendesk_key, exp=NOW_TS + 86_400), zendesk_key)


def test_hs256_signed_with_the_public_key_as_secret_is_refused(zendesk_key):
    token = forged({"alg": "HS256", "typ": "JWT"}, public_pem(zendesk_key).encode())
    with pytest.raises(Unauthorized, match="must be signed RS256"):
        verify(token, zendesk_key)


def test_hs256_claiming_to_be_rs256_is_refused(zendesk_key):
    token = forged({"alg": "RS256", "typ": "JWT"}, public_pem(zendesk_key).encode())
    with pytest.raises(Unauthorized, match="signature does not verify"):
        verify(token, zendesk_key)


@pytest.mark.parametrize("alg", ["none", "None", "NONE"])
def test_an_unsigned_token_is_refused(zendesk_key, alg):
    with pytest.raises(Unauthorized, match="must be signed RS256"):
        verify(forged({"alg": alg, "typ": "JWT"}, None), zendesk_key)


@pytest.mark.parametrize("claim", ["iss", "aud", "sub", "iat", "exp"])
def test_a_token_missing_a_required_claim_is_refused(zendesk_key, claim):
    with pytest.raises(Unauthorized, match=f"lacks the '{claim}' claim"):
        verify(sign(zendesk_key, **{claim: None}), zendesk_key)


@pytest.mark.parametrize(
    "subject",
    ["https://globex.zendesk.com/api/v2/users/1001.json", "globex.zendesk.com:1001", "http://x/1001"],
)
def test_a_subject_on_another_zendesk_host_is_refused(zendesk_key, subject):
    token = sign(zendesk_key, sub=subject)
    with pytest.raises(Unauthorized, match="another Zendesk account"):
        verify(token, zendesk_key)


@pytest.mark.parametrize(("subject", "user_id"), [("acme.zendesk.com:42", 42), ("42", 42)])
def test_other_subject_forms_still_yield_the_user_id(zendesk_key, subject, user_id):
    assert verify(sign(zendesk_key, sub=subject), zendesk_key).user_id == user_id


def test_a_subject_without_a_user_id_is_refused(zendesk_key):
    with pytest.raises(Unauthorized, match="names no Zendesk user"):
        verify(sign(zendesk_key, sub="someone"), zendesk_key)


def test_garbage_is_refused_as_malformed(zendesk_key):
    with pytest.raises(Unauthorized, match="malformed"):
        verify("not.a.jwt", zendesk_key)


def test_an_oversized_token_is_refused_before_parsing(zendesk_key):
    with pytest.raises(Unauthorized, match="too long"):
        verify("a" * 10_000, zendesk_key)


@pytest.mark.parametrize(
    "pem",
    [
        "not a pem",
        ec.generate_private_key(ec.SECP256R1())
        .public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode(),
    ],
    ids=["not_pem", "ec_key"],
)
def test_a_misconfigured_public_key_is_a_server_error_not_the_callers(zendesk_key, pem):
    with pytest.raises(AppError) as raised:
        verify_signed_url_token(sign(zendesk_key), public_key_pem=pem, subdomain="acme", now=NOW)
    assert not isinstance(raised.value, Unauthorized)
    assert raised.value.status_code == 500


def test_the_token_is_read_from_the_posted_form():
    assert token_from_form(b"token=abc.def.ghi&other=1") == "abc.def.ghi"


@pytest.mark.parametrize("body", [b"", b"other=1", b"token=", b"token=a&token=b", b"\xff"])
def test_a_form_without_exactly_one_token_is_refused(body):
    with pytest.raises(Unauthorized):
        token_from_form(body)


def test_the_unverified_subdomain_picks_the_tenant_to_verify_against(zendesk_key):
    assert unverified_subdomain(sign(zendesk_key)) == "acme"


@pytest.mark.parametrize("issuer", ["evil.example.com", "acme.zendesk.com.evil.io", ""])
def test_a_token_not_issued_by_a_zendesk_host_names_no_tenant(zendesk_key, issuer):
    with pytest.raises(Unauthorized, match="not issued by a Zendesk account"):
        unverified_subdomain(sign(zendesk_key, iss=issuer))
