"""The mobile GraphQL endpoint over fake services: one call per service for an order with
its products and notifications, the limits refused with a clear message, partial answers
naming the failed service, persisted queries and introspection by environment."""

from __future__ import annotations

import hashlib

from structlog.testing import capture_logs

from mercato.bff.mobile.graphql import Limits, MobileGraphQL
from tests.unit.bff.fakes import FakeUpstream

ORDER_QUERY = """
query Order($id: ID!) {
  order(id: $id) {
    id status total
    timeline { status at }
    items { quantity product { id name price } }
    shipment { status trackingNumber }
    notifications { subject }
  }
  cart { itemCount items { product { name } } }
}"""


async def run(query, upstream=None, limits=Limits(), variables=None, extensions=None,
              graphql=None):
    graphql = graphql or MobileGraphQL(limits)
    return await graphql.run(upstream or FakeUpstream(), query, variables, None, extensions)


async def test_an_order_with_products_and_notifications_makes_one_call_per_service():
    upstream = FakeUpstream()
    ran, answer = await run(ORDER_QUERY, upstream, variables={"id": "o-1"})
    assert ran and "errors" not in answer
    order = answer["data"]["order"]
    assert [line["product"]["name"] for line in order["items"]] == ["Mug", "Tea"]
    assert order["timeline"] == [{"status": "pending", "at": "2026-12-07T03:00:00Z"},
                                 {"status": "confirmed", "at": "2026-12-07T03:00:02Z"}]
    assert order["shipment"] == {"status": "label_created", "trackingNumber": "TRK1"}
    assert order["notifications"] == [{"subject": "Your order is confirmed"}]
    assert answer["data"]["cart"]["itemCount"] == 3
    # the products of the order AND of the cart: one catalog lookup for both
    assert upstream.calls == {"orders": 1, "catalog": 1, "shipping": 1, "notifications": 1,
                              "cart": 1}
    lookup = next(p for p in upstream.paths if p[0] == "catalog")
    assert sorted(lookup[3]["ids"]) == ["p-1", "p-2"]


async def test_with_shipping_down_the_other_fields_answer_and_an_error_names_shipping():
    upstream = FakeUpstream()
    upstream.down.add("shipping")
    ran, answer = await run(ORDER_QUERY, upstream, variables={"id": "o-1"})
    assert ran
    order = answer["data"]["order"]
    assert order["shipment"] is None
    assert order["items"][0]["product"]["name"] == "Mug"
    assert order["notifications"] == [{"subject": "Your order is confirmed"}]
    [error] = answer["errors"]
    assert error["path"] == ["order", "shipment"]
    assert error["extensions"] == {"code": "SERVICE_FAILED", "service": "shipping"}
    assert error["message"] == "shipping: no answer within 2 s"


async def test_a_query_deeper_than_the_limit_is_refused_with_a_message_naming_the_limit():
    deep = ("{ order(id: \"o-1\") { notifications { order { notifications { order {"
            " notifications { subject } } } } } } }")
    upstream = FakeUpstream()
    ran, answer = await run(deep, upstream, limits=Limits(depth=4))
    assert not ran and answer["data"] is None
    assert "exceeds maximum operation depth of 4" in answer["errors"][0]["message"]
    assert not upstream.calls  # refused before any service is asked


async def test_a_query_over_the_token_limit_is_refused():
    ran, answer = await run("{ " + " ".join(["featured { id }"] * 50) + " }",
                            limits=Limits(tokens=100))
    assert not ran and "token" in answer["errors"][0]["message"].lower()


async def test_an_unknown_order_is_null_without_an_error():
    ran, answer = await run('{ order(id: "o-9") { id } }')
    assert ran and answer == {"data": {"order": None}}


async def test_a_limit_out_of_range_is_an_error_naming_the_range():
    ran, answer = await run("{ featured(limit: 500) { id } }")
    assert ran and answer["data"] == {"featured": None}
    assert answer["errors"][0]["message"] == "limit must be from 1 to 50, not 500"


async def test_featured_products_prime_the_loader_so_their_lines_cost_no_lookup():
    upstream = FakeUpstream()
    ran, answer = await run('{ featured { id } order(id: "o-1") { items { product { name } } } }',
                            upstream)
    assert ran and "errors" not in answer
    assert upstream.calls["catalog"] == 1


async def test_a_persisted_query_is_run_by_its_hash_once_registered():
    graphql = MobileGraphQL(Limits())
    query = '{ order(id: "o-1") { status } }'
    digest = hashlib.sha256(query.encode()).hexdigest()
    ext = {"persistedQuery": {"version": 1, "sha256Hash": digest}}
    ran, answer = await run(None, extensions=ext, graphql=graphql)
    assert not ran
    assert answer["errors"][0]["extensions"]["code"] == "PERSISTED_QUERY_NOT_FOUND"
    ran, answer = await run(query, extensions=ext, graphql=graphql)
    assert ran and answer["data"]["order"]["status"] == "confirmed"
    ran, answer = await run(None, extensions=ext, graphql=graphql)
    assert ran and answer["data"]["order"]["status"] == "confirmed"


async def test_a_persisted_query_whose_hash_is_not_its_own_is_refused():
    ext = {"persistedQuery": {"version": 1, "sha256Hash": "0" * 64}}
    ran, answer = await run("{ cart { itemCount } }", extensions=ext)
    assert not ran and answer["errors"][0]["message"] == "the sha256Hash is not the query's"


async def test_introspection_answers_in_development_and_is_refused_in_production():
    query = "{ __schema { queryType { name } } }"
    ran, answer = await run(query)
    assert ran and answer["data"]["__schema"]["queryType"]["name"] == "Query"
    ran, answer = await run(query, limits=Limits(introspection=False))
    assert not ran and "introspection" in answer["errors"][0]["message"].lower()


async def test_in_production_a_misspelt_field_gets_no_suggestion_of_the_schema():
    ran, answer = await run("{ ordr }")
    assert not ran and "Did you mean 'order'?" in answer["errors"][0]["message"]
    ran, answer = await run("{ ordr }", limits=Limits(introspection=False))
    assert not ran
    assert answer["errors"][0]["message"] == "Cannot query field 'ordr' on type 'Query'."


async def test_a_resolver_bug_is_logged_with_its_stack_and_a_failed_service_in_one_line():
    upstream = FakeUpstream()
    upstream.orders["o-bad"] = {"id": "o-bad"}  # malformed: no status, items, ...
    upstream.down.add("shipping")
    with capture_logs() as logs:
        ran, answer = await run('{ a: order(id: "o-bad") { timeline { status } }'
                                '  b: order(id: "o-1") { shipment { status } } }', upstream)
    assert ran and answer["data"]["b"] == {"shipment": None}
    bug = [e for e in logs if e["event"] == "graphql_resolver_failed"]
    assert bug and bug[0]["log_level"] == "error" and isinstance(bug[0]["exc_info"],
                                                                  KeyError)
    assert [e["log_level"] for e in logs if e["event"] == "graphql_error"] == ["info"]


async def test_cached_validation_keeps_each_instances_limits():
    query = '{ order(id: "o-1") { notifications { order { status } } } }'
    lenient, strict = MobileGraphQL(Limits(depth=6)), MobileGraphQL(Limits(depth=2))
    for _ in range(2):  # the second time from the parser's and validator's caches
        assert (await run(query, graphql=lenient))[0]
        ran, answer = await run(query, graphql=strict)
        assert not ran and "maximum operation depth of 2" in answer["errors"][0]["message"]
