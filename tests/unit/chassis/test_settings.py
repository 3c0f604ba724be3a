"""Settings refuse development secrets outside development: each process asks for what it
reads, and one error names every missing setting."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from mercato.chassis.settings import MissingSettings, load_settings

STRONG = "x" * 40
WORKLOAD = ("service_key_file", "service_jwks_file", "nats_nkey_file")


def test_development_runs_on_its_defaults(tmp_path):
    s = load_settings(data_dir=tmp_path)
    assert s.env == "development" and s.gateway_port == 8000
    s.require_production("admin_password", "signing_key_file", *WORKLOAD)  # nothing asked


def test_production_names_every_missing_setting_at_once(tmp_path):
    s = load_settings(env="production", data_dir=tmp_path)
    with pytest.raises(MissingSettings) as refused:
        s.require_production("admin_password", "signing_key_file", *WORKLOAD)
    assert str(refused.value) == (
        "MERCATO_ADMIN_PASSWORD, MERCATO_SIGNING_KEY_FILE, MERCATO_SERVICE_KEY_FILE, "
        "MERCATO_SERVICE_JWKS_FILE, MERCATO_NATS_NKEY_FILE must be set outside development")


@pytest.mark.parametrize(("given", "named"), [
    ({"signing_key_file": "k.pem"}, "MERCATO_ADMIN_PASSWORD"),
    ({"signing_key_file": "k.pem", "admin_password": "mercato-admin"},  # the development one
     "MERCATO_ADMIN_PASSWORD"),
    ({"admin_password": STRONG}, "MERCATO_SIGNING_KEY_FILE"),
])
def test_identity_secrets_are_refused_one_by_one(tmp_path, given, named):
    s = load_settings(env="production", data_dir=tmp_path, **given)
    with pytest.raises(MissingSettings, match=f"^{named} must be set outside development$"):
        s.require_production("admin_password", "signing_key_file")


def test_a_workload_that_does_not_read_identity_secrets_is_not_asked_for_them(tmp_path):
    s = load_settings(env="production", data_dir=tmp_path,
                      service_key_file=tmp_path / "orders.pem",
                      service_jwks_file=tmp_path / "services.jwks.json",
                      nats_nkey_file=tmp_path / "orders.nk")
    s.require_production(*WORKLOAD)  # no admin password, no signing key: not its business


def test_production_starts_with_real_secrets(tmp_path):
    s = load_settings(env="production", data_dir=tmp_path, admin_password=STRONG,
                      signing_key_file=tmp_path / "key.pem")
    s.require_production("admin_password", "signing_key_file")
    assert s.env == "production"


def test_fault_injection_is_refused_in_production(tmp_path):
    with pytest.raises(ValidationError, match="MERCATO_FAULT_DIR"):
        load_settings(env="production", data_dir=tmp_path, fault_dir=tmp_path)
