"""OWASP API8:2023, the API's answers and the CLI's refusals: API answers (JSON and
problems, the gateway's own and proxied) carry `X-Content-Type-Options: nosniff`,
`Referrer-Policy: no-referrer` and `X-Frame-Options: DENY` as pages carry theirs
(gateway/app.py ``SECURITY``), and `mercato up` refusing production defaults says so in
one line naming the variable, without a traceback, exit 2 (cli/main.py)."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from tests.security.helpers import customer
from tests.system.platform import Platform, free_port


@pytest.mark.parametrize("path", ["/api/v1/catalog/categories", "/api/v1/nope",
                                  "/api/v1/orders", "/api/v1/identity/users/me",
                                  "/.well-known/jwks.json", "/api/v1/ops/services"])
def test_api_answers_carry_nosniff_and_the_framing_and_referrer_headers(platform: Platform,
                                                                        path):
    with platform.client(customer(platform).token) as c:
        r = c.get(path)
    assert r.headers.get("x-content-type-options") == "nosniff", (path, r.status_code)
    assert r.headers.get("x-frame-options") == "DENY", path
    assert r.headers.get("referrer-policy") == "no-referrer", path


def test_mercato_up_in_production_says_why_without_a_traceback(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("MERCATO_")}
    env.update(MERCATO_ENV="production", MERCATO_DATA_DIR=str(tmp_path / "data"),
               MERCATO_GATEWAY_PORT=str(free_port()))
    done = subprocess.run([sys.executable, "-m", "mercato", "up"], env=env, timeout=60,
                          capture_output=True, text=True)
    out = done.stdout + done.stderr
    assert done.returncode == 2, out
    assert "MERCATO_ADMIN_PASSWORD, MERCATO_SIGNING_KEY_FILE must be set outside development" in out
    assert "Traceback" not in out and "site-packages" not in out, out
