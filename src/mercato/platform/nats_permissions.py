"""Least privilege on NATS: what each user of the platform may publish and subscribe to.

Every subject is derived from the tables the code already has: the publishers from the
event contracts (``mercato.contracts``), the streams from ``chassis/messaging/streams.py``,
each service's durable consumers from its ``subscriptions.py`` (named as ``Consumers``
names them) and the streams it hears every new event of (its ``broadcasts`` there), the KV
buckets from ``chassis/calls/registry.py`` and ``routing.py``, the audit stream from
``gateway/audit.py``. One function per rule, each saying why; a user's
permissions are the sum of its rules, and NATS denies everything not allowed. Rules list
exact stream and consumer names where they can: NATS wildcards match whole tokens only, so
``cart__*`` is no wildcard, and each durable is listed by its full name.

The JetStream API is request/reply: a client publishes to ``$JS.API.<verb>.<stream>...``
and the server answers on the client's inbox; a JetStream publish is the same with the
event subject, its PubAck the answer. Inboxes are per user (``_INBOX.<user>.>``, the
client's ``inbox_prefix``) and no user may publish to any inbox: one user cannot read
another's replies (PubAcks, fetched events, registry snapshots) nor forge them.
Not granted because no code needs it: single-key KV reads (``$JS.API.DIRECT.GET``), any
stream or consumer deletion, purges. A push consumer's deliver subject is not checked
against its creator's publish rights, but the server does not store those deliveries in
a stream (tried: an ephemeral consumer delivering to another stream's subject adds nothing
to it), so an event reader cannot forge events that way.
"""

from __future__ import annotations

import importlib
import importlib.util
from dataclasses import dataclass, field
from functools import cache
from types import ModuleType

from mercato.chassis.calls import registry, routing
from mercato.chassis.messaging.consumer import Consumers
from mercato.chassis.messaging.credentials import inbox_prefix
from mercato.chassis.messaging.streams import DLQ_STREAM, DLQ_SUBJECT_PREFIX
from mercato.chassis.messaging.subscription import Subscription
from mercato.contracts import all_events, stream_for
from mercato.gateway.audit import AUDIT_STREAM, AUDIT_SUBJECT, OPERATOR_SUBJECT
from mercato.platform.catalog import GATEWAY, SERVICES
from mercato.platform.running import CLI, SUPERVISOR

API = "$JS.API"
USERS: tuple[str, ...] = (*SERVICES, GATEWAY, SUPERVISOR, CLI)


@dataclass
class Rules:
    """Subjects a user may publish (``pub``) and subscribe to (``sub``), and publishes
    refused although a wider allow would match (``deny``)."""

    pub: set[str] = field(default_factory=set)
    sub: set[str] = field(default_factory=set)
    deny: set[str] = field(default_factory=set)

    def __add__(self, other: Rules) -> Rules:
        return Rules(self.pub | other.pub, self.sub | other.sub, self.deny | other.deny)


def publishers() -> tuple[str, ...]:
    """The services that publish events: the sources of the event contracts."""
    return tuple(sorted({event.SOURCE for event in all_events().values()}))


class _Stand:
    """The app (and its state) handed to a service's ``subscriptions(app)`` when only the
    names and events of the subscriptions are read: every attribute is another stand-in,
    and no handler is ever called."""

    def __getattr__(self, _name: str) -> _Stand:
        return self

    def __call__(self, *_args, **_kwargs) -> _Stand:
        return self


def subscriptions_module(service: str) -> ModuleType | None:
    """A service's subscriptions module: ``subscriptions.py``, or
    ``entrypoints/subscriptions.py`` where a service keeps its entrypoints together (orders);
    None for a service that consumes nothing. The one place both are looked for (the NATS
    permissions here, ``mercato events catalog``)."""
    for name in (f"mercato.services.{service}.subscriptions",
                 f"mercato.services.{service}.entrypoints.subscriptions"):
        try:
            return importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name is None or not name.startswith(exc.name):
                raise  # a module the subscriptions import is missing: a real error
    return None


@cache
def subscriptions_of(service: str) -> tuple[Subscription, ...]:
    """Every subscription of a service (``subscriptions_module``), in either saga mode
    (their handlers are bound to stand-ins: read their names and events, never call them)."""
    module = subscriptions_module(service) if service in SERVICES else None
    return () if module is None else tuple(module.subscriptions(_Stand()))


