"""The committed gRPC code is what the committed ``.proto`` files generate: a changed
proto without regenerated code (``python -m mercato.contracts.proto.generate``) fails."""

from __future__ import annotations

from pathlib import Path

from mercato.contracts.proto import generate, inventory_pb2, payments_pb2


def test_the_committed_code_is_current(tmp_path):
    generate.generate(tmp_path)
    fresh = tmp_path / "mercato" / "contracts" / "proto"
    made = sorted(p.name for p in fresh.iterdir())
    assert made == sorted(p.name for p in generate.HERE.iterdir()
                          if p.name.endswith((".py", ".pyi")) and "_pb2" in p.name)
    for name in made:
        committed = (generate.HERE / name).read_text()
        assert (fresh / name).read_text() == committed, (
            f"{name} is stale: run python -m mercato.contracts.proto.generate")
    assert len(made) == 3 * len(generate.protos())


def test_a_message_round_trips_through_its_wire_form():
    request = inventory_pb2.ReserveRequest(
        reservation_id="r1", order_id="o1",
        items=[inventory_pb2.Item(product_id="p1", quantity=2)])
    again = inventory_pb2.ReserveRequest.FromString(request.SerializeToString())
    assert (again.reservation_id, [(i.product_id, i.quantity) for i in again.items]) == (
        "r1", [("p1", 2)])
    tombstone = payments_pb2.Payment(id="p9", status="voided")
    assert not tombstone.HasField("order_id") and not tombstone.HasField("amount")


def test_every_proto_names_its_package_by_service_and_version():
    for proto in generate.protos():
        text = Path(proto).read_text()
        assert f"package mercato.{proto.stem}.v1;" in text
