"""Platforms shared, by key, among the modules that need the same settings other than the
shared ``platform``'s (e.g. a fast courier): a session-wide registry, each key's platform
started by its first user and stopped after its last one (tests/support/run_order.py
keeps a key's users adjacent and stops it), so that one of them runs at a time.

A module says which key it uses with the ``shared_platform`` marker, read at collection
time (before any fixture runs) to order the tests::

    pytestmark = pytest.mark.shared_platform("fast-courier")            # one key
    pytestmark = pytest.mark.shared_platform(by="stack", keys=KEYS)     # per param

(``keys`` maps the value of the module fixture ``by``'s parameter to a key), and its
fixture asks the ``shared_platforms`` fixture for it with its settings; every user of a
key must ask with the same settings, or the test errors (a key is one configuration).

pytest has no fixture scope "until the last user of this key" across modules, hence this
registry rather than a session fixture per key.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass, field

import pytest

from tests.support import run_order
from tests.system.platform import Platform, make_platform
from tests.system.stacks import stack_env


@dataclass
class _Running:
    platform: Platform
    config: tuple
    exits: contextlib.ExitStack
    code: int | None = None


@dataclass
class SharedPlatforms:
    """The running shared platforms, by key (the ``shared_platforms`` session fixture)."""

    tmp_path_factory: pytest.TempPathFactory
    running: dict[str, _Running] = field(default_factory=dict)

    def get(self, key: str, stack: str = "embedded", args: tuple[str, ...] = (),
            timeout: float = 120.0, **env: str) -> Platform:
        """The platform of ``key``: `mercato up` with ``args`` on ``stack`` with ``env``,
        started on first use."""
        config = (stack, tuple(args), sorted(env.items()))
        found = self.running.get(key)
        if found is not None and found.code is None:
            assert found.config == config, (
                f"shared platform {key!r} is {found.config}, asked for as {config}")
            return found.platform
        exits = contextlib.ExitStack()
        try:
            stack_settings = exits.enter_context(stack_env(stack))
            p = make_platform(self.tmp_path_factory.mktemp(f"shared-{key}"),
                              **stack_settings, **env)
            p.start(timeout, *args)
        except BaseException:
            exits.close()
            raise
        exits.callback(p.stop)  # stopped before stack_env drops its databases
        self.running[key] = _Running(p, config, exits)
        run_order.on_stop(run_order.keyed(key), lambda: self.stop(key))
        return p

    def stop(self, key: str) -> None:
        """Stop ``key``'s platform (after its last user), keeping its exit code."""
        entry = self.running[key]
        if entry.code is None:
            try:
                entry.code = entry.platform.stop()
            finally:
                entry.exits.close()

    def close(self) -> None:
        """Stop what still runs; fail if a platform did not exit cleanly."""
        for key in self.running:
            self.stop(key)
        unclean = {k: r for k, r in self.running.items() if r.code != 0}
        assert not unclean, "\n".join(
            f"shared platform {k}: mercato up exited {r.code}:\n"
            f"{r.platform.output.read_text()}" for k, r in unclean.items())
