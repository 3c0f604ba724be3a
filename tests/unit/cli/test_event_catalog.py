"""`mercato events catalog`: docs/events.md and docs/asyncapi.yaml, generated from the
contracts and the services' subscriptions, and kept in sync by this test."""

from __future__ import annotations

import re
import sys
import types
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from mercato.chassis.messaging import Subscription
from mercato.cli.event_catalog import event_docs, service_subscriptions, subscriptions_factory
from mercato.cli.event_render import (
    asyncapi_document,
    docs_dir,
    field_rows,
    render_asyncapi,
    render_markdown,
    type_text,
)
from mercato.cli.main import app
from mercato.contracts import all_events
from mercato.contracts.catalog import ProductCreated, ProductUpdated
from mercato.contracts.orders import OrderCancelled, OrderConfirmed, OrderPlaced

runner = CliRunner()


async def ignore(tx, envelope, event) -> None:
    pass


def test_the_checked_in_catalog_and_asyncapi_document_are_up_to_date():
    result = runner.invoke(app, ["events", "catalog", "--check", "--asyncapi"])
    assert result.exit_code == 0, (
        f"{result.output}\nRegenerate: mercato events catalog --asyncapi")


def test_check_fails_on_a_stale_file_and_leaves_it_alone(tmp_path):
    assert runner.invoke(app, ["events", "catalog", "--docs", str(tmp_path)]).exit_code == 0
    page = tmp_path / "events.md"
    assert runner.invoke(app, ["events", "catalog", "--check", "--docs",
                               str(tmp_path)]).exit_code == 0
    page.write_text(page.read_text().replace("OrderPlaced", "OrderPlased", 1))
    result = runner.invoke(app, ["events", "catalog", "--check", "--docs", str(tmp_path)])
    assert result.exit_code == 1
    assert "events.md is out of date" in result.output
    assert "OrderPlased" in page.read_text()  # --check writes nothing


def test_check_fails_when_the_asyncapi_document_is_missing(tmp_path):
    runner.invoke(app, ["events", "catalog", "--docs", str(tmp_path)])
    result = runner.invoke(app, ["events", "catalog", "--check", "--asyncapi", "--docs",
                                 str(tmp_path)])
    assert result.exit_code == 1
    assert "asyncapi.yaml is out of date" in result.output
    assert not (tmp_path / "asyncapi.yaml").exists()


def test_the_docs_folder_is_the_repositorys():
    assert (docs_dir() / "messaging.md").exists()


def test_every_event_has_its_subject_stream_publisher_description_and_fields():
    page = render_markdown(event_docs({}))
    for name, cls in all_events().items():
        section = page.split(f"### {name}\n", 1)[1].split("\n### ", 1)[0]
        assert f"- subject: `{cls.subject()}`" in section
        assert f"- stream: `MERCATO_{cls.SOURCE.upper()}`" in section
        assert f"- publisher: {cls.SOURCE}" in section
        assert "- consumers: none yet" in section
        for field in cls.model_fields:
            assert f"| `{field}` |" in section
    placed = page.split("### OrderPlaced\n", 1)[1]
    assert placed.lstrip().startswith("A customer placed an order; its checkout has begun.")


def test_a_multi_line_docstring_is_one_line_and_an_inherited_one_is_not_used():
    docs = {d.name: d for d in event_docs({})}
    assert docs["OrderCancelled"].description == " ".join(OrderCancelled.__doc__.split())
    assert "Base of every event payload" not in docs["PaymentAuthorized"].description


def test_consumers_come_from_the_subscriptions_with_their_durable_names():
    subs = {"cart": [Subscription("order_confirmed", (OrderConfirmed,), ignore)],
            "notifications": [Subscription("order_outcomes", (OrderConfirmed, OrderCancelled),
                                           ignore)]}
    docs = {d.name: d for d in event_docs(subs)}
    assert [c.durable for c in docs["OrderConfirmed"].consumers] == [
        "cart__order_confirmed", "notifications__order_outcomes"]
    assert [c.service for c in docs["OrderCancelled"].consumers] == ["notifications"]
    assert docs["OrderPlaced"].consumers == []
    page = render_markdown(list(docs.values()))
    assert ("- consumers: cart (`cart__order_confirmed`), notifications "
            "(`notifications__order_outcomes`)") in page
    assert "| `mercato.orders.OrderConfirmed` | orders | cart, notifications |" in page


def test_a_subscription_to_an_event_outside_the_contracts_is_refused():
    from mercato.contracts.envelope import Event

    class Stray(Event):
        SOURCE = "orders"

    with pytest.raises(RuntimeError, match="Stray"):
        event_docs({"cart": [Subscription("stray", (Stray,), ignore)]})


def test_the_services_subscriptions_are_read_without_running_them():
    import mercato.services

    found = service_subscriptions()
    root = Path(mercato.services.__file__).parent
    modules = [*root.glob("*/subscriptions.py"), *root.glob("*/entrypoints/subscriptions.py")]
    assert set(found) == {p.relative_to(root).parts[0] for p in modules}
    assert "orders" in found  # its subscriptions live with its other entrypoints
    for service, subs in found.items():
        # the catalog consumes no other service's events: it only hears its own, on
        # every instance (its broadcasts, listed in the same module)
        assert subs or service == "catalog", service
        assert all(isinstance(s, Subscription) for s in subs)
    docs = {d.name: d for d in event_docs(found)}
    consumers = {(c.service, c.subscription) for d in docs.values() for c in d.consumers}
    assert consumers == {(service, s.name) for service, subs in found.items() for s in subs
                         if s.events}


