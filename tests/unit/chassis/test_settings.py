"""Settings refuse development secrets outside development."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from mercato.chassis.settings import load_settings

STRONG = "x" * 40


def test_development_runs_on_its_defaults(tmp_path):
    s = load_settings(data_dir=tmp_path)
    assert s.env == "development" and s.gateway_port == 8000


@pytest.mark.parametrize(("overrides", "named"), [
    ({}, "MERCATO_ADMIN_PASSWORD"),
    ({"admin_password": STRONG}, "MERCATO_SERVICE_KEY_FILE"),
    ({"admin_password": STRONG, "service_key_file": "k.pem"}, "MERCATO_SERVICE_JWKS_FILE"),
    ({"admin_password": STRONG, "service_key_file": "k.pem", "service_jwks_file": "j.json"},
     "MERCATO_SIGNING_KEY_FILE"),
])
def test_production_refuses_each_development_default(tmp_path, overrides, named):
    with pytest.raises(ValidationError, match=named):
        load_settings(env="production", data_dir=tmp_path, **overrides)


def test_production_starts_with_real_secrets(tmp_path):
    s = load_settings(env="production", data_dir=tmp_path, admin_password=STRONG,
                      service_key_file=tmp_path / "orders.pem",
                      service_jwks_file=tmp_path / "services.jwks.json",
                      signing_key_file=tmp_path / "key.pem")
    assert s.env == "production"
