"""RS256 tokens from an identity provider, verified against its JWKS URL on loopback."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, HTTPServer

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from jwt.algorithms import RSAAlgorithm

from shared.auth import Role, TokenVerifier
from shared.errors import Unauthenticated

ISSUER = "https://idp.example"
AUDIENCE = "workorders"


@pytest.fixture(scope="module")
def signing_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture
def jwks_url(signing_key: rsa.RSAPrivateKey) -> Iterator[str]:
    jwk = json.loads(RSAAlgorithm.to_jwk(signing_key.public_key()))
    body = json.dumps({"keys": [{**jwk, "kid": "key-1", "use": "sig", "alg": "RS256"}]}).encode()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = HTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}/.well-known/jwks.json"
    server.shutdown()


def idp_token(key: rsa.RSAPrivateKey, kid: str = "key-1") -> str:
    now = datetime.now(UTC)
    claims = {
        "sub": "hq-zhao",
        "role": "hq_quality",
        "tenant": "acme",
        "projects": ["*"],
        "iss": ISSUER,
        "aud": AUDIENCE,
        "iat": int(now.timestamp()),
        "exp": int((now + timedelta(minutes=5)).timestamp()),
    }
    return jwt.encode(claims, key, algorithm="RS256", headers={"kid": kid})


async def test_an_rs256_token_verifies_against_the_providers_jwks(
    signing_key: rsa.RSAPrivateKey, jwks_url: str
) -> None:
    verifier = TokenVerifier(secret=None, jwks_url=jwks_url, issuer=ISSUER, audience=AUDIENCE)

    principal = await verifier.verify_async(idp_token(signing_key))

    assert principal.subject == "hq-zhao"
    assert principal.role is Role.HQ_QUALITY
    assert principal.all_projects


async def test_a_token_signed_by_another_key_is_refused(jwks_url: str) -> None:
    verifier = TokenVerifier(secret=None, jwks_url=jwks_url, issuer=ISSUER, audience=AUDIENCE)
    stranger = rsa.generate_private_key(public_exponent=65537, key_size=2048)

    with pytest.raises(Unauthenticated):
        await verifier.verify_async(idp_token(stranger))


async def test_an_hs256_token_is_refused_when_a_jwks_is_configured(jwks_url: str) -> None:
    verifier = TokenVerifier(secret=None, jwks_url=jwks_url, issuer=ISSUER, audience=AUDIENCE)
    forged = jwt.encode(
        {"sub": "x", "iss": ISSUER, "aud": AUDIENCE},
        "a-shared-secret-someone-guessed-0123456",
        algorithm="HS256",
    )

    with pytest.raises(Unauthenticated):
        await verifier.verify_async(forged)
