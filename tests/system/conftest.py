from __future__ import annotations

import pytest

from tests.system.platform import Platform, make_platform


@pytest.fixture(scope="session")
def platform(tmp_path_factory) -> Platform:
    """One running platform shared by the system tests (each test uses its own users
    and products, so they do not see each other's effects)."""
    p = make_platform(tmp_path_factory.mktemp("platform"))
    p.start()
    yield p
    code = p.stop()
    assert code == 0, f"mercato up exited {code}:\n{p.output.read_text()}"


def pytest_collection_modifyitems(items):
    for item in items:
        if "tests/system" in str(item.fspath):
            item.add_marker(pytest.mark.system)
