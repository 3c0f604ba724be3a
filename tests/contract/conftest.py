"""The contract suite's own platform: schemathesis creates products, users and orders with
whatever its generator draws, so it runs where no other test counts them. Package-scoped:
it stops once the contract tests are done, not at the end of the whole run."""

from __future__ import annotations

import pytest

from tests.system.platform import Platform, running_platform


@pytest.fixture(scope="package")
def contract_platform(tmp_path_factory) -> Platform:
    yield from running_platform(tmp_path_factory, "contract")
