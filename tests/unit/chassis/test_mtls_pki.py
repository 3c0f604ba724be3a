"""Optional mTLS: the local CA and per-workload certificates (kept while valid, owner-only
keys), and the contexts built from them — a real handshake over loopback refuses a
client without a certificate and one whose certificate another CA signed."""

from __future__ import annotations

import asyncio
import datetime as dt
import ipaddress
import os
import ssl
import stat

import pytest
from cryptography import x509

from mercato.chassis.settings import load_settings
from mercato.chassis.tls import (
    TlsFiles,
    client_context,
    client_ssl,
    ensure_pki,
    nats_tls,
    pki,
    scheme,
    server_context,
    tls_files,
    uvicorn_ssl,
)


def _files(data_dir, name: str) -> TlsFiles:
    return TlsFiles(pki.cert_path(data_dir, name), pki.cert_key_path(data_dir, name),
                    pki.ca_path(data_dir))


def test_ca_and_certificates_are_made_owner_only_and_name_the_workload(tmp_path):
    issued = ensure_pki(tmp_path, ["catalog", "gateway"])
    assert [i.name for i in issued] == ["ca", "catalog", "gateway"]
    assert all(i.created for i in issued)
    assert stat.S_IMODE(os.stat(pki.pki_dir(tmp_path)).st_mode) == 0o700
    for i in issued:
        assert stat.S_IMODE(os.stat(i.key).st_mode) == 0o600
    ca = x509.load_pem_x509_certificate(pki.ca_path(tmp_path).read_bytes())
    assert ca.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    assert ca.not_valid_after_utc - ca.not_valid_before_utc > dt.timedelta(days=360)
    cert = x509.load_pem_x509_certificate(pki.cert_path(tmp_path, "catalog").read_bytes())
    cert.verify_directly_issued_by(ca)
    san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert set(san.get_values_for_type(x509.DNSName)) == {"catalog", "localhost"}
    assert ipaddress.ip_address("127.0.0.1") in san.get_values_for_type(x509.IPAddress)
    assert san.get_values_for_type(x509.UniformResourceIdentifier) == [
        "spiffe://mercato.local/catalog"]
    assert not cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    assert cert.not_valid_after_utc - cert.not_valid_before_utc <= dt.timedelta(days=31)


def test_valid_certificates_are_kept_and_a_new_ca_reissues_every_one(tmp_path):
    first = {i.name: i.fingerprint for i in ensure_pki(tmp_path, ["cart"])}
    again = ensure_pki(tmp_path, ["cart", "orders"])
    assert {i.name: i.created for i in again} == {"ca": False, "cart": False, "orders": True}
    assert {i.name: i.fingerprint for i in again}["cart"] == first["cart"]
    pki.ca_path(tmp_path).unlink()  # a lost CA: whatever it signed is no longer trusted
    renewed = {i.name: i for i in ensure_pki(tmp_path, ["cart"])}
    assert renewed["ca"].created and renewed["cart"].created
    assert renewed["cart"].fingerprint != first["cart"]


def test_a_certificate_close_to_its_end_is_renewed(tmp_path, monkeypatch):
    ensure_pki(tmp_path, ["cart"])
    later = dt.datetime.now(dt.UTC) + dt.timedelta(days=pki.CERT_DAYS - 1)
    monkeypatch.setattr(pki, "_now", lambda: later)
    renewed = {i.name: i.created for i in ensure_pki(tmp_path, ["cart"])}
    assert renewed == {"ca": False, "cart": True}


def test_off_by_default_every_helper_says_plain(tmp_path):
    settings = load_settings(data_dir=tmp_path)
    assert not settings.mtls
    assert tls_files(settings, "cart") is None
    assert client_ssl(settings, "cart") is None
    assert nats_tls(settings, "cart") == {}
    assert uvicorn_ssl(settings, "cart") == {}
    assert scheme(settings) == "http"


