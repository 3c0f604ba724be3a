"""Chaos tests: a platform of their own, under load, with processes SIGKILLed at random.

They take minutes, so ``make test`` leaves them out; ``make chaos`` runs them.
"""

from __future__ import annotations

import pytest

from tests.system.platform import Platform, make_platform


def pytest_configure(config):
    config.addinivalue_line(
        "markers", "chaos: starts a platform and kills its processes at random under load")


def pytest_collection_modifyitems(items):
    for item in items:
        if "tests/chaos" in str(item.fspath):
            item.add_marker(pytest.mark.chaos)


@pytest.fixture(params=["orchestration", "choreography"])
def chaos_platform(request, tmp_path) -> Platform:
    """A platform for one chaos test, once per checkout mode (MERCATO_SAGA_MODE); its data
    dir (logs under data/logs) stays in pytest's tmp dir for a post-mortem."""
    # steady shoppers, for long; the courier slowed to a crawl, so a confirmed order's
    # shipment is still the scheduled one the checkout made when the test reads it (at
    # the demo's pace it is labelled within the run, and shipped soon after)
    p = make_platform(tmp_path, MERCATO_SAGA_MODE=request.param,
                      MERCATO_MAX_UNITS_PER_CUSTOMER_PER_PRODUCT_PER_DAY="0",
                      MERCATO_COURIER_SPEEDUP="0.01")
    assert p.env["MERCATO_PROVIDER_TIMEOUT"] == "0.5"
    assert p.env["MERCATO_SAGA_BACKOFF"] == "0.05"
    p.start()
    yield p
    code = p.stop()
    assert code == 0, f"mercato up exited {code} after the chaos:\n{p.output.read_text()}"
