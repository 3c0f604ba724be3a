"""``mercato certs``: makes the CA and every workload's certificate once, keeps them on a
second run, and ``--show`` changes nothing and fails while anything is missing; with
mTLS on, the NATS configuration requires client certificates and each child is told
its own files."""

from __future__ import annotations

from typer.testing import CliRunner

from mercato.chassis.tls import TlsFiles
from mercato.chassis.tls.pki import ca_path, cert_path, pki_dir
from mercato.cli.main import app
from mercato.platform.nats_server import nats_config
from mercato.platform.workload_keys import CERTIFIED, child_env


def test_certs_makes_then_keeps_and_show_changes_nothing(tmp_path, monkeypatch):
    monkeypatch.setenv("MERCATO_DATA_DIR", str(tmp_path / "data"))
    runner = CliRunner()
    shown = runner.invoke(app, ["certs", "--show"])
    assert shown.exit_code == 1 and "missing" in shown.output
    assert not pki_dir(tmp_path / "data").exists()
    made = runner.invoke(app, ["certs"])
    assert made.exit_code == 0, made.output
    assert made.output.count("made") == len(CERTIFIED) + 1  # the CA too
    for name in CERTIFIED:
        assert cert_path(tmp_path / "data", name).exists()
    before = ca_path(tmp_path / "data").read_bytes()
    again = runner.invoke(app, ["certs"])
    assert again.exit_code == 0 and "made" not in again.output and "valid" in again.output
    assert ca_path(tmp_path / "data").read_bytes() == before
    assert runner.invoke(app, ["certs", "--show"]).exit_code == 0
    assert "MERCATO_MTLS=1" in runner.invoke(app, ["certs", "--help"]).output


def test_with_mtls_nats_requires_a_client_certificate_and_children_get_their_files(tmp_path):
    files = TlsFiles(tmp_path / "nats.pem", tmp_path / "nats.key", tmp_path / "ca.pem")
    text = nats_config(4333, tmp_path / "store", tls=files)
    assert "tls {" in text and "verify: true" in text and str(tmp_path / "ca.pem") in text
    assert "tls {" not in nats_config(4333, tmp_path / "store")  # off by default
    env = child_env("catalog", tmp_path, mtls=True)
    assert env["MERCATO_MTLS"] == "1"
    assert env["MERCATO_TLS_CERT_FILE"] == str(cert_path(tmp_path, "catalog"))
    assert not any(k.startswith(("MERCATO_TLS", "MERCATO_MTLS"))
                   for k in child_env("catalog", tmp_path))
