"""The contract suite's own platform: schemathesis creates products, users and orders with
whatever its generator draws, so it runs where no other test counts them."""

from __future__ import annotations

import pytest

from tests.system.platform import Platform, running_platform


@pytest.fixture(scope="session")
def contract_platform(tmp_path_factory) -> Platform:
    yield from running_platform(tmp_path_factory, "contract")
