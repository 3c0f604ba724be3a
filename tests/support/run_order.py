"""The order tests run in, and shared platforms stopped after their last user.

A running platform is a dozen processes that heartbeat, poll and sample even when no test
talks to it; on a 2-core machine two idle ones slow every test that runs beside them. So:

- folders run cheapest first (unit tests never share the machine with a platform), and
  within a folder the modules that use a session platform run first, whole modules kept
  together (a module's own fixtures are set up once);
- a session platform (``platform``, ``production_platform``) is stopped as soon as the
  last test that uses it has run, instead of at the end of the whole session.

pytest has no "scope until the last user" (package scope does not fit platforms shared by
two folders), hence this small plugin, called from tests/conftest.py's hooks:
``pytest_collection_modifyitems`` → ``order``, ``pytest_collection_finish`` →
``note_last_users`` (on the items left after ``-k``/``-m``), ``pytest_runtest_teardown`` →
``release_after``.
"""

from __future__ import annotations

from collections.abc import Callable

FOLDER_RANK = ("unit", "deploy", "db_contract", "integration", "contract", "security",
               "system")
# each shared platform, and the fixtures a test may reach it through (``stack`` asks for
# either by name at run time, so a test taking ``stack`` counts as a user of both)
SHARED = {"platform": ("platform", "stack"),
          "production_platform": ("production_platform", "stack")}

_last_user: dict[str, str] = {}  # shared platform -> nodeid of its last user
_stoppers: dict[str, Callable[[], None]] = {}  # shared platform -> stop it now


def _folder(item) -> int:
    parts = item.nodeid.split("/")
    name = parts[1] if len(parts) > 2 and parts[0] == "tests" else ""
    return FOLDER_RANK.index(name) if name in FOLDER_RANK else len(FOLDER_RANK)


def _uses(item, shared: str) -> bool:
    """Whether ``item`` reaches the shared platform: by a name in ``SHARED`` that resolves
    to tests/conftest.py's fixture (a module may define its own ``platform``)."""
    defs = getattr(item, "_fixtureinfo", None)
    defs = defs.name2fixturedefs if defs else {}
    return any(defs.get(name) and defs[name][-1].baseid in ("", "tests")
               for name in SHARED[shared])


def order(items: list) -> None:
    """Sort ``items`` in place (see the module docstring). Stable: tests keep their order
    within a module, modules within a group."""
    module_shares: dict[str, bool] = {}
    for item in items:
        module = item.nodeid.split("::")[0]
        module_shares[module] = module_shares.get(module, False) or any(
            _uses(item, shared) for shared in SHARED)
    items.sort(key=lambda item: (_folder(item),
                                 not module_shares[item.nodeid.split("::")[0]]))


def note_last_users(items: list) -> None:
    """Remember, for each shared platform, the last of ``items`` (the tests that will run)
    that uses it."""
    _last_user.clear()
    for item in items:
        for shared in SHARED:
            if _uses(item, shared):
                _last_user[shared] = item.nodeid


def on_stop(shared: str, stop: Callable[[], None]) -> None:
    """A shared platform's fixture registers how to stop it early."""
    _stoppers[shared] = stop


def release_after(item) -> None:
    """After ``item``: stop each shared platform whose last user it was. The fixture's own
    teardown still runs at the end of the session and finds it stopped."""
    for shared, nodeid in _last_user.items():
        if nodeid == item.nodeid and shared in _stoppers:
            _stoppers.pop(shared)()
