"""The identity domain: email rules, users, and the life of a refresh token."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from mercato.services.identity.domain import (
    IdentityError,
    InvalidEmail,
    RefreshToken,
    TokenState,
    User,
    access_claims,
    hash_refresh_secret,
    normalize_email,
)

NOW = datetime(2025, 1, 1, 12, 0, tzinfo=UTC)


def make_user(**fields) -> User:
    base = {"id": "u1", "email": "ada@example.com", "name": "Ada",
            "password_hash": "$argon2id$secret", "roles": ("customer",),
            "created_at": "2025-01-01T00:00:00Z"}
    return User(**{**base, **fields})


@pytest.mark.parametrize("raw, expected", [
    ("Ada@Example.COM", "ada@example.com"),
    ("  bob.smith+shop@mail.example.org ", "bob.smith+shop@mail.example.org"),
    ("x@a-b.io", "x@a-b.io"),
])
def test_valid_emails_are_trimmed_and_lower_cased(raw, expected):
    assert normalize_email(raw) == expected


@pytest.mark.parametrize("raw", [
    "", "plain", "@example.com", "ada@", "ada@example", "a@@example.com", "a@b@example.com",
    "ada @example.com", "ada@exa mple.com", ".ada@example.com", "ada.@example.com",
    "a..b@example.com", "ada@example..com", "ada@-example.com", "ada@example.123",
    "a" * 65 + "@example.com", "ada@" + "a" * 250 + ".com", "ada@exam_ple.com",
])
def test_malformed_emails_are_refused(raw):
    with pytest.raises(InvalidEmail):
        normalize_email(raw)


def test_a_user_shows_no_password_material():
    public = make_user().public()
    assert public == {"id": "u1", "email": "ada@example.com", "name": "Ada",
                      "roles": ["customer"]}


def test_a_user_without_the_customer_role_is_refused():
    with pytest.raises(IdentityError, match="customer"):
        make_user(roles=("admin",))


def test_a_user_with_a_blank_name_is_refused():
    with pytest.raises(IdentityError, match="name"):
        make_user(name="   ")


def test_admin_is_recognised_by_role():
    assert make_user(roles=("customer", "admin")).is_admin
    assert not make_user().is_admin


def test_refresh_tokens_are_stored_as_sha256_of_the_secret():
    token = RefreshToken.issue(id="t1", family_id="f1", user_id="u1", secret="s3cret",
                               now=NOW, ttl_seconds=60)
    assert token.token_hash == hash_refresh_secret("s3cret")
    assert len(token.token_hash) == 64 and "s3cret" not in token.token_hash
    assert token.expires_at == NOW + timedelta(seconds=60)


def test_a_refresh_token_is_active_until_it_expires():
    token = RefreshToken.issue(id="t1", family_id="f1", user_id="u1", secret="s",
                               now=NOW, ttl_seconds=60)
    assert token.state(NOW + timedelta(seconds=59)) is TokenState.ACTIVE
    assert token.state(NOW + timedelta(seconds=60)) is TokenState.EXPIRED


def test_revocation_wins_over_expiry_so_old_stolen_tokens_still_count_as_reuse():
    token = RefreshToken.issue(id="t1", family_id="f1", user_id="u1", secret="s",
                               now=NOW, ttl_seconds=60)
    revoked = RefreshToken(**{**token.__dict__, "revoked_at": NOW})
    assert revoked.state(NOW + timedelta(days=30)) is TokenState.REVOKED


def test_a_successor_stays_in_the_family_with_a_fresh_expiry():
    token = RefreshToken.issue(id="t1", family_id="f1", user_id="u1", secret="a",
                               now=NOW, ttl_seconds=60)
    later = NOW + timedelta(seconds=30)
    nxt = token.successor(id="t2", secret="b", now=later, ttl_seconds=60)
    assert (nxt.family_id, nxt.user_id) == ("f1", "u1")
    assert nxt.expires_at == later + timedelta(seconds=60)
    assert nxt.token_hash != token.token_hash


def test_an_expired_refresh_token_has_no_successor():
    token = RefreshToken.issue(id="t1", family_id="f1", user_id="u1", secret="a",
                               now=NOW, ttl_seconds=60)
    with pytest.raises(IdentityError):
        token.successor(id="t2", secret="b", now=NOW + timedelta(seconds=61), ttl_seconds=60)


def test_access_claims_carry_who_what_and_for_how_long():
    claims = access_claims(make_user(roles=("customer", "admin")), now=NOW, ttl_seconds=900,
                           issuer="iss", audience="aud", jti="j1")
    assert claims == {
        "sub": "u1", "email": "ada@example.com", "roles": ["customer", "admin"],
        "typ": "access", "iss": "iss", "aud": "aud", "iat": int(NOW.timestamp()),
        "exp": int(NOW.timestamp()) + 900, "jti": "j1",
    }
