"""``mercato events catalog``, its first half: which events exist (the published
language, ``mercato.contracts.all_events()``) and who consumes each (the ``Subscription``
lists in ``mercato/services/<name>/subscriptions.py``, or ``entrypoints/subscriptions.py``
where a service keeps its entrypoints together, as orders does), as ``EventDoc`` entries.
``event_render`` turns these into docs/events.md and docs/asyncapi.yaml.

A service's ``subscriptions.py`` exposes one function that takes the FastAPI app and
returns its ``list[Subscription]``. The catalog needs only each subscription's ``name`` and
``events``, without a running service, so it calls that function with a stand-in app
(``_StandIn``: every attribute and call answers another stand-in). Building the list must
therefore do no I/O; the handlers it names are never called here.
"""

from __future__ import annotations

import inspect
from dataclasses import dataclass, field
from typing import Any

from mercato.chassis.messaging import Subscription
from mercato.contracts import Event, all_events, stream_for
from mercato.platform.catalog import SERVICES
from mercato.platform.nats_permissions import subscriptions_module


class _StandIn:
    """Whatever a subscriptions factory reaches for on the app (``app.state.db``...)."""

    def __getattr__(self, name: str) -> _StandIn:
        if name.startswith("__"):
            raise AttributeError(name)
        return _StandIn()

    def __call__(self, *args: Any, **kwargs: Any) -> _StandIn:
        return _StandIn()

    def __getitem__(self, key: Any) -> _StandIn:
        return _StandIn()


@dataclass(frozen=True)
class Consumer:
    service: str
    subscription: str
    saga_mode: str | None = None  # consumed only when the checkout runs in this mode

    @property
    def note(self) -> str:
        return f", {self.saga_mode} only" if self.saga_mode else ""

    @property
    def durable(self) -> str:
        """The JetStream durable consumer's name (``Consumers.durable``)."""
        return f"{self.service}__{self.subscription}"


@dataclass
class EventDoc:
    event: type[Event]
    consumers: list[Consumer] = field(default_factory=list)

    @property
    def name(self) -> str:
        return self.event.type_name()

    @property
    def publisher(self) -> str:
        return self.event.SOURCE

    @property
    def subject(self) -> str:
        return self.event.subject()

    @property
    def stream(self) -> str:
        return stream_for(self.event.SOURCE)

    @property
    def description(self) -> str:
        return describe(self.event)


def describe(cls: type) -> str:
    """The class's own docstring on one line (not an inherited one)."""
    doc = cls.__dict__.get("__doc__") or ""
    return " ".join(doc.split())


def subscriptions_factory(module) -> Any:
    """The function in a subscriptions module that builds its list: ``subscriptions`` if
    there is one, else the only public function defined in the module itself."""
    named = getattr(module, "subscriptions", None)
    if inspect.isfunction(named):
        return named
    own = [f for n, f in vars(module).items() if inspect.isfunction(f)
           and f.__module__ == module.__name__ and not n.startswith("_")]
    if len(own) != 1:
        raise RuntimeError(
            f"{module.__name__}: expected one function taking the app and returning "
            f"list[Subscription] (named `subscriptions`), found {[f.__name__ for f in own]}")
    return own[0]


def service_subscriptions(services: list[str] | None = None) -> dict[str, list[Subscription]]:
    """Every service's subscriptions, read without running it; a service without a
    ``subscriptions.py`` consumes nothing."""
    found: dict[str, list[Subscription]] = {}
    for service in services or list(SERVICES):
        module = subscriptions_module(service)
        if module is None:
            continue
        name = module.__name__
        subs = list(subscriptions_factory(module)(_StandIn()))
        bad = [s for s in subs if not isinstance(s, Subscription)]
        if bad:
            raise RuntimeError(f"{name}: not Subscription objects: {bad!r}")
        found[service] = subs
    return found


def event_docs(subscriptions: dict[str, list[Subscription]] | None = None) -> list[EventDoc]:
    """One entry per event, in publisher then declaration order, with its consumers."""
    if subscriptions is None:
        subscriptions = service_subscriptions()
    docs = {name: EventDoc(cls) for name, cls in all_events().items()}
    for service in sorted(subscriptions):
        for sub in subscriptions[service]:
            for event in sub.events:
                doc = docs.get(event.type_name())
                if doc is None:
                    raise RuntimeError(f"{service} subscribes to {event.type_name()}, which is "
                                       "not in mercato.contracts.all_events()")
                doc.consumers.append(Consumer(service, sub.name, sub.saga_mode))
    return list(docs.values())