def test_a_factory_that_reaches_into_the_app_state_gets_a_stand_in(monkeypatch):
    module = types.ModuleType("mercato.services.fakesvc.subscriptions")

    def subscriptions(app):
        handlers = app.state.handlers  # what a real factory does: no I/O
        return [Subscription("products", (ProductCreated, ProductUpdated),
                             handlers.on_product)]

    subscriptions.__module__ = module.__name__
    module.subscriptions = subscriptions
    monkeypatch.setitem(sys.modules, module.__name__, module)
    found = service_subscriptions(["fakesvc"])
    assert [(s.name, s.events) for s in found["fakesvc"]] == [
        ("products", (ProductCreated, ProductUpdated))]


def test_a_factory_under_another_name_is_found_when_it_is_the_only_function():
    module = types.ModuleType("x.subscriptions")

    def build(app):
        return []

    build.__module__ = module.__name__
    module.build = build
    module.Subscription = Subscription  # imported names do not count
    assert subscriptions_factory(module) is build
    module.other = build.__class__(build.__code__, {}, "other")
    module.other.__module__ = module.__name__
    with pytest.raises(RuntimeError, match="expected one function"):
        subscriptions_factory(module)


def test_payload_fields_show_types_requirement_defaults_and_nested_lines():
    rows = {r.path: r for r in field_rows(OrderPlaced.model_json_schema())}
    assert (rows["order_id"].type, rows["order_id"].required) == ("string", True)
    assert rows["items"].type == "array of OrderLine"
    assert (rows["items[].unit_price"].type, rows["items[].unit_price"].required) == (
        "integer", True)
    assert (rows["from_cart"].required, rows["from_cart"].default) == (False, "false")
    changes = ProductUpdated.model_json_schema()["properties"]["changes"]
    assert type_text(changes) == "object of string | integer"
    assert type_text({"anyOf": [{"type": "string"}, {"type": "null"}]}) == "string | null"


def test_a_pipe_in_a_type_does_not_break_the_markdown_table():
    page = render_markdown(event_docs({}))
    row = next(line for line in page.splitlines() if line.startswith("| `changes` |"))
    assert row == "| `changes` | object of string \\| integer | yes |  |"


# ---- AsyncAPI 3.0 ------------------------------------------------------------------------
# No package on PyPI ships the official AsyncAPI 3.0 JSON schema for offline use, so this
# checks the structure the 3.0 specification requires, and that every reference resolves.

NAME = re.compile(r"^[a-zA-Z0-9.\-_]+$")


def resolve(doc: dict, ref: str):
    assert ref.startswith("#/"), ref
    node = doc
    for part in ref[2:].split("/"):
        assert part in node, f"{ref} does not resolve"
        node = node[part]
    return node


def refs(node):
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "$ref":
                yield value
            else:
                yield from refs(value)
    elif isinstance(node, list):
        for item in node:
            yield from refs(item)


@pytest.fixture(scope="module")
def document():
    subs = {"cart": [Subscription("order_confirmed", (OrderConfirmed,), ignore)]}
    return asyncapi_document(event_docs(subs), "9.9.9")


def test_the_asyncapi_document_has_the_required_top_level_structure(document):
    assert document["asyncapi"] == "3.0.0"
    assert isinstance(document["info"]["title"], str) and document["info"]["title"]
    assert document["info"]["version"] == "9.9.9"
    assert set(document) <= {"asyncapi", "id", "info", "servers", "defaultContentType",
                             "channels", "operations", "components"}
    server = document["servers"]["embedded"]
    assert (server["protocol"], server["host"]) == ("nats", "127.0.0.1:{port}")
    for section in ("channels", "operations"):
        assert all(NAME.match(key) for key in document[section]), section
    for section in ("schemas", "messages"):
        assert all(NAME.match(key) for key in document["components"][section]), section


def test_one_channel_per_subject_with_its_message(document):
    events = all_events()
    assert {c["address"] for c in document["channels"].values()} == {
        cls.subject() for cls in events.values()}
    for name, channel in document["channels"].items():
        assert channel["address"] == events[name].subject()
        [message_ref] = channel["messages"].values()
        message = resolve(document, message_ref["$ref"])
        assert message["name"] == name
        envelope, specific = message["payload"]["allOf"]
        assert resolve(document, envelope["$ref"]) == document["components"]["schemas"][
            "Envelope"]
        assert specific["properties"]["type"] == {"const": name}
        schema = resolve(document, specific["properties"]["payload"]["$ref"])
        assert set(schema["properties"]) == set(events[name].model_fields)


def test_operations_send_from_the_publisher_and_receive_in_each_consumer(document):
    ops = document["operations"]
    assert ops["orders.publishOrderConfirmed"]["action"] == "send"
    assert ops["cart__order_confirmed.receiveOrderConfirmed"]["action"] == "receive"
    assert len([o for o in ops.values() if o["action"] == "send"]) == len(all_events())
    for op in ops.values():
        assert op["action"] in ("send", "receive")
        channel = resolve(document, op["channel"]["$ref"])
        for message in op["messages"]:  # 3.0: an operation's messages are its channel's
            prefix = op["channel"]["$ref"] + "/messages/"
            assert message["$ref"].startswith(prefix)
            assert message["$ref"].removeprefix(prefix) in channel["messages"]


def test_every_reference_resolves_and_nested_models_are_components(document):
    for ref in refs(document):
        resolve(document, ref)
    assert "OrderLine" in document["components"]["schemas"]
    assert "$defs" not in str(document)


def test_the_yaml_reads_back_as_the_same_document():
    docs = event_docs({})
    assert yaml.safe_load(render_asyncapi(docs, "1.2.3")) == asyncapi_document(docs, "1.2.3")
