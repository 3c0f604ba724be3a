"""The local certificate authority of optional mTLS (``MERCATO_MTLS=1``,
docs/zero-trust.md part 4): one CA and one certificate per workload, on disk.

Layout under ``<data dir>/pki/`` (directory ``0700``, private keys ``0600``)::

    ca.pem / ca.key          the CA (ECDSA P-256, one year), its key read only here
    <workload>.pem / .key    a workload's certificate (30 days) and key

A workload's certificate names it three ways: DNS ``<workload>``, URI
``spiffe://mercato.local/<workload>``, and the loopback addresses (IP 127.0.0.1 and
::1, DNS ``localhost``) its peers dial, so a client may check the host name it dialled
against it. Certificates serve both ways (serverAuth and clientAuth): a service is a
server to its callers and a client of the services it calls.

``ensure_pki`` keeps what is there while it is valid (signed by the CA on disk and not
within ``RENEW_BEFORE`` of its end) and makes the rest; ``mercato certs`` and ``mercato
up`` with mTLS on call it before any child starts.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import os
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

PKI_DIR = "pki"
CA_NAME = "ca"
CA_DAYS = 365
CERT_DAYS = 30
RENEW_BEFORE = dt.timedelta(days=2)
TRUST_DOMAIN = "mercato.local"


@dataclass(frozen=True)
class Issued:
    """One certificate on disk, as ``mercato certs`` shows it."""
    name: str
    cert: Path
    key: Path
    not_after: dt.datetime
    fingerprint: str
    created: bool


def pki_dir(data_dir: Path) -> Path:
    """The folder of the platform's certificates and keys (mTLS)."""
    return Path(data_dir) / PKI_DIR


def cert_path(data_dir: Path, name: str) -> Path:
    return pki_dir(data_dir) / f"{name}.pem"


def cert_key_path(data_dir: Path, name: str) -> Path:
    return pki_dir(data_dir) / f"{name}.key"


def ca_path(data_dir: Path) -> Path:
    """Where the platform's CA certificate is kept."""
    return cert_path(data_dir, CA_NAME)


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _write(path: Path, data: bytes, mode: int) -> None:
    tmp = path.with_suffix(path.suffix + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    with os.fdopen(fd, "wb") as f:
        f.write(data)
    os.chmod(tmp, mode)
    os.replace(tmp, path)


def _save(data_dir: Path, name: str, cert: x509.Certificate, key: ec.EllipticCurvePrivateKey
          ) -> None:
    _write(cert_key_path(data_dir, name), key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption()), 0o600)
    _write(cert_path(data_dir, name), cert.public_bytes(serialization.Encoding.PEM), 0o644)


def _load(data_dir: Path, name: str):
    try:
        cert = x509.load_pem_x509_certificate(cert_path(data_dir, name).read_bytes())
        key = serialization.load_pem_private_key(cert_key_path(data_dir, name).read_bytes(),
                                                 None)
    except (OSError, ValueError):
        return None
    if not isinstance(key, ec.EllipticCurvePrivateKey) or \
            key.public_key() != cert.public_key():
        return None
    return cert, key


def _fresh(cert: x509.Certificate, issuer: x509.Certificate | None = None) -> bool:
    if cert.not_valid_after_utc - RENEW_BEFORE < _now():
        return False
    if issuer is None:
        return True
    try:
        cert.verify_directly_issued_by(issuer)
    except (ValueError, TypeError, InvalidSignature):  # another issuer, or forged
        return False
    return True


def _builder(subject: str, issuer: x509.Name, key, days: int) -> x509.CertificateBuilder:
    now = _now()
    return (x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, subject)]))
            .issuer_name(issuer).public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(minutes=5))
            .not_valid_after(now + dt.timedelta(days=days))
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()),
                           critical=False))


def make_ca() -> tuple[x509.Certificate, ec.EllipticCurvePrivateKey]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Mercato local CA")])
    cert = (_builder("Mercato local CA", name, key, CA_DAYS)
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .add_extension(x509.KeyUsage(False, False, False, False, False, True, True,
                                         False, False), critical=True)
            .sign(key, hashes.SHA256()))
    return cert, key


def make_cert(name: str, ca: x509.Certificate, ca_key: ec.EllipticCurvePrivateKey
              ) -> tuple[x509.Certificate, ec.EllipticCurvePrivateKey]:
    key = ec.generate_private_key(ec.SECP256R1())
    san = x509.SubjectAlternativeName([
        x509.DNSName(name), x509.DNSName("localhost"),
        x509.UniformResourceIdentifier(f"spiffe://{TRUST_DOMAIN}/{name}"),
        x509.IPAddress(ipaddress.ip_address("127.0.0.1")),
        x509.IPAddress(ipaddress.ip_address("::1"))])
    ski = ca.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
    cert = (_builder(name, ca.subject, key, CERT_DAYS)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.KeyUsage(True, False, False, False, False, False, False,
                                         False, False), critical=True)
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH,
                                                  ExtendedKeyUsageOID.CLIENT_AUTH]),
                           critical=False)
            .add_extension(san, critical=False)
            .add_extension(x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ski),
                           critical=False)
            .sign(ca_key, hashes.SHA256()))
    return cert, key


def _issued(data_dir: Path, name: str, cert: x509.Certificate, created: bool) -> Issued:
    return Issued(name, cert_path(data_dir, name), cert_key_path(data_dir, name),
                  cert.not_valid_after_utc, cert.fingerprint(hashes.SHA256()).hex()[:16],
                  created)


def read_issued(data_dir: Path, name: str) -> Issued | None:
    """What is on disk for ``name`` (``ca`` or a workload), without changing it; None if
    missing or unreadable."""
    have = _load(data_dir, name)
    return None if have is None else _issued(data_dir, name, have[0], False)


def ensure_pki(data_dir: Path, workloads: Iterable[str]) -> list[Issued]:
    """The CA and a certificate per workload under ``<data dir>/pki/``: kept when valid,
    made when missing, expiring or not signed by the CA on disk (a new CA re-issues all).
    Returns the CA first, then each workload's."""
    folder = pki_dir(data_dir)
    folder.mkdir(parents=True, exist_ok=True)
    os.chmod(folder, 0o700)
    loaded = _load(data_dir, CA_NAME)
    created = loaded is None or not _fresh(loaded[0])
    if created:
        loaded = make_ca()
        _save(data_dir, CA_NAME, *loaded)
    ca, ca_key = loaded
    out = [_issued(data_dir, CA_NAME, ca, created)]
    for name in workloads:
        have = _load(data_dir, name)
        made = have is None or not _fresh(have[0], ca)
        if made:
            have = make_cert(name, ca, ca_key)
            _save(data_dir, name, *have)
        out.append(_issued(data_dir, name, have[0], made))
    return out
