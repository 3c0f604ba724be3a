"""The contract, fuzzed: schemathesis (its CLI, v4) against the gateway's public document,
as a customer and as an admin, and against each service's own document on its own port
with a workload token (the caller its internal routes name).

Every run has a fixed seed and a bounded number of examples per operation, and runs every
phase (examples, coverage, fuzzing, and stateful, which follows the documents' links:
product created -> read -> changed, order placed -> read). The checks: no 5xx, every
status, content type and body as documented. A run passes only with no failure and no
error; its report is in the assertion message. What the runs found is kept as explicit
cases in test_regressions.py. One worker: with two threads, Hypothesis' lambda descriptions
call ``ast.parse`` concurrently, which CPython 3.11 does not survive ("AST constructor
recursion depth mismatch", a Runtime Error in the coverage phase now and then).
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from mercato.chassis.identity import load_identity
from mercato.chassis.settings import load_settings
from tests.system.platform import ADMIN, Platform

pytestmark = pytest.mark.system
SEED = 20261205
EXAMPLES = 10  # per operation and phase: the whole suite stays within a few minutes
CHECKS = ("not_a_server_error,status_code_conformance,content_type_conformance,"
          "response_schema_conformance")
# Which workload calls each service directly: the one its internal routes name.
CALLERS = [("identity", "gateway"), ("catalog", "orders"), ("inventory", "orders"),
           ("cart", "orders"), ("orders", "gateway"), ("orders", "cli"),
           ("payments", "orders"), ("shipping", "orders"), ("notifications", "orders"),
           ("loyalty", "gateway")]


def schemathesis(location: str, token: str, report: Path, *extra: str) -> None:
    command = [str(Path(sys.executable).parent / "schemathesis"), "run", location,
               "-H", f"Authorization: Bearer {token}", "--seed", str(SEED),
               "-n", str(EXAMPLES), "-c", CHECKS, "-w", "1", "--no-color",
               "--generation-database", "none", "--report", "junit",
               "--report-dir", str(report), *extra]
    done = subprocess.run(command, capture_output=True, text=True, timeout=600,
                          cwd=report)  # its cache (.schemathesis/) stays out of the checkout
    summary = done.stdout[-12000:]
    found = done.stdout.split("=== SUMMARY", 1)[0][-8000:]  # the failures and errors
    assert done.returncode == 0, f"schemathesis found problems:\n{found}\n{done.stderr}"
    assert " passed" in summary and "generated" in summary, summary  # it ran cases


def addresses(platform: Platform, admin: str) -> dict[str, str]:
    with platform.client(admin) as c:
        items = c.get("/api/v1/ops/services").json()["items"]
    return {i["service"]: i["address"] for i in items if i["service"] != "gateway"}


def test_the_public_api_as_a_customer(contract_platform: Platform, tmp_path):
    token, _ = contract_platform.new_customer()
    schemathesis(f"{contract_platform.url}/api/v1/openapi.json", token, tmp_path,
                 "-u", contract_platform.url)


def test_the_public_api_as_an_admin(contract_platform: Platform, tmp_path):
    token = contract_platform.login(ADMIN["email"], ADMIN["password"])
    schemathesis(f"{contract_platform.url}/api/v1/openapi.json", token, tmp_path,
                 "-u", contract_platform.url)


@pytest.mark.parametrize(("service", "caller"), CALLERS,
                         ids=[f"{s}-as-{c}" for s, c in CALLERS])
def test_each_service_on_its_own_port(contract_platform: Platform, tmp_path, service,
                                      caller):
    admin = contract_platform.login(ADMIN["email"], ADMIN["password"])
    address = addresses(contract_platform, admin)[service]
    workload = load_identity(caller, load_settings(data_dir=contract_platform.data_dir))
    schemathesis(f"{address}/openapi.json", workload.token(service), tmp_path)