def test_on_the_files_default_to_the_data_dir_and_env_names_win(tmp_path):
    settings = load_settings(data_dir=tmp_path, mtls=True)
    assert tls_files(settings, "cart") == _files(tmp_path, "cart")
    assert scheme(settings) == "https"
    ssl_kwargs = uvicorn_ssl(settings, "cart")
    assert ssl_kwargs["ssl_cert_reqs"] == ssl.CERT_REQUIRED
    assert ssl_kwargs["ssl_ca_certs"] == str(pki.ca_path(tmp_path))
    own = load_settings(data_dir=tmp_path, mtls=True, tls_cert_file=tmp_path / "c.pem")
    assert tls_files(own, "cart").cert == tmp_path / "c.pem"


async def _handshake(server: ssl.SSLContext, client: ssl.SSLContext | None) -> bytes:
    """One exchange over loopback: the server echoes a line; raises what the client sees."""
    async def echo(reader, writer):
        try:
            writer.write(await reader.readline())
            await writer.drain()
        except (ssl.SSLError, ConnectionError):
            pass
        finally:
            writer.close()

    srv = await asyncio.start_server(echo, "127.0.0.1", 0, ssl=server)
    port = srv.sockets[0].getsockname()[1]
    try:
        reader, writer = await asyncio.wait_for(
            asyncio.open_connection("127.0.0.1", port, ssl=client), 5)
        writer.write(b"ping\n")
        await writer.drain()
        line = await asyncio.wait_for(reader.readline(), 5)
        writer.close()
        if not line:  # TLS 1.3: a refused client certificate shows on the first read
            raise ConnectionResetError("closed by the server")
        return line
    finally:
        srv.close()
        await srv.wait_closed()


async def test_a_client_with_its_certificate_is_served(tmp_path):
    ensure_pki(tmp_path, ["catalog", "orders"])
    server = server_context(_files(tmp_path, "catalog"))
    assert await _handshake(server, client_context(_files(tmp_path, "orders"))) == b"ping\n"


async def test_a_client_without_a_certificate_is_refused(tmp_path):
    ensure_pki(tmp_path, ["catalog"])
    bare = ssl.create_default_context(cafile=pki.ca_path(tmp_path))  # trusts, shows nothing
    with pytest.raises((ssl.SSLError, ConnectionError)):
        await _handshake(server_context(_files(tmp_path, "catalog")), bare)


async def test_a_certificate_of_another_ca_is_refused_both_ways(tmp_path):
    ours, theirs = tmp_path / "ours", tmp_path / "theirs"
    ensure_pki(ours, ["catalog"])
    ensure_pki(theirs, ["orders"])
    stranger = client_context(TlsFiles(pki.cert_path(theirs, "orders"),
                                       pki.cert_key_path(theirs, "orders"),
                                       pki.ca_path(ours)))  # trusts us, signed by them
    with pytest.raises((ssl.SSLError, ConnectionError)):
        await _handshake(server_context(_files(ours, "catalog")), stranger)
    # and a client of ours does not take a server of theirs
    with pytest.raises(ssl.SSLCertVerificationError):
        await _handshake(server_context(_files(theirs, "orders")),
                         client_context(_files(ours, "catalog")))


async def test_the_peer_certificate_names_its_workload(tmp_path):
    from mercato.chassis.tls.peer import peer_workload

    ensure_pki(tmp_path, ["catalog", "orders"])
    seen: list[str | None] = []

    async def note(reader, writer):
        seen.append(peer_workload(writer.get_extra_info("peercert")))
        writer.write(await reader.readline())
        await writer.drain()
        writer.close()

    srv = await asyncio.start_server(note, "127.0.0.1", 0,
                                     ssl=server_context(_files(tmp_path, "catalog")))
    port = srv.sockets[0].getsockname()[1]
    try:
        reader, writer = await asyncio.open_connection(
            "127.0.0.1", port, ssl=client_context(_files(tmp_path, "orders")))
        writer.write(b"x\n")
        await reader.readline()
        writer.close()
    finally:
        srv.close()
        await srv.wait_closed()
    assert seen == ["orders"]
    assert peer_workload(None) is None
    assert peer_workload({"subjectAltName": (("URI", "spiffe://elsewhere/x"),)}) is None
