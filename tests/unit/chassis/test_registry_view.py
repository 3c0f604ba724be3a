"""The registry view's expiry while its feed is alive, silent, and back (no broker: the
view is fed entries directly, and 'silent' is the time since the last one)."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from types import SimpleNamespace

from nats.js.kv import KV_DEL, KV_PURGE

from mercato.chassis.calls.registry import Instance, RegistryView

TTL = 10.0


def entry(instance: Instance | None, key: str, op: str | None = None):
    value = instance.to_json() if instance else b""
    return SimpleNamespace(key=key, value=value, operation=op)


def view_with(*instances: Instance) -> RegistryView:
    view = RegistryView(SimpleNamespace(is_connected=True), ttl=TTL, silence=6.0)
    for i in instances:
        view._apply(entry(i, i.key))
    return view


def catalog(n: int, heartbeat_age: float) -> Instance:
    return Instance("catalog", f"catalog-{n}", f"http://c{n}", "1", health="ready",
                    heartbeat_at=time.time() - heartbeat_age)


def fall_silent(view: RegistryView, seconds: float = 7.0) -> None:
    view._last_update -= seconds  # no update for longer than ``silence``


def time_passes(view: RegistryView, seconds: float) -> None:
    """Everything the view remembers gets ``seconds`` older (nobody heartbeats)."""
    for i in view._instances.values():
        i.heartbeat_at -= seconds
    view._silent_from -= seconds
    view._last_update_wall -= seconds


def ids(instances) -> list[str]:
    return sorted(i.instance_id for i in instances)


def test_an_instance_past_its_ttl_is_expired_while_the_feed_is_alive():
    view = view_with(catalog(1, 1.0), catalog(2, 60.0))
    assert ids(view.ready("catalog")) == ["catalog-1"]


def test_a_silent_feed_keeps_the_live_instances_but_never_revives_a_dead_one():
    view = view_with(catalog(1, 1.0), catalog(2, 60.0))  # catalog-2 died long ago
    fall_silent(view)
    time.sleep(0.01)
    assert ids(view.ready("catalog")) == ["catalog-1"]
    time_passes(view, 3600)  # however long the outage lasts, the live view is kept
    assert ids(view.ready("catalog")) == ["catalog-1"]


def test_after_the_feed_returns_only_the_instances_live_before_it_get_a_grace():
    view = view_with(catalog(1, 1.0), catalog(2, 60.0))
    fall_silent(view)
    view.ready("catalog")  # the view notices the silence
    time_passes(view, 30)  # a 30 s outage: no heartbeat from anyone
    view._last_update = time.monotonic()  # the feed is back
    assert ids(view.ready("catalog")) == ["catalog-1"]  # its grace, not catalog-2's
    view._grace_until = 0  # the grace is over and catalog-1 never heartbeat again
    assert view.ready("catalog") == []


def test_a_delete_or_an_age_out_marker_drops_the_entry():
    one, two = catalog(1, 1.0), catalog(2, 1.0)
    view = view_with(one, two)
    view._apply(entry(None, one.key, KV_DEL))
    view._apply(entry(None, two.key, KV_PURGE))
    assert view.ready("catalog") == []


def stored_entry(instance: Instance, stored_at: float):
    """An entry as the broker delivers it: with the time the broker stored it."""
    return SimpleNamespace(key=instance.key, value=instance.to_json(), operation=None,
                           created=datetime.fromtimestamp(stored_at, UTC))


def test_a_writer_minutes_off_is_dated_by_the_broker_not_by_its_clock():
    """F11: payments' clock 300 s behind (its heartbeats look 5 minutes old) and
    inventory's 300 s ahead; both heartbeat now, so both are fresh; one whose last
    heartbeat the broker stored a TTL and more ago is not, whatever its clock says."""
    now = time.time()
    behind = Instance("payments", "payments-1", "http://p", "1", health="ready",
                      heartbeat_at=now - 300)
    ahead = Instance("inventory", "inventory-1", "http://i", "1", health="ready",
                     heartbeat_at=now + 300)
    dead = Instance("shipping", "shipping-1", "http://s", "1", health="ready",
                    heartbeat_at=now)
    view = RegistryView(SimpleNamespace(is_connected=True), ttl=TTL, silence=6.0)
    for instance, stored in ((behind, now - 0.01), (ahead, now - 0.02), (dead, now - 30)):
        view._apply(stored_entry(instance, stored))
    assert ids(view.ready("payments")) == ["payments-1"]
    assert ids(view.ready("inventory")) == ["inventory-1"]
    assert view.ready("shipping") == []
