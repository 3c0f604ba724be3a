"""A signing key: its JWK, loaded from a PEM file, and an older installation's
development key file (imported once, then deleted)."""

from __future__ import annotations

import stat

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from mercato.services.identity.keys import (
    DEV_KEY_NAME,
    SigningKey,
    SigningKeyError,
    _create_atomically,
    forget_dev_key,
    load_or_create_signing_key,
    load_pem,
    load_signing_key,
    thumbprint,
)


def test_thumbprint_matches_the_rfc_8037_example():
    jwk = {"kty": "OKP", "crv": "Ed25519", "x": "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"}
    assert thumbprint(jwk) == "kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k"


def test_the_public_jwk_is_an_okp_key_for_eddsa_signatures_without_private_parts():
    key = SigningKey.generate()
    jwk = key.public_jwk()
    assert jwk["kty"] == "OKP" and jwk["crv"] == "Ed25519"
    assert jwk["alg"] == "EdDSA" and jwk["use"] == "sig"
    assert jwk["kid"] == key.kid == thumbprint(jwk)
    assert "d" not in jwk
    assert key.jwks() == {"keys": [jwk]}


def test_in_development_a_key_is_made_once_with_owner_only_permissions(tmp_path):
    first = load_or_create_signing_key(None, tmp_path)
    path = tmp_path / DEV_KEY_NAME
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    again = load_or_create_signing_key(None, tmp_path)
    assert again.kid == first.kid
    assert [p.name for p in tmp_path.iterdir()] == [DEV_KEY_NAME]


def test_a_configured_key_file_is_used_instead_of_the_development_key(tmp_path):
    configured = tmp_path / "prod.pem"
    key = SigningKey.generate()
    configured.write_bytes(key.pem())
    loaded = load_or_create_signing_key(configured, tmp_path / "identity")
    assert loaded.kid == key.kid
    assert not (tmp_path / "identity" / DEV_KEY_NAME).exists()


def test_when_two_instances_race_to_create_the_key_the_first_one_written_wins(tmp_path):
    path = tmp_path / DEV_KEY_NAME
    winner, loser = SigningKey.generate(), SigningKey.generate()
    _create_atomically(path, winner.pem())
    _create_atomically(path, loser.pem())
    assert load_signing_key(path).kid == winner.kid
    assert [p.name for p in tmp_path.iterdir()] == [DEV_KEY_NAME]


def test_the_development_key_file_is_deleted_only_when_it_holds_the_retired_key(tmp_path):
    key = SigningKey.generate()
    path = tmp_path / DEV_KEY_NAME
    path.write_bytes(key.pem())
    assert not forget_dev_key(tmp_path, SigningKey.generate().kid)
    assert path.exists()
    assert forget_dev_key(tmp_path, key.kid)
    assert not path.exists()
    assert not forget_dev_key(tmp_path, key.kid)  # gone already: nothing to do


def test_a_key_survives_its_pem_form():
    key = SigningKey.generate()
    assert load_pem(key.pem()).kid == key.kid


def test_a_missing_configured_key_file_is_an_error(tmp_path):
    with pytest.raises(SigningKeyError, match="cannot read"):
        load_signing_key(tmp_path / "absent.pem")


def test_a_key_file_that_is_not_pem_is_refused(tmp_path):
    path = tmp_path / "bad.pem"
    path.write_text("not a key")
    with pytest.raises(SigningKeyError, match="PKCS8"):
        load_signing_key(path)


def test_a_key_file_holding_an_rsa_key_is_refused(tmp_path):
    rsa_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    path = tmp_path / "rsa.pem"
    path.write_bytes(rsa_key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption()))
    with pytest.raises(SigningKeyError, match="not an Ed25519 key"):
        load_signing_key(path)
