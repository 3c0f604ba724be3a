"""The order tests run in, and shared platforms stopped after their last user.

A running platform is a dozen processes that heartbeat, poll and sample even when no test
talks to it; on a 2-core machine two idle ones slow every test that runs beside them. So:

- folders run cheapest first (unit tests never share the machine with a platform), and
  within a folder the modules that use a session platform run first, whole modules kept
  together (a module's own fixtures are set up once);
- a session platform (``platform``, ``production_platform``) is stopped as soon as the
  last test that uses it has run, instead of at the end of the whole session;
- the users of a keyed shared platform (tests/system/shared.py: modules marked
  ``shared_platform``) run one after the other, where the first of them would have run,
  and it is stopped after the last of them: one such platform runs at a time.

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

MARKER = "shared_platform"  # tests/system/shared.py

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


def platform_key(item) -> str | None:
    """The key of the shared platform ``item`` runs on (its module's ``shared_platform``
    marker: a key, or ``by`` the name of a parameter — or a tuple of names — and ``keys``
    by its value, a tuple of values for a tuple), or None."""
    marker = item.get_closest_marker(MARKER)
    if marker is None:
        return None
    if marker.args:
        return marker.args[0]
    by = marker.kwargs["by"]
    params = item.callspec.params if hasattr(item, "callspec") else {}
    value = tuple(params.get(b) for b in by) if isinstance(by, tuple) else params.get(by)
    return marker.kwargs["keys"].get(value)


def keyed(key: str) -> str:
    """The name a keyed shared platform is stopped by."""
    return f"{MARKER}:{key}"


def _users_of(item) -> list[str]:
    """The shared platforms ``item`` uses, by name."""
    names = [shared for shared in SHARED if _uses(item, shared)]
    key = platform_key(item)
    return [*names, keyed(key)] if key else names


def order(items: list) -> None:
    """Sort ``items`` in place (see the module docstring). Stable: tests keep their order
    within a module, modules within a group; a keyed platform's users move up to the
    first of them."""
    module_shares: dict[str, bool] = {}
    anchor: dict[int, int] = {}  # id(item) -> the place its group starts at
    first_of_key: dict[str, int] = {}
    for place, item in enumerate(items):
        module = item.nodeid.split("::")[0]
        module_shares[module] = module_shares.get(module, False) or any(
            _uses(item, shared) for shared in SHARED)
        key = platform_key(item)
        anchor[id(item)] = first_of_key.setdefault(key, place) if key else place
    items.sort(key=lambda item: (_folder(item),
                                 not module_shares[item.nodeid.split("::")[0]],
                                 anchor[id(item)]))


def note_last_users(items: list) -> None:
    """Remember, for each shared platform, the last of ``items`` (the tests that will run)
    that uses it."""
    _last_user.clear()
    for item in items:
        for shared in _users_of(item):
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
