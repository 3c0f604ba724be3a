"""Identity's handlers, on the in-memory repositories; two instances starting at once race
on a real SQLite database."""

from __future__ import annotations

import asyncio
from dataclasses import replace

import pytest
from argon2 import PasswordHasher, Type

from mercato.chassis.errors import NotFound
from mercato.chassis.security import TokenVerifier
from mercato.services.identity.domain import (
    DuplicateEmail,
    InvalidEmail,
    NotAuthenticated,
    hash_refresh_secret,
)
from mercato.services.identity.passwords import Argon2Passwords
from tests.unit.identity.conftest import AUDIENCE, ISSUER, REFRESH_TTL, make_identity


class CountingPasswords(Argon2Passwords):
    """Real argon2id that also counts real and dummy checks."""

    def __init__(self) -> None:
        super().__init__(Argon2Passwords.cheap_for_tests()._hasher)
        self.checks = 0
        self.dummy_checks = 0

    async def verify(self, password_hash: str, password: str) -> bool:
        self.checks += 1
        return await super().verify(password_hash, password)

    async def verify_dummy(self, password: str) -> None:
        self.dummy_checks += 1
        await super().verify_dummy(password)


async def rows(identity, sql: str, *params):
    """Rows of an identity on a real database."""
    return await identity.db.fetch_all(sql, *params)


async def test_registering_gives_a_customer_with_a_lower_case_email(identity):
    user = await identity.register_user("Ada@Example.com", "correct horse", " Ada ")
    assert user.public() == {"id": user.id, "email": "ada@example.com", "name": "Ada",
                             "roles": ["customer"]}
    assert (await identity.get_user(user.id)).public() == user.public()


async def test_passwords_are_stored_only_as_argon2id_hashes(identity):
    user = await identity.register_user("ada@example.com", "correct horse", "Ada")
    password_hash = (await identity.users.get(user.id)).password_hash
    assert password_hash.startswith("$argon2id$")
    assert "correct horse" not in password_hash


async def test_an_email_already_taken_in_any_case_is_a_conflict(identity):
    ada = await identity.register_user("ada@example.com", "correct horse", "Ada")
    with pytest.raises(DuplicateEmail, match=r"^a user with this email already exists$"):
        await identity.register_user("ADA@example.COM", "another pass", "Imposter")
    assert identity.users.users == [ada]


async def test_an_invalid_email_is_refused_by_the_handler_too(identity):
    with pytest.raises(InvalidEmail):
        await identity.register_user("not-an-email", "correct horse", "Ada")


async def test_an_unknown_user_id_is_not_found(identity):
    with pytest.raises(NotFound, match=r"^the user was not found$"):
        await identity.get_user("00000000-0000-0000-0000-000000000000")


async def test_signing_in_stores_only_the_hash_of_the_refresh_token(identity):
    user = await identity.register_user("ada@example.com", "correct horse", "Ada")
    tokens = await identity.sign_in("ADA@example.com ", "correct horse")
    [token] = identity.refresh_tokens.tokens
    assert (token.user_id, token.token_hash) == (user.id,
                                                 hash_refresh_secret(tokens["refresh_token"]))
    assert tokens["refresh_token"] not in repr(token)
    assert token.revoked_at is None


async def test_a_wrong_password_and_an_unknown_email_get_the_same_answer():
    passwords = CountingPasswords()
    identity = make_identity(passwords=passwords)
    await identity.register_user("ada@example.com", "correct horse", "Ada")
    answers = []
    for email, password in [("ada@example.com", "wrong horse"), ("bob@example.com", "x" * 9)]:
        with pytest.raises(NotAuthenticated) as caught:
            await identity.sign_in(email, password)
        answers.append(str(caught.value))
    assert answers == ["the email or password is not correct"] * 2
    # The unknown email still paid for one argon2 verification, like the wrong password.
    assert (passwords.checks, passwords.dummy_checks) == (2, 1)
    assert identity.refresh_tokens.tokens == []


async def test_refreshing_rotates_the_token_and_revokes_the_old_one(identity, clock):
    clock.advance(-120)  # so both tokens are issued in the past, as the verifier wants
    user = await identity.register_user("ada@example.com", "correct horse", "Ada")
    first = await identity.sign_in("ada@example.com", "correct horse")
    clock.advance(60)
    second = await identity.refresh(first["refresh_token"])
    assert second["refresh_token"] != first["refresh_token"]
    assert second["access_token"] != first["access_token"]
    verifier = TokenVerifier(_const(identity.jwks()), ISSUER, AUDIENCE)
    assert (await verifier.verify(second["access_token"])).subject == user.id
    old, new = identity.refresh_tokens.tokens
    assert old.revoked_at is not None and old.replaced_by == new.id
    assert new.family_id == old.family_id and new.revoked_at is None
    third = await identity.refresh(second["refresh_token"])
    assert third["refresh_token"] not in (first["refresh_token"], second["refresh_token"])


