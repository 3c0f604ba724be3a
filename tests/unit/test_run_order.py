"""tests/support/run_order.py: a keyed shared platform's users run one after the other
and it is stopped after the last of them."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from tests.support import run_order


class Item:
    """What run_order reads of a pytest item: its id, fixtures, marker, parameters."""

    def __init__(self, nodeid: str, mark=None, **params):
        self.nodeid = nodeid
        self._fixtureinfo = SimpleNamespace(name2fixturedefs={})
        self.mark = mark.mark if mark else None
        if params:
            self.callspec = SimpleNamespace(params=params)

    def get_closest_marker(self, name: str):
        return self.mark if name == run_order.MARKER else None


def test_a_keys_users_move_up_to_the_first_of_them_and_the_rest_keep_their_order():
    k, other = pytest.mark.shared_platform("k"), pytest.mark.shared_platform("other")
    items = [Item("tests/system/test_a.py::t", k), Item("tests/system/test_b.py::t"),
             Item("tests/system/test_c.py::t", other), Item("tests/system/test_d.py::t", k),
             Item("tests/system/test_e.py::t", other), Item("tests/unit/test_f.py::t", k)]

    run_order.order(items)

    assert [i.nodeid.split("::")[0][-4:-3] for i in items] == ["f", "a", "d", "b", "c", "e"]


def test_a_key_by_parameters_and_the_stop_after_its_last_user(monkeypatch):
    # this session's own last users and stoppers are left alone
    monkeypatch.setattr(run_order, "_last_user", {})
    monkeypatch.setattr(run_order, "_stoppers", {})
    by = pytest.mark.shared_platform(by=("stack", "mode"), keys={("one", "x"): "k"})
    first = Item("tests/system/test_a.py::t[one-x]", by, stack="one", mode="x")
    unkeyed = Item("tests/system/test_a.py::t[one-y]", by, stack="one", mode="y")
    last = Item("tests/system/test_b.py::t", pytest.mark.shared_platform("k"))
    assert [run_order.platform_key(i) for i in (first, unkeyed, last)] == ["k", None, "k"]
    stopped = []
    run_order.note_last_users([first, unkeyed, last])
    run_order.on_stop(run_order.keyed("k"), lambda: stopped.append("k"))

    run_order.release_after(first)
    run_order.release_after(unkeyed)
    assert stopped == []
    run_order.release_after(last)
    assert stopped == ["k"]