@cache
def broadcast_streams(service: str) -> tuple[str, ...]:
    """The streams a service's instances each hear (its ``broadcasts(app)``, if any)."""
    module = subscriptions_module(service) if service in SERVICES else None
    listed = getattr(module, "broadcasts", None)
    return tuple(sorted({stream_for(b.source) for b in listed(_Stand())})) if listed else ()


def durables(service: str) -> tuple[tuple[str, str], ...]:
    """The (stream, durable consumer) pairs of one service, named as ``Consumers`` names
    them."""
    subs = list(subscriptions_of(service))
    names = Consumers(service, None, None, subs)  # type: ignore[arg-type]  # names only
    return tuple((stream_for(s.source), names.durable(s)) for s in subs)


def every_durable() -> tuple[tuple[str, str], ...]:
    return tuple(pair for service in SERVICES for pair in durables(service))


def replies(user: str) -> Rules:
    """Answers to its own requests (API replies, PubAcks, fetched messages) only."""
    return Rules(sub={f"{inbox_prefix(user)}.>"})


def kv_read(bucket: str) -> Rules:
    """Open a bucket and watch it (an ordered push consumer the server names, its info,
    and flow-control replies)."""
    stream = f"KV_{bucket}"
    return Rules(pub={f"{API}.STREAM.INFO.{stream}", f"{API}.CONSUMER.CREATE.{stream}",
                      f"{API}.CONSUMER.INFO.{stream}.*", f"$JS.FC.{stream}.>"})


def kv_write(bucket: str, prefix: str | None = None) -> Rules:
    """Put and delete keys: all of them, or only those under ``prefix``."""
    return Rules(pub={f"$KV.{bucket}.{prefix}.>" if prefix else f"$KV.{bucket}.>"})


def kv_create(bucket: str) -> Rules:
    """Create the bucket when it is absent (the registry is in memory: a restarted broker
    has lost it, and its writers re-create it); an existing bucket is left as it is. The
    client first reads the account's API level (``$JS.API.INFO``) for the limit markers."""
    return Rules(pub={f"{API}.STREAM.CREATE.KV_{bucket}", f"{API}.INFO"})


def stream_admin(stream: str) -> Rules:
    """Look up, create and update one stream's configuration."""
    return Rules(pub={f"{API}.STREAM.{verb}.{stream}" for verb in ("INFO", "CREATE", "UPDATE")})


def own_events(service: str) -> Rules:
    """The relay publishes this service's events (its stream's subjects), ensures its
    stream, lists its consumers and counts their dead letters (what a re-drive may leave
    out); no other service's subjects."""
    stream = stream_for(service)
    return (Rules(pub={f"mercato.{service}.>", f"{API}.CONSUMER.LIST.{stream}",
                       f"{API}.STREAM.INFO.{DLQ_STREAM}"})
            + stream_admin(stream))


def durable_consumer(stream: str, durable: str) -> Rules:
    """One of its subscriptions: create (or update) its durable on the publisher's stream,
    read its info, fetch, ack/nak it, and dead-letter what it gives up on."""
    consumer = f"{stream}.{durable}"
    return Rules(pub={f"{API}.STREAM.INFO.{stream}", f"{API}.CONSUMER.CREATE.{consumer}",
                      f"{API}.CONSUMER.CREATE.{consumer}.>", f"{API}.CONSUMER.INFO.{consumer}",
                      f"{API}.CONSUMER.MSG.NEXT.{consumer}", f"$JS.ACK.{consumer}.>",
                      f"{DLQ_SUBJECT_PREFIX}.{durable}", f"{API}.STREAM.INFO.{DLQ_STREAM}"})


def broadcast_listener(stream: str) -> Rules:
    """Hear every new event of one stream (messaging/broadcast.py): create ephemeral
    ordered push consumers, which the server names, and answer their flow control. Only
    the name-less create: the server refuses a durable there, so no durable of another
    service on that stream can be made or changed."""
    return Rules(pub={f"{API}.CONSUMER.CREATE.{stream}", f"$JS.FC.{stream}.>"})


