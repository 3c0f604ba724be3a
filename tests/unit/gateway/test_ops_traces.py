"""GET /api/v1/ops/traces[/{id}] through the gateway: the trace store's answers relayed,
its problems passed on, and a clear answer when there is no store or it does not answer."""

from __future__ import annotations

import pytest
from aiohttp.test_utils import TestServer

from mercato.gateway.traces import trace_link
from mercato.tracestore import TraceStore, create_app
from mercato.tracestore.otlp import PROTOBUF, decode
from tests.support.service_http import client
from tests.unit.gateway.test_gateway import gateway  # noqa: F401 (fixture)
from tests.unit.tracestore.conftest import export, span, tid

ADMIN = {"Authorization": "Bearer admin"}


@pytest.fixture
def link(monkeypatch):
    """Set the gateway's trace settings for one test (they are read once, then cached)."""
    for name in ("MERCATO_TRACE_STORE_URL", "OTEL_EXPORTER_OTLP_ENDPOINT",
                 "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"):
        monkeypatch.delenv(name, raising=False)

    def set_env(**values: str) -> None:
        for name, value in values.items():
            monkeypatch.setenv(name, value)
        trace_link.cache_clear()

    trace_link.cache_clear()
    yield set_env
    trace_link.cache_clear()


@pytest.fixture
async def store_url(tmp_path):
    store = TraceStore(tmp_path / "traces.db", max_traces=100, max_bytes=2**30)
    server = TestServer(create_app(store), host="127.0.0.1")
    await server.start_server()
    request = export("orders", span(5, 1, attrs={"mercato.order_id": "ord-5"}))
    store.ingest(*decode(request.SerializeToString(), PROTOBUF))
    yield str(server.make_url("")).rstrip("/")
    await server.close()


async def test_an_admin_reads_recent_traces_and_one_trace(gateway, link, store_url):  # noqa: F811
    link(MERCATO_TRACE_STORE_URL=store_url)
    async with client(gateway) as c:
        listed = await c.get("/api/v1/ops/traces?order_id=ord-5&limit=5", headers=ADMIN)
        one = await c.get(f"/api/v1/ops/traces/{tid(5)}", headers=ADMIN)
    assert listed.status_code == 200
    assert [i["trace_id"] for i in listed.json()["items"]] == [tid(5)]
    assert one.status_code == 200
    assert [s["service"] for s in one.json()["spans"]] == ["orders"]


async def test_the_stores_problems_pass_through_as_the_gateways(gateway, link, store_url):  # noqa: F811
    link(MERCATO_TRACE_STORE_URL=store_url)
    async with client(gateway) as c:
        bad = await c.get("/api/v1/ops/traces?limit=1000", headers=ADMIN)
        unknown = await c.get(f"/api/v1/ops/traces/{tid(6)}", headers=ADMIN)
    assert bad.status_code == 400 and "limit" in bad.json()["detail"]
    assert unknown.status_code == 404 and tid(6) in unknown.json()["detail"]
    assert unknown.headers["content-type"] == "application/problem+json"


async def test_a_customer_may_not_read_traces(gateway, link, store_url):  # noqa: F811
    link(MERCATO_TRACE_STORE_URL=store_url)
    async with client(gateway) as c:
        r = await c.get("/api/v1/ops/traces", headers={"Authorization": "Bearer customer"})
    assert r.status_code == 403


async def test_with_an_external_back_end_the_route_says_where_traces_go(gateway, link):  # noqa: F811
    link(OTEL_EXPORTER_OTLP_ENDPOINT="http://collector:4318")
    async with client(gateway) as c:
        r = await c.get("/api/v1/ops/traces", headers=ADMIN)
    assert r.status_code == 404
    assert r.json()["detail"] == ("traces are exported to http://collector:4318; this "
                                  "platform keeps no trace store")


async def test_a_store_that_does_not_answer_is_a_503_with_retry_after(gateway, link):  # noqa: F811
    from tests.system.platform import free_port

    link(MERCATO_TRACE_STORE_URL=f"http://127.0.0.1:{free_port()}")
    async with client(gateway) as c:
        r = await c.get("/api/v1/ops/traces", headers=ADMIN)
    assert r.status_code == 503
    assert r.headers["retry-after"] == "1"
