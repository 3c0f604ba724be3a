"""`mercato up --replicas`: the option's parsing, the processes it asks the supervisor for,
and the tables of `mercato up` and `mercato status` listing every instance. (The command
refusing a wrong option: tests/unit/cli/test_up_command.py.)"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from rich.console import Console

from mercato.chassis.calls.registry import Instance
from mercato.platform.catalog import SERVICES
from mercato.platform.instances import instance_table, shortfalls
from mercato.platform.replicas import parse_replicas, process_names, service_specs
from mercato.platform.running import expected_instances


def test_without_the_option_every_service_runs_once():
    assert parse_replicas(None) == dict.fromkeys(SERVICES, 1)
    assert parse_replicas("") == dict.fromkeys(SERVICES, 1)


def test_named_services_get_their_count_and_the_others_one():
    counts = parse_replicas(" catalog=3 , orders=2,")
    assert counts["catalog"] == 3 and counts["orders"] == 2
    assert {s: n for s, n in counts.items() if s not in ("catalog", "orders")} == \
        dict.fromkeys(set(SERVICES) - {"catalog", "orders"}, 1)
    assert list(counts) == list(SERVICES)  # start order kept: identity first


@pytest.mark.parametrize(("text", "message"), [
    ("catalogue=3", "unknown service 'catalogue'; one of identity, catalog"),
    ("catalog=0", "catalog=0: the number of instances must be a whole number from 1 to 8"),
    ("catalog=9", "catalog=9: the number of instances must be a whole number from 1 to 8"),
    ("catalog=-1", "from 1 to 8"),
    ("catalog=two", "catalog=two: the number of instances"),
    ("catalog=²", "catalog=²: the number of instances"),
    ("catalog", "'catalog' is not SERVICE=N"),
    ("catalog=2,catalog=3", "catalog is named twice"),
    ("gateway=2", "the gateway runs once"),
])
def test_a_wrong_replicas_option_says_what_is_wrong(text, message):
    with pytest.raises(ValueError, match=message):
        parse_replicas(text)


def test_each_instance_is_its_own_process_with_its_number_and_log():
    specs = service_specs(parse_replicas("catalog=3"), {"X": "1"}, Path("/logs"), 7)
    names = [s.name for s in specs]
    assert names[:4] == ["identity-1", "catalog-1", "catalog-2", "catalog-3"]
    assert names[-1] == "gateway-1" and len(names) == len(SERVICES) + 2 + 1
    catalog_2 = specs[2]
    assert catalog_2.argv[-4:] == ["serve", "catalog", "--instance", "2"]
    assert catalog_2.log_path == Path("/logs/catalog-2.log")
    # The gateway serves on the listening socket mercato up holds (descriptor 7 here).
    assert specs[-1].argv[-5:] == ["gateway", "--instance", "1", "--fd", "7"]
    assert specs[-1].pass_fds == (7,) and all(not s.pass_fds for s in specs[:-1])
    assert len({s.log_path for s in specs}) == len(specs)


def test_each_child_is_given_its_own_key_and_only_the_secrets_it_needs():
    specs = {s.name: s.env for s in service_specs(
        parse_replicas(None), {"MERCATO_DATA_DIR": "/d"}, Path("/logs"), 7)}
    for name, env in specs.items():
        service = name.rpartition("-")[0]
        assert env["MERCATO_SERVICE_KEY_FILE"] == f"/d/keys/{service}.pem"
        assert env["MERCATO_SERVICE_JWKS_FILE"] == "/d/keys/services.jwks.json"
    holders = {n.rpartition("-")[0] for n, e in specs.items() if "MERCATO_CARD_SEAL_KEY_FILE" in e}
    assert holders == {"orders", "payments"}
    assert [n for n, e in specs.items() if "MERCATO_PAGES_KEY_FILE" in e] == ["gateway-1"]


def test_every_instance_is_stopped_with_the_services():
    assert process_names({"catalog": 2, "orders": 1}) == ["catalog-1", "catalog-2", "orders-1"]


def instance(service: str, number: int, health: str = "ready", beat: float = 98.0) -> Instance:
    return Instance(service=service, instance_id=f"{service}-{number}-abc",
                    address=f"http://127.0.0.1:90{number}", version="1.4", health=health,
                    heartbeat_at=beat, pid=4000 + number,
                    grpc=f"127.0.0.1:50{number}" if service == "catalog" else "")


def test_the_instance_table_lists_every_replica_with_grpc_version_health_and_heartbeat():
    table = instance_table("t", [instance("catalog", 2), instance("catalog", 1, beat=99.5),
                                 instance("orders", 1, "unready")], now=100.0)
    console = Console(record=True, width=200)
    console.print(table)
    rows = [[cell.strip() for cell in line.split("│")[1:-1]]
            for line in console.export_text().splitlines() if "-abc" in line]
    assert rows == [
        ["catalog", "catalog-1-abc", "4001", "http://127.0.0.1:901", "127.0.0.1:501", "1.4",
         "ready", "0.5s ago"],
        ["catalog", "catalog-2-abc", "4002", "http://127.0.0.1:902", "127.0.0.1:502", "1.4",
         "ready", "2.0s ago"],
        ["orders", "orders-1-abc", "4001", "http://127.0.0.1:901", "-", "1.4", "unready",
         "2.0s ago"],
    ]


def test_a_service_short_of_ready_instances_is_named_with_its_counts():
    seen = [instance("catalog", 1), instance("catalog", 2, "unready"), instance("orders", 1)]
    assert shortfalls(seen, {"catalog": 3, "orders": 1, "cart": 1}) == [
        "catalog (1 of 3 ready)", "cart (0 of 1 ready)"]
    assert shortfalls(seen, {"orders": 1}) == []


def test_the_state_file_tells_status_how_many_instances_were_started():
    assert expected_instances({"replicas": {"catalog": 3, "orders": 2}}) == \
        {"catalog": 3, "orders": 2}
    assert expected_instances({"nats_url": "nats://x"}) == {}
    assert expected_instances(json.loads('{"replicas": ["catalog"]}')) == {}