def event_reader() -> Rules:
    """Read the event streams without consuming them: list them and their consumers, get
    one message by sequence, and read them through ephemeral consumers (ordered push ones
    the server names, pull ones the client names, ``<name>.<filter>``); never fetch from,
    create or change a service's durable (a fetch there would take its messages, a create
    would change its filter)."""
    rules = Rules(pub={f"{API}.STREAM.LIST"})
    for stream in map(stream_for, publishers()):
        rules.pub |= {f"{API}.STREAM.INFO.{stream}", f"{API}.CONSUMER.CREATE.{stream}",
                      f"{API}.CONSUMER.CREATE.{stream}.*", f"{API}.CONSUMER.CREATE.{stream}.*.>",
                      f"{API}.CONSUMER.LIST.{stream}", f"{API}.CONSUMER.INFO.{stream}.*",
                      f"{API}.STREAM.MSG.GET.{stream}",
                      f"{API}.CONSUMER.MSG.NEXT.{stream}.*", f"$JS.FC.{stream}.>"}
    for stream, durable in every_durable():
        rules.deny |= {f"{API}.CONSUMER.MSG.NEXT.{stream}.{durable}",
                       f"{API}.CONSUMER.CREATE.{stream}.{durable}",
                       f"{API}.CONSUMER.CREATE.{stream}.{durable}.>"}
    return rules


def dead_letter_reader() -> Rules:
    """List the dead letters and read one."""
    return Rules(pub={f"{API}.STREAM.INFO.{DLQ_STREAM}", f"{API}.STREAM.MSG.GET.{DLQ_STREAM}"})


def dead_letter_replayer() -> Rules:
    """Replay a dead letter: its copy on the publisher's replay subject (read back
    after), then its removal from the dead-letter stream."""
    rules = Rules(pub={f"{API}.STREAM.MSG.DELETE.{DLQ_STREAM}"})
    for source in publishers():
        rules.pub |= {f"mercato.{source}.replay.>", f"{API}.STREAM.MSG.GET.{stream_for(source)}"}
    return rules


def audit_writer() -> Rules:
    """The gateway's audit trail: written and read back; the stream created if missing,
    never updated (its limits could drop entries), deleted or purged (gateway/audit.py)."""
    return Rules(pub={AUDIT_SUBJECT, f"{API}.STREAM.MSG.GET.{AUDIT_STREAM}",
                      f"{API}.STREAM.INFO.{AUDIT_STREAM}", f"{API}.STREAM.CREATE.{AUDIT_STREAM}"})


def operator_audit() -> Rules:
    """The operator's commands that change state without the gateway (platform/audit.py):
    their own subject of the audit stream, never the gateway's."""
    return Rules(pub={OPERATOR_SUBJECT})


def stream_setup() -> Rules:
    """Create every event stream and the dead-letter stream before the services start,
    so that no service needs rights on a stream it does not own."""
    rules = stream_admin(DLQ_STREAM) + stream_admin(AUDIT_STREAM)
    for source in publishers():
        rules += stream_admin(stream_for(source))
    return rules


def rules_of(user: str) -> Rules:
    """The sum of a user's rules (``KeyError`` for an unknown user)."""
    common = replies(user) + kv_read(registry.BUCKET) + kv_read(routing.BUCKET)
    if user in SERVICES:
        rules = common + kv_write(registry.BUCKET, user) + kv_create(registry.BUCKET)
        if user in publishers():
            rules += own_events(user)
        for stream, durable in durables(user):
            rules += durable_consumer(stream, durable)
        for stream in broadcast_streams(user):
            rules += broadcast_listener(stream)
        return rules
    if user == GATEWAY:  # the console's Promote/Rollback (admins, audited) write routing
        return (common + kv_write(registry.BUCKET, GATEWAY) + kv_create(registry.BUCKET)
                + kv_write(routing.BUCKET) + event_reader()
                + dead_letter_reader() + dead_letter_replayer() + audit_writer())
    if user == SUPERVISOR:
        return (common + kv_create(registry.BUCKET) + kv_create(routing.BUCKET)
                + kv_write(routing.BUCKET) + stream_setup() + operator_audit())
    if user == CLI:  # the operator's commands: read, and `mercato dlq replay`
        return (common + event_reader() + dead_letter_reader() + dead_letter_replayer()
                + operator_audit())
    raise KeyError(f"no NATS user {user!r}; one of {', '.join(USERS)}")


def permissions(user: str) -> dict:
    """The NATS ``permissions`` block of one user: allow lists (sorted), and a deny list
    where a wider allow must not reach."""
    rules = rules_of(user)
    publish: dict[str, list[str]] = {"allow": sorted(rules.pub)}
    if rules.deny:
        publish["deny"] = sorted(rules.deny)
    return {"publish": publish, "subscribe": {"allow": sorted(rules.sub)}}
