"""The mobile GraphQL's own limits over fake services: the depth and alias rules follow
fragments and skip introspection, a fragment cycle is refused without hanging the check,
the call budget nulls what it did not allow, and several orders' notifications are one
filtered call."""

from __future__ import annotations

from mercato.bff.mobile.graphql import Limits, MobileGraphQL
from tests.unit.bff.fakes import NOTE, ORDER, FakeUpstream

DEEP_BY_FRAGMENTS = """
query Deep { ...Root }
fragment Root on Query { order(id: "o-1") { ...Loop } }
fragment Loop on Order { notifications { order { notifications { order { status } } } } }
"""


async def run(query, upstream=None, limits=Limits()):
    return await MobileGraphQL(limits).run(upstream or FakeUpstream(), query, None, None,
                                           None)


async def test_the_depth_counts_the_fields_of_the_fragments_where_they_are_spread():
    ran, answer = await run(DEEP_BY_FRAGMENTS, limits=Limits(depth=4))
    assert not ran and answer["data"] is None
    assert answer["errors"][0]["message"] == "'Deep' exceeds maximum operation depth of 4"
    ran, answer = await run(DEEP_BY_FRAGMENTS, limits=Limits(depth=5))
    assert ran and answer["data"]["order"]["notifications"][0]["order"]["notifications"]


async def test_introspection_fields_do_not_count_toward_the_depth():
    query = "{ __schema { types { fields { type { ofType { name } } } } } }"
    ran, answer = await run(query, limits=Limits(depth=2))
    assert ran and answer["data"]["__schema"]["types"]


async def test_aliases_over_the_limit_are_refused_counting_each_spread_of_a_fragment():
    fragment = "fragment Two on Query { a: cart { itemCount } b: cart { total } }"
    ran, answer = await run("{ ...Two ...Two } " + fragment, limits=Limits(aliases=3))
    assert not ran and answer["errors"][0]["message"] == "4 aliases found. Allowed: 3"
    ran, answer = await run("{ ...Two } " + fragment, limits=Limits(aliases=3))
    assert ran and answer["data"]["a"]["itemCount"] == 3


async def test_a_fragment_spread_within_itself_is_refused_and_the_check_ends():
    upstream = FakeUpstream()
    ran, answer = await run("{ ...A } fragment A on Query { cart { itemCount } ...A }",
                            upstream)
    assert not ran and "Cannot spread fragment 'A' within itself" in \
        answer["errors"][0]["message"]
    assert not upstream.calls


async def test_over_the_call_budget_a_field_needing_a_call_is_null_with_an_error():
    upstream = FakeUpstream()
    query = '{ order(id: "o-1") { status shipment { status } } }'
    ran, answer = await run(query, upstream, limits=Limits(calls=1))
    assert ran and answer["data"]["order"] == {"status": "confirmed", "shipment": None}
    [error] = answer["errors"]
    assert error["path"] == ["order", "shipment"]
    assert error["extensions"] == {"code": "CALL_BUDGET_EXCEEDED", "service": "shipping"}
    assert error["message"] == ("shipping: not called: the request has spent its budget "
                                "of 1 service call")
    assert upstream.calls == {"orders": 1}  # the second was never made


async def test_a_query_wanting_more_calls_than_the_budget_makes_only_the_budgets():
    upstream = FakeUpstream()
    query = ('{ order(id: "o-1") { status shipment { status } notifications { subject }'
             ' items { product { name } } } cart { itemCount } }')
    ran, answer = await run(query, upstream, limits=Limits(calls=3))
    assert ran and answer["data"]["order"]["status"] == "confirmed"
    assert sum(upstream.calls.values()) == 3
    refused = {e["extensions"]["service"] for e in answer["errors"]}
    assert {e["extensions"]["code"] for e in answer["errors"]} == {"CALL_BUDGET_EXCEEDED"}
    assert len(refused) == 2 and not refused & set(upstream.calls)  # 5 services wanted


async def test_the_budget_is_per_request():
    graphql, upstream = MobileGraphQL(Limits(calls=2)), FakeUpstream()
    for _ in range(3):
        ran, answer = await graphql.run(upstream, '{ order(id: "o-1") { shipment { id } } }',
                                        None, None, None)
        assert ran and "errors" not in answer
    assert upstream.calls == {"orders": 3, "shipping": 3}


async def test_several_orders_notifications_are_one_call_filtered_by_their_ids():
    upstream = FakeUpstream()
    upstream.orders["o-2"] = {**ORDER, "id": "o-2"}
    upstream.notes = [NOTE, {**NOTE, "id": "n-2", "order_id": "o-2", "subject": "Shipped"},
                      {**NOTE, "id": "n-3", "order_id": "o-3", "subject": "Not asked"}]
    ran, answer = await run('{ a: order(id: "o-1") { notifications { subject } }'
                            '  b: order(id: "o-2") { notifications { subject } } }', upstream)
    assert ran and "errors" not in answer
    assert answer["data"] == {"a": {"notifications": [{"subject": "Your order is confirmed"}]},
                              "b": {"notifications": [{"subject": "Shipped"}]}}
    [(_, _, path, _)] = [p for p in upstream.paths if p[0] == "notifications"]
    assert path == "/api/v1/notifications?limit=200&order_id=o-1&order_id=o-2"


async def test_a_full_page_of_several_orders_notifications_asks_each_order_again_alone():
    upstream = FakeUpstream()
    upstream.orders["o-2"] = {**ORDER, "id": "o-2"}
    upstream.notes = [{**NOTE, "id": f"n-{i}"} for i in range(200)]  # o-1's, newest
    upstream.notes.append({**NOTE, "id": "n-old", "order_id": "o-2", "subject": "Older"})
    ran, answer = await run('{ a: order(id: "o-1") { notifications { id } }'
                            '  b: order(id: "o-2") { notifications { subject } } }', upstream)
    assert ran and "errors" not in answer
    assert len(answer["data"]["a"]["notifications"]) == 200
    assert answer["data"]["b"] == {"notifications": [{"subject": "Older"}]}  # not cut off
    asked = [p for s, _, p, _ in upstream.paths if s == "notifications"]
    assert asked == ["/api/v1/notifications?limit=200&order_id=o-1&order_id=o-2",
                     "/api/v1/notifications?limit=200&order_id=o-1",
                     "/api/v1/notifications?limit=200&order_id=o-2"]


async def test_the_default_budget_answers_the_largest_inbox_with_each_messages_order():
    upstream = FakeUpstream()
    for i in range(50):
        upstream.orders[f"o-{i}"] = {**ORDER, "id": f"o-{i}"}
    upstream.notes = [{**NOTE, "id": f"n-{i}", "order_id": f"o-{i}"} for i in range(50)]
    ran, answer = await run("{ notifications(limit: 50) { order { status } } "
                            "cart { itemCount } featured { name } }", upstream)
    assert ran and "errors" not in answer, answer.get("errors")
    assert [n["order"]["status"] for n in answer["data"]["notifications"]] == \
        ["confirmed"] * 50
    assert upstream.calls["orders"] == 50