async def test_reusing_a_rotated_refresh_token_revokes_the_whole_family(identity):
    await identity.register_user("ada@example.com", "correct horse", "Ada")
    stolen = await identity.sign_in("ada@example.com", "correct horse")
    elsewhere = await identity.sign_in("ada@example.com", "correct horse")
    current = await identity.refresh(stolen["refresh_token"])
    with pytest.raises(NotAuthenticated):
        await identity.refresh(stolen["refresh_token"])
    with pytest.raises(NotAuthenticated):
        await identity.refresh(current["refresh_token"])
    # Another sign-in is another family and goes on working.
    assert (await identity.refresh(elsewhere["refresh_token"]))["token_type"] == "bearer"


async def test_an_expired_refresh_token_is_refused(identity, clock):
    await identity.register_user("ada@example.com", "correct horse", "Ada")
    tokens = await identity.sign_in("ada@example.com", "correct horse")
    clock.advance(REFRESH_TTL)
    with pytest.raises(NotAuthenticated):
        await identity.refresh(tokens["refresh_token"])


async def test_a_refresh_token_just_before_expiry_still_works(identity, clock):
    await identity.register_user("ada@example.com", "correct horse", "Ada")
    tokens = await identity.sign_in("ada@example.com", "correct horse")
    clock.advance(REFRESH_TTL - 1)
    assert (await identity.refresh(tokens["refresh_token"]))["refresh_token"]


@pytest.mark.parametrize("presented", ["", "made-up", "refresh-secret-1x"])
async def test_an_unknown_refresh_token_is_refused(identity, presented):
    await identity.register_user("ada@example.com", "correct horse", "Ada")
    await identity.sign_in("ada@example.com", "correct horse")
    with pytest.raises(NotAuthenticated, match=r"^the refresh token is not valid$"):
        await identity.refresh(presented)


async def test_the_first_admin_is_created_once_across_restarts(identity):
    assert await identity.ensure_admin("Admin@Mercato.local", "admin-password") is True
    assert await identity.ensure_admin("admin@mercato.local", "other-password") is False
    [admin] = identity.users.users
    assert admin.email == "admin@mercato.local"
    assert set(await _roles(identity, "admin@mercato.local")) == {"customer", "admin"}
    tokens = await identity.sign_in("admin@mercato.local", "admin-password")
    claims = await TokenVerifier(_const(identity.jwks()), ISSUER, AUDIENCE).verify(
        tokens["access_token"])
    assert claims.is_admin


async def test_two_instances_starting_at_once_create_one_admin(service_db_for, tmp_path):
    db = await service_db_for("identity")
    from mercato.chassis.data.db import SqliteDatabase

    other_db = SqliteDatabase(db.path)
    try:
        first, second = make_identity(db), make_identity(other_db)
        results = await asyncio.gather(first.ensure_admin("admin@m.io", "admin-password"),
                                       second.ensure_admin("admin@m.io", "admin-password"))
    finally:
        await other_db.close()
    assert sorted(results) == [False, True]
    assert len(await rows(first, "SELECT id FROM users")) == 1


async def test_an_outdated_password_hash_is_upgraded_at_sign_in(identity):
    user = await identity.register_user("ada@example.com", "correct horse", "Ada")
    stronger = Argon2Passwords(PasswordHasher(time_cost=2, memory_cost=16, parallelism=1,
                                              type=Type.ID))
    await replace(identity, passwords=stronger).sign_in("ada@example.com", "correct horse")
    password_hash = (await identity.users.get(user.id)).password_hash
    assert "m=16,t=2,p=1" in password_hash
    assert await stronger.verify(password_hash, "correct horse")


async def _roles(identity, email):
    return (await identity.users.by_email(email)).roles


def _const(value):
    async def fetch():
        return value

    return fetch


async def test_the_dummy_hash_is_made_once_and_reused():
    passwords = Argon2Passwords.cheap_for_tests()
    await passwords.prepare()
    prepared = passwords._dummy_hash
    assert prepared.startswith("$argon2id$")
    await passwords.verify_dummy("anything")
    await passwords.prepare()
    assert passwords._dummy_hash == prepared
