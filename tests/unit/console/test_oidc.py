"""The authorization code flow's pure parts: PKCE, the request to the provider, ID token claims."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, urlsplit

from services.console.domain.oidc import (
    authorization_url,
    code_challenge,
    display_name,
    end_session_url,
    id_token_problem,
    new_pending,
    secure_url,
)
from services.console.domain.session import SignedIn
from shared.auth import Role

NOW = datetime(2026, 3, 2, 2, 0, tzinfo=UTC)


def test_the_s256_challenge_is_rfc_7636s_example() -> None:
    # RFC 7636, appendix B.
    verifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"

    assert code_challenge(verifier) == "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"


def test_each_sign_in_has_its_own_unguessable_state_nonce_and_verifier() -> None:
    first, second = new_pending("s1", "/", NOW), new_pending("s1", "/", NOW)

    values = {first.state, first.nonce, first.code_verifier, second.state, second.nonce}
    assert len(values) == 5
    assert 43 <= len(first.code_verifier) <= 128


def test_the_authorization_request_carries_the_challenge_never_the_verifier() -> None:
    pending = new_pending("s1", "/dispatch", NOW)

    url = authorization_url(
        "https://idp.example/authorize?tenant=acme",
        client_id="console",
        redirect_url="https://console.example/sign-in/callback",
        scopes="openid profile",
        pending=pending,
    )

    parts = urlsplit(url)
    asked = {name: values[0] for name, values in parse_qs(parts.query).items()}
    assert parts.path == "/authorize" and asked["tenant"] == "acme"
    assert asked["response_type"] == "code" and asked["scope"] == "openid profile"
    assert asked["state"] == pending.state and asked["nonce"] == pending.nonce
    assert asked["code_challenge"] == code_challenge(pending.code_verifier)
    assert asked["code_challenge_method"] == "S256"
    assert pending.code_verifier not in url


def test_an_id_token_for_another_request_or_shared_with_another_party_is_refused() -> None:
    assert id_token_problem({"nonce": "n1", "aud": "console"}, "n1", "console") is None
    assert "nonce" in (id_token_problem({"nonce": "n2", "aud": "console"}, "n1", "console") or "")
    assert "nonce" in (id_token_problem({"aud": "console"}, "n1", "console") or "")
    shared = {"nonce": "n1", "aud": ["console", "other"], "azp": "other"}
    assert "audiences" in (id_token_problem(shared, "n1", "console") or "")
    assert id_token_problem({**shared, "azp": "console"}, "n1", "console") is None


def test_the_name_shown_is_the_id_tokens_name_else_its_username() -> None:
    assert display_name({"name": " 李调度 ", "preferred_username": "li"}) == "李调度"
    assert display_name({"preferred_username": "li"}) == "li"
    assert display_name({"name": ""}) == ""


def test_only_https_or_loopback_http_may_carry_a_sign_in() -> None:
    assert secure_url("https://idp.example/realms/staff")
    assert secure_url("http://127.0.0.1:9000") and secure_url("http://localhost/x")
    assert not secure_url("http://idp.example")
    assert not secure_url("https://")
    assert not secure_url("javascript:alert(1)")


def test_a_token_past_its_expiry_ends_the_sign_in() -> None:
    user = SignedIn("li", "", Role.DISPATCHER, "acme", frozenset(), "t", NOW)

    assert not user.token_expired(NOW - timedelta(seconds=1))
    assert user.token_expired(NOW)
    assert not SignedIn("li", "", Role.DISPATCHER, "acme", frozenset(), "t").token_expired(NOW)


def test_signing_out_at_the_provider_comes_back_to_the_sign_in_page() -> None:
    url = end_session_url(
        "https://idp.example/logout",
        client_id="console",
        redirect_url="https://console.example/sign-in/callback",
        id_token="id.token.value",
    )

    asked = {name: values[0] for name, values in parse_qs(urlsplit(url).query).items()}
    assert asked == {
        "client_id": "console",
        "post_logout_redirect_uri": "https://console.example/sign-in",
        "id_token_hint": "id.token.value",
    }
