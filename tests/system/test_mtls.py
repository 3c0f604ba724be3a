"""Optional mTLS (``MERCATO_MTLS=1``, docs/zero-trust.md part 4) on a running platform:
the shop works through the gateway's plain-HTTP public port while every service port
speaks only TLS and takes only clients with a certificate from the local CA, and NATS
refuses a connection without one (the nkey is still needed besides). The operator's
commands keep working."""

from __future__ import annotations

import asyncio
import json
import ssl
import subprocess
import sys

import httpx
import nats
import pytest

from mercato.chassis.identity import load_identity
from mercato.chassis.settings import load_settings
from mercato.chassis.tls import TlsFiles, client_context
from mercato.chassis.tls.pki import ca_path, cert_key_path, cert_path
from mercato.platform.catalog import SERVICES
from mercato.platform.running import login
from tests.system.platform import Platform, running_platform


@pytest.fixture(scope="module")
def mtls(tmp_path_factory):
    yield from running_platform(tmp_path_factory, "mtls", MERCATO_MTLS="1")


def addresses(p: Platform) -> dict[str, str]:
    with p.client(p.admin_token()) as c:
        items = c.get("/api/v1/ops/services").json()["items"]
    return {i["service"]: i["address"] for i in items}


def nats_url(p: Platform) -> str:
    return json.loads((p.data_dir / "run" / "state.json").read_text())["nats_url"]


def as_cli(p: Platform) -> ssl.SSLContext:
    d = p.data_dir
    return client_context(TlsFiles(cert_path(d, "cli"), cert_key_path(d, "cli"), ca_path(d)))


def test_a_checkout_through_the_gateway_works_and_services_register_https(mtls: Platform):
    where = addresses(mtls)
    assert where["gateway"].startswith("http://")  # the edge stays plain HTTP
    services = {s: a for s, a in where.items() if s != "gateway"}
    # every service and the mobile BFF
    assert set(services) == set(SERVICES) and all(a.startswith("https://127.0.0.1:")
                                      for a in services.values()), where
    token, _ = mtls.new_customer()
    pid = mtls.new_product(stock=3, price=1500)["id"]
    with mtls.client() as c:
        assert c.get(f"/api/v1/catalog/products/{pid}").status_code == 200
    with mtls.client(token) as c:
        placed = c.post("/api/v1/orders", json=mtls.order_body(pid))
    assert placed.status_code == 202, placed.text
    assert mtls.wait_terminal(token, placed.json()["id"])["status"] == "confirmed"


def test_a_service_port_refuses_plain_http_and_tls_without_a_client_certificate(
        mtls: Platform):
    catalog = addresses(mtls)["catalog"]
    plain = catalog.replace("https://", "http://")
    with httpx.Client(timeout=5) as c, pytest.raises(httpx.TransportError):
        c.get(f"{plain}/health/ready")  # a TLS server: no HTTP answer at all
    trusts_only = ssl.create_default_context(cafile=ca_path(mtls.data_dir))  # no certificate
    with httpx.Client(timeout=5, verify=trusts_only) as c, \
            pytest.raises(httpx.TransportError) as refused:
        c.get(f"{catalog}/health/ready")
    assert "CERTIFICATE" in str(refused.value).upper() or \
        isinstance(refused.value, (httpx.ReadError, httpx.ConnectError,
                                   httpx.RemoteProtocolError)), refused.value
    # the same request with the cli's certificate (and its service token) is served
    token = load_identity("cli", load_settings(data_dir=mtls.data_dir)).token("catalog")
    with httpx.Client(timeout=5, verify=as_cli(mtls)) as c:
        assert c.get(f"{catalog}/health/ready").status_code == 200
        products = c.get(f"{catalog}/api/v1/catalog/products",
                         headers={"Authorization": f"Bearer {token}"})
    assert products.status_code == 200, products.text
    # another workload's token over the cli's certificate: the two must name one workload
    other = load_identity("orders", load_settings(data_dir=mtls.data_dir)).token("catalog")
    with httpx.Client(timeout=5, verify=as_cli(mtls)) as c:
        borrowed = c.get(f"{catalog}/api/v1/catalog/products",
                         headers={"Authorization": f"Bearer {other}"})
    assert borrowed.status_code == 401, borrowed.text
    assert "orders over a connection with cli's certificate" in borrowed.json()["detail"]


async def _connect(url: str, **options):
    async def quiet(_exc):
        pass
    return await nats.connect(url, connect_timeout=2, allow_reconnect=False,
                              max_reconnect_attempts=1, error_cb=quiet, **options)


def test_nats_refuses_a_connection_without_a_client_certificate(mtls: Platform):
    url = nats_url(mtls)
    creds = {k: v for k, v in login(mtls.data_dir).items() if k != "tls"}  # the cli's nkey
    assert "tls" in login(mtls.data_dir)  # the CLI presents its certificate itself

    async def attempts():
        trusts_only = ssl.create_default_context(cafile=ca_path(mtls.data_dir))
        with pytest.raises(Exception):  # noqa: B017 - refused, however nats-py words it
            await _connect(url, tls=trusts_only, **creds)
        with pytest.raises(Exception):  # noqa: B017 - plain: the server requires TLS
            await _connect(url, **creds)
        with pytest.raises(Exception):  # noqa: B017 - a certificate but no nkey
            await _connect(url, tls=as_cli(mtls))
        nc = await _connect(url, **login(mtls.data_dir))  # certificate and nkey
        try:
            await nc.flush(timeout=2)
            assert nc.is_connected and nc.connected_url.scheme in ("nats", "tls")
        finally:
            await nc.close()

    asyncio.run(attempts())


def test_the_operators_commands_work(mtls: Platform):
    for command in (["status"], ["verify"], ["keys", "list"],
                    ["deploy", "cart", "--version", "2"]):  # a new instance, with mTLS too
        done = subprocess.run([sys.executable, "-m", "mercato", *command], env=mtls.env,
                              capture_output=True, text=True, timeout=60)
        assert done.returncode == 0, (command, done.stdout, done.stderr)
    assert "https://127.0.0.1:" in subprocess.run(
        [sys.executable, "-m", "mercato", "status"], env=mtls.env, capture_output=True,
        text=True, timeout=60).stdout
    with mtls.client(mtls.admin_token()) as c:
        carts = [i for i in c.get("/api/v1/ops/services").json()["items"]
                 if i["service"] == "cart"]
    assert [i["version"] for i in carts] == ["2"] and carts[0]["address"].startswith("https")
    token, _ = mtls.new_customer()
    with mtls.client(token) as c:  # the new instance serves through the gateway
        assert c.get("/api/v1/cart").status_code == 200


def test_the_consoles_metrics_sampler_reads_a_services_metrics_only_with_a_certificate(
        mtls: Platform):
    from mercato.gateway.metrics_sampler import MetricsSampler

    orders = addresses(mtls)["orders"]

    async def scrape(ctx) -> str:
        sampler = MetricsSampler(lambda: (), every=3600, ssl=ctx)
        await sampler.start()
        try:
            return await sampler._get(f"{orders}/metrics")
        finally:
            await sampler.stop()

    assert "http_server_request_duration_seconds" in asyncio.run(scrape(as_cli(mtls)))
    with pytest.raises(Exception):  # noqa: B017 - the system's roots know no such CA
        asyncio.run(scrape(None))
